package slackfake_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/sitrep-io/sitrep/internal/slackfake"
	"github.com/sitrep-io/sitrep/internal/testclock"
)

// TestResponseURL: a response_url shows a message to the person who sent
// the request, where the bot cannot post (a DM between two people here),
// takes five posts at most, and expires 30 minutes after the request, as
// Slack's does.
func TestResponseURL(t *testing.T) {
	clock := testclock.New(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	srv := slackfake.New(t, slackfake.WithClock(clock.Now))
	api := slack.New(slackfake.BotToken, slack.OptionAPIURL(srv.URL()))
	ctx := context.Background()
	const dm = "D0PEOPLE1" // a DM between two people: the bot is not in it
	if _, err := api.PostEphemeralContext(ctx, dm, "U1", slack.MsgOptionText("hello", false)); slackCode(err) != "channel_not_found" {
		t.Fatalf("postEphemeral in a DM the bot is not in: %v, want channel_not_found", err)
	}
	url := srv.ResponseURL(dm, "U1")
	post := func(text string) error {
		return slack.PostWebhookCustomHTTPContext(ctx, url, srv.Client(), &slack.WebhookMessage{ResponseType: slack.ResponseTypeEphemeral, Text: text})
	}
	for i := range slackfake.ResponseURLUses {
		if err := post(fmt.Sprint("answer ", i)); err != nil {
			t.Fatalf("post %d: %v", i+1, err)
		}
	}
	var status slack.StatusCodeError
	if err := post("a sixth"); !errors.As(err, &status) || status.Code != http.StatusNotFound {
		t.Errorf("sixth post: %v, want 404", err)
	}
	got := srv.Responses(dm, "U1")
	if len(got) != slackfake.ResponseURLUses || got[0].Text != "answer 0" || got[0].ResponseType != "ephemeral" {
		t.Errorf("responses: %+v", got)
	}

	fresh := srv.ResponseURL(dm, "U2")
	clock.Advance(slackfake.ResponseURLLifetime + time.Second)
	err := slack.PostWebhookCustomHTTPContext(ctx, fresh, srv.Client(), &slack.WebhookMessage{Text: "too late"})
	if !errors.As(err, &status) || status.Code != http.StatusNotFound {
		t.Errorf("post after 30 minutes: %v, want 404", err)
	}
	if err := slack.PostWebhookCustomHTTPContext(ctx, srv.BaseURL()+"/response/R999", srv.Client(), &slack.WebhookMessage{Text: "x"}); !errors.As(err, &status) || status.Code != http.StatusNotFound {
		t.Errorf("post to a URL never issued: %v, want 404", err)
	}
	if n := len(srv.Responses(dm, "U2")); n != 0 {
		t.Errorf("%d responses through refused posts", n)
	}
	calls := srv.CallsTo(slackfake.MethodResponseURL)
	if len(calls) != 8 || calls[5].Error != "used_url" || calls[6].Error != "expired_url" {
		t.Errorf("recorded: %d calls %+v", len(calls), calls)
	}
}
