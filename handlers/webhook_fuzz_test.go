package handlers

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// The payload parsers must never panic, and must either accept a body or
// reject it with an EINVALID error naming a field. The seed corpora live in
// testdata/fuzz/<FuzzName>/ (run as normal tests by go test); the vendor
// fixtures are added too. Explore with:
//
//	go test ./handlers -run '^$' -fuzz FuzzParsePagerDutyEvent -fuzztime 30s
//	go test ./handlers -run '^$' -fuzz FuzzParseAlertmanager -fuzztime 30s

func addFixtures(f *testing.F, pattern string) {
	paths, err := filepath.Glob(filepath.Join("testdata", pattern))
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
}

func checkParseError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var be *bot.Error
	if !errors.As(err, &be) || be.Code != bot.EINVALID || be.Field == "" {
		t.Fatalf("rejection is not an EINVALID error naming a field: %#v", err)
	}
}

func FuzzParsePagerDutyEvent(f *testing.F) {
	addFixtures(f, "pagerduty_v3_*.json")
	sev := DefaultPagerDutySeverity()
	f.Fuzz(func(t *testing.T, body []byte) {
		ev, err := parsePagerDutyEvent(body, time.Now())
		checkParseError(t, err)
		if err != nil {
			return
		}
		if ev.ID == "" || ev.EventType == "" {
			t.Fatalf("accepted an event without id or type: %+v", ev)
		}
		if effect, ok := pdIncidentEvents[ev.EventType]; ok {
			h := &PagerDutyWebhook{Severity: sev}
			se := h.sourceEvent(ev, effect, "delivery")
			if se.DedupKey == "" {
				t.Fatalf("incident event without a PagerDuty incident id: %+v", ev)
			}
			if se.Trigger != nil && (se.Trigger.Title == "" || (se.Trigger.Severity != 0 && !se.Trigger.Severity.Valid())) {
				t.Fatalf("bad trigger alert: %+v", se.Trigger)
			}
		}
	})
}

func FuzzParseAlertmanager(f *testing.F) {
	addFixtures(f, "alertmanager_*.json")
	f.Fuzz(func(t *testing.T, body []byte) {
		n, err := parseAlertmanager(body, time.Now())
		checkParseError(t, err)
		if err != nil {
			return
		}
		h := &AlertmanagerWebhook{}
		g := h.group(n)
		if g.DedupKey == "" || len(g.Alerts) == 0 || g.Title == "" {
			t.Fatalf("accepted a group without key, alerts or title: %+v", g)
		}
		for _, a := range g.Alerts {
			if a.EventID == "" || a.Title == "" || (a.Severity != 0 && !a.Severity.Valid()) {
				t.Fatalf("bad alert: %+v", a)
			}
		}
	})
}
