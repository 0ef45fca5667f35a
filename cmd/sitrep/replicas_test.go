package main

import (
	"bytes"
	"encoding/json"
	"fmt"
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
	postSlashIn(t, addrA, "U1", "CGENERAL", "declare Checkout latency")
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
	postSlashIn(t, addrA, "U1", channel.ID, "run long")

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

// stormAlert sends one generic webhook alert with the bearer token to addr.
func stormAlert(addr, title, dedupKey string) (int, error) {
	body, _ := json.Marshal(map[string]any{"title": title, "severity": "critical", "status": "firing",
		"dedup_key": dedupKey, "source": "storm"})
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks/alert", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// messageTag is the delivery tag sitrep puts in a message's metadata.
func messageTag(m slackfake.Message) string {
	var md struct {
		EventPayload map[string]any `json:"event_payload"`
	}
	_ = json.Unmarshal(m.Metadata, &md)
	s, _ := md.EventPayload["tag"].(string)
	return s
}

// TestReplicaStormKillMidDelivery: three `sitrep serve` on one PostgreSQL
// database with Slack answering slowly; a storm of alerts split across
// them; kill -9 of one while deliveries are in flight. Its leased entries
// are taken over by the others once the (short) lease lapses. Every Slack
// call is counted: each incident has exactly one channel and one card, no
// message is posted twice, nothing is lost.
func TestReplicaStormKillMidDelivery(t *testing.T) {
	const incidents = 12
	dbURL := pgURL(t)
	fake := slackfake.New(t)
	fake.SetFault("chat.postMessage", slackfake.Slow(150*time.Millisecond))
	fake.SetFault("conversations.create", slackfake.Slow(150*time.Millisecond))
	vars := replicaVars(dbURL, fake)
	vars[deliveryLeaseEnv] = "3s"
	replicas := []*sitrepProcess{startSitrep(t, vars, "serve"), startSitrep(t, vars, "serve"), startSitrep(t, vars, "serve")}
	addrs := make([]string, len(replicas))
	for i, p := range replicas {
		addrs[i] = p.serving(t)
	}

	for i := range incidents {
		code, err := stormAlert(addrs[i%len(addrs)], fmt.Sprintf("Storm %02d failing", i), fmt.Sprintf("storm-%02d", i))
		if err != nil || code != http.StatusCreated {
			t.Fatalf("alert %d: %d, %v; want 201", i, code, err)
		}
	}
	// The same alerts again, each to another replica: the database
	// deduplicates them, no new incident.
	for i := range incidents {
		if code, err := stormAlert(addrs[(i+1)%len(addrs)], fmt.Sprintf("Storm %02d failing", i), fmt.Sprintf("storm-%02d", i)); err != nil || code != http.StatusOK {
			t.Fatalf("repeated alert %d: %d, %v; want 200 (recorded on the open incident)", i, code, err)
		}
	}
	// kill -9 the first replica while Slack calls are in flight.
	if !fake.WaitUntil(60*time.Second, func() bool {
		return fake.InFlight("chat.postMessage")+fake.InFlight("conversations.create") > 0
	}) {
		t.Fatal("no Slack call in flight")
	}
	if err := replicas[0].cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killedAt := len(fake.Calls())

	cards := func() int {
		n := 0
		for _, c := range fake.Channels() {
			if strings.HasPrefix(c.Name, "inc-") && len(fake.Pins(c.ID)) > 0 {
				n++
			}
		}
		return n
	}
	if !fake.WaitUntil(90*time.Second, func() bool { return cards() == incidents }) {
		t.Fatalf("%d of %d incidents have a channel with a pinned card", cards(), incidents)
	}
	time.Sleep(2 * 3 * time.Second) // two leases: anything still to be doubled would be by now
	t.Logf("%d Slack calls, %d of them after the kill", len(fake.Calls()), len(fake.Calls())-killedAt)

	var channels []slackfake.Channel
	for _, c := range fake.Channels() {
		if strings.HasPrefix(c.Name, "inc-") {
			channels = append(channels, c)
		}
	}
	if len(channels) != incidents {
		t.Errorf("%d incident channels, want %d", len(channels), incidents)
	}
	created := 0
	for _, c := range fake.CallsTo("conversations.create") {
		if c.Error == "" && c.Status == http.StatusOK {
			created++
		}
	}
	if created != incidents {
		t.Errorf("%d channels created, want %d", created, incidents)
	}
	for _, c := range channels {
		if pins := fake.Pins(c.ID); len(pins) != 1 {
			t.Errorf("%s: %d pinned cards, want 1", c.Name, len(pins))
		}
		tags := map[string]int{}
		for _, m := range fake.Messages(c.ID) {
			if tag := messageTag(m); tag != "" {
				tags[tag]++
			}
		}
		for tag, n := range tags {
			if n > 1 {
				t.Errorf("%s: the message %s was posted %d times", c.Name, tag, n)
			}
		}
	}
	db, err := postgres.Open(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	incs, err := db.Incidents(t.Context(), bot.IncidentFilter{All: true})
	if err != nil || len(incs) != incidents {
		t.Fatalf("%d incidents in the database (%v), want %d", len(incs), err, incidents)
	}
	for _, inc := range incs {
		if inc.ChannelID == "" {
			t.Errorf("%s has no channel recorded", inc.Key())
		}
	}
}
