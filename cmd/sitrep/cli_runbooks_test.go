package main

import (
	"bytes"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/console"
	"github.com/sitrep-io/sitrep/internal/app"
	"github.com/sitrep-io/sitrep/runbooks"
	"github.com/sitrep-io/sitrep/store"
)

func runSitrep(t *testing.T, vars map[string]string, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(t.Context(), args, testEnv(vars, &out, &errOut))
	return code, out.String(), errOut.String()
}

func TestRunbooksValidateShipped(t *testing.T) {
	code, out, errOut := runSitrep(t, nil, "runbooks", "validate", "../../runbooks")
	if code != 0 || !strings.Contains(out, "are valid") {
		t.Fatalf("validate the shipped runbooks: exit %d\n%s%s", code, out, errOut)
	}
	// The directory also comes from the configuration.
	if code, out, _ := runSitrep(t, map[string]string{"SITREP_RUNBOOKS": "../../runbooks"}, "runbooks", "validate"); code != 0 {
		t.Errorf("validate SITREP_RUNBOOKS: exit %d\n%s", code, out)
	}
}

// A step whose host a parameter chooses, without allowed_hosts, is
// valid but warned about; the shipped runbooks have no such step.
func TestRunbooksValidateWarnsAboutTemplatedHost(t *testing.T) {
	if _, out, _ := runSitrep(t, nil, "runbooks", "validate", "../../runbooks"); strings.Contains(out, "warning:") {
		t.Errorf("the shipped runbooks have warnings:\n%s", out)
	}
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "open.yaml"), "name: open\ntitle: t\nparams:\n  - {name: h, pattern: '[a-z.]+', default: a.example.com}\n"+
		"steps:\n  - name: probe\n    action: http_check\n    with: {url: \"https://{{ .h }}/healthz\"}\n")
	code, out, errOut := runSitrep(t, nil, "runbooks", "validate", dir)
	want := "warning: " + filepath.Join(dir, "open.yaml") + `:6: step "probe": a parameter chooses the url's host and the step has no allowed_hosts`
	if code != 0 || !strings.Contains(out, want) || !strings.Contains(out, "1 runbooks in") {
		t.Errorf("exit %d, want 0 with %q:\n%s%s", code, want, out, errOut)
	}
}

func TestRunbooksValidateBroken(t *testing.T) {
	dir := t.TempDir()
	writeTestFile(t, filepath.Join(dir, "bad.yaml"), "name: bad\ntitle: Bad\nsteps:\n  - name: s\n    action: exce\n    with: {command: [x]}\n")
	writeTestFile(t, filepath.Join(dir, "worse.yml"), "name: Not_Valid\ntitle: x\nsteps: []\nbogus: 1\n")
	code, out, errOut := runSitrep(t, nil, "runbooks", "validate", dir)
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	for _, want := range []string{filepath.Join(dir, "bad.yaml") + ":5:", filepath.Join(dir, "worse.yml") + ":1:", filepath.Join(dir, "worse.yml") + ":4:"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "problem(s)") {
		t.Errorf("stderr = %q", errOut)
	}
	if code, _, _ := runSitrep(t, nil, "runbooks", "validate", filepath.Join(dir, "missing")); code != 1 {
		t.Errorf("missing dir: exit %d, want 1", code)
	}
	if code, _, _ := runSitrep(t, nil, "runbooks"); code != 2 {
		t.Errorf("no subcommand: exit %d, want 2", code)
	}
	// serve refuses to start on broken runbooks.
	vars := map[string]string{"SITREP_RUNBOOKS": dir, "SITREP_DB": filepath.Join(t.TempDir(), "s.db"), "SITREP_ADDR": "127.0.0.1:0", "SITREP_CONSOLE": "off"}
	if code, _, errOut := runSitrep(t, vars, "serve"); code != 1 || !strings.Contains(errOut, "bad.yaml:5:") {
		t.Errorf("serve with broken runbooks: exit %d, %q; want 1 naming file:line", code, errOut)
	}
}

func writeTestFile(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestStartRunbooksInterruptsDeadRuns: a run a dead process left running is
// marked interrupted at start, and its execution is not repeated.
func TestStartRunbooksInterruptsDeadRuns(t *testing.T) {
	ctx := t.Context()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "sitrep.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var out bytes.Buffer
	chat := console.NewChat(&out, nil)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := Config{Runbooks: RunbooksConfig{Dir: "../../runbooks", ApprovalExpires: time.Minute}, ShutdownTimeout: time.Second}
	ac := app.Config{Store: db, Chat: chat}
	if _, err := runbooksConfig(cfg, &ac, log, runbooks.Options{}); err != nil {
		t.Fatal(err)
	}
	sitrep, err := app.New(ac)
	if err != nil {
		t.Fatal(err)
	}
	svc, disp := sitrep.Service, sitrep.Dispatcher
	inc, err := svc.Declare(ctx, bot.DeclareRequest{Actor: "U1", Title: "x"})
	if err != nil {
		t.Fatal(err)
	}
	run := bot.RunbookRun{IncidentID: inc.ID, Runbook: "pool-scale-up", State: bot.RunRunning, RequestedBy: "U1",
		RequestedAt: time.Now(), Steps: []bot.RunStep{{Name: "scale", State: bot.StepRunning, Spec: []byte("{}")}}}
	if err := db.Update(ctx, func(tx bot.Tx) error { return tx.CreateRunbookRun(&run) }); err != nil {
		t.Fatal(err)
	}
	stop, err := startRunbooks(ctx, cfg, sitrep.Runs, log)
	if err != nil {
		t.Fatal(err)
	}
	defer stop()
	got, err := db.RunbookRun(ctx, run.ID)
	if err != nil || got.State != bot.RunInterrupted || got.Steps[0].State != bot.StepInterrupted {
		t.Fatalf("after start: %+v, %v; want interrupted", got, err)
	}
	if err := disp.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "was interrupted") {
		t.Errorf("the channel was not told:\n%s", out.String())
	}
	if _, err := svc.Execute(ctx, bot.Invocation{Actor: "U1", IncidentID: inc.ID, Text: "runbooks"}); err != nil {
		t.Errorf("the runbooks command is not registered: %v", err)
	}
}

// A 1 MB alert title with a bidi override and a terminal escape gives
// `sitrep incidents` one short, harmless row (it printed 15 MB before).
func TestIncidentsOutputIsBoundedAndHarmless(t *testing.T) {
	dbPath := filepath.Join(t.TempDir(), "sitrep.db")
	ctx := t.Context()
	db, err := store.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	svc := bot.NewService(db, bot.ServiceConfig{})
	title := "gateway\u202Etxt.exe\x1b[2J " + strings.Repeat("x", 1<<20)
	out, err := svc.IngestAlert(ctx, bot.Alert{Source: "webhook", DedupKey: "big", Title: title, Firing: true,
		Description: strings.Repeat("d\x1b[31m", 100_000)})
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"SITREP_DB": dbPath}
	for _, args := range [][]string{{"incidents"}, {"timeline", out.Incident.Key()}} {
		code, text, errOut := runSitrep(t, vars, args...)
		if code != 0 {
			t.Fatalf("%v: exit %d %s", args, code, errOut)
		}
		if len(text) > 16<<10 {
			t.Errorf("%v printed %d bytes", args, len(text))
		}
		if strings.ContainsAny(text, "\u202E\x1b") {
			t.Errorf("%v printed a raw control character", args)
		}
		if !strings.Contains(text, "[U+202E]") || !strings.Contains(text, bot.CutMark) {
			t.Errorf("%v: %.300q", args, text)
		}
	}
}
