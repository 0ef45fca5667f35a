package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/pdfake"
	"github.com/sitrep-io/sitrep/internal/pgtest"
	"github.com/sitrep-io/sitrep/store/postgres"
)

// pgPassword is put in the test database's URL (the test server trusts
// any password) to check that it is never shown.
const pgPassword = "s3cr3t-pw"

// pgURL returns a fresh PostgreSQL database's URL, with a password in it.
func pgURL(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.UserPassword(u.User.Username(), pgPassword)
	return u.String()
}

// TestServeOnPostgres: with SITREP_DB a postgres:// URL, `sitrep serve`
// migrates the database and serves from it, two replicas at once (no
// SQLite file lock); a signed PagerDuty webhook opens one incident, its
// redelivery to the other replica changes nothing (the database
// deduplicates), and the CLI reads it all back. The URL's password appears
// in no log line and no output.
func TestServeOnPostgres(t *testing.T) {
	dbURL := pgURL(t)
	vars := serveVars(dbURL)
	vars["PAGERDUTY_WEBHOOK_SECRET"] = "pd-secret"
	replicas := []*sitrepProcess{startSitrep(t, vars, "serve"), startSitrep(t, vars, "serve")}
	addrs := []string{replicas[0].serving(t), replicas[1].serving(t)}

	inc := pdfake.IncidentData{ID: "PPG0001", Number: 3, Title: "Checkout latency on PostgreSQL",
		Service: pdfake.Ref{ID: "PSVC", Summary: "checkout"}, EscalationPolicy: pdfake.Ref{ID: "PEP1", Summary: "Payments"}}
	body := pdfake.Event(pdfake.EventTriggered, inc, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	for i, addr := range addrs { // the same delivery to each replica
		resp, err := http.DefaultClient.Do(pdfake.WebhookRequest("http://"+addr+"/webhooks/pagerduty", body, "pd-secret"))
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("webhook to replica %d: %d %v", i, resp.StatusCode, out)
		}
		if i == 0 && (out["incident"] != "INC-1" || out["recorded"] != true) {
			t.Errorf("webhook to replica 0 = %v, want INC-1 recorded", out)
		}
		if i == 1 && out["recorded"] != false {
			t.Errorf("the same delivery to replica 1 = %v, want not recorded (the database knows it)", out)
		}
	}
	// Unsigned, it is refused before anything is stored.
	resp, err := http.DefaultClient.Do(pdfake.WebhookRequest("http://"+addrs[1]+"/webhooks/pagerduty",
		pdfake.Event(pdfake.EventTriggered, pdfake.IncidentData{ID: "PPG0002", Number: 4, Title: "forged"}, time.Now())))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("unsigned webhook: %d, want 401", resp.StatusCode)
	}

	db, err := postgres.Open(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	incs, err := db.Incidents(t.Context(), bot.IncidentFilter{All: true})
	if err != nil || len(incs) != 1 || incs[0].Title != inc.Title {
		t.Fatalf("incidents in PostgreSQL = %+v, %v; want the one from the webhook", incs, err)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"incidents"}, inc.Title},
		{[]string{"timeline", "INC-1"}, "INC-1"},
		{[]string{"migrate"}, "schema version"},
	} {
		var out, errOut bytes.Buffer
		if code := run(context.Background(), tc.args, testEnv(map[string]string{"SITREP_DB": dbURL}, &out, &errOut)); code != 0 {
			t.Errorf("sitrep %s: exit %d: %s", strings.Join(tc.args, " "), code, errOut.String())
		}
		if !strings.Contains(out.String(), tc.want) {
			t.Errorf("sitrep %s printed %q, want %q in it", strings.Join(tc.args, " "), out.String(), tc.want)
		}
		if strings.Contains(out.String()+errOut.String(), pgPassword) {
			t.Errorf("sitrep %s showed the database password:\n%s%s", strings.Join(tc.args, " "), out.String(), errOut.String())
		}
	}

	for i, p := range replicas {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		if err, ok := p.exited(60 * time.Second); !ok || err != nil {
			t.Errorf("replica %d after SIGTERM: exited %v, %v\n%s", i, ok, err, p.stderr.String())
		}
		logs := p.stderr.String()
		if strings.Contains(logs, pgPassword) {
			t.Errorf("replica %d logged the database password:\n%s", i, logs)
		}
		if !strings.Contains(logs, "xxxxx") {
			t.Errorf("replica %d does not log the (redacted) database:\n%s", i, logs)
		}
	}
}

// TestPostgresURLErrorsHideThePassword: a database that cannot be reached,
// or a URL that does not parse, is reported with the URL, never its
// password.
func TestPostgresURLErrorsHideThePassword(t *testing.T) {
	for name, dbURL := range map[string]string{
		"unreachable": "postgres://root:" + pgPassword + "@127.0.0.1:1/nope?sslmode=disable&connect_timeout=2",
		"bad port":    "postgres://root:" + pgPassword + "@127.0.0.1:notaport/db",
	} {
		t.Run(name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(context.Background(), []string{"incidents"}, testEnv(map[string]string{"SITREP_DB": dbURL}, &out, &errOut))
			if code == 0 {
				t.Fatalf("sitrep incidents on %s succeeded", name)
			}
			msg := out.String() + errOut.String()
			if strings.Contains(msg, pgPassword) {
				t.Errorf("the error shows the password:\n%s", msg)
			}
			if !strings.Contains(msg, "127.0.0.1") {
				t.Errorf("the error does not say which database:\n%s", msg)
			}
		})
	}
}
