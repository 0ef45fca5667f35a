package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/store"
	"github.com/sitrep-io/sitrep/web"
)

// benchEnv is a web view on a real SQLite file with a signed-in session.
type benchEnv struct {
	svc     *bot.Service
	handler http.Handler
	cookie  *http.Cookie
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	db, err := store.Open(b.Context(), filepath.Join(b.TempDir(), "sitrep.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = db.Close() })
	now := time.Date(2026, 1, 5, 12, 0, 0, 0, time.UTC)
	svc := bot.NewService(db, bot.ServiceConfig{Now: func() time.Time { return now }})
	w := &web.Server{Service: svc, Sessions: db, PublicURL: "http://sitrep.test", Now: func() time.Time { return now }}
	e := &benchEnv{svc: svc, handler: w.Handler()}

	link, err := web.NewLoginLink(b.Context(), db, "http://sitrep.test", "U1", "", now)
	if err != nil {
		b.Fatal(err)
	}
	u, _ := url.Parse(link)
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(url.Values{"token": {u.Query().Get("token")}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	for _, c := range rec.Result().Cookies() {
		if c.Name == "sitrep_session" {
			e.cookie = c
		}
	}
	if e.cookie == nil {
		b.Fatalf("sign in: %d %s", rec.Code, rec.Body)
	}
	return e
}

// get serves path through the handler, as a signed-in browser asks.
func (e *benchEnv) get(b *testing.B, path string) int {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.AddCookie(e.cookie)
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("GET %s = %d\n%s", path, rec.Code, rec.Body)
	}
	return rec.Body.Len()
}

// seedIncidents stores n incidents over two years: a few open, the rest
// resolved, all severities, with commanders and labels.
func (e *benchEnv) seedIncidents(b *testing.B, n int) {
	b.Helper()
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	err := e.svc.Update(b.Context(), func(tx bot.Tx) error {
		for i := range n {
			at := start.Add(time.Duration(i) * 100 * time.Minute)
			inc := bot.Incident{Title: fmt.Sprintf("Platform API returning 500 (%d)", i), Severity: bot.Severity(i%4 + 1),
				Status: bot.StatusResolved, Commander: fmt.Sprintf("U%d", i%7), Source: "webhook", DedupKey: fmt.Sprint(i),
				Labels: map[string]string{"service": fmt.Sprintf("svc-%d", i%12)}, DetectedAt: at, DeclaredAt: at.Add(time.Minute),
				AcknowledgedAt: at.Add(4 * time.Minute), MitigatedAt: at.Add(50 * time.Minute), ResolvedAt: at.Add(90 * time.Minute), UpdatedAt: at.Add(90 * time.Minute)}
			if i%500 == 0 {
				inc.Status, inc.MitigatedAt, inc.ResolvedAt = bot.StatusInvestigating, time.Time{}, time.Time{}
			}
			if err := tx.CreateIncident(&inc); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
}

// seedTimeline stores one open incident with n events: notes, status
// changes, and storms of repeated alerts (collapsed on the page).
func (e *benchEnv) seedTimeline(b *testing.B, n int) bot.Incident {
	b.Helper()
	inc, err := e.svc.Declare(b.Context(), bot.DeclareRequest{Actor: "U1", Title: "Platform API returning 500", Severity: bot.SEV1})
	if err != nil {
		b.Fatal(err)
	}
	start := inc.DeclaredAt
	err = e.svc.Update(b.Context(), func(tx bot.Tx) error {
		for i := range n - 2 {
			ev := bot.Event{IncidentID: inc.ID, OccurredAt: start.Add(time.Duration(i) * time.Second), Actor: fmt.Sprintf("U%d", i%5),
				Kind: bot.KindNote, Text: fmt.Sprintf("checked the gateway's health endpoint again: still 500 (%d)", i)}
			if i%4 == 0 { // a quarter are repeats of one alert, in runs of up to 50
				ev.Kind, ev.Actor, ev.Text = bot.KindAlertFired, "alert:webhook", "alert fired: Platform API returning 500"
				ev.Data = map[string]any{"dedup_key": "api-500"}
			}
			if _, err := tx.AppendEvent(&ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	evs, err := e.svc.Timeline(b.Context(), inc.ID)
	if err != nil || len(evs) < n-2 {
		b.Fatalf("timeline: %d events, %v", len(evs), err)
	}
	return inc
}

// BenchmarkIncidentList renders the incident list of 10,000 incidents
// through the handler; the baseline reads the same incidents from the
// store without rendering.
func BenchmarkIncidentList(b *testing.B) {
	e := newBenchEnv(b)
	e.seedIncidents(b, 10_000)
	b.Run("store", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.svc.Incidents(context.Background(), bot.IncidentFilter{All: true}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("page", func(b *testing.B) {
		for b.Loop() {
			b.SetBytes(int64(e.get(b, "/incidents")))
		}
	})
	b.Run("page_filtered", func(b *testing.B) {
		for b.Loop() {
			e.get(b, "/incidents?status=resolved&severity=SEV2&q=api&page=3")
		}
	})
}

// BenchmarkIncidentPage renders an incident page with 10,000 events
// through the handler; the baseline reads the same timeline from the
// store without rendering.
func BenchmarkIncidentPage(b *testing.B) {
	e := newBenchEnv(b)
	inc := e.seedTimeline(b, 10_000)
	b.Run("store", func(b *testing.B) {
		for b.Loop() {
			if _, err := e.svc.Timeline(context.Background(), inc.ID); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("page", func(b *testing.B) {
		for b.Loop() {
			b.SetBytes(int64(e.get(b, "/incidents/"+inc.Key())))
		}
	})
	b.Run("version", func(b *testing.B) {
		for b.Loop() {
			e.get(b, "/incidents/"+inc.Key()+"/version")
		}
	})
}
