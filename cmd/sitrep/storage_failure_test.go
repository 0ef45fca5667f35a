package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/fsfault"
	"github.com/sitrep-io/sitrep/store"
)

// postAlert sends one generic webhook alert and returns the answer.
func postAlert(t *testing.T, addr string, n int) *http.Response {
	t.Helper()
	body := fmt.Sprintf(`{"title":"checkout errors %d","severity":"critical","dedup_key":"disk-%d"}`, n, n)
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks/alert", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func readyz(t *testing.T, addr string) int {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestServeThroughAFullDisk (issue 10 item 11): a real `sitrep serve` whose
// database is on a filesystem that fills up answers webhooks 503 with
// Retry-After (never 500), reports not ready, logs the repeated failure a
// bounded number of times, and once space is freed is ready again, takes
// webhooks and delivers every outbox entry, by itself.
func TestServeThroughAFullDisk(t *testing.T) {
	dir := fsfault.Tmpfs(t, "4m")
	dbPath := filepath.Join(dir, "sitrep.db")
	p := startSitrep(t, serveVars(dbPath), "serve")
	addr := p.serving(t)
	if resp := postAlert(t, addr, 0); resp.StatusCode/100 != 2 {
		t.Fatalf("webhook before the disk filled: %d", resp.StatusCode)
	}

	free := fsfault.Fill(t, dir)
	logBefore := strings.Count(p.stderr.String(), "\n")
	refused := 0
	for n := 1; n <= 300; n++ {
		resp := postAlert(t, addr, n)
		switch {
		case resp.StatusCode/100 == 2:
		case resp.StatusCode == http.StatusServiceUnavailable:
			refused++
			if resp.Header.Get("Retry-After") == "" {
				t.Fatalf("503 without Retry-After")
			}
		default:
			t.Fatalf("webhook on a full disk answered %d, want 503 (a storage failure is temporary)", resp.StatusCode)
		}
	}
	if refused == 0 {
		t.Fatal("no webhook was refused on a full disk")
	}
	if got := readyz(t, addr); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz on a full disk: %d, want 503", got)
	}
	lines := strings.Count(p.stderr.String(), "\n") - logBefore
	t.Logf("%d of 300 webhooks refused on the full disk; %d log lines", refused, lines)
	if lines > 40 {
		t.Errorf("%d log lines for %d refused webhooks, want a bounded few:\n%s", lines, refused, p.stderr.String())
	}

	free()
	deadline := time.Now().Add(30 * time.Second)
	for readyz(t, addr) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("not ready 30 s after space was freed:\n%s", p.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if resp := postAlert(t, addr, 1000); resp.StatusCode/100 != 2 {
		t.Fatalf("webhook after space was freed: %d", resp.StatusCode)
	}
	// Every entry is delivered (the console chat takes everything): none
	// failed for good, none left behind.
	db, err := store.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for {
		left, err := db.Deliveries(context.Background(), bot.DeliveryPending, bot.DeliverySending, bot.DeliveryFailed)
		if err != nil {
			t.Fatal(err)
		}
		var stuck bytes.Buffer
		for _, d := range left {
			if d.State == bot.DeliveryFailed {
				t.Fatalf("delivery %d (%s) failed for good: %s", d.ID, d.Op, d.LastError)
			}
			if d.NextAttemptAt.Before(time.Now().Add(time.Minute)) { // not a scheduled reminder
				fmt.Fprintf(&stuck, "%d %s %s %s\n", d.ID, d.Op, d.State, d.LastError)
			}
		}
		if stuck.Len() == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("entries still undelivered after recovery:\n%s\n%s", stuck.String(), p.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}
