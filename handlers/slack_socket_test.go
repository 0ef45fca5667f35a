package handlers_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/handlers"
	"github.com/sitrep-io/sitrep/internal/slackfake"
	"github.com/slack-go/slack"
)

// TestSlackSocketMode delivers a slash command, a retried event and a
// button click over Socket Mode: each is acknowledged and applied through
// the same code as over HTTP.
func TestSlackSocketMode(t *testing.T) {
	h := newSlackHarness(t)
	api := slack.New(slackfake.BotToken, slack.OptionAppLevelToken(slackfake.AppToken), slack.OptionAPIURL(h.fake.URL()))
	client := handlers.NewSocketClient(api, slog.New(slog.DiscardHandler))
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
