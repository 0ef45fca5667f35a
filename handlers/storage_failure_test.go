package handlers_test

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/internal/fsfault"
	"github.com/sitrep-io/sitrep/internal/pdfake"
	"github.com/sitrep-io/sitrep/store"
)

// TestWebhooksAnswer503WhileTheDatabaseIsReadOnly (issue 10 item 11): with
// a database file that cannot be written, every webhook answers 503 with
// Retry-After (PagerDuty and Alertmanager send it again; nothing is lost)
// and /readyz is not ready; once the file is writable again, the same
// requests succeed and /readyz is ready, without a restart.
func TestWebhooksAnswer503WhileTheDatabaseIsReadOnly(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sitrep.db")
	db, err := store.Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	writable := fsfault.ReadOnlyFile(t, path)
	if db, err = store.Open(context.Background(), path); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	e := newAlertEnvOn(t, db, pdSecret)

	requests := map[string]func() *http.Request{
		"pagerduty": func() *http.Request {
			return pdfake.WebhookRequest(e.srv.URL+"/webhooks/pagerduty", fixture(t, "pagerduty_v3_incident_triggered.json"), pdSecret)
		},
		"alertmanager": func() *http.Request {
			return jsonPost(t, e.srv.URL+"/webhooks/alertmanager", "Bearer "+token, fixture(t, "alertmanager_firing.json"))
		},
		"generic": func() *http.Request {
			return jsonPost(t, e.srv.URL+"/webhooks/alert", "Bearer "+token, []byte(`{"title":"checkout down","severity":"critical","dedup_key":"k1"}`))
		},
	}
	for name, req := range requests {
		resp, err := e.srv.Client().Do(req())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("%s webhook on a read-only database: %d, Retry-After %q; want 503 with Retry-After", name, resp.StatusCode, resp.Header.Get("Retry-After"))
		}
	}
	status, out := e.do(t, mustGet(t, e.srv.URL+"/readyz"))
	if status != http.StatusServiceUnavailable || !strings.Contains(out["error"].(string), "cannot write") {
		t.Errorf("/readyz on a read-only database: %d %v", status, out)
	}

	writable()
	deadline := time.Now().Add(20 * time.Second)
	for {
		status, _ := e.do(t, mustGet(t, e.srv.URL+"/readyz"))
		if status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz still %d after the file became writable", status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	for name, req := range requests {
		if status, out := e.do(t, req()); status/100 != 2 {
			t.Errorf("%s webhook once writable: %d %v", name, status, out)
		}
	}
	if n := len(e.incidents(t)); n != 3 {
		t.Errorf("%d incidents, want the three alerts", n)
	}
}

func mustGet(t *testing.T, url string) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
