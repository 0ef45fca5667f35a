package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/store"
)

func envFrom(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func testEnv(vars map[string]string, stdout, stderr io.Writer) env {
	return env{getenv: envFrom(vars), stdin: strings.NewReader(""), stdout: stdout, stderr: stderr}
}

func TestLoadConfig(t *testing.T) {
	dir := t.TempDir()
	t.Run("Defaults", func(t *testing.T) {
		c, err := LoadConfig("", false, envFrom(nil))
		if err != nil {
			t.Fatal(err)
		}
		if c.Addr != ":8080" || c.DB != "sitrep.db" || c.DefaultSeverity != bot.SEV3 || c.Console != "auto" || c.ShutdownTimeout != 15*time.Second {
			t.Errorf("defaults: %+v", c)
		}
	})
	t.Run("MissingOptionalFile", func(t *testing.T) {
		if _, err := LoadConfig(filepath.Join(dir, "absent.yaml"), false, envFrom(nil)); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("ErrMissingRequiredFile", func(t *testing.T) {
		if _, err := LoadConfig(filepath.Join(dir, "absent.yaml"), true, envFrom(nil)); err == nil {
			t.Fatal("a --config file that does not exist must be an error")
		}
	})
	t.Run("FileThenEnvWins", func(t *testing.T) {
		path := filepath.Join(dir, "sitrep.yaml")
		os.WriteFile(path, []byte("addr: 127.0.0.1:9000\ndb: /tmp/x.db\nlog:\n  level: debug\n"), 0o600)
		c, err := LoadConfig(path, true, envFrom(map[string]string{"SITREP_ADDR": ":7000"}))
		if err != nil {
			t.Fatal(err)
		}
		if got, want := c.Addr, ":7000"; got != want {
			t.Errorf("addr = %q, want %q (env wins)", got, want)
		}
		if c.DB != "/tmp/x.db" || c.LogLevel != "debug" {
			t.Errorf("file values not applied: %+v", c)
		}
	})
	t.Run("EmptyFile", func(t *testing.T) {
		path := filepath.Join(dir, "empty.yaml")
		os.WriteFile(path, nil, 0o600)
		if _, err := LoadConfig(path, true, envFrom(nil)); err != nil {
			t.Fatal(err)
		}
	})
	errCases := []struct {
		name, yaml string
		vars       map[string]string
		want       []string
	}{
		{"ErrUnknownKey", "addr: :8080\nadr: :9\n", nil, []string{":2:", `unknown key "adr"`}},
		{"ErrBadAddrInFile", "addr: nope\n", nil, []string{":1:", "addr", "host:port"}},
		{"ErrBadEnvSeverity", "", map[string]string{"SITREP_DEFAULT_SEVERITY": "SEV7"}, []string{"SITREP_DEFAULT_SEVERITY", "default_severity", "SEV1 to SEV4"}},
		{"ErrBadConsole", "", map[string]string{"SITREP_CONSOLE": "maybe"}, []string{"SITREP_CONSOLE", "auto, on, off"}},
		{"ErrBadDuration", "shutdown_timeout: soon\n", nil, []string{"shutdown_timeout", "duration"}},
		{"ErrEveryProblemReported", "addr: nope\nlog:\n  level: loud\n", nil, []string{"addr", "log.level"}},
		{"ErrNotAMapping", "- a\n- b\n", nil, []string{"mapping"}},
		{"ErrSlackHTTPModeNeedsSecret", "", map[string]string{"SLACK_BOT_TOKEN": "xoxb-1"}, []string{"SLACK_SIGNING_SECRET", "Socket Mode"}},
		{"ErrAppTokenWithoutBotToken", "", map[string]string{"SLACK_APP_TOKEN": "xapp-1"}, []string{"SLACK_BOT_TOKEN"}},
		{"ErrBadPostgresURL", "", map[string]string{"SITREP_DB": "postgres://root:pw@127.0.0.1:notaport/sitrep"}, []string{"SITREP_DB", "PostgreSQL URL", "invalid port", "root:xxxxx@"}},
		{"ErrNotABotToken", "", map[string]string{"SLACK_BOT_TOKEN": "xoxp-user"}, []string{"SLACK_BOT_TOKEN", "xoxb-"}},
	}
	for _, tc := range errCases {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, tc.name+".yaml")
			os.WriteFile(path, []byte(tc.yaml), 0o600)
			_, err := LoadConfig(path, true, envFrom(tc.vars))
			if err == nil {
				t.Fatal("want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestConfigErrorExitsTwoWithoutSecrets(t *testing.T) {
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"migrate"}, testEnv(map[string]string{
		"SITREP_ADDR": "bad", "SITREP_WEBHOOK_TOKEN": "s3cret-value", "SITREP_DB": filepath.Join(t.TempDir(), "x.db"),
	}, &stdout, &stderr))
	if code != 2 {
		t.Fatalf("exit = %d, want 2 (stderr %q)", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "SITREP_ADDR") {
		t.Errorf("stderr does not name the field: %q", stderr.String())
	}
	if strings.Contains(stderr.String()+stdout.String(), "s3cret-value") {
		t.Error("a secret was printed")
	}
}

// TestReadmeConfigTable keeps the README's configuration table in step with
// the settings sitrep reads.
func TestReadmeConfigTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range settings() {
		row := regexp.MustCompile("(?m)^\\|\\s*`" + regexp.QuoteMeta(s.Key) + "`\\s*\\|\\s*`" + regexp.QuoteMeta(s.Env) + "`\\s*\\|")
		if !row.Match(readme) {
			t.Errorf("README.md has no configuration row for %s / %s", s.Key, s.Env)
		}
	}
}

func TestCommands(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "sitrep.db")
	vars := map[string]string{"SITREP_DB": dbPath}
	ctx := context.Background()
	runCmd := func(args ...string) (int, string, string) {
		var out, errOut bytes.Buffer
		code := run(ctx, args, testEnv(vars, &out, &errOut))
		return code, out.String(), errOut.String()
	}
	if code, out, _ := runCmd("migrate"); code != 0 || !strings.Contains(out, "schema version") {
		t.Fatalf("migrate: %d %q", code, out)
	}
	if code, out, _ := runCmd("incidents"); code != 0 || !strings.Contains(out, "No incidents") {
		t.Fatalf("incidents on an empty db: %d %q", code, out)
	}
	db, err := store.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	svc := bot.NewService(db, bot.ServiceConfig{})
	open, _ := svc.Declare(ctx, bot.DeclareRequest{Actor: "ana", Title: "Checkout latency"})
	old, _ := svc.Declare(ctx, bot.DeclareRequest{Actor: "ana", Title: "Old resolved one"})
	if _, err := svc.Resolve(ctx, "ana", old.ID, "done"); err != nil {
		t.Fatal(err)
	}
	// The CLI reads while another handle (a running server) has the file open.
	code, out, _ := runCmd("incidents")
	if code != 0 || !strings.Contains(out, "INC-1") || !strings.Contains(out, "Checkout latency") || !strings.Contains(out, "INC-2") {
		t.Fatalf("incidents: %d %q", code, out)
	}
	if strings.Index(out, "INC-1") > strings.Index(out, "INC-2") {
		t.Errorf("open incidents must come first:\n%s", out)
	}
	code, out, _ = runCmd("timeline", open.Key())
	if code != 0 || !strings.Contains(out, "declared") || !strings.Contains(out, "@ana is commander") {
		t.Fatalf("timeline: %d %q", code, out)
	}
	fired := time.Now().Add(-time.Hour) // before the declaration, which is stamped on arrival
	for i := range 5 {
		if _, err := svc.IngestAlert(ctx, bot.Alert{Source: "webhook", DedupKey: "lat", Title: "Checkout p99 above 2s", Firing: true,
			OccurredAt: fired.Add(time.Duration(i) * time.Second),
			Labels:     map[string]string{"instance": fmt.Sprintf("web-%d", i)}}); err != nil {
			t.Fatal(err)
		}
	}
	alerted := open.ID + 2 // the first of these alerts opened INC-3
	key := bot.Incident{ID: alerted}.Key()
	code, out, _ = runCmd("timeline", key)
	if code != 0 || strings.Count(out, "alert_fired") != 5 {
		t.Errorf("timeline %s prints every event: %d\n%s", key, code, out)
	}
	for _, args := range [][]string{{"timeline", key, "--collapse"}, {"timeline", "--collapse", key}} {
		code, out, _ = runCmd(args...)
		if code != 0 || strings.Count(out, "alert_fired") != 1 || !strings.Contains(out, "(×5, last ") ||
			!strings.Contains(out, "new instance: web-1, web-2, web-3 and 1 more") {
			t.Errorf("%v: %d\n%s", args, code, out)
		}
	}
	if code, _, _ := runCmd("timeline", key, "--bogus"); code != 2 {
		t.Errorf("timeline with an unknown flag: exit %d, want 2", code)
	}
	if code, _, errOut := runCmd("timeline", "INC-99"); code != 1 || !strings.Contains(errOut, "INC-99 does not exist") {
		t.Errorf("timeline of a missing incident: %d %q", code, errOut)
	}
	if code, _, _ := runCmd("timeline"); code != 2 {
		t.Errorf("timeline without an id: exit %d, want 2", code)
	}
	if code, _, _ := runCmd("frobnicate"); code != 2 {
		t.Errorf("unknown command: exit %d, want 2", code)
	}
	if code, out, _ := runCmd("version"); code != 0 || !strings.Contains(out, "sitrep") {
		t.Errorf("version: %d %q", code, out)
	}
	db.Close()
}

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServeGracefulShutdown starts the server, begins a request whose body
// is still arriving, then cancels (as SIGTERM does): the in-flight request
// must complete and be stored, new connections refused, and the database
// closed cleanly.
func TestServeGracefulShutdown(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "sitrep.db")
	cfg, err := LoadConfig("", false, envFrom(map[string]string{
		"SITREP_DB": dbPath, "SITREP_ADDR": "127.0.0.1:0", "SITREP_WEBHOOK_TOKEN": "tok", "SITREP_CONSOLE": "off",
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, logs syncBuffer
	addrc := make(chan net.Addr, 1)
	active := make(chan struct{}, 16)
	hooks := &serveHooks{
		onListen: func(a net.Addr) { addrc <- a },
		connState: func(_ net.Conn, st http.ConnState) {
			if st == http.StateActive {
				select {
				case active <- struct{}{}:
				default:
				}
			}
		},
	}
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, cfg, env{getenv: envFrom(nil), stdin: strings.NewReader(""), stdout: &out, stderr: &logs}, hooks)
	}()
	var addr net.Addr
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatalf("serve ended early: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("server did not start")
	}
	base := "http://" + addr.String()

	resp, err := http.Get(base + "/healthz")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	resp.Body.Close()
	var probeOut bytes.Buffer
	if code := run(context.Background(), []string{"health"}, testEnv(map[string]string{"SITREP_ADDR": addr.String()}, &probeOut, io.Discard)); code != 0 {
		t.Errorf("health on a running server: exit %d", code)
	}

	// Start a request and hold back the end of its body.
	body := `{"title":"Platform API returning 500","dedup_key":"k1","severity":"SEV1"}`
	pr, pw := io.Pipe()
	req, _ := http.NewRequest(http.MethodPost, base+"/webhooks/alert", pr)
	req.Header.Set("Authorization", "Bearer tok")
	req.ContentLength = int64(len(body))
	// Drain the activity of the earlier probes before the request starts:
	// the server marks each of them active before answering it, so all
	// their signals are in already. The client flushes this request's
	// headers before it reads the body, so the server may mark it active
	// at once; draining after starting it could swallow that signal
	// (that was the flake: then the wait below timed out).
	for len(active) > 0 {
		<-active
	}
	result := make(chan int, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			result <- -1
			return
		}
		resp.Body.Close()
		result <- resp.StatusCode
	}()
	if _, err := pw.Write([]byte(body[:10])); err != nil {
		t.Fatal(err)
	}
	// Wait until the server is reading this request.
	select {
	case <-active:
	case <-time.After(30 * time.Second):
		t.Fatal("the server never started reading the request")
	}
	cancel() // SIGTERM
	// Wait until the server has stopped accepting new connections.
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr.String(), time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("server still accepts connections after shutdown began")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := pw.Write([]byte(body[10:])); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	if code := <-result; code != http.StatusCreated {
		t.Fatalf("in-flight request: status %d, want 201", code)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not return after shutdown")
	}
	if code := run(context.Background(), []string{"health"}, testEnv(map[string]string{"SITREP_ADDR": addr.String()}, io.Discard, io.Discard)); code != 1 {
		t.Errorf("health after shutdown: exit %d, want 1", code)
	}
	if !strings.Contains(logs.String(), "stopped") {
		t.Errorf("logs: %s", logs.String())
	}
	// The file is complete and reopens with the incident in it.
	db, err := store.Open(context.Background(), dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	incs, err := db.Incidents(context.Background(), bot.IncidentFilter{All: true})
	if err != nil || len(incs) != 1 {
		t.Fatalf("after restart: %d incidents, %v", len(incs), err)
	}
	if _, err := os.Stat(dbPath + "-wal"); err == nil {
		if fi, _ := os.Stat(dbPath + "-wal"); fi.Size() > 0 {
			t.Errorf("WAL not checkpointed on close: %d bytes", fi.Size())
		}
	}
	if strings.Contains(logs.String(), "tok\"") || strings.Contains(logs.String(), "=tok") {
		t.Error("the webhook token appears in the logs")
	}
}

func TestIsTerminalNotDevNull(t *testing.T) {
	null, err := os.Open(os.DevNull)
	if err != nil {
		t.Fatal(err)
	}
	defer null.Close()
	if isTerminal(null) {
		t.Error("/dev/null is not a terminal")
	}
	file, err := os.CreateTemp(t.TempDir(), "stdin")
	if err != nil {
		t.Fatal(err)
	}
	defer file.Close()
	if isTerminal(file) {
		t.Error("a regular file is not a terminal")
	}
}
