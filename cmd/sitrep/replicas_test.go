package main

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/slackfake"
	"github.com/sitrep-io/sitrep/store/postgres"
)

// replicaVars are the settings of one replica on dbURL with Slack on fake.
func replicaVars(dbURL string, fake *slackfake.Server) map[string]string {
	vars := serveVars(dbURL)
	vars["SLACK_BOT_TOKEN"] = slackfake.BotToken
	vars["SLACK_SIGNING_SECRET"] = "test-secret"
	vars["SLACK_API_URL"] = fake.URL()
	return vars
}

// slashIn sends a signed "/incident <text>" from U1 in channel.
func slashIn(t *testing.T, addr, channel, text string) string {
	t.Helper()
	cmd := slackfake.SlashCommand{TeamID: slackfake.TeamID, ChannelID: channel, UserID: "U1", Command: "/incident",
		Text: text, TriggerID: "t"}
	resp, err := http.DefaultClient.Do(slackfake.SlashCommandRequest("http://"+addr+"/slack/commands", "test-secret", time.Now(), cmd))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/incident %s: %d %s", text, resp.StatusCode, body)
	}
	return string(body)
}

// TestReplicaDeathMidRunIsReportedByAnother: replica A runs a long
// runbook step on PostgreSQL; replica B starting meanwhile, and running
// beside it for longer than the heartbeat timeout, does not mark the run
// interrupted (A renews its heartbeat). kill -9 A mid-step: B marks the run
// interrupted within the timeout and says so in the incident channel, once.
func TestReplicaDeathMidRunIsReportedByAnother(t *testing.T) {
	const timeout = 4 * time.Second // SITREP_RUNBOOK_HEARTBEAT_TIMEOUT: heartbeats every second
	dbURL := pgURL(t)
	fake := slackfake.New(t)
	dir := t.TempDir()
	// The step runs until the test ends (or 2 minutes): the process that
	// runs it is killed, the orphaned step is let go at the end.
	writeTestFile(t, filepath.Join(dir, "long.yaml"), `name: long
title: A step that runs until it is released
steps:
  - name: wait
    action: exec
    with: {command: ["/bin/sh", "./long.sh"], timeout: 150s}
`)
	writeTestFile(t, filepath.Join(dir, "long.sh"), `i=0
while [ ! -f release ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done
`)
	t.Cleanup(func() { writeTestFile(t, filepath.Join(dir, "release"), "") })
	vars := replicaVars(dbURL, fake)
	vars["SITREP_RUNBOOKS"] = dir
	vars["SITREP_RUNBOOK_HEARTBEAT_TIMEOUT"] = timeout.String()

	a := startSitrep(t, vars, "serve")
	addrA := a.serving(t)
	slashIn(t, addrA, "CGENERAL", "declare Checkout latency")
	db, err := postgres.Open(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var channel slackfake.Channel
	waitUntil(t, 30*time.Second, "the incident channel", func() bool {
		inc, err := db.Incident(t.Context(), 1)
		if err != nil || inc.ChannelID == "" {
			return false
		}
		channel, _ = fake.ChannelByID(inc.ChannelID)
		return true
	})
	slashIn(t, addrA, channel.ID, "run long")

	run := func() bot.RunbookRun {
		t.Helper()
		runs, err := db.RunbookRuns(t.Context(), bot.RunbookRunFilter{})
		if err != nil || len(runs) != 1 {
			t.Fatalf("runs = %+v, %v; want one", runs, err)
		}
		return runs[0]
	}
	waitUntil(t, 30*time.Second, "the step to run on A", func() bool {
		runs, err := db.RunbookRuns(t.Context(), bot.RunbookRunFilter{})
		if err != nil {
			t.Fatal(err)
		}
		return len(runs) == 1 && runs[0].State == bot.RunRunning && runs[0].Steps[0].State == bot.StepRunning
	})
	runnerA := run().Runner

	b := startSitrep(t, vars, "serve")
	b.serving(t)
	// Side by side for three timeouts: B's passes leave A's run alone.
	for deadline := time.Now().Add(3 * timeout); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if r := run(); r.State != bot.RunRunning {
			t.Fatalf("with A alive the run became %s (%s)\nB:\n%s", r.State, r.Reason, b.stderr.String())
		}
	}
	if r := run(); r.Runner != runnerA || time.Since(r.HeartbeatAt) > timeout {
		t.Fatalf("run: runner %q (want %q), heartbeat %v ago; want A's, fresh", r.Runner, runnerA, time.Since(r.HeartbeatAt))
	}

	if err := a.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.exited(30 * time.Second); !ok {
		t.Fatal("A did not die")
	}
	killed := time.Now()
	interrupted := func() []slackfake.Message {
		var out []slackfake.Message
		for _, m := range fake.Messages(channel.ID) {
			if strings.Contains(m.Text, "was interrupted") {
				out = append(out, m)
			}
		}
		return out
	}
	if !fake.WaitUntil(timeout+30*time.Second, func() bool { return len(interrupted()) > 0 }) {
		t.Fatalf("B did not report the run interrupted; run %+v\nB:\n%s", run(), b.stderr.String())
	}
	t.Logf("reported %v after kill -9 (heartbeat timeout %v)", time.Since(killed).Round(100*time.Millisecond), timeout)
	r := run()
	if r.State != bot.RunInterrupted || r.Steps[0].State != bot.StepInterrupted || !strings.Contains(r.Reason, runnerA) {
		t.Errorf("run = %s, step %s, reason %q; want interrupted naming %s", r.State, r.Steps[0].State, r.Reason, runnerA)
	}
	time.Sleep(2 * timeout / 4) // two more of B's passes
	if n := len(interrupted()); n != 1 {
		t.Errorf("the channel was told %d times, want once", n)
	}
}

// waitUntil polls cond every 50 ms for up to d.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(d); !cond(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}
