package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/handlers"
	"github.com/sitrep-io/sitrep/store"
)

const token = "test-token-123"

type harness struct {
	db  *store.DB
	svc *bot.Service
	srv *httptest.Server
}

func newHarness(t *testing.T, webhookToken string) *harness {
	t.Helper()
	db := openStore(t)
	svc := bot.NewService(db, bot.ServiceConfig{})
	log := slog.New(slog.DiscardHandler)
	routes := handlers.Routes{DB: db, Log: log, AlertWebhook: &handlers.AlertWebhook{Alerts: svc, Token: webhookToken, Log: log}}
	srv := httptest.NewServer(routes.Handler())
	t.Cleanup(srv.Close)
	return &harness{db: db, svc: svc, srv: srv}
}

func (h *harness) post(t *testing.T, auth string, body []byte) (int, map[string]any) {
	t.Helper()
	return doJSON(t, http.DefaultClient, jsonPost(t, h.srv.URL+"/webhooks/alert", auth, body))
}

func (h *harness) incidents(t *testing.T) []bot.Incident {
	t.Helper()
	incs, err := h.db.Incidents(context.Background(), bot.IncidentFilter{All: true})
	if err != nil {
		t.Fatal(err)
	}
	return incs
}

func alertBody(fields map[string]any) []byte {
	raw, _ := json.Marshal(fields)
	return raw
}

func TestAlertWebhook_OpensThenDedups(t *testing.T) {
	h := newHarness(t, token)
	body := alertBody(map[string]any{
		"title": "Platform API returning 500", "severity": "critical", "status": "firing",
		"dedup_key": "platform-api-500", "source": "grafana", "occurred_at": "2020-10-08T00:06:00Z",
		"labels": map[string]string{"service": "api-gateway"}, "annotations": map[string]string{"runbook": "x"},
	})
	status, out := h.post(t, "Bearer "+token, body)
	if status != http.StatusCreated || out["incident"] != "INC-1" || out["opened"] != true {
		t.Fatalf("first alert: %d %v", status, out)
	}
	status, out = h.post(t, "Bearer "+token, body)
	if status != http.StatusOK || out["incident"] != "INC-1" || out["opened"] != false || out["recorded"] != true {
		t.Fatalf("repeat alert: %d %v", status, out)
	}
	incs := h.incidents(t)
	if len(incs) != 1 {
		t.Fatalf("got %d incidents, want 1", len(incs))
	}
	inc := incs[0]
	if got, want := inc.Severity, bot.SEV1; got != want {
		t.Errorf("severity = %s, want %s", got, want)
	}
	if got, want := inc.DetectedAt, time.Date(2020, 10, 8, 0, 6, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("detected_at = %s, want %s", got, want)
	}
	if inc.Source != "grafana" || inc.DedupKey != "platform-api-500" || inc.Labels["service"] != "api-gateway" {
		t.Errorf("source facts not kept: %+v", inc)
	}
	events, err := h.db.Timeline(context.Background(), inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	fired := 0
	for _, ev := range events {
		if ev.Kind == bot.KindAlertFired {
			fired++
		}
	}
	if fired != 2 {
		t.Errorf("alert_fired events = %d, want 2", fired)
	}

	status, out = h.post(t, "Bearer "+token, alertBody(map[string]any{
		"title": "Platform API returning 500", "status": "resolved", "dedup_key": "platform-api-500", "source": "grafana"}))
	if status != http.StatusOK || out["recorded"] != true {
		t.Fatalf("resolved alert: %d %v", status, out)
	}
	events, _ = h.db.Timeline(context.Background(), inc.ID)
	if last := events[len(events)-1]; last.Kind != bot.KindAlertResolved {
		t.Errorf("last event = %s, want alert_resolved", last.Kind)
	}
}

func TestAlertWebhook_DefaultSeverityAndNoDedupKey(t *testing.T) {
	h := newHarness(t, token)
	for range 2 {
		if status, out := h.post(t, "Bearer "+token, alertBody(map[string]any{"title": "disk full"})); status != http.StatusCreated {
			t.Fatalf("%d %v", status, out)
		}
	}
	incs := h.incidents(t)
	if len(incs) != 2 {
		t.Fatalf("alerts without a dedup key are never merged: got %d incidents, want 2", len(incs))
	}
	if incs[0].Severity != bot.SEV3 || incs[0].Source != "webhook" {
		t.Errorf("defaults: severity %s source %q, want SEV3 webhook", incs[0].Severity, incs[0].Source)
	}
}

func TestAlertWebhook_ResolvedWithoutIncidentIsIgnored(t *testing.T) {
	h := newHarness(t, token)
	status, out := h.post(t, "Bearer "+token, alertBody(map[string]any{"title": "x", "status": "resolved", "dedup_key": "k"}))
	if status != http.StatusOK || out["ignored"] == nil {
		t.Fatalf("%d %v", status, out)
	}
	if n := len(h.incidents(t)); n != 0 {
		t.Fatalf("stored %d incidents for a resolved alert with nothing open", n)
	}
}

func TestAlertWebhook_Rejections(t *testing.T) {
	valid := alertBody(map[string]any{"title": "x", "dedup_key": "k"})
	big := alertBody(map[string]any{"title": "x", "description": strings.Repeat("a", 1<<20)})
	cases := []struct {
		name      string
		method    string
		auth      string
		body      []byte
		wantCode  int
		wantField string
	}{
		{"ErrNoToken", http.MethodPost, "", valid, http.StatusUnauthorized, ""},
		{"ErrWrongToken", http.MethodPost, "Bearer nope", valid, http.StatusUnauthorized, ""},
		{"ErrNotBearer", http.MethodPost, "Basic " + token, valid, http.StatusUnauthorized, ""},
		{"ErrMalformedJSON", http.MethodPost, "Bearer " + token, []byte(`{"title": "x",`), http.StatusBadRequest, "body"},
		{"ErrNotAnObject", http.MethodPost, "Bearer " + token, []byte(`[1,2]`), http.StatusBadRequest, "body"},
		{"ErrTitleRequired", http.MethodPost, "Bearer " + token, []byte(`{"dedup_key":"k"}`), http.StatusBadRequest, "title"},
		{"ErrBlankTitle", http.MethodPost, "Bearer " + token, []byte(`{"title":"   "}`), http.StatusBadRequest, "title"},
		{"ErrBadSeverity", http.MethodPost, "Bearer " + token, []byte(`{"title":"x","severity":"SEV9"}`), http.StatusBadRequest, "severity"},
		{"ErrBadStatus", http.MethodPost, "Bearer " + token, []byte(`{"title":"x","status":"exploded"}`), http.StatusBadRequest, "status"},
		{"ErrBadTime", http.MethodPost, "Bearer " + token, []byte(`{"title":"x","occurred_at":"yesterday"}`), http.StatusBadRequest, "occurred_at"},
		{"ErrTooLarge", http.MethodPost, "Bearer " + token, big, http.StatusRequestEntityTooLarge, ""},
		{"ErrMethod", http.MethodGet, "Bearer " + token, nil, http.StatusMethodNotAllowed, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, token)
			req, _ := http.NewRequest(tc.method, h.srv.URL+"/webhooks/alert", bytes.NewReader(tc.body))
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var out map[string]any
			if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
				t.Fatalf("error response is not JSON: %v", err)
			}
			if resp.StatusCode != tc.wantCode {
				t.Errorf("status = %d, want %d (%v)", resp.StatusCode, tc.wantCode, out)
			}
			if msg, _ := out["error"].(string); msg == "" {
				t.Errorf("no error message in %v", out)
			}
			if tc.wantField != "" && out["field"] != tc.wantField {
				t.Errorf("field = %v, want %s", out["field"], tc.wantField)
			}
			if n := len(h.incidents(t)); n != 0 {
				t.Errorf("a rejected request stored %d incidents", n)
			}
			deliveries, err := h.db.Deliveries(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(deliveries) != 0 {
				t.Errorf("a rejected request queued %d deliveries", len(deliveries))
			}
		})
	}
}

func TestAlertWebhook_DisabledWithoutToken(t *testing.T) {
	h := newHarness(t, "")
	status, out := h.post(t, "Bearer ", alertBody(map[string]any{"title": "x"}))
	if status != http.StatusServiceUnavailable {
		t.Fatalf("status = %d (%v), want 503", status, out)
	}
	if !strings.Contains(out["error"].(string), "SITREP_WEBHOOK_TOKEN") {
		t.Errorf("the error should say what to set: %v", out)
	}
	if n := len(h.incidents(t)); n != 0 {
		t.Errorf("stored %d incidents", n)
	}
}

// TestAlertWebhook_ConcurrentStorm posts 200 alerts at once for 5 dedup
// keys: the database's unique index must leave exactly 5 incidents.
func TestAlertWebhook_ConcurrentStorm(t *testing.T) {
	h := newHarness(t, token)
	const posts, keys = 200, 5
	var wg sync.WaitGroup
	codes := make(chan int, posts)
	for i := range posts {
		wg.Go(func() {
			body := alertBody(map[string]any{"title": fmt.Sprintf("alert %d", i%keys), "dedup_key": fmt.Sprintf("key-%d", i%keys)})
			req, _ := http.NewRequest(http.MethodPost, h.srv.URL+"/webhooks/alert", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes <- resp.StatusCode
		})
	}
	wg.Wait()
	close(codes)
	created := 0
	for c := range codes {
		switch c {
		case http.StatusCreated:
			created++
		case http.StatusOK:
		default:
			t.Errorf("unexpected status %d", c)
		}
	}
	if created != keys {
		t.Errorf("%d responses said opened, want %d", created, keys)
	}
	incs := h.incidents(t)
	if len(incs) != keys {
		t.Fatalf("got %d incidents, want %d", len(incs), keys)
	}
	total := 0
	for _, inc := range incs {
		events, err := h.db.Timeline(context.Background(), inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, ev := range events {
			if ev.Kind == bot.KindAlertFired {
				total++
			}
		}
	}
	if total != posts {
		t.Errorf("alert_fired events = %d, want %d (none lost, none doubled)", total, posts)
	}
}

func TestHealth(t *testing.T) {
	h := newHarness(t, token)
	for _, path := range []string{"/healthz", "/readyz"} {
		resp, err := http.Get(h.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("%s = %d, want 200", path, resp.StatusCode)
		}
	}
	h.db.Close()
	resp, err := http.Get(h.srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database closed = %d, want 503", resp.StatusCode)
	}
}
