package main

import (
	"bytes"
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/sitrep-io/sitrep/internal/pgtest"
)

// TestSmallStorm runs the tool end to end with a small count: a smoke test
// of its wiring and checks, not a measurement.
func TestSmallStorm(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-n", "200", "-groups", "10", "-c", "8", "-dups", "50", "-rounds", "1"}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"10 incidents (want 10), 200 alert events (want 200)", "result: OK", "baseline", "cpu/req",
		"summary: 1 round(s); median ratio sitrep/baseline throughput"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestSmallStormWithSlack runs the tool with -chat slack: the storm's
// channels and cards and a declared incident reach the fake Slack through
// the real adapter, within Slack's tiers. A smoke test of the wiring.
func TestSmallStormWithSlack(t *testing.T) {
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-n", "60", "-groups", "3", "-c", "4", "-dups", "10", "-rounds", "1", "-chat", "slack"}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"result: OK", "slack: declared SEV1 while", "slack: storm's 3 channels all created", "0 calls answered 429",
		"median p99 sitrep/baseline"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// TestSmallStormOnPostgresTwoReplicas runs the tool on PostgreSQL with two
// in-process replicas on one database, the storm split between them and
// each redelivery sent to the other replica: dedup must still be exact, the
// baseline is the bare PostgreSQL insert, and the databases the run created
// on the server are dropped again. A smoke test of the wiring.
func TestSmallStormOnPostgresTwoReplicas(t *testing.T) {
	server := pgtest.NewDatabase(t) // loadgen creates its own databases on this server
	before := loadgenDatabases(t, server)
	// A pool setting in the URL reaches the pools, not the connection
	// that creates the databases (which would send it to the server).
	u, err := url.Parse(server)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("pool_max_conns", "3")
	u.RawQuery = q.Encode()
	var out bytes.Buffer
	if err := run(context.Background(), []string{"-n", "200", "-groups", "10", "-c", "8", "-dups", "50", "-rounds", "1",
		"-db", u.String(), "-replicas", "2"}, &out); err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	for _, want := range []string{"store PostgreSQL", "2 replica(s)", "10 incidents (want 10), 200 alert events (want 200), 250 of 250 requests accepted",
		"result: OK", "baseline", "summary: 1 round(s); median ratio sitrep/baseline throughput"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if after := loadgenDatabases(t, server); after != before {
		t.Errorf("loadgen_* databases on the server: %d before the run, %d after: a run must drop what it creates", before, after)
	}
}

// loadgenDatabases counts the databases named loadgen_… on the server.
func loadgenDatabases(t *testing.T, server string) int {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), server)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM pg_database WHERE datname LIKE 'loadgen\_%'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestLoopbackOnly(t *testing.T) {
	for target, ok := range map[string]bool{
		"http://127.0.0.1:8080": true, "http://localhost:8080": true, "http://[::1]:8080": true, "http://127.9.9.9": true,
		"http://10.0.0.1:8080": false, "http://192.168.1.2": false, "http://example.com": false, "https://127.0.0.1": false,
	} {
		if err := loopbackOnly(target); (err == nil) != ok {
			t.Errorf("%s: err %v, want allowed=%v", target, err, ok)
		}
	}
}

func TestFlagsBounded(t *testing.T) {
	for _, args := range [][]string{{"-n", "1000000"}, {"-n", "10", "-groups", "20"}, {"-c", "0"}, {"-rounds", "0"}, {"-rounds", "11"},
		{"-target", "http://127.0.0.1:8080", "-rounds", "2"}, {"-chat", "teams"}, {"-chat", "slack", "-target", "http://127.0.0.1:8080"},
		{"-replicas", "2"}, {"-replicas", "0"}, {"-replicas", "5", "-db", "postgres://root@127.0.0.1/x"},
		{"-replicas", "2", "-db", "postgres://root@127.0.0.1/x", "-target", "http://127.0.0.1:8080", "-rounds", "1"},
		{"-replicas", "2", "-db", "postgres://root@127.0.0.1/x", "-chat", "slack"}, {"-db", "postgres://root@127.0.0.1:notaport/x"}} {
		if _, err := parseFlags(args); err == nil {
			t.Errorf("%v: want an error", args)
		}
	}
}
