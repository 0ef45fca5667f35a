package pdfake_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/PagerDuty/go-pagerduty/webhookv3"

	"github.com/sitrep-io/sitrep/internal/pdfake"
)

// Values of the signature test vector: the body is PagerDuty's documented
// incident.triggered example, which triggeredExample rebuilds byte for byte.
const (
	vectorSecret1    = "pd-test-secret-1"
	vectorSecret2    = "pd-test-secret-2"
	vectorSingle     = "v1=8954d66073d9ba4e0a6fec407b844484b83d2214e6a291369a649b6dcaee705e"
	vectorRotation   = "v1=8954d66073d9ba4e0a6fec407b844484b83d2214e6a291369a649b6dcaee705e,v1=7a7f33dfd6cb5b53086b6277b32c1a2d9160a76b0f18cee6db6e57cfbeeaff2c"
	vectorBodyLength = 2449
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	ts, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

func exampleIncident(t *testing.T) pdfake.IncidentData {
	return pdfake.IncidentData{
		ID: "PGR0VU2", Number: 2, IncidentKey: "d3640fbd41094207a1c11e58e46b1662",
		CreatedAt: mustTime(t, "2020-04-09T15:16:27Z"), Title: "A little bump in the road",
		IncidentType:     "major",
		Service:          pdfake.Ref{ID: "PF9KMXH", Summary: "API Service"},
		Assignees:        []pdfake.Ref{{ID: "PTUXL6G", Summary: "User 123"}},
		EscalationPolicy: pdfake.Ref{ID: "PUS0KTE", Summary: "Default"},
		Teams:            []pdfake.Ref{{ID: "PFCVPS0", Summary: "Engineering"}},
		Priority:         &pdfake.Ref{ID: "PSO75BM", Summary: "P1"},
		ConferenceBridge: &pdfake.ConferenceBridge{Number: "+1 1234123412,,987654321#", URL: "https://example.com"},
	}
}

func triggeredExample(t *testing.T) []byte {
	return pdfake.Event(pdfake.EventTriggered, exampleIncident(t), mustTime(t, "2020-04-09T15:16:27Z"),
		pdfake.EventID("01DEN3B2V1HQ2EYR5QZ4GJ5C7X"),
		pdfake.Agent(pdfake.Ref{ID: "PLH1HKV", Summary: "Tenex Engineer"}),
		pdfake.Client("PagerDuty"))
}

func TestSignV3(t *testing.T) {
	body := triggeredExample(t)
	if len(body) != vectorBodyLength {
		t.Errorf("len(body) = %d, want %d", len(body), vectorBodyLength)
	}
	t.Run("OK", func(t *testing.T) {
		if got := pdfake.SignV3(body, vectorSecret1); got != vectorSingle {
			t.Errorf("SignV3 = %s, want %s", got, vectorSingle)
		}
	})
	t.Run("Rotation", func(t *testing.T) {
		if got := pdfake.SignV3(body, vectorSecret1, vectorSecret2); got != vectorRotation {
			t.Errorf("SignV3 = %s, want %s", got, vectorRotation)
		}
	})
	t.Run("NoSecrets", func(t *testing.T) {
		if got := pdfake.SignV3(body); got != "" {
			t.Errorf("SignV3 = %q, want empty", got)
		}
	})
}

func TestWebhookRequest(t *testing.T) {
	body := triggeredExample(t)
	t.Run("VerifiesWithEitherSecret", func(t *testing.T) {
		for _, secret := range []string{vectorSecret1, vectorSecret2} {
			r := pdfake.WebhookRequest("http://bot.test/webhooks/pagerduty", body, vectorSecret1, vectorSecret2)
			if err := webhookv3.VerifySignature(r, secret); err != nil {
				t.Fatalf("VerifySignature(%s) = %v", secret, err)
			}
			got, _ := io.ReadAll(r.Body) // VerifySignature puts the body back
			if !bytes.Equal(got, body) {
				t.Fatal("body changed after verification")
			}
		}
	})
	t.Run("ErrWrongSecret", func(t *testing.T) {
		r := pdfake.WebhookRequest("http://bot.test/hook", body, "other-secret")
		if err := webhookv3.VerifySignature(r, vectorSecret1); !errors.Is(err, webhookv3.ErrNoValidSignatures) {
			t.Fatalf("VerifySignature = %v, want ErrNoValidSignatures", err)
		}
	})
	t.Run("ErrUnsigned", func(t *testing.T) {
		r := pdfake.WebhookRequest("http://bot.test/hook", body)
		if err := webhookv3.VerifySignature(r, vectorSecret1); !errors.Is(err, webhookv3.ErrMalformedHeader) {
			t.Fatalf("VerifySignature = %v, want ErrMalformedHeader", err)
		}
	})
	t.Run("Headers", func(t *testing.T) {
		r := pdfake.WebhookRequest("http://bot.test/hook", body, vectorSecret1)
		want := map[string]string{
			"Content-Type":           "application/json",
			"User-Agent":             "PagerDuty-Webhook/V3.0",
			"X-Webhook-Subscription": pdfake.WebhookSubscriptionID,
			"X-PagerDuty-Signature":  vectorSingle,
		}
		for k, v := range want {
			if got := r.Header.Get(k); got != v {
				t.Errorf("%s = %q, want %q", k, got, v)
			}
		}
		again := pdfake.WebhookRequest("http://bot.test/hook", body, vectorSecret1)
		if id := r.Header.Get("X-Webhook-Id"); id == "" || id != again.Header.Get("X-Webhook-Id") {
			t.Errorf("X-Webhook-Id %q not stable across redeliveries", id)
		}
	})
	t.Run("ThroughHTTP", func(t *testing.T) {
		var verr error
		var gotType string
		bot := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			verr = webhookv3.VerifySignature(r, vectorSecret2)
			var p struct {
				Event struct {
					EventType string `json:"event_type"`
				} `json:"event"`
			}
			_ = json.NewDecoder(r.Body).Decode(&p)
			gotType = p.Event.EventType
			w.WriteHeader(http.StatusAccepted)
		}))
		defer bot.Close()
		resp, err := http.DefaultClient.Do(pdfake.WebhookRequest(bot.URL, body, vectorSecret1, vectorSecret2))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if verr != nil || gotType != pdfake.EventTriggered || resp.StatusCode != http.StatusAccepted {
			t.Fatalf("verify=%v type=%q status=%d", verr, gotType, resp.StatusCode)
		}
	})
}

// payload mirrors the fields a v3 handler reads.
type payload struct {
	Event struct {
		ID           string          `json:"id"`
		EventType    string          `json:"event_type"`
		ResourceType string          `json:"resource_type"`
		OccurredAt   time.Time       `json:"occurred_at"`
		Agent        json.RawMessage `json:"agent"`
		Client       json.RawMessage `json:"client"`
		Data         struct {
			ID               string          `json:"id"`
			Type             string          `json:"type"`
			Status           string          `json:"status"`
			Number           int             `json:"number"`
			Title            string          `json:"title"`
			HTMLURL          string          `json:"html_url"`
			Priority         json.RawMessage `json:"priority"`
			ConferenceBridge json.RawMessage `json:"conference_bridge"`
			ResolveReason    json.RawMessage `json:"resolve_reason"`
			Assignees        []any           `json:"assignees"`
			Teams            []any           `json:"teams"`
			Content          string          `json:"content"`
			Incident         struct {
				ID   string `json:"id"`
				Type string `json:"type"`
			} `json:"incident"`
		} `json:"data"`
	} `json:"event"`
}

func decode(t *testing.T, b []byte) payload {
	t.Helper()
	var p payload
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatalf("decode: %v\n%s", err, b)
	}
	return p
}

func TestEvent(t *testing.T) {
	at := mustTime(t, "2026-01-02T03:04:05.678Z")
	minimal := pdfake.IncidentData{ID: "PINC1", Number: 7, Title: "DB down",
		Service: pdfake.Ref{ID: "PSVC1", Summary: "db"}, EscalationPolicy: pdfake.Ref{ID: "PEP1", Summary: "Ops"}}
	for _, tc := range []struct{ typ, status string }{
		{pdfake.EventTriggered, "triggered"},
		{pdfake.EventAcknowledged, "acknowledged"},
		{pdfake.EventUnacknowledged, "triggered"},
		{pdfake.EventResolved, "resolved"},
		{pdfake.EventReopened, "triggered"},
		{pdfake.EventEscalated, "triggered"},
		{pdfake.EventPriorityUpdated, "triggered"},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			b := pdfake.Event(tc.typ, minimal, at)
			p := decode(t, b)
			e := p.Event
			if e.EventType != tc.typ || e.ResourceType != "incident" || !e.OccurredAt.Equal(at) || e.ID == "" {
				t.Errorf("envelope = %+v", e)
			}
			d := e.Data
			if d.ID != "PINC1" || d.Type != "incident" || d.Status != tc.status || d.Number != 7 || d.Title != "DB down" {
				t.Errorf("data = %+v", d)
			}
			if string(e.Agent) != "null" || string(e.Client) != "null" || string(d.Priority) != "null" ||
				string(d.ConferenceBridge) != "null" || string(d.ResolveReason) != "null" {
				t.Errorf("want nulls, got agent=%s client=%s priority=%s bridge=%s reason=%s",
					e.Agent, e.Client, d.Priority, d.ConferenceBridge, d.ResolveReason)
			}
			if d.Assignees == nil || d.Teams == nil {
				t.Errorf("assignees and teams must be [] not null: %s", b)
			}
			if d.HTMLURL != pdfake.WebBase+"/incidents/PINC1" {
				t.Errorf("html_url = %s", d.HTMLURL)
			}
		})
	}
	t.Run("IDsDiffer", func(t *testing.T) {
		a := decode(t, pdfake.Event(pdfake.EventTriggered, minimal, at)).Event.ID
		b := decode(t, pdfake.Event(pdfake.EventAcknowledged, minimal, at)).Event.ID
		if a == b {
			t.Errorf("same event id %s for different events", a)
		}
	})
	t.Run("Annotated", func(t *testing.T) {
		b := pdfake.Event(pdfake.EventAnnotated, minimal, at, pdfake.Annotation("P2LA89X", "rolled back"))
		d := decode(t, b).Event.Data
		if d.Type != "incident_note" || d.ID != "P2LA89X" || d.Content != "rolled back" ||
			d.Incident.ID != "PINC1" || d.Incident.Type != "incident_reference" {
			t.Errorf("data = %+v", d)
		}
		if !strings.Contains(string(b), `"trimmed": false`) {
			t.Errorf("missing trimmed: %s", b)
		}
	})
	t.Run("AnnotatedWithoutNotePanics", func(t *testing.T) {
		defer func() {
			if recover() == nil {
				t.Error("no panic")
			}
		}()
		pdfake.Event(pdfake.EventAnnotated, minimal, at)
	})
}
