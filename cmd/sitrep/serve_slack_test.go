package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/internal/slackfake"
)

// startServe runs serve with vars over a fresh database and returns its
// address; the server stops when the test ends.
func startServe(t *testing.T, vars map[string]string) string {
	t.Helper()
	addr, _, _ := startServeOutput(t, vars)
	return addr
}

// startServeOutput is startServe that also returns what the server printed
// (standard output) and logged. SITREP_DB, when vars sets it, is kept (a
// test that runs CLI commands beside the server names the file).
func startServeOutput(t *testing.T, vars map[string]string) (addr string, out, logs *syncBuffer) {
	t.Helper()
	if vars["SITREP_DB"] == "" {
		vars["SITREP_DB"] = filepath.Join(t.TempDir(), "sitrep.db")
	}
	vars["SITREP_ADDR"] = "127.0.0.1:0"
	cfg, err := LoadConfig("", false, envFrom(vars))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan net.Addr, 1)
	done := make(chan error, 1)
	out, logs = &syncBuffer{}, &syncBuffer{}
	go func() {
		done <- serve(ctx, cfg, env{getenv: envFrom(nil), stdin: strings.NewReader(""), stdout: out, stderr: logs},
			&serveHooks{onListen: func(a net.Addr) { addrc <- a }})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
		if strings.Contains(logs.String(), "xoxb-") || strings.Contains(logs.String(), "test-secret") {
			t.Errorf("a secret reached the log:\n%s", logs.String())
		}
	})
	select {
	case a := <-addrc:
		return a.String(), out, logs
	case err := <-done:
		t.Fatalf("serve ended early: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("server did not start")
	}
	return "", out, logs
}

func TestServeSlackHTTPMode(t *testing.T) {
	fake := slackfake.New(t)
	addr := startServe(t, map[string]string{"SLACK_BOT_TOKEN": slackfake.BotToken, "SLACK_SIGNING_SECRET": "test-secret",
		"SLACK_API_URL": fake.URL(), "SITREP_CONSOLE": "on"})
	if status, body := postSlash(t, addr, "test-secret", "declare Checkout failing"); status != http.StatusOK || !strings.Contains(body, "Declared INC-1") {
		t.Fatalf("slash command: %d %s", status, body)
	}
	if !fake.WaitUntil(20*time.Second, func() bool { _, ok := fake.Channel("inc-1-checkout-failing"); return ok }) {
		t.Fatal("the incident channel was not created in Slack")
	}
	if status, body := postSlash(t, addr, "wrong-secret", "declare Checkout failing"); status != http.StatusUnauthorized {
		t.Errorf("a wrongly signed command: %d %s", status, body)
	}
}

// postSlash sends /incident text from U1 in #general to the server at addr,
// signed with secret, and returns the status and body of the answer.
func postSlash(t *testing.T, addr, secret, text string) (int, string) {
	t.Helper()
	cmd := slackfake.SlashCommand{TeamID: slackfake.TeamID, ChannelID: "CGENERAL", UserID: "U1", Command: "/incident",
		Text: text, TriggerID: "t"}
	resp, err := http.DefaultClient.Do(slackfake.SlashCommandRequest("http://"+addr+"/slack/commands", secret, time.Now(), cmd))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestServeSlackSocketMode(t *testing.T) {
	fake := slackfake.New(t)
	addr := startServe(t, map[string]string{"SLACK_BOT_TOKEN": slackfake.BotToken, "SLACK_APP_TOKEN": slackfake.AppToken,
		"SLACK_API_URL": fake.URL()})
	if !fake.WaitUntil(20*time.Second, func() bool { return fake.SocketConnections() == 1 }) {
		t.Fatal("no Socket Mode connection")
	}
	id, err := fake.SocketSend("slash_commands", map[string]any{"channel_id": "CGENERAL", "user_id": "U1",
		"command": "/incident", "text": "declare Socket outage", "trigger_id": "t"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if ack, ok := fake.WaitSocketAck(id, 10*time.Second); !ok || !strings.Contains(string(ack.Payload), "Declared INC-1") {
		t.Fatalf("ack: %+v %v", ack, ok)
	}
	if !fake.WaitUntil(20*time.Second, func() bool { _, ok := fake.Channel("inc-1-socket-outage"); return ok }) {
		t.Fatal("the incident channel was not created in Slack")
	}
	// In Socket Mode the HTTP endpoints are not mounted.
	resp, err := http.Post("http://"+addr+"/slack/commands", "application/x-www-form-urlencoded", strings.NewReader("x=1"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("/slack/commands in Socket Mode: %d, want 404", resp.StatusCode)
	}
}

func TestPinReactionSetting(t *testing.T) {
	for in, want := range map[string]string{"": "pushpin", ":white_check_mark:": "white_check_mark", "thumbsup::skin-tone-2": "thumbsup::skin-tone-2"} {
		cfg, err := LoadConfig("", false, envFrom(map[string]string{"SITREP_PIN_REACTION": in}))
		if err != nil || cfg.SlackEvents.PinReaction != want {
			t.Errorf("SITREP_PIN_REACTION=%q: %q %v, want %q", in, cfg.SlackEvents.PinReaction, err, want)
		}
	}
	for _, bad := range []string{"Push Pin", "::", "pin;rm"} {
		if _, err := LoadConfig("", false, envFrom(map[string]string{"SITREP_PIN_REACTION": bad})); err == nil || !strings.Contains(err.Error(), "SITREP_PIN_REACTION") {
			t.Errorf("SITREP_PIN_REACTION=%q: %v, want a configuration error naming it", bad, err)
		}
	}
}

// TestServeSlackRunbookForm checks the wiring: in serve, the Slack edge has
// the runbook catalog, so a runbook button opens its parameter form.
func TestServeSlackRunbookForm(t *testing.T) {
	fake := slackfake.New(t)
	addr := startServe(t, map[string]string{"SLACK_BOT_TOKEN": slackfake.BotToken, "SLACK_SIGNING_SECRET": "test-secret",
		"SLACK_API_URL": fake.URL(), "SITREP_RUNBOOKS": "../../runbooks"})
	postSlash(t, addr, "test-secret", "declare Platform API returning 500")
	channel := waitChannel(t, fake, "inc-1-platform-api-returning-500")
	click := slackfake.BlockActions(slackfake.ButtonClick{UserID: "U1", ChannelID: channel.ID, MessageTS: "1700000000.000100",
		ActionID: "run-runbook", BlockID: "sitrep-actions", Value: "1:pool-scale-up", TriggerID: "trigger-1"}, time.Now())
	resp, err := http.DefaultClient.Do(slackfake.InteractionRequest("http://"+addr+"/slack/interactions", "test-secret", time.Now(), click))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("click: %d", resp.StatusCode)
	}
	calls := fake.WaitFor("views.open", 1, 20*time.Second)
	if view := calls[0].Param("view"); !strings.Contains(view, "capacity") {
		t.Errorf("the form does not ask for the runbook's parameters: %s", view)
	}
}

// waitChannel waits until the channel named name is created in Slack.
func waitChannel(t *testing.T, fake *slackfake.Server, name string) slackfake.Channel {
	t.Helper()
	var channel slackfake.Channel
	if !fake.WaitUntil(20*time.Second, func() bool {
		var ok bool
		channel, ok = fake.Channel(name)
		return ok
	}) {
		t.Fatalf("the incident channel %s was not created in Slack", name)
	}
	return channel
}
