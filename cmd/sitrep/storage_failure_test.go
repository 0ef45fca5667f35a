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
	waitReady(t, p, addr, deadline)
	if resp := postAlert(t, addr, 1000); resp.StatusCode/100 != 2 {
		t.Fatalf("webhook after space was freed: %d", resp.StatusCode)
	}
	// Every entry is delivered (the console chat takes everything): none
	// failed for good, none left behind.
	waitDelivered(t, p, dbPath, deadline)
}

// seedIncident stores a declared incident whose chat deliveries are still
// queued, as a server that stopped before delivering them would leave it.
func seedIncident(t *testing.T, dbPath string) {
	t.Helper()
	db, err := store.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	svc := bot.NewService(db, bot.ServiceConfig{})
	if _, err := svc.Declare(context.Background(), bot.DeclareRequest{Actor: "U1", Title: "Checkout is down"}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// waitDelivered waits until the outbox of the database at dbPath has no
// entry due and undelivered, and none failed for good.
func waitDelivered(t *testing.T, p *sitrepProcess, dbPath string, deadline time.Time) {
	t.Helper()
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
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("entries still undelivered after recovery:\n%s\n%s", stuck.String(), p.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// waitReady waits until /readyz answers 200.
func waitReady(t *testing.T, p *sitrepProcess, addr string, deadline time.Time) {
	t.Helper()
	for readyz(t, addr) != http.StatusOK {
		if time.Now().After(deadline) {
			t.Fatalf("not ready after the storage was fixed:\n%s", p.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// unavailableWhileBroken checks what a server on broken storage answers:
// not ready, webhooks 503 with Retry-After, and it keeps running.
func unavailableWhileBroken(t *testing.T, p *sitrepProcess, addr string) {
	t.Helper()
	if got := readyz(t, addr); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz: %d, want 503", got)
	}
	resp := postAlert(t, addr, 1)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("webhook: %d (Retry-After %q), want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	time.Sleep(time.Second) // the dispatcher meets the failure a few times
	if err, exited := p.exited(0); exited {
		t.Fatalf("sitrep exited: %v\n%s", err, p.stderr.String())
	}
	if got := readyz(t, addr); got != http.StatusServiceUnavailable {
		t.Errorf("/readyz a second later: %d, want 503", got)
	}
}

// TestServeOnABrokenDatabaseFile (issue 10 item 11): `sitrep serve` on a
// database file that cannot be written (read-only, even for root) or whose
// outbox table has a page overwritten starts, is not ready, answers
// webhooks 503 and keeps retrying; once the file is fixed in place (made
// writable, the page restored) it is ready, takes webhooks and delivers
// what was queued, by itself, without a restart.
func TestServeOnABrokenDatabaseFile(t *testing.T) {
	for name, breakFile := range map[string]func(t *testing.T, dbPath string) (fix func()){
		"read-only": func(t *testing.T, dbPath string) func() { return fsfault.ReadOnlyFile(t, dbPath) },
		"corrupt outbox page": func(t *testing.T, dbPath string) func() {
			return fsfault.Overwrite(t, dbPath, fsfault.TablePage(t, dbPath, "outbox"), 64)
		},
	} {
		t.Run(name, func(t *testing.T) {
			dbPath := filepath.Join(t.TempDir(), "sitrep.db")
			seedIncident(t, dbPath)
			fix := breakFile(t, dbPath)
			p := startSitrep(t, serveVars(dbPath), "serve")
			addr := p.serving(t)
			unavailableWhileBroken(t, p, addr)

			fix()
			deadline := time.Now().Add(30 * time.Second)
			waitReady(t, p, addr, deadline)
			if resp := postAlert(t, addr, 2); resp.StatusCode/100 != 2 {
				t.Fatalf("webhook once fixed: %d", resp.StatusCode)
			}
			waitDelivered(t, p, dbPath, deadline)
		})
	}
}
