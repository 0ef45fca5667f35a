package handlers_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/sitrep-io/sitrep/bot"
)

// refused checks a 400 naming field, and that nothing was stored.
func (e *alertEnv) refused(t *testing.T, name string, status int, out map[string]any, field string) {
	t.Helper()
	if status != http.StatusBadRequest || out["field"] != field {
		t.Errorf("%s: %d %v, want 400 naming %q", name, status, out, field)
	}
	if n := len(e.incidents(t)); n != 0 {
		t.Fatalf("%s: %d incidents stored", name, n)
	}
}

// webhook posts body to one of the JSON webhooks, authenticated as its
// sender authenticates (bearer token, PagerDuty's signature).
func (e *alertEnv) webhook(t *testing.T, endpoint, body string) (int, map[string]any) {
	t.Helper()
	switch endpoint {
	case "alertmanager":
		return e.am(t, "Bearer "+token, []byte(body))
	case "pagerduty":
		return e.pd(t, []byte(body), pdSecret)
	}
	return e.do(t, jsonPost(t, e.srv.URL+"/webhooks/alert", "Bearer "+token, []byte(body)))
}

// Every JSON webhook reads its body with one strict decoder: one JSON
// value, no key twice.
func TestWebhooksRefuseTrailingDataAndDuplicateKeys(t *testing.T) {
	e := newAlertEnv(t, pdSecret)
	generic := `{"title": "Platform API returning 500", "dedup_key": "k"}`
	am := string(fixture(t, "alertmanager_firing.json"))
	pd := string(fixture(t, "pagerduty_v3_incident_triggered.json"))
	for _, tt := range []struct {
		name, endpoint, body, field string
	}{
		{"generic trailing garbage", "alert", generic + `{"title": "second"}`, "body"},
		{"generic trailing text", "alert", generic + ` garbage`, "body"},
		{"generic duplicate key", "alert", `{"title": "a", "title": "b"}`, "title"},
		{"generic nested duplicate", "alert", `{"title": "a", "labels": {"service": "x", "service": "y"}}`, "labels.service"},
		{"alertmanager trailing garbage", "alertmanager", am + `]`, "body"},
		{"alertmanager duplicate in an alert", "alertmanager",
			strings.Replace(am, `"alertname":"HighErrorRate",`, `"alertname":"HighErrorRate","alertname":"Other",`, 1), "alerts[0].labels.alertname"},
		{"alertmanager duplicate status", "alertmanager", strings.Replace(am, `{"receiver":`, `{"status":"resolved","receiver":`, 1), "status"},
		{"pagerduty trailing garbage", "pagerduty", pd + "\n{}", "body"},
		{"pagerduty duplicate event id", "pagerduty", strings.Replace(pd, `"event": {`, `"event": {"id": "OTHER",`, 1), "event.id"},
	} {
		status, out := e.webhook(t, tt.endpoint, tt.body)
		e.refused(t, tt.name, status, out, tt.field)
	}
}

// Times a source cannot mean (year 0, 9999, before 2000, more than a day
// ahead) are refused naming the field; a clock a little ahead is still
// clamped to now, as before.
func TestWebhooksRefuseImpossibleTimes(t *testing.T) {
	e := newAlertEnv(t, pdSecret)
	auth := "Bearer " + token
	am := string(fixture(t, "alertmanager_firing.json"))
	resolved := string(fixture(t, "alertmanager_resolved.json"))
	pd := string(fixture(t, "pagerduty_v3_incident_triggered.json"))
	generic := func(at string) string { return `{"title": "Platform API returning 500", "occurred_at": "` + at + `"}` }
	for _, tt := range []struct {
		name, endpoint, body, field string
	}{
		{"generic year 0", "alert", generic("0000-01-01T00:00:00Z"), "occurred_at"},
		{"generic year 9999", "alert", generic("9999-12-31T23:59:59Z"), "occurred_at"},
		{"generic 1999", "alert", generic("1999-12-31T23:59:59Z"), "occurred_at"},
		{"generic two days ahead", "alert", generic(time.Now().Add(48 * time.Hour).UTC().Format(time.RFC3339)), "occurred_at"},
		{"alertmanager startsAt year 1", "alertmanager", strings.Replace(am, "2026-08-20T10:15:30.123456789Z", "0001-01-01T00:00:00Z", 1), "alerts[0].startsAt"},
		{"alertmanager startsAt 9999", "alertmanager", strings.Replace(am, "2026-08-20T10:15:30.123456789Z", "9999-01-01T00:00:00Z", 1), "alerts[0].startsAt"},
		{"pagerduty occurred_at 9999", "pagerduty", strings.Replace(pd, "2020-04-09T15:16:27.000Z", "9999-04-09T15:16:27.000Z", 1), "event.occurred_at"},
		{"pagerduty occurred_at year 0", "pagerduty", strings.Replace(pd, "2020-04-09T15:16:27.000Z", "0000-04-09T15:16:27.000Z", 1), "event.occurred_at"},
	} {
		status, out := e.webhook(t, tt.endpoint, tt.body)
		e.refused(t, tt.name, status, out, tt.field)
	}
	// A resolved alert whose end is before its start.
	backwards := strings.Replace(resolved, `"endsAt": "2026-08-20T10:42:30.123456789Z"`, `"endsAt": "2026-08-20T10:00:00Z"`, 1)
	if backwards == resolved {
		t.Fatal("fixture changed: no endsAt to move")
	}
	status, out := e.am(t, auth, []byte(backwards))
	if status != http.StatusBadRequest || out["field"] != "alerts[0].endsAt" || !strings.Contains(out["error"].(string), "before the alert's startsAt") {
		t.Errorf("endsAt before startsAt: %d %v", status, out)
	}

	// An hour ahead is a skewed clock, not an impossible time: clamped.
	status, out = e.do(t, jsonPost(t, e.srv.URL+"/webhooks/alert", auth, []byte(generic(time.Now().Add(time.Hour).UTC().Format(time.RFC3339)))))
	if status != http.StatusCreated {
		t.Fatalf("an hour ahead: %d %v", status, out)
	}
	if inc := e.only(t); inc.DetectedAt.After(time.Now()) {
		t.Errorf("detected at %v: a time ahead of the clock must be clamped to now", inc.DetectedAt)
	}
}

func TestAlertmanagerRefusesNegativeTruncatedAlerts(t *testing.T) {
	e := newAlertEnv(t)
	am := string(fixture(t, "alertmanager_firing.json"))
	body := strings.Replace(am, `{"receiver":`, `{"truncatedAlerts":-3,"receiver":`, 1)
	status, out := e.am(t, "Bearer "+token, []byte(body))
	e.refused(t, "negative truncatedAlerts", status, out, "truncatedAlerts")
}

// A 1 MB alert title opens its incident with the title cut to its limit,
// visibly; descriptions and label values are cut too; too many labels or a
// dedup key too long to cut are refused naming the field.
func TestAlertWebhookBoundsTexts(t *testing.T) {
	e := newAlertEnv(t)
	auth := "Bearer " + token
	huge := strings.Repeat("é", 500_000) // 1,000,000 bytes
	body := alertBody(map[string]any{"title": huge, "description": strings.Repeat("d", 20_000), "dedup_key": "big",
		"labels": map[string]string{"service": strings.Repeat("s", 5000)}, "annotations": map[string]string{"summary": strings.Repeat("a", 10_000)}})
	status, out := e.do(t, jsonPost(t, e.srv.URL+"/webhooks/alert", auth, body))
	if status != http.StatusCreated {
		t.Fatalf("a 1 MB title: %d %v, want 201 (an alert is never lost over its length)", status, out)
	}
	inc := e.only(t)
	if n := utf8.RuneCountInString(inc.Title); n != bot.MaxTitleLen || !strings.HasSuffix(inc.Title, bot.CutMark) {
		t.Errorf("title: %d characters ending %q, want %d ending %q", n, inc.Title[len(inc.Title)-12:], bot.MaxTitleLen, bot.CutMark)
	}
	if n := utf8.RuneCountInString(inc.Description); n > bot.MaxDescriptionLen || !strings.HasSuffix(inc.Description, bot.CutMark) {
		t.Errorf("description: %d characters", n)
	}
	if v := inc.Labels["service"]; utf8.RuneCountInString(v) != bot.MaxLabelValueLen || !strings.HasSuffix(v, bot.CutMark) {
		t.Errorf("label value: %d characters", len(v))
	}
	var stored int
	for _, ev := range e.timeline(t, inc.ID) {
		stored += len(ev.Text)
	}
	if stored > 64<<10 {
		t.Errorf("the timeline holds %d bytes of text for one alert", stored)
	}

	e2 := newAlertEnv(t)
	labels := map[string]string{}
	for i := range bot.MaxLabels + 1 {
		labels[strings.Repeat("k", i+1)] = "v"
	}
	for _, tt := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"too many labels", map[string]any{"title": "t", "labels": labels}, "labels"},
		{"dedup key too long", map[string]any{"title": "t", "dedup_key": strings.Repeat("k", bot.MaxKeyLen+1)}, "dedup_key"},
		{"label name too long", map[string]any{"title": "t", "labels": map[string]string{strings.Repeat("n", 200): "v"}}, "labels"},
		{"url too long", map[string]any{"title": "t", "url": "https://x.example/" + strings.Repeat("p", bot.MaxURLLen)}, "url"},
	} {
		status, out := e2.do(t, jsonPost(t, e2.srv.URL+"/webhooks/alert", auth, alertBody(tt.body)))
		e2.refused(t, tt.name, status, out, tt.field)
	}
}

// Bidirectional overrides and other control characters in an alert arrive
// shown, not obeyed: "[U+202E]" instead of a reversed title, no terminal
// escape sequences, one line for a title.
func TestAlertWebhookShowsControlCharactersHarmlessly(t *testing.T) {
	e := newAlertEnv(t)
	title := "invoice\u202Etxt.exe \x1b[2J\x1b[31mred\u0085 line\nbreak\u200F"
	status, out := e.do(t, jsonPost(t, e.srv.URL+"/webhooks/alert", "Bearer "+token,
		alertBody(map[string]any{"title": title, "description": "first\nsecond\x07", "labels": map[string]string{"svc\u202E": "a\u2066b"}})))
	if status != http.StatusCreated {
		t.Fatalf("%d %v", status, out)
	}
	inc := e.only(t)
	want := "invoice[U+202E]txt.exe [U+001B][2J[U+001B][31mred[U+0085] line break[U+200F]"
	if inc.Title != want {
		t.Errorf("title %q, want %q", inc.Title, want)
	}
	if inc.Description != "first\nsecond[U+0007]" {
		t.Errorf("description %q", inc.Description)
	}
	if inc.Labels["svc[U+202E]"] != "a[U+2066]b" {
		t.Errorf("labels %q", inc.Labels)
	}
}

// Alertmanager's group title (the common summary) is cut and made safe
// like an alert's.
func TestAlertmanagerGroupTitleIsBounded(t *testing.T) {
	e := newAlertEnv(t)
	am := string(fixture(t, "alertmanager_firing.json"))
	long := "checkout\u202E " + strings.Repeat("s", 300_000)
	body := strings.Replace(am, `"commonAnnotations":{`, `"commonAnnotations":{"summary":"`+long+`",`, 1)
	if body == am {
		t.Fatal("fixture changed: no commonAnnotations")
	}
	status, out := e.am(t, "Bearer "+token, []byte(body))
	if status != http.StatusCreated {
		t.Fatalf("%d %v", status, out)
	}
	inc := e.only(t)
	if utf8.RuneCountInString(inc.Title) != bot.MaxTitleLen || !strings.HasPrefix(inc.Title, "checkout[U+202E] ") || !strings.HasSuffix(inc.Title, bot.CutMark) {
		t.Errorf("title %.60q… (%d characters)", inc.Title, utf8.RuneCountInString(inc.Title))
	}
}
