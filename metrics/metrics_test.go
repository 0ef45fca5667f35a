package metrics_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/pdfake"
	"github.com/sitrep-io/sitrep/internal/spfake"
	"github.com/sitrep-io/sitrep/metrics"
	"github.com/sitrep-io/sitrep/pager"
	"github.com/sitrep-io/sitrep/statuspage"
	"github.com/sitrep-io/sitrep/store"
)

var now = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "sitrep.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// TestStoreGauges: the outbox and open-incident gauges are what the
// database holds at the scrape: unfinished entries by op (a scheduled one
// included), the most overdue entry's wait on the clock given, every
// severity's open incidents (0 included).
func TestStoreGauges(t *testing.T) {
	db := openStore(t)
	err := db.Update(t.Context(), func(tx bot.Tx) error {
		for _, d := range []bot.Delivery{
			{Key: "incident:1", Op: bot.OpPost, CreatedAt: now.Add(-90 * time.Second)},                                     // due since created
			{Key: "incident:2", Op: bot.OpPost, CreatedAt: now.Add(-time.Hour), NextAttemptAt: now.Add(-30 * time.Second)}, // retried
			{Key: "incident:3", Op: bot.OpInvite, CreatedAt: now.Add(-time.Hour), NextAttemptAt: now.Add(time.Hour)},       // scheduled
		} {
			if err := tx.Enqueue(d); err != nil {
				return err
			}
		}
		for _, sev := range []bot.Severity{bot.SEV2, bot.SEV2} {
			if err := tx.CreateIncident(&bot.Incident{Title: "Secret title", Severity: sev, Status: bot.StatusTriggered,
				DeclaredAt: now, UpdatedAt: now}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New(db, func() time.Time { return now }, nil)
	want := `
# HELP sitrep_incidents_open Incidents not resolved, by severity.
# TYPE sitrep_incidents_open gauge
sitrep_incidents_open{severity="SEV1"} 0
sitrep_incidents_open{severity="SEV2"} 2
sitrep_incidents_open{severity="SEV3"} 0
sitrep_incidents_open{severity="SEV4"} 0
# HELP sitrep_outbox_oldest_pending_seconds How long the most overdue unfinished outbox entry has been due (0: none is due).
# TYPE sitrep_outbox_oldest_pending_seconds gauge
sitrep_outbox_oldest_pending_seconds 90
# HELP sitrep_outbox_pending Unfinished outbox entries (pending or sending, scheduled ones included), by op.
# TYPE sitrep_outbox_pending gauge
sitrep_outbox_pending{op="chat.invite"} 1
sitrep_outbox_pending{op="chat.post"} 2
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"sitrep_incidents_open", "sitrep_outbox_oldest_pending_seconds", "sitrep_outbox_pending"); err != nil {
		t.Error(err)
	}
}

// TestScrapeWhileStoreFails: a database that does not answer leaves its
// gauges out of the scrape; the process's metrics are still served.
func TestScrapeWhileStoreFails(t *testing.T) {
	db := openStore(t)
	m := metrics.New(db, nil, nil)
	_ = db.Close()
	code, body := scrape(t, m.Handler(""), "")
	if code != http.StatusOK || !strings.Contains(body, "go_goroutines") || strings.Contains(body, "sitrep_outbox_pending") {
		t.Errorf("scrape with the store closed: %d\n%s", code, body)
	}
}

// TestMetricsToken: with a token, a scrape without it or with another is
// refused, and one with it is served.
func TestMetricsToken(t *testing.T) {
	m := metrics.New(openStore(t), nil, nil)
	h := m.Handler("s3cret")
	for _, auth := range []string{"", "Bearer wrong", "s3cret", "Bearer s3cret "} {
		if code, body := scrape(t, h, auth); code != http.StatusUnauthorized || strings.Contains(body, "s3cret") {
			t.Errorf("Authorization %q: %d %q, want 401 without the token in it", auth, code, body)
		}
	}
	if code, _ := scrape(t, h, "Bearer s3cret"); code != http.StatusOK {
		t.Errorf("with the token: %d, want 200", code)
	}
}

func scrape(t *testing.T, h http.Handler, auth string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

// TestInstrumentLabelsByPattern: requests are counted by the pattern the
// mux matched, never by the raw path; what no route matches is one
// "unmatched" series.
func TestInstrumentLabelsByPattern(t *testing.T) {
	m := metrics.New(openStore(t), nil, nil)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /incidents/{id}", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) })
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	h := m.Instrument(mux)
	for _, path := range []string{"/incidents/1", "/incidents/2", "/ok", "/wp-admin/1", "/wp-admin/2"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, path, nil))
	}
	want := `
# HELP sitrep_http_requests_total HTTP requests answered, by route pattern and status code.
# TYPE sitrep_http_requests_total counter
sitrep_http_requests_total{code="200",handler="/ok"} 1
sitrep_http_requests_total{code="404",handler="unmatched"} 2
sitrep_http_requests_total{code="418",handler="GET /incidents/{id}"} 2
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "sitrep_http_requests_total"); err != nil {
		t.Error(err)
	}
	if n := testutil.CollectAndCount(m.Registry(), "sitrep_http_request_duration_seconds"); n != 3 {
		t.Errorf("%d latency series, want 3 (one per pattern)", n)
	}
}

// TestVendorRateLimits: Statuspage's 420 and PagerDuty's 429, answered by
// their fakes to the real clients, are counted by vendor and API method,
// ids replaced.
func TestVendorRateLimits(t *testing.T) {
	m := metrics.New(openStore(t), nil, nil)

	sp := spfake.New("good-key", "pg1", map[string]string{"cmp1": "API"}, func() time.Time { return now })
	t.Cleanup(sp.Close)
	page := &statuspage.Client{APIKey: "good-key", PageID: "pg1", BaseURL: sp.BaseURL(),
		HTTP: m.Client(metrics.VendorStatuspage, sp.Client()), Now: func() time.Time { return now }}
	update := bot.PublicUpdate{Title: "Partial outage", Body: "Some requests fail.", Status: bot.StatusInvestigating}
	if _, err := page.CreateIncident(t.Context(), update); err != nil {
		t.Fatal(err)
	}
	_, err := page.CreateIncident(t.Context(), update) // the fake's clock stands still: over its 1/s limit
	if temp, _ := bot.IsTemporary(err); !temp {
		t.Fatalf("second create: %v, want Statuspage's rate limit", err)
	}

	pd := pdfake.New(t)
	pd.Fail(pdfake.AnyRoute, pdfake.RateLimited(0))
	pc, err := pager.New(pager.Config{Token: pd.Token(), From: "bot@example.com", APIURL: pd.URL(),
		HTTPClient: m.Client(metrics.VendorPagerDuty, nil)})
	if err != nil {
		t.Fatal(err)
	}
	if err := pc.AddNote(t.Context(), "PABC123", "note"); err == nil {
		t.Fatal("want PagerDuty's 429")
	}

	want := `
# HELP sitrep_vendor_rate_limited_total Calls a vendor refused for its rate limit (429, Statuspage's 420) or sitrep's own pacing held back.
# TYPE sitrep_vendor_rate_limited_total counter
sitrep_vendor_rate_limited_total{method="POST /incidents/{id}/notes",vendor="pagerduty"} 1
sitrep_vendor_rate_limited_total{method="POST /v1/pages/{id}/incidents",vendor="statuspage"} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "sitrep_vendor_rate_limited_total"); err != nil {
		t.Error(err)
	}
}
