package handlers_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"testing"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/console"
	"github.com/sitrep-io/sitrep/internal/app"
	"github.com/sitrep-io/sitrep/store"
)

// alertingService is sitrep's service on db with alerting on, wired as
// serve wires it (its chat, the console, writes nowhere; nothing is
// delivered unless a test drains the dispatcher).
func alertingService(t *testing.T, db *store.DB, cfg bot.ServiceConfig) *bot.Service {
	t.Helper()
	sitrep, err := app.New(app.Config{Store: db, Chat: console.NewChat(io.Discard, nil), Service: cfg,
		Alerting: &bot.AlertingConfig{}})
	if err != nil {
		t.Fatal(err)
	}
	return sitrep.Service
}

// openStore is a real SQLite store in a file under t.TempDir, closed when
// the test ends.
func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), filepath.Join(t.TempDir(), "sitrep.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// jsonPost is a POST of the JSON body to url with the Authorization header
// auth (none when auth is "").
func jsonPost(t *testing.T, url, auth string, body []byte) *http.Request {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	return req
}

// doJSON sends r with c and returns the status and the decoded JSON answer;
// an answer that is not JSON fails the test.
func doJSON(t *testing.T, c *http.Client, r *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := c.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("answer is not JSON: %d %q", resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

// eventsOf is the events of evs of kind.
func eventsOf(evs []bot.Event, kind bot.EventKind) []bot.Event {
	var out []bot.Event
	for _, ev := range evs {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}
