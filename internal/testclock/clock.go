// Package testclock is the fake clock tests inject where code takes
// `Now func() time.Time`: it stands still until the test moves it, and it is
// safe to read and move from several goroutines (dispatchers, servers).
package testclock

import (
	"sync"
	"time"
)

// Clock is a settable, advanceable clock. The zero value reads the zero
// time; use New to start it somewhere.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// New is a clock that reads start until it is moved.
func New(start time.Time) *Clock { return &Clock{now: start} }

// Now is the clock's current time; pass the method value where code wants
// a `func() time.Time`.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock on by d and returns the new time.
func (c *Clock) Advance(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// Set puts the clock at t, earlier or later than it reads now.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}
