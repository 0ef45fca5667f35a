package main

import (
	"context"
	"sync"
	"time"
)

// demoClock is the replay's clock: it stands still at the time the seed
// records for the current step and only the replay moves it, forward. Every
// timestamp sitrep writes during a step is that step's seed time, and
// scheduled outbox entries (reminders, expiries, retries) fall due exactly
// when the replay moves the clock past them.
type demoClock struct {
	mu sync.Mutex
	t  time.Time
}

func newDemoClock(start time.Time) *demoClock { return &demoClock{t: start.UTC()} }

// Now is the replay's current time.
func (c *demoClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set moves the clock to t; it never goes back.
func (c *demoClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.After(c.t) {
		c.t = t.UTC()
	}
}

// demoPaceFactor is how much faster than the wall clock the Slack
// adapter's rate-limit pacing runs in the demo: it still spaces its calls as
// it would against Slack, only in accelerated time, like the rest of the
// replay.
const demoPaceFactor = 50

// demoPacing is the accelerated clock of the Slack adapter's pacer.
func demoPacing() chatPacing {
	start := time.Now()
	return chatPacing{
		now: func() time.Time { return start.Add(time.Since(start) * demoPaceFactor) },
		sleep: func(ctx context.Context, d time.Duration) error {
			t := time.NewTimer(d / demoPaceFactor)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
				return nil
			}
		},
	}
}
