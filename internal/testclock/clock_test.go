package testclock_test

import (
	"sync"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/internal/testclock"
)

func TestClockStandsStillUntilMoved(t *testing.T) {
	start := time.Date(2100, 1, 2, 3, 4, 5, 0, time.UTC)
	c := testclock.New(start)
	if got := c.Now(); !got.Equal(start) {
		t.Fatalf("Now = %v, want %v", got, start)
	}
	if got := c.Advance(90 * time.Second); !got.Equal(start.Add(90 * time.Second)) {
		t.Fatalf("Advance returned %v, want %v", got, start.Add(90*time.Second))
	}
	if got := c.Now(); !got.Equal(start.Add(90 * time.Second)) {
		t.Fatalf("Now after Advance = %v", got)
	}
	back := start.Add(-time.Hour)
	c.Set(back)
	if got := c.Now(); !got.Equal(back) {
		t.Fatalf("Now after Set = %v, want %v", got, back)
	}
}

func TestClockIsSafeAcrossGoroutines(t *testing.T) {
	start := time.Date(2100, 1, 2, 3, 4, 5, 0, time.UTC)
	c := testclock.New(start)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				c.Advance(time.Second)
				_ = c.Now()
			}
		}()
	}
	wg.Wait()
	if got, want := c.Now(), start.Add(800*time.Second); !got.Equal(want) {
		t.Fatalf("Now = %v, want %v", got, want)
	}
}
