package statuspage_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/spfake"
	"github.com/sitrep-io/sitrep/internal/statuspagetest"
	"github.com/sitrep-io/sitrep/statuspage"
)

var update = bot.PublicUpdate{Title: "Partial outage of api-gateway", Body: "Some requests fail.", Status: bot.StatusInvestigating,
	Components: []bot.PublicComponent{{Name: "api-gateway", ID: "cmp1", Status: bot.ComponentPartialOutage}}}

func newClient(t *testing.T, key string) (*spfake.Server, *statuspage.Client, *time.Time) {
	t.Helper()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	sp := spfake.New("good-key", "pg1", map[string]string{"cmp1": "API"}, func() time.Time { return now })
	t.Cleanup(sp.Close)
	return sp, &statuspage.Client{APIKey: key, PageID: "pg1", BaseURL: sp.BaseURL(), HTTP: sp.Client(), Now: func() time.Time { return now },
		MinInterval: -1}, &now // the fake clock stands still: these tests are about the wire, TestPacing about pacing
}

// TestPacing: N publications at once through one Client reach the page
// one at a time, each at least MinInterval after the previous answer, so
// none runs into the page's rate limit; without pacing, all but one of
// them get a 420. (Both on the real clock, with a 20 ms limit.)
func TestPacing(t *testing.T) {
	const n = 8
	run := func(minInterval time.Duration) (limited int, errs int) {
		sp := spfake.New("good-key", "pg1", map[string]string{"cmp1": "API"}, nil)
		defer sp.Close()
		sp.Interval = 20 * time.Millisecond
		c := &statuspage.Client{APIKey: "good-key", PageID: "pg1", BaseURL: sp.BaseURL(), HTTP: sp.Client(), MinInterval: minInterval}
		var wg sync.WaitGroup
		var failed atomic.Int32
		for range n {
			wg.Go(func() {
				if _, err := c.CreateIncident(t.Context(), update); err != nil {
					failed.Add(1)
				}
			})
		}
		wg.Wait()
		for _, call := range sp.Calls() {
			if call.Status == 420 {
				limited++
			}
		}
		return limited, int(failed.Load())
	}
	limited, failed := run(-1)
	t.Logf("without pacing: %d of %d publications got 420", limited, n)
	if limited == 0 || failed != limited {
		t.Errorf("without pacing: %d answered 420, %d failed; want some rate limited (the fake enforces the limit)", limited, failed)
	}
	limited, failed = run(20 * time.Millisecond)
	t.Logf("with pacing: %d of %d publications got 420", limited, n)
	if limited != 0 || failed != 0 {
		t.Errorf("with pacing: %d answered 420, %d failed; want none", limited, failed)
	}
}

// TestPacingAfterRateLimit: after a 420 the next request waits the
// Retry-After the page asked for, not only MinInterval.
func TestPacingAfterRateLimit(t *testing.T) {
	sp := spfake.New("good-key", "pg1", map[string]string{"cmp1": "API"}, nil)
	defer sp.Close()
	sp.Interval = time.Nanosecond
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c := &statuspage.Client{APIKey: "good-key", PageID: "pg1", BaseURL: sp.BaseURL(), HTTP: sp.Client(), Now: clock, MinInterval: time.Millisecond}
	sp.Arm(spfake.RouteCreate, spfake.Fault{Status: 420, RetryAfter: "60"}, 1)
	if _, err := c.CreateIncident(t.Context(), update); err == nil {
		t.Fatal("the armed 420 was not returned")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	_, err := c.CreateIncident(ctx, update)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("the request after a 420 with Retry-After 60 went at once: %v", err)
	}
	var temp *bot.TemporaryError
	if !errors.As(err, &temp) || !temp.RateLimited {
		t.Errorf("held back by the pacing: %#v, want a rate limit (not news for the channel)", err)
	}
	mu.Lock()
	now = now.Add(61 * time.Second)
	mu.Unlock()
	if _, err := c.CreateIncident(t.Context(), update); err != nil {
		t.Fatalf("after the Retry-After: %v", err)
	}
}

// TestWireFormat: the documented request: OAuth header, {"incident": …}
// with name, status, body, component_ids and components, on create and on
// every update.
func TestWireFormat(t *testing.T) {
	sp, c, now := newClient(t, "good-key")
	ref, err := c.CreateIncident(t.Context(), update)
	if err != nil {
		t.Fatal(err)
	}
	*now = now.Add(2 * time.Second)
	resolved := update
	resolved.Status, resolved.Body = bot.StatusResolved, "Fixed."
	resolved.Components = []bot.PublicComponent{{Name: "api-gateway", ID: "cmp1", Status: bot.ComponentOperational}}
	if err := c.UpdateIncident(t.Context(), ref, resolved); err != nil {
		t.Fatal(err)
	}
	calls := sp.Calls()
	if len(calls) != 2 || calls[0].Method != http.MethodPost || calls[0].Path != "/v1/pages/pg1/incidents" ||
		calls[1].Method != http.MethodPatch || calls[1].Path != "/v1/pages/pg1/incidents/"+ref {
		t.Fatalf("calls %+v", calls)
	}
	for _, call := range calls {
		if call.Header.Get("Authorization") != "OAuth good-key" {
			t.Errorf("Authorization %q", call.Header.Get("Authorization"))
		}
		var body struct {
			Incident struct {
				Name         string            `json:"name"`
				Status       string            `json:"status"`
				Body         string            `json:"body"`
				ComponentIDs []string          `json:"component_ids"`
				Components   map[string]string `json:"components"`
			} `json:"incident"`
		}
		if err := json.Unmarshal(call.Body, &body); err != nil {
			t.Fatal(err)
		}
		if body.Incident.Name != update.Title || len(body.Incident.ComponentIDs) != 1 || body.Incident.ComponentIDs[0] != "cmp1" || body.Incident.Components["cmp1"] == "" {
			t.Errorf("body %s", call.Body)
		}
	}
	if got := sp.Incidents()[0]; got.Status != "resolved" || sp.ComponentStatus("cmp1") != "operational" {
		t.Errorf("after resolve: %s, component %s", got.Status, sp.ComponentStatus("cmp1"))
	}
}

// TestErrors: 420/429 are rate limits with Retry-After (seconds, fractions
// rounded up, HTTP dates); 5xx temporary; 401, 404, 422 permanent with the
// reason and what to check.
func TestErrors(t *testing.T) {
	sp, c, now := newClient(t, "good-key")
	if _, err := c.CreateIncident(t.Context(), update); err != nil {
		t.Fatal(err)
	}
	_, err := c.CreateIncident(t.Context(), update) // same second: over the limit
	var temp *bot.TemporaryError
	if !errors.As(err, &temp) || !temp.RateLimited || temp.RetryAfter != time.Second {
		t.Fatalf("over the limit: %v", err)
	}
	sp.LimitStatus = http.StatusTooManyRequests // Statuspage sometimes answers 429
	*now = now.Add(2 * time.Second)
	if _, err := c.CreateIncident(t.Context(), update); err != nil {
		t.Fatal(err)
	}
	_, err = c.CreateIncident(t.Context(), update)
	if !errors.As(err, &temp) || !temp.RateLimited || temp.RetryAfter != time.Second {
		t.Fatalf("429 over the limit: %v", err)
	}
	for _, tc := range []struct {
		fault     spfake.Fault
		wantWait  time.Duration
		rateLimit bool
	}{
		{spfake.Fault{Status: 429, RetryAfter: "2.2"}, 3 * time.Second, true},
		{spfake.Fault{Status: 420, RetryAfter: "http-date"}, 10 * time.Second, true},
		{spfake.Fault{Status: 503, Body: "maintenance", RetryAfter: "7"}, 7 * time.Second, false},
		{spfake.Fault{Status: 500, Body: "oops"}, 0, false},
	} {
		*now = now.Add(2 * time.Second)
		if tc.fault.RetryAfter == "http-date" {
			tc.fault.RetryAfter = now.Add(10 * time.Second).Format(http.TimeFormat)
		}
		sp.Arm(spfake.RouteCreate, tc.fault, 1)
		_, err := c.CreateIncident(t.Context(), update)
		var temp *bot.TemporaryError
		if !errors.As(err, &temp) || temp.RateLimited != tc.rateLimit || temp.RetryAfter != tc.wantWait {
			t.Errorf("%d %q: %#v, want temporary (rate limited %v) after %s", tc.fault.Status, tc.fault.RetryAfter, err, tc.rateLimit, tc.wantWait)
		}
	}
	for _, tc := range []struct {
		status int
		code   string
		want   string
	}{
		{401, bot.EUNAUTHORIZED, "STATUSPAGE_API_KEY"},
		{404, bot.ENOTFOUND, "STATUSPAGE_PAGE_ID"},
		{422, bot.EINVALID, "Name can't be blank"},
	} {
		*now = now.Add(2 * time.Second)
		sp.Arm(spfake.RouteCreate, spfake.Fault{Status: tc.status, Body: "Name can't be blank"}, 1)
		_, err := c.CreateIncident(t.Context(), update)
		if bot.ErrorCode(err) != tc.code || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%d: %v, want %s naming %q", tc.status, err, tc.code, tc.want)
		}
		if ok, _ := bot.IsTemporary(err); ok {
			t.Errorf("%d is retried", tc.status)
		}
	}
	// The fake's own refusals: a wrong key, an unknown incident, a status
	// Statuspage does not know.
	*now = now.Add(2 * time.Second)
	_, wrong, _ := newClient(t, "wrong-key")
	wrong.BaseURL = c.BaseURL
	if _, err := wrong.CreateIncident(t.Context(), update); bot.ErrorCode(err) != bot.EUNAUTHORIZED {
		t.Errorf("wrong key: %v", err)
	}
	*now = now.Add(2 * time.Second)
	if err := c.UpdateIncident(t.Context(), "nope", update); bot.ErrorCode(err) != bot.ENOTFOUND {
		t.Errorf("unknown incident: %v", err)
	}
	*now = now.Add(2 * time.Second)
	bad := update
	bad.Status = "triggered"
	if _, err := c.CreateIncident(t.Context(), bad); bot.ErrorCode(err) != bot.EINVALID || !strings.Contains(err.Error(), "422") {
		t.Errorf("invalid status: %v", err)
	}
	for _, call := range sp.Calls() {
		if strings.Contains(call.Path, "good-key") {
			t.Error("the key is in a URL")
		}
	}
}

func TestContract(t *testing.T) {
	_, c, now := newClient(t, "good-key")
	statuspagetest.Run(t, c, func() { *now = now.Add(time.Second) })
}
