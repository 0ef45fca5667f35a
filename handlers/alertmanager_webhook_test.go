package handlers_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/sitrep-io/sitrep/bot"
)

// am posts body to the Alertmanager webhook with the bearer token auth.
func (e *alertEnv) am(t *testing.T, auth string, body []byte) (int, map[string]any) {
	t.Helper()
	req := jsonPost(t, e.srv.URL+"/webhooks/alertmanager", auth, body)
	req.Header.Set("User-Agent", "Alertmanager/0.28.1")
	return e.do(t, req)
}

func TestAlertmanagerWebhook_FiringRepeatPartialResolve(t *testing.T) {
	e := newAlertEnv(t)
	auth := "Bearer " + token
	status, out := e.am(t, auth, fixture(t, "alertmanager_firing.json"))
	if status != http.StatusCreated || out["incident"] != "INC-1" || out["recorded"] != float64(2) {
		t.Fatalf("first notification: %d %v", status, out)
	}
	inc := e.only(t)
	if inc.Source != "alertmanager" || inc.DedupKey != `{}:{alertname="HighErrorRate"}` {
		t.Errorf("dedup: %q %q", inc.Source, inc.DedupKey)
	}
	if inc.Title != "HighErrorRate" || inc.Severity != bot.SEV1 {
		t.Errorf("title %q severity %s, want HighErrorRate SEV1", inc.Title, inc.Severity)
	}
	// The repeat (same fingerprints, same starts) and the pretty-printed
	// copy of the first: nothing new.
	for _, name := range []string{"alertmanager_firing_repeat.json", "alertmanager_firing_pretty.json", "alertmanager_firing.json"} {
		status, out := e.am(t, auth, fixture(t, name))
		if status != http.StatusOK || out["recorded"] != float64(0) || out["incident"] != "INC-1" {
			t.Fatalf("%s: %d %v", name, status, out)
		}
	}
	status, out = e.am(t, auth, fixture(t, "alertmanager_partially_resolved.json"))
	if status != http.StatusOK || out["recorded"] != float64(1) {
		t.Fatalf("partially resolved: %d %v", status, out)
	}
	status, out = e.am(t, auth, fixture(t, "alertmanager_resolved.json"))
	if status != http.StatusOK || out["recorded"] != float64(1) {
		t.Fatalf("resolved (one end already recorded): %d %v", status, out)
	}
	evs := e.timeline(t, inc.ID)
	if fired, resolved := len(eventsOf(evs, bot.KindAlertFired)), len(eventsOf(evs, bot.KindAlertResolved)); fired != 2 || resolved != 2 {
		t.Fatalf("timeline: %d fired, %d resolved; want 2 and 2", fired, resolved)
	}
	if e.only(t).Status != bot.StatusTriggered {
		t.Error("resolved alerts must not resolve the incident: people do")
	}
}

func TestAlertmanagerWebhook_OtherFixtures(t *testing.T) {
	for _, name := range []string{"alertmanager_firing_v0.31_classic.json", "alertmanager_captured_zulip.json"} {
		t.Run(name, func(t *testing.T) {
			e := newAlertEnv(t)
			status, out := e.am(t, "Bearer "+token, fixture(t, name))
			if status != http.StatusCreated || out["opened"] != true {
				t.Fatalf("%d %v", status, out)
			}
		})
	}
}

func TestAlertmanagerWebhook_ResolvedWithoutIncident(t *testing.T) {
	e := newAlertEnv(t)
	status, out := e.am(t, "Bearer "+token, fixture(t, "alertmanager_resolved.json"))
	if status != http.StatusOK || out["ignored"] == nil || len(e.incidents(t)) != 0 {
		t.Fatalf("%d %v", status, out)
	}
}

func TestAlertmanagerWebhook_Auth(t *testing.T) {
	e := newAlertEnv(t)
	body := fixture(t, "alertmanager_firing.json")
	for _, auth := range []string{"", "Bearer wrong", "Basic " + token, token} {
		if status, _ := e.am(t, auth, body); status != http.StatusUnauthorized {
			t.Errorf("auth %q: %d, want 401", auth, status)
		}
	}
	if len(e.incidents(t)) != 0 {
		t.Fatal("unauthenticated requests opened incidents")
	}
}

func TestAlertmanagerWebhook_BadInput(t *testing.T) {
	e := newAlertEnv(t)
	alert := `{"status":"firing","labels":{"alertname":"X"},"startsAt":"2026-08-20T10:15:30Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"f1"}`
	notif := func(fields string, alerts ...string) string {
		return fmt.Sprintf(`{%s"alerts":[%s]}`, fields, strings.Join(alerts, ","))
	}
	ok := `"version":"4","groupKey":"g","status":"firing",`
	tests := []struct{ name, body, field string }{
		{"ErrMalformed", `{"version":`, "body"},
		{"ErrNoVersion", notif(`"groupKey":"g","status":"firing",`, alert), "version"},
		{"ErrOldVersion", notif(`"version":"3","groupKey":"g","status":"firing",`, alert), "version"},
		{"ErrNoGroupKey", notif(`"version":"4","status":"firing",`, alert), "groupKey"},
		{"ErrBadStatus", notif(`"version":"4","groupKey":"g","status":"burning",`, alert), "status"},
		{"ErrNoAlerts", notif(ok), "alerts"},
		{"ErrNoFingerprint", notif(ok, strings.Replace(alert, `"fingerprint":"f1"`, `"fingerprint":""`, 1)), "alerts[0].fingerprint"},
		{"ErrBadStart", notif(ok, strings.Replace(alert, "2026-08-20T10:15:30Z", "soon", 1)), "alerts[0].startsAt"},
		{"ErrResolvedNoEnd", notif(ok, strings.Replace(alert, `"status":"firing"`, `"status":"resolved"`, 1)), "alerts[0].endsAt"},
		{"ErrNoName", notif(ok, strings.Replace(alert, `{"alertname":"X"}`, `{}`, 1)), "alerts[0].labels.alertname"},
		{"ErrAlertStatus", notif(ok, alert, strings.Replace(alert, `"status":"firing"`, `"status":""`, 1)), "alerts[1].status"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := e.am(t, "Bearer "+token, []byte(tt.body))
			if status != http.StatusBadRequest || out["field"] != tt.field {
				t.Errorf("got %d %v, want 400 naming %s", status, out, tt.field)
			}
		})
	}
	if status, _ := e.am(t, "Bearer "+token, bytes.Repeat([]byte("x"), 1<<20+1)); status != http.StatusRequestEntityTooLarge {
		t.Errorf("big body: %d, want 413", status)
	}
	req, _ := http.NewRequest(http.MethodPut, e.srv.URL+"/webhooks/alertmanager", nil)
	if status, _ := e.do(t, req); status != http.StatusMethodNotAllowed {
		t.Errorf("PUT: %d, want 405", status)
	}
	if len(e.incidents(t)) != 0 || e.outboxLen(t) != 0 {
		t.Fatal("rejected requests stored something")
	}
}

func TestAlertmanagerWebhook_SeverityMapping(t *testing.T) {
	e := newAlertEnv(t)
	for i, tc := range []struct {
		label string
		want  bot.Severity
	}{{"critical", bot.SEV1}, {"error", bot.SEV2}, {"high", bot.SEV2}, {"warning", bot.SEV3}, {"info", bot.SEV4}, {"weird", bot.SEV3}} {
		body := fmt.Sprintf(`{"version":"4","groupKey":"g%d","status":"firing","alerts":[{"status":"firing","labels":{"alertname":"A","severity":%q},
			"annotations":{"summary":"disk full"},"startsAt":"2026-08-20T10:15:30Z","endsAt":"0001-01-01T00:00:00Z","fingerprint":"f"}]}`, i, tc.label)
		status, out := e.am(t, "Bearer "+token, []byte(body))
		if status != http.StatusCreated {
			t.Fatalf("%s: %d %v", tc.label, status, out)
		}
		inc, err := e.db.Incident(t.Context(), int64(i+1))
		if err != nil {
			t.Fatal(err)
		}
		if inc.Severity != tc.want || inc.Title != "disk full" {
			t.Errorf("%s: %s %q, want %s \"disk full\"", tc.label, inc.Severity, inc.Title, tc.want)
		}
	}
}
