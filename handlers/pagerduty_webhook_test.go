package handlers_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/handlers"
	"github.com/sitrep-io/sitrep/internal/pdfake"
	"github.com/sitrep-io/sitrep/store"
)

const (
	pdSecret    = "pd-test-secret-1" // the secrets of pagerduty_v3_signature_test_vector.txt
	pdSecretOld = "pd-test-secret-2"
)

// alertEnv is a real store and service behind the PagerDuty and
// Alertmanager webhooks, served over httptest.
type alertEnv struct {
	db  *store.DB
	svc *bot.Service
	srv *httptest.Server
}

func newAlertEnv(t *testing.T, secrets ...string) *alertEnv {
	t.Helper()
	return newAlertEnvOn(t, openStore(t), secrets...)
}

// newAlertEnvOn is newAlertEnv on the given store.
func newAlertEnvOn(t *testing.T, db *store.DB, secrets ...string) *alertEnv {
	t.Helper()
	svc := alertingService(t, db, bot.ServiceConfig{})
	log := slog.New(slog.DiscardHandler)
	routes := handlers.Routes{DB: db, Log: log, AlertWebhook: &handlers.AlertWebhook{Alerts: svc, Token: token, Log: log},
		Extra: map[string]http.Handler{
			"/webhooks/pagerduty": &handlers.PagerDutyWebhook{Events: svc, Secrets: secrets, Log: log,
				Severity: handlers.DefaultPagerDutySeverity()},
			"/webhooks/alertmanager": &handlers.AlertmanagerWebhook{Alerts: svc, Token: token, Log: log},
		}}
	srv := httptest.NewServer(routes.Handler())
	t.Cleanup(srv.Close)
	return &alertEnv{db: db, svc: svc, srv: srv}
}

// do sends r and returns the status and decoded JSON answer.
func (e *alertEnv) do(t *testing.T, r *http.Request) (int, map[string]any) {
	t.Helper()
	return doJSON(t, e.srv.Client(), r)
}

// pd posts body to the PagerDuty webhook signed with secrets.
func (e *alertEnv) pd(t *testing.T, body []byte, secrets ...string) (int, map[string]any) {
	t.Helper()
	return e.do(t, pdfake.WebhookRequest(e.srv.URL+"/webhooks/pagerduty", body, secrets...))
}

func (e *alertEnv) incidents(t *testing.T) []bot.Incident {
	t.Helper()
	incs, err := e.db.Incidents(context.Background(), bot.IncidentFilter{All: true})
	if err != nil {
		t.Fatal(err)
	}
	return incs
}

func (e *alertEnv) only(t *testing.T) bot.Incident {
	t.Helper()
	incs := e.incidents(t)
	if len(incs) != 1 {
		t.Fatalf("got %d incidents, want 1", len(incs))
	}
	return incs[0]
}

func (e *alertEnv) timeline(t *testing.T, id int64) []bot.Event {
	t.Helper()
	evs, err := e.db.Timeline(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func (e *alertEnv) outboxLen(t *testing.T) int {
	t.Helper()
	ds, err := e.db.Deliveries(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(ds)
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

func TestValidPagerDutySignature_TestVector(t *testing.T) {
	body := fixture(t, "pagerduty_v3_incident_triggered.json")
	single := "v1=8954d66073d9ba4e0a6fec407b844484b83d2214e6a291369a649b6dcaee705e"
	rotation := single + ",v1=7a7f33dfd6cb5b53086b6277b32c1a2d9160a76b0f18cee6db6e57cfbeeaff2c"
	tests := []struct {
		name    string
		header  string
		secrets []string
		want    bool
	}{
		{"OK", single, []string{pdSecret}, true},
		{"RotationCurrent", rotation, []string{pdSecret}, true},
		{"RotationNext", rotation, []string{pdSecretOld}, true},
		{"OurRotation", single, []string{"new-secret", pdSecret}, true},
		{"ErrWrongSecret", rotation, []string{"other"}, false},
		{"ErrMissing", "", []string{pdSecret}, false},
		{"ErrNoPrefix", strings.TrimPrefix(single, "v1="), []string{pdSecret}, false},
		{"ErrOtherVersion", "v0=" + strings.TrimPrefix(single, "v1="), []string{pdSecret}, false},
		{"ErrNotHex", "v1=zz", []string{pdSecret}, false},
		{"ErrNoSecret", single, nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := handlers.ValidPagerDutySignature(tt.header, body, tt.secrets); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
	if handlers.ValidPagerDutySignature(single, append(bytes.Clone(body), ' '), []string{pdSecret}) {
		t.Error("a signature must not verify a changed body")
	}
}

func TestPagerDutyWebhook_RejectsBadSignatures(t *testing.T) {
	e := newAlertEnv(t, pdSecret)
	body := fixture(t, "pagerduty_v3_incident_triggered.json")
	for name, req := range map[string]*http.Request{
		"missing": pdfake.WebhookRequest(e.srv.URL+"/webhooks/pagerduty", body),
		"wrong":   pdfake.WebhookRequest(e.srv.URL+"/webhooks/pagerduty", body, "not-the-secret"),
	} {
		status, out := e.do(t, req)
		if status != http.StatusUnauthorized || !strings.Contains(fmt.Sprint(out["error"]), "X-PagerDuty-Signature") {
			t.Errorf("%s signature: %d %v", name, status, out)
		}
	}
	if n := len(e.incidents(t)); n != 0 {
		t.Fatalf("rejected requests opened %d incidents", n)
	}
	// PagerDuty rotating: the old and the new secret both sign.
	if status, out := e.pd(t, body, pdSecretOld, pdSecret); status != http.StatusOK || out["opened"] != true {
		t.Fatalf("rotated signature: %d %v", status, out)
	}
}

func TestPagerDutyWebhook_DisabledWithoutSecret(t *testing.T) {
	e := newAlertEnv(t)
	status, _ := e.pd(t, fixture(t, "pagerduty_v3_incident_triggered.json"), pdSecret)
	if status != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", status)
	}
}

func TestPagerDutyWebhook_Lifecycle(t *testing.T) {
	e := newAlertEnv(t, pdSecret)
	status, out := e.pd(t, fixture(t, "pagerduty_v3_incident_triggered.json"), pdSecret)
	if status != http.StatusOK || out["opened"] != true || out["incident"] != "INC-1" {
		t.Fatalf("triggered: %d %v", status, out)
	}
	inc := e.only(t)
	if inc.Source != "pagerduty" || inc.DedupKey != "PGR0VU2" || inc.Status != bot.StatusTriggered {
		t.Fatalf("incident: %+v", inc)
	}
	if inc.Labels[bot.LabelEscalationPolicy] != "PUS0KTE" || inc.SourceURL != "https://acme.pagerduty.com/incidents/PGR0VU2" {
		t.Errorf("PagerDuty facts not kept: labels %v url %q", inc.Labels, inc.SourceURL)
	}
	// The redelivery (same X-Webhook-Id) changes nothing.
	before := e.outboxLen(t)
	if status, out := e.pd(t, fixture(t, "pagerduty_v3_incident_triggered.json"), pdSecret); status != http.StatusOK || out["recorded"] != false {
		t.Fatalf("redelivery: %d %v", status, out)
	}
	if got := e.outboxLen(t); got != before {
		t.Errorf("redelivery queued %d outbox entries", got-before)
	}

	if status, out := e.pd(t, fixture(t, "pagerduty_v3_incident_acknowledged.json"), pdSecret); status != http.StatusOK || out["recorded"] != true {
		t.Fatalf("acknowledged: %d %v", status, out)
	}
	inc = e.only(t)
	if inc.Status != bot.StatusInvestigating || inc.AcknowledgedAt.IsZero() {
		t.Fatalf("after acknowledged: %s", inc.Status)
	}
	if status, _ := e.pd(t, fixture(t, "pagerduty_v3_incident_resolved.json"), pdSecret); status != http.StatusOK {
		t.Fatalf("resolved: %d", status)
	}
	inc = e.only(t)
	if inc.Status != bot.StatusResolved {
		t.Fatalf("after resolved: %s", inc.Status)
	}
	evs := e.timeline(t, inc.ID)
	if got := len(eventsOf(evs, bot.KindSourceEvent)); got != 2 {
		t.Errorf("source events = %d, want 2 (acknowledged, resolved)", got)
	}
	for _, ev := range evs {
		if ev.Kind == bot.KindSourceEvent && ev.Data["event_type"] == "incident.acknowledged" {
			if want := time.Date(2020, 4, 9, 15, 20, 3, 512e6, time.UTC); !ev.OccurredAt.Equal(want) {
				t.Errorf("acknowledged at %s: want PagerDuty's occurred_at", ev.OccurredAt)
			}
		}
		if ev.Kind == bot.KindAcknowledged && ev.Actor != "alert:pagerduty" {
			t.Errorf("acknowledgement actor = %q, want alert:pagerduty", ev.Actor)
		}
	}
}

func TestPagerDutyWebhook_EveryEventType(t *testing.T) {
	e := newAlertEnv(t, pdSecret)
	at := time.Date(2020, 10, 8, 0, 6, 0, 0, time.UTC)
	inc := pdfake.IncidentData{ID: "PSEED01", Number: 7, Title: "Platform API returning 500",
		Service: pdfake.Ref{ID: "PSVC", Summary: "api-gateway"}, EscalationPolicy: pdfake.Ref{ID: "PEP1", Summary: "Platform"},
		Assignees: []pdfake.Ref{{ID: "PU1", Summary: "Ada"}}}
	ada := pdfake.Agent(pdfake.Ref{ID: "PU1", Summary: "Ada"})
	steps := []struct {
		event  string
		opts   []pdfake.EventOption
		status bot.Status
	}{
		{pdfake.EventTriggered, nil, bot.StatusTriggered},
		{pdfake.EventEscalated, nil, bot.StatusTriggered},
		{pdfake.EventPriorityUpdated, nil, bot.StatusTriggered},
		{pdfake.EventAnnotated, []pdfake.EventOption{pdfake.Annotation("PNOTE1", "looking at the gateway")}, bot.StatusTriggered},
		{pdfake.EventAcknowledged, []pdfake.EventOption{ada}, bot.StatusInvestigating},
		{pdfake.EventUnacknowledged, nil, bot.StatusInvestigating}, // recorded; sitrep does not move back
		{pdfake.EventResolved, []pdfake.EventOption{ada}, bot.StatusResolved},
		{pdfake.EventReopened, nil, bot.StatusTriggered},
	}
	for i, st := range steps {
		body := pdfake.Event(st.event, inc, at.Add(time.Duration(i)*time.Minute), st.opts...)
		status, out := e.pd(t, body, pdSecret)
		if status != http.StatusOK || out["incident"] != "INC-1" || out["recorded"] != true {
			t.Fatalf("%s: %d %v", st.event, status, out)
		}
		if got := e.only(t).Status; got != st.status {
			t.Fatalf("after %s: status %s, want %s", st.event, got, st.status)
		}
	}
	evs := e.timeline(t, 1)
	if got := len(eventsOf(evs, bot.KindSourceEvent)); got != len(steps)-1 {
		t.Errorf("source events = %d, want %d", got, len(steps)-1)
	}
	var texts []string
	for _, ev := range evs {
		texts = append(texts, ev.Text)
	}
	joined := strings.Join(texts, "\n")
	for _, want := range []string{"PagerDuty note: looking at the gateway", "acknowledged in pagerduty by Ada", "re-opened"} {
		if !strings.Contains(joined, want) {
			t.Errorf("timeline lacks %q:\n%s", want, joined)
		}
	}
}

func TestPagerDutyWebhook_CapturedPayloads(t *testing.T) {
	e := newAlertEnv(t, pdSecret)
	for _, name := range []string{"pagerduty_v3_incident_triggered_captured.json", "pagerduty_v3_incident_acknowledged_captured.json",
		"pagerduty_v3_incident_resolved_captured.json", "pagerduty_v3_incident_priority_updated_official.json"} {
		if status, out := e.pd(t, fixture(t, name), pdSecret); status != http.StatusOK {
			t.Errorf("%s: %d %v", name, status, out)
		}
	}
	// The captured trigger (no incident_key, no created_at) opened one.
	var captured bot.Incident
	for _, inc := range e.incidents(t) {
		if inc.DedupKey == "PFQZPSY" {
			captured = inc
		}
	}
	if captured.ID == 0 || captured.Title != "Test Incident 3" || captured.Severity != bot.SEV2 {
		t.Fatalf("captured trigger: %+v", captured)
	}
}

func TestPagerDutyWebhook_UnknownTypeIgnored(t *testing.T) {
	e := newAlertEnv(t, pdSecret)
	body := []byte(`{"event":{"id":"01X","event_type":"service.created","resource_type":"service","occurred_at":"2020-10-02T18:45:22.169Z","agent":null,"data":{"id":"PSVC"}}}`)
	status, out := e.pd(t, body, pdSecret)
	if status != http.StatusOK || out["ignored"] == nil {
		t.Fatalf("unknown type: %d %v", status, out)
	}
	// An event about an incident sitrep never opened: 2xx, nothing stored.
	ack := pdfake.Event(pdfake.EventAcknowledged, pdfake.IncidentData{ID: "PUNKNOWN", Title: "x"}, time.Now())
	if status, out := e.pd(t, ack, pdSecret); status != http.StatusOK || out["recorded"] != false {
		t.Fatalf("event of an unknown incident: %d %v", status, out)
	}
	if len(e.incidents(t)) != 0 || e.outboxLen(t) != 0 {
		t.Fatal("ignored events stored something")
	}
}

func TestPagerDutyWebhook_BadInput(t *testing.T) {
	e := newAlertEnv(t, pdSecret)
	tests := []struct {
		name, body, field string
	}{
		{"ErrMalformed", `{"event":`, "body"},
		{"ErrNoEvent", `{}`, "event"},
		{"ErrNoID", `{"event":{"event_type":"incident.triggered"}}`, "event.id"},
		{"ErrNoType", `{"event":{"id":"E1"}}`, "event.event_type"},
		{"ErrNoData", `{"event":{"id":"E1","event_type":"incident.triggered"}}`, "event.data"},
		{"ErrNoIncidentID", `{"event":{"id":"E1","event_type":"incident.triggered","data":{"title":"x"}}}`, "event.data.id"},
		{"ErrNoteWithoutIncident", `{"event":{"id":"E1","event_type":"incident.annotated","data":{"type":"incident_note","id":"N1"}}}`, "event.data.incident.id"},
		{"ErrBadTime", `{"event":{"id":"E1","event_type":"incident.triggered","occurred_at":"yesterday","data":{"id":"P1"}}}`, "event.occurred_at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, out := e.pd(t, []byte(tt.body), pdSecret)
			if status != http.StatusBadRequest || out["field"] != tt.field {
				t.Errorf("got %d %v, want 400 naming %s", status, out, tt.field)
			}
		})
	}
	big := bytes.Repeat([]byte(" "), 1<<20+1)
	if status, _ := e.pd(t, big, pdSecret); status != http.StatusRequestEntityTooLarge {
		t.Errorf("big body: %d, want 413", status)
	}
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/webhooks/pagerduty", nil)
	if status, _ := e.do(t, req); status != http.StatusMethodNotAllowed {
		t.Errorf("GET: %d, want 405", status)
	}
	if len(e.incidents(t)) != 0 || e.outboxLen(t) != 0 {
		t.Fatal("rejected requests stored something")
	}
}

func TestPagerDutyWebhook_ConcurrentStorm(t *testing.T) {
	e := newAlertEnv(t, pdSecret)
	const incidents, repeats = 5, 40
	at := time.Date(2020, 10, 8, 0, 6, 0, 0, time.UTC)
	var wg sync.WaitGroup
	errs := make(chan string, incidents*repeats)
	for i := range incidents * repeats {
		wg.Go(func() {
			data := pdfake.IncidentData{ID: fmt.Sprintf("PSTORM%d", i%incidents), Title: "storm", EscalationPolicy: pdfake.Ref{ID: "PEP1"}}
			// Every repeat is the same delivery: PagerDuty retrying.
			body := pdfake.Event(pdfake.EventTriggered, data, at)
			resp, err := e.srv.Client().Do(pdfake.WebhookRequest(e.srv.URL+"/webhooks/pagerduty", body, pdSecret))
			if err != nil {
				errs <- err.Error()
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs <- fmt.Sprint(resp.StatusCode)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	incs := e.incidents(t)
	if len(incs) != incidents {
		t.Fatalf("got %d incidents, want %d", len(incs), incidents)
	}
	for _, inc := range incs {
		if n := len(eventsOf(e.timeline(t, inc.ID), bot.KindAlertFired)); n != 1 {
			t.Errorf("%s: %d alert events, want 1", inc.Key(), n)
		}
	}
}
