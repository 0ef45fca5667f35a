package handlers_test

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/handlers"
	"github.com/sitrep-io/sitrep/internal/testclock"
)

var occurredAt = regexp.MustCompile(`"occurred_at": "[^"]*"`)

// seedDelivery is one PagerDuty webhook of the seed night: a captured
// payload with the night's occurred_at and its own event id.
func seedDelivery(t *testing.T, name, eventID string, at time.Time) []byte {
	t.Helper()
	body := occurredAt.ReplaceAllString(string(fixture(t, name)), `"occurred_at": "`+at.Format(time.RFC3339Nano)+`"`)
	// The first "id" of the payload is the event's id.
	i := strings.Index(body, `"id": "`) + len(`"id": "`)
	j := i + strings.Index(body[i:], `"`)
	return []byte(body[:i] + eventID + body[j:])
}

// The seed night (triggered 00:06, acknowledged 00:13, resolved 04:37 UTC)
// replayed through signed PagerDuty webhooks gives a time to acknowledge of
// 7 min and an impact of 4h 31m, however late and in whatever order the
// deliveries arrive.
func TestPagerDutyWebhook_SourceClockWhateverTheDelay(t *testing.T) {
	night := time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC)
	triggered, acked, resolved := night.Add(6*time.Minute), night.Add(13*time.Minute), night.Add(4*time.Hour+37*time.Minute)
	type delivery struct {
		name string
		at   time.Time
	}
	trig := delivery{"pagerduty_v3_incident_triggered.json", triggered}
	ack := delivery{"pagerduty_v3_incident_acknowledged.json", acked}
	res := delivery{"pagerduty_v3_incident_resolved.json", resolved}
	for _, tc := range []struct {
		name  string
		delay time.Duration
		order []delivery
	}{
		{"minutes late", 7 * time.Minute, []delivery{trig, ack, res}},
		{"days late", 47 * time.Hour, []delivery{trig, ack, res}},
		{"out of order", 30 * time.Minute, []delivery{trig, res, ack}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			clock := testclock.New(night)
			db := openStore(t)
			svc := alertingService(t, db, bot.ServiceConfig{Now: clock.Now})
			log := slog.New(slog.DiscardHandler)
			routes := handlers.Routes{DB: db, Log: log, Extra: map[string]http.Handler{
				"/webhooks/pagerduty": &handlers.PagerDutyWebhook{Events: svc, Secrets: []string{pdSecret}, Log: log,
					Severity: handlers.DefaultPagerDutySeverity()}}}
			srv := httptest.NewServer(routes.Handler())
			t.Cleanup(srv.Close)
			e := &alertEnv{db: db, svc: svc, srv: srv}
			for i, d := range tc.order {
				clock.Set(d.at.Add(tc.delay))
				if tc.name == "out of order" {
					clock.Set(resolved.Add(tc.delay + time.Duration(i)*time.Minute))
				}
				if status, out := e.pd(t, seedDelivery(t, d.name, "EV"+d.name, d.at), pdSecret); status != http.StatusOK {
					t.Fatalf("%s: %d %v", d.name, status, out)
				}
			}
			inc := e.only(t)
			if inc.Status != bot.StatusResolved {
				t.Fatalf("status %s, want resolved", inc.Status)
			}
			if got := inc.AcknowledgedAt.Sub(inc.DetectedAt); got != 7*time.Minute {
				t.Errorf("time to acknowledge = %s, want 7m (detected %s, acknowledged %s)", got, inc.DetectedAt, inc.AcknowledgedAt)
			}
			if got := inc.ResolvedAt.Sub(inc.DetectedAt); got != 4*time.Hour+31*time.Minute {
				t.Errorf("impact = %s, want 4h31m", got)
			}
		})
	}
}

// A source time in the future, or before the incident was detected, is
// clamped, and the timeline says so.
func TestPagerDutyWebhook_SourceClockClamped(t *testing.T) {
	now := time.Date(2026, 11, 3, 1, 0, 0, 0, time.UTC)
	clock := testclock.New(now)
	db := openStore(t)
	svc := alertingService(t, db, bot.ServiceConfig{Now: clock.Now})
	log := slog.New(slog.DiscardHandler)
	routes := handlers.Routes{DB: db, Log: log, Extra: map[string]http.Handler{
		"/webhooks/pagerduty": &handlers.PagerDutyWebhook{Events: svc, Secrets: []string{pdSecret}, Log: log,
			Severity: handlers.DefaultPagerDutySeverity()}}}
	srv := httptest.NewServer(routes.Handler())
	t.Cleanup(srv.Close)
	e := &alertEnv{db: db, svc: svc, srv: srv}
	e.pd(t, seedDelivery(t, "pagerduty_v3_incident_triggered.json", "EV1", now.Add(-time.Hour)), pdSecret)
	e.pd(t, seedDelivery(t, "pagerduty_v3_incident_acknowledged.json", "EV2", now.Add(-3*time.Hour)), pdSecret)
	inc := e.only(t)
	if !inc.AcknowledgedAt.Equal(inc.DetectedAt) {
		t.Errorf("acknowledged %s before detection %s: want clamped to detection", inc.AcknowledgedAt, inc.DetectedAt)
	}
	e.pd(t, seedDelivery(t, "pagerduty_v3_incident_resolved.json", "EV3", now.Add(24*time.Hour)), pdSecret)
	inc = e.only(t)
	if !inc.ResolvedAt.Equal(now) {
		t.Errorf("resolved at %s, want clamped to now %s", inc.ResolvedAt, now)
	}
	clamped := 0
	for _, ev := range e.timeline(t, inc.ID) {
		if ev.Kind == bot.KindSourceEvent && ev.Data["reported_at"] != nil && strings.Contains(ev.Text, "out of range") {
			clamped++
		}
	}
	if clamped != 2 {
		t.Errorf("%d timeline rows say a time was clamped, want 2", clamped)
	}
}
