package slackchat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/internal/slackfake"
	"github.com/sitrep-io/sitrep/internal/testclock"
	"github.com/sitrep-io/sitrep/slackchat"
	"github.com/sitrep-io/sitrep/store"
)

// start lies ahead of the wall clock: the store stamps a new outbox entry's
// first attempt with the wall clock, so a fake clock behind it would find
// nothing due.
var start = time.Date(2100, 1, 2, 3, 4, 5, 0, time.UTC)

// fakeClock is moved by hand, and by the client's waits: sleeping until
// now+d moves it there at once.
type fakeClock struct {
	*testclock.Clock

	mu     sync.Mutex // guards slept and sleeps
	slept  time.Duration
	sleeps int

	// afterSleep, when set, is called (outside the lock) after each sleep
	// has moved the clock: a test's events at a given time.
	afterSleep func(now time.Time)
}

func newClock() *fakeClock { return &fakeClock{Clock: testclock.New(start)} }

// Sleep is slackchat.Options.Sleep on the fake clock: it returns at once,
// having moved the clock on by d.
func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	now := c.Advance(d)
	c.slept += d
	c.sleeps++
	after := c.afterSleep
	c.mu.Unlock()
	if after != nil {
		after(now)
	}
	return nil
}

func (c *fakeClock) Slept() (time.Duration, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.slept, c.sleeps
}

// newClient is the real adapter talking to srv, on clock.
func newClient(t *testing.T, srv *slackfake.Server, clock *fakeClock) *slackchat.Client {
	t.Helper()
	return slackchat.New(slackchat.Options{
		Token: slackfake.BotToken, APIURL: srv.URL(), HTTPClient: srv.Client(),
		Now: clock.Now, Sleep: clock.Sleep,
	})
}

// stampingTransport records the fake clock's time of every request, by
// Slack method.
type stampingTransport struct {
	base  http.RoundTripper
	clock *fakeClock
	mu    sync.Mutex
	at    map[string][]time.Time
}

func (s *stampingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	method := r.URL.Path[len("/api/"):]
	s.mu.Lock()
	s.at[method] = append(s.at[method], s.clock.Now())
	s.mu.Unlock()
	return s.base.RoundTrip(r)
}

func (s *stampingTransport) times(method string) []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.at[method]...)
}

// openStore is a real SQLite store in a file under t.TempDir, closed when
// the test ends.
func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "sitrep.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// jsonAnswer decodes an acknowledgement body that is either empty (an
// empty map) or JSON; anything else fails the test, naming what answered.
func jsonAnswer(t *testing.T, what string, body []byte) map[string]any {
	t.Helper()
	out := map[string]any{}
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("%s answer is not JSON: %q", what, body)
		}
	}
	return out
}
