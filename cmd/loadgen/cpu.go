package main

import (
	"os"
	"strings"
)

// measure runs f and adds to its result the CPU time this process spent
// meanwhile (client and server alike: both run here). CPU per request is
// much less sensitive than accepted/s to other work on the machine, so it
// shows whether a change made sitrep cheaper even when the load average
// moved between two measurements.
func measure(f func() (result, error)) (result, error) {
	before := processCPU()
	res, err := f()
	res.cpu = processCPU() - before
	return res, err
}

// loadAverage is the machine's 1, 5 and 15 minute load average, or "?"
// where /proc/loadavg does not exist.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}
