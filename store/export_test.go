package store

import "time"

// SetHealthWindow sets how long a storage failure keeps Ping failing, and
// returns the previous value.
func SetHealthWindow(d time.Duration) time.Duration {
	old := healthWindow
	healthWindow = d
	return old
}
