package slackfake_test

import (
	"context"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/sitrep-io/sitrep/internal/slackfake"
)

func TestSocketMode(t *testing.T) {
	srv := slackfake.New(t)
	api := slack.New(slackfake.BotToken, slack.OptionAPIURL(srv.URL()), slack.OptionAppLevelToken(slackfake.AppToken))
	client := socketmode.New(api)

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- client.RunContext(ctx) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("socketmode client did not stop")
		}
	}()

	if !srv.WaitUntil(10*time.Second, func() bool { return srv.SocketConnections() == 1 }) {
		t.Fatal("socket mode client never connected")
	}
	now := time.Now()
	env := slackfake.NewEventCallback("EvSock1", slackfake.ReactionAdded("U1", "pushpin", "C1", "1700000000.000100", "", now), now)
	id, err := srv.SocketSend("events_api", env, false)
	if err != nil {
		t.Fatal(err)
	}

	timeout := time.After(10 * time.Second)
	for {
		select {
		case evt := <-client.Events:
			if evt.Type != socketmode.EventTypeEventsAPI {
				continue
			}
			ev, ok := evt.Data.(slackevents.EventsAPIEvent)
			if !ok {
				t.Fatalf("data = %#v", evt.Data)
			}
			if ra, ok := ev.InnerEvent.Data.(*slackevents.ReactionAddedEvent); !ok || ra.Reaction != "pushpin" {
				t.Fatalf("inner = %#v", ev.InnerEvent.Data)
			}
			client.Ack(*evt.Request)
			ack, ok := srv.WaitSocketAck(id, 5*time.Second)
			if !ok || ack.EnvelopeID != id {
				t.Fatalf("ack = %+v %v", ack, ok)
			}
			return
		case <-timeout:
			t.Fatal("no events_api event received")
		}
	}
}

func TestAppsConnectionsOpenNeedsAppToken(t *testing.T) {
	srv := slackfake.New(t)
	api := slack.New(slackfake.BotToken, slack.OptionAPIURL(srv.URL()), slack.OptionAppLevelToken(slackfake.BotToken))
	if _, _, err := api.StartSocketModeContext(context.Background()); slackCode(err) != "not_allowed_token_type" {
		t.Fatalf("err = %v", err)
	}
}
