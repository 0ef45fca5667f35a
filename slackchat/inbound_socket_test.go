package slackchat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/slackfake"
)

// TestSlackSocketMode delivers a slash command, a retried event and a
// button click over Socket Mode: each is acknowledged and applied through
// the same code as over HTTP.
func TestSlackSocketMode(t *testing.T) {
	h := newSlackHarness(t)
	client := h.chat.SocketClient(slackfake.AppToken, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.app.RunSocket(ctx, client) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("RunSocket did not stop")
		}
	})
	if !h.fake.WaitUntil(10*time.Second, func() bool { return h.fake.SocketConnections() == 1 }) {
		t.Fatal("no Socket Mode connection")
	}

	cmd := map[string]any{"token": "x", "team_id": slackfake.TeamID, "channel_id": "CGENERAL", "channel_name": "general",
		"user_id": "U1", "user_name": "ana", "command": "/incident", "text": "declare Socket mode outage",
		"response_url": "https://hooks.slack.com/commands/x", "trigger_id": "1.2.3"}
	id, err := h.fake.SocketSend("slash_commands", cmd, true)
	if err != nil {
		t.Fatal(err)
	}
	ack, ok := h.fake.WaitSocketAck(id, 10*time.Second)
	if !ok {
		t.Fatal("the slash command was not acknowledged")
	}
	var reply struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	}
	if err := json.Unmarshal(ack.Payload, &reply); err != nil || reply.ResponseType != "ephemeral" || !strings.Contains(reply.Text, "Declared INC-1") {
		t.Fatalf("ack payload: %s (%v)", ack.Payload, err)
	}
	h.drain()
	inc := h.incident(1)
	if inc.ChannelID == "" {
		t.Fatal("no channel after the declare over Socket Mode")
	}

	// An event, then Slack's redelivery of it (retry_attempt 1).
	envelope := slackfake.NewEventCallback("EvSOCK1", slackfake.MemberJoinedChannel("U3", inc.ChannelID, "U1", time.Now()), time.Now())
	for range 2 {
		id, err := h.fake.SocketSend("events_api", envelope, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := h.fake.WaitSocketAck(id, 10*time.Second); !ok {
			t.Fatal("the event was not acknowledged")
		}
	}
	if joined := eventsOf(h.timeline(inc.ID), bot.KindResponderJoined); len(joined) != 1 || joined[0].Actor != "U3" {
		t.Errorf("responder_joined over Socket Mode: %+v", joined)
	}

	// A refused click: acknowledged, and the refusal sent after the ack.
	click := slackfake.BlockActions(slackfake.ButtonClick{UserID: "U1", ChannelID: inc.ChannelID, MessageTS: inc.CardTS,
		ActionID: bot.ActionAcknowledge, BlockID: "sitrep-actions", Value: "1"}, time.Now())
	if id, err = h.fake.SocketSend("interactive", click, false); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.fake.WaitSocketAck(id, 10*time.Second); !ok {
		t.Fatal("the click was not acknowledged")
	}
	if !h.fake.WaitUntil(10*time.Second, func() bool { return len(h.fake.Ephemerals(inc.ChannelID)) == 1 }) {
		t.Error("no ephemeral refusal after the acknowledged click")
	}
}

// startSocket connects the edge to the fake Slack over Socket Mode until
// the test ends.
func startSocket(t *testing.T, h *slackHarness) {
	t.Helper()
	client := h.chat.SocketClient(slackfake.AppToken, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.app.RunSocket(ctx, client) }()
	t.Cleanup(func() {
		cancel()
		h.fake.Close() // ends the calls a test holds
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Error("RunSocket did not stop")
		}
	})
	if !h.fake.WaitUntil(10*time.Second, func() bool { return h.fake.SocketConnections() == 1 }) {
		t.Fatal("no Socket Mode connection")
	}
}

func socketCommand(user, channel, text, trigger string) map[string]any {
	return map[string]any{"token": "x", "team_id": slackfake.TeamID, "channel_id": channel, "channel_name": "somewhere",
		"user_id": user, "user_name": "someone", "command": "/incident", "text": text,
		"response_url": "https://hooks.slack.com/commands/x", "trigger_id": trigger}
}

// TestSlackSocketMode_SlowCommandDoesNotHoldOthers: a command waiting on a
// slow Slack call does not delay the envelopes behind it: "/incident help"
// is acknowledged, and a queued "/incident declare" opens its modal while
// its trigger is fresh.
func TestSlackSocketMode_SlowCommandDoesNotHoldOthers(t *testing.T) {
	h := newFeatureHarness(t)
	inc := h.declared("U1", "Platform API returning 500")
	run := h.requestRun("U1", inc, "scale capacity=12")
	startSocket(t, h.slackHarness)

	// The approval asks Slack for the user group, and Slack does not answer
	// while the test runs; the ack budget is longer than the test's waits.
	h.app.AckBudget = time.Minute
	h.fake.SetFault("usergroups.users.list", slackfake.Slow(time.Hour))
	slow, err := h.fake.SocketSend("slash_commands", socketCommand("UAPPROVER", inc.ChannelID, fmt.Sprintf("approve RUN-%d", run.ID), "t.slow"), true)
	if err != nil {
		t.Fatal(err)
	}
	if !h.fake.WaitUntil(10*time.Second, func() bool { return h.fake.InFlight("usergroups.users.list") == 1 }) {
		t.Fatal("the approval never asked Slack for the user group")
	}
	help, err := h.fake.SocketSend("slash_commands", socketCommand("U2", inc.ChannelID, "help", "t.help"), true)
	if err != nil {
		t.Fatal(err)
	}
	h.fake.AddTriggers("t.declare")
	declare, err := h.fake.SocketSend("slash_commands", socketCommand("U2", "CGENERAL", "declare --sev2", "t.declare"), true)
	if err != nil {
		t.Fatal(err)
	}
	if ack, ok := h.fake.WaitSocketAck(help, 10*time.Second); !ok || !strings.Contains(string(ack.Payload), "/incident") {
		t.Fatalf("/incident help waited behind a slow command (acked %v: %s)", ok, ack.Payload)
	}
	if _, ok := h.fake.WaitSocketAck(declare, 10*time.Second); !ok {
		t.Fatal("/incident declare waited behind a slow command")
	}
	if !h.fake.WaitUntil(10*time.Second, func() bool { return len(h.fake.Views()) == 1 }) {
		t.Fatalf("the declare modal was not opened; views.open: %+v", h.fake.CallsTo("views.open"))
	}
	if _, ok := h.fake.SocketAcked(slow); ok {
		t.Error("the slow command was acknowledged before its budget with nothing to say")
	}
}

// TestSlackSocketMode_LargeReplyGoesAsMessage: slack-go refuses (and Slack
// drops) an acknowledgement of 20 KB or more; the envelope is still
// acknowledged and the reply sent as an ephemeral message.
func TestSlackSocketMode_LargeReplyGoesAsMessage(t *testing.T) {
	h := newSlackHarness(t)
	startSocket(t, h)
	// A reply over 20 KB: the list of 100 open incidents with long titles
	// (each title stays within its own limit).
	for i := range 100 {
		if _, err := h.svc.Declare(t.Context(), bot.DeclareRequest{Actor: "U1",
			Title: fmt.Sprintf("Checkout failing %03d %s", i, strings.Repeat("x", 220))}); err != nil {
			t.Fatal(err)
		}
	}
	id, err := h.fake.SocketSend("slash_commands", socketCommand("U1", "CGENERAL", "list", "t.big"), true)
	if err != nil {
		t.Fatal(err)
	}
	ack, ok := h.fake.WaitSocketAck(id, 10*time.Second)
	if !ok {
		t.Fatal("the envelope with a large reply was not acknowledged")
	}
	if len(ack.Raw) >= 20*1024 {
		t.Errorf("acknowledgement of %d bytes", len(ack.Raw))
	}
	if !h.fake.WaitUntil(10*time.Second, func() bool { return len(h.fake.Ephemerals("CGENERAL")) == 1 }) {
		t.Fatal("the large reply was not sent as a message")
	}
	if eph := h.fake.Ephemerals("CGENERAL")[0]; eph.User != "U1" || !strings.Contains(eph.Text, "Open incidents:") || !strings.Contains(eph.Text, "Checkout failing 099") {
		t.Errorf("ephemeral: user %s, text %.120q", eph.User, eph.Text)
	}
}
