package runbooks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func execStep(timeout time.Duration, env []string, argv ...string) RenderedStep {
	return RenderedStep{Runbook: "t", Step: "s", Action: ActionExec, Env: env,
		Exec: &RenderedExec{Argv: argv, Timeout: timeout}}
}

func writeScript(t *testing.T, dir, name, body string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// processGone reports whether pid no longer runs (gone or a zombie).
func processGone(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	// Format: pid (comm) state ...
	s := string(stat)
	if i := strings.LastIndexByte(s, ')'); i >= 0 && i+2 < len(s) {
		return s[i+2] == 'Z'
	}
	return false
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			_ = syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("process %d survived", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func readPid(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return pid
}

func TestExecBasics(t *testing.T) {
	dir := t.TempDir()
	writeScript(t, dir, "fail.sh", "echo working\necho 'boom: disk on fire' >&2\nexit 3\n")
	writeScript(t, dir, "pwd.sh", "pwd\n")
	ex := NewExecExecutor(Options{WorkDir: dir})
	tests := []struct {
		name        string
		step        RenderedStep
		wantStatus  Status
		wantCode    int
		wantOutput  string
		wantSummary string
	}{
		{"success", execStep(time.Minute, nil, "/bin/echo", "hello"), StatusSucceeded, 0, "hello\n", "exited 0"},
		{"non-zero exit", execStep(time.Minute, nil, "./fail.sh"), StatusFailed, 3, "working\nboom: disk on fire\n", "exited 3 after"},
		{"runs in work dir", execStep(time.Minute, nil, "./pwd.sh"), StatusSucceeded, 0, dir + "\n", "exited 0"},
		{"cannot start", execStep(time.Minute, nil, "./does-not-exist"), StatusFailed, -1, "", "could not start ./does-not-exist"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ex.Execute(context.Background(), tt.step)
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != tt.wantStatus || res.ExitCode != tt.wantCode || res.Output != tt.wantOutput ||
				!strings.Contains(res.Summary, tt.wantSummary) {
				t.Errorf("got %s exit %d output %q summary %q", res.Status, res.ExitCode, res.Output, res.Summary)
			}
			if res.Started.IsZero() || res.Finished.Before(res.Started) {
				t.Errorf("bad times %v %v", res.Started, res.Finished)
			}
			if _, ok := res.Details.(*ExecDetails); !ok {
				t.Errorf("details %T", res.Details)
			}
		})
	}
	if _, err := ex.Execute(context.Background(), RenderedStep{Action: ActionHTTP, HTTP: &RenderedHTTP{}}); !errors.Is(err, ErrWrongAction) {
		t.Errorf("wrong action: %v", err)
	}
	if _, err := ex.Execute(context.Background(), execStep(time.Second, nil)); err == nil {
		t.Error("empty argv accepted")
	}
	if _, err := NewExecutors(Options{}).Execute(context.Background(), RenderedStep{Action: "nope"}); !errors.Is(err, ErrWrongAction) {
		t.Errorf("registry unknown action: %v", err)
	}
}

func TestExecDefaultDirIsRunbookDir(t *testing.T) {
	dir := t.TempDir()
	writeScript(t, dir, "pwd.sh", "pwd\n")
	st := execStep(time.Minute, nil, "./pwd.sh")
	st.Exec.Dir = dir
	res, err := NewExecExecutor(Options{}).Execute(context.Background(), st)
	if err != nil || res.Output != dir+"\n" {
		t.Fatalf("%v %+v", err, res)
	}
}

func TestExecEnvAllowlist(t *testing.T) {
	t.Setenv("SITREP_TEST_SECRET", "hunter2-do-not-leak")
	t.Setenv("SITREP_ALLOWED", "allowed-value-123")
	t.Setenv("LANG", "C.UTF-8")
	ex := NewExecExecutor(Options{})
	res, err := ex.Execute(context.Background(), execStep(time.Minute, []string{"SITREP_ALLOWED", "SITREP_UNSET"}, "/usr/bin/env"))
	if err != nil || !res.Succeeded() {
		t.Fatalf("%v %+v", err, res)
	}
	allowed := map[string]bool{"PATH": true, "HOME": true, "LANG": true, "SITREP_ALLOWED": true}
	for _, line := range strings.Split(strings.TrimSpace(res.Output), "\n") {
		name, _, _ := strings.Cut(line, "=")
		if !allowed[name] {
			t.Errorf("unexpected variable in child environment: %q", line)
		}
	}
	if strings.Contains(res.Output, "hunter2") || strings.Contains(res.Output, "SITREP_TEST_SECRET") {
		t.Errorf("secret leaked: %s", res.Output)
	}
	// The allowlisted variable reaches the child but its value is
	// redacted from the captured output.
	if !strings.Contains(res.Output, "SITREP_ALLOWED=[REDACTED]") || strings.Contains(res.Output, "allowed-value-123") {
		t.Errorf("allowlisted var not passed/redacted: %s", res.Output)
	}
	if !strings.Contains(res.Output, "LANG=C.UTF-8") || !strings.Contains(res.Output, "PATH=") {
		t.Errorf("base env missing: %s", res.Output)
	}
	if d := res.Details.(*ExecDetails); strings.Join(d.EnvNames, ",") != "PATH,HOME,LANG,SITREP_ALLOWED" &&
		strings.Join(d.EnvNames, ",") != "PATH,LANG,SITREP_ALLOWED" {
		t.Errorf("EnvNames = %v", d.EnvNames)
	}

	// Injected lookup: nothing else is consulted.
	ex = NewExecExecutor(Options{LookupEnv: func(name string) (string, bool) {
		if name == "PATH" {
			return "/usr/bin:/bin", true
		}
		return "", false
	}})
	res, err = ex.Execute(context.Background(), execStep(time.Minute, nil, "/usr/bin/env"))
	if err != nil || res.Output != "PATH=/usr/bin:/bin\n" {
		t.Errorf("env with injected lookup: %v %q", err, res.Output)
	}
}

func TestExecTimeoutKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	// The grandchild keeps stdout open, so without a group kill Wait would
	// block until the grandchild's 30s sleep ends.
	writeScript(t, dir, "spawn.sh", "sleep 30 &\necho $! > child.pid\necho started\nsleep 30\n")
	ex := NewExecExecutor(Options{WorkDir: dir, KillGrace: 20 * time.Second})
	start := time.Now()
	res, err := ex.Execute(context.Background(), execStep(200*time.Millisecond, nil, "./spawn.sh"))
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if elapsed > 15*time.Second {
		t.Errorf("took %s; the 200ms timeout did not kill the group", elapsed)
	}
	d := res.Details.(*ExecDetails)
	if res.Status != StatusFailed || !d.TimedOut || !strings.Contains(res.Summary, "timed out after 200ms") || res.ExitCode != -1 {
		t.Errorf("got %+v", res)
	}
	if !strings.Contains(res.Output, "started") {
		t.Errorf("output before kill lost: %q", res.Output)
	}
	waitGone(t, readPid(t, filepath.Join(dir, "child.pid")))
}

func TestExecCancelKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	writeScript(t, dir, "spawn.sh", "sleep 30 &\necho $! > child.pid\nsleep 30\n")
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		for {
			if _, err := os.Stat(filepath.Join(dir, "child.pid")); err == nil {
				cancel()
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	}()
	res, err := NewExecExecutor(Options{WorkDir: dir}).Execute(ctx, execStep(time.Minute, nil, "./spawn.sh"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != StatusFailed || !res.Details.(*ExecDetails).Canceled {
		t.Errorf("got %+v", res)
	}
	waitGone(t, readPid(t, filepath.Join(dir, "child.pid")))
}

func TestExecKillsStragglersAfterExit(t *testing.T) {
	dir := t.TempDir()
	writeScript(t, dir, "bg.sh", "sleep 30 >/dev/null 2>&1 &\necho $! > child.pid\necho done\n")
	res, err := NewExecExecutor(Options{WorkDir: dir}).Execute(context.Background(), execStep(time.Minute, nil, "./bg.sh"))
	if err != nil || !res.Succeeded() || res.Output != "done\n" {
		t.Fatalf("%v %+v", err, res)
	}
	waitGone(t, readPid(t, filepath.Join(dir, "child.pid")))
}

func TestExecOutputCapped(t *testing.T) {
	dir := t.TempDir()
	writeScript(t, dir, "big.sh", "head -c 200000 /dev/zero | tr '\\0' a\necho 'tail line' >&2\nexit 1\n")
	res, err := NewExecExecutor(Options{WorkDir: dir}).Execute(context.Background(), execStep(time.Minute, nil, "./big.sh"))
	if err != nil {
		t.Fatal(err)
	}
	total := 200000 + len("tail line\n")
	wantDropped := int64(total - DefaultOutputLimit)
	if res.OutputDropped != wantDropped {
		t.Errorf("dropped %d, want %d", res.OutputDropped, wantDropped)
	}
	want := strings.Repeat("a", DefaultOutputLimit) + "\n" + fmt.Sprintf("… %d more bytes not kept", wantDropped)
	if res.Output != want {
		t.Errorf("output len %d, suffix %q", len(res.Output), res.Output[len(res.Output)-60:])
	}
	if res.Status != StatusFailed || res.ExitCode != 1 {
		t.Errorf("got %s %d", res.Status, res.ExitCode)
	}
}
