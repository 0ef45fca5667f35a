package slackchat_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/slackfake"
)

// Where Slack cannot show an ephemeral from the bot (a DM between people,
// a private channel the bot is not in: chat.postEphemeral answers
// channel_not_found), the answer goes to the request's response_url, which
// reaches the person where they typed; the bot's DM is the last resort.

// dmBetweenPeople is a DM the bot is not in: Slack knows no such channel
// for the bot.
const dmBetweenPeople = "D0PEOPLE1"

// TestSlackCommands_AnswerInPrivateChannelThroughResponseURL: in a private
// channel the bot is not in, the modal cannot open (its trigger expired)
// and the person must be told: through the command's response_url.
func TestSlackCommands_AnswerInPrivateChannelThroughResponseURL(t *testing.T) {
	h := newSlackHarness(t)
	secret := h.fake.AddChannel(slackfake.Channel{Name: "secret", IsPrivate: true, Members: []string{"U1"}})
	h.fake.ExpireTrigger("1.2.trigger")
	h.command("U1", secret, "declare --sev2")
	h.app.Wait()
	if calls := h.fake.CallsTo("chat.postEphemeral"); len(calls) != 1 || calls[0].Error != "channel_not_found" {
		t.Fatalf("postEphemeral: %+v", calls)
	}
	got := h.fake.Responses(secret, "U1")
	if len(got) != 1 || got[0].ResponseType != slack.ResponseTypeEphemeral || !strings.Contains(got[0].Text, "/incident declare &lt;title&gt;") {
		t.Fatalf("answers through the response_url: %+v", got)
	}
	if msgs := h.fake.Messages("U1"); len(msgs) != 0 {
		t.Errorf("also told in a DM: %+v", msgs)
	}
}

// TestSlackCommands_LateAnswerInADMThroughResponseURL: "/incident approve"
// typed in a DM between two people, with Slack slow to name the approvers:
// the command is acknowledged ("Working on it…") and its answer, which
// cannot be an ephemeral in that DM, comes through the response_url.
func TestSlackCommands_LateAnswerInADMThroughResponseURL(t *testing.T) {
	h := newFeatureHarness(t)
	inc := h.declared("U1", "Platform API returning 500")
	run := h.requestRun("U1", inc, "scale capacity=12")

	h.app.AckBudget = 200 * time.Millisecond
	h.fake.SetFault("usergroups.users.list", slackfake.Slow(500*time.Millisecond))
	status, out := h.command("UAPPROVER", dmBetweenPeople, fmt.Sprintf("approve RUN-%d", run.ID))
	if status != http.StatusOK || !strings.Contains(fmt.Sprint(out["text"]), "Working on it") {
		t.Fatalf("acknowledgement: %d %v", status, out)
	}
	h.app.Wait()
	h.fake.ClearFault("usergroups.users.list")
	got := h.fake.Responses(dmBetweenPeople, "UAPPROVER")
	if len(got) != 1 || !strings.Contains(got[0].Text, "RUN-1") || got[0].ResponseType != slack.ResponseTypeEphemeral {
		t.Fatalf("the approver heard, through the response_url: %+v", got)
	}
	if msgs := h.fake.Messages("UAPPROVER"); len(msgs) != 0 {
		t.Errorf("also told in a DM: %+v", msgs)
	}
}

// TestSlackCommands_DMIsTheLastResort: when the response_url takes no more
// (its five posts spent, as Slack answers 404 after), the person is told in
// their DM with the bot, and why.
func TestSlackCommands_DMIsTheLastResort(t *testing.T) {
	h := newSlackHarness(t)
	secret := h.fake.AddChannel(slackfake.Channel{Name: "secret", IsPrivate: true, Members: []string{"U1"}})
	url := h.fake.ResponseURL(secret, "U1")
	for range slackfake.ResponseURLUses {
		if err := slack.PostWebhookCustomHTTPContext(context.Background(), url, h.fake.Client(), &slack.WebhookMessage{Text: "earlier"}); err != nil {
			t.Fatal(err)
		}
	}
	h.fake.ExpireTrigger("1.2.trigger")
	cmd := slashCommand("U1", secret, "declare --sev2")
	cmd.ResponseURL = url
	if status, _, body := h.do(slackfake.SlashCommandRequest(h.url("/slack/commands"), signingSecret, time.Now(), cmd)); status != http.StatusOK {
		t.Fatalf("command: %d %s", status, body)
	}
	h.app.Wait()
	if calls := h.fake.CallsTo(slackfake.MethodResponseURL); len(calls) != slackfake.ResponseURLUses+1 || calls[len(calls)-1].Error != "used_url" {
		t.Fatalf("response_url posts: %+v", calls)
	}
	msgs := h.fake.Messages("U1")
	if len(msgs) != 1 || !strings.Contains(msgs[0].Text, "/incident declare &lt;title&gt;") || !strings.Contains(msgs[0].Text, "not a member") {
		t.Fatalf("DM to the person: %+v", msgs)
	}
}

// TestSlackSocketMode_LargeReplyInADMThroughResponseURL: over Socket Mode, a
// reply too large for the acknowledgement is sent after it; typed in a DM
// between people, it cannot be an ephemeral there and goes through the
// command's response_url.
func TestSlackSocketMode_LargeReplyInADMThroughResponseURL(t *testing.T) {
	h := newSlackHarness(t)
	startSocket(t, h)
	for i := range 100 {
		if _, err := h.svc.Declare(t.Context(), bot.DeclareRequest{Actor: "U1",
			Title: fmt.Sprintf("Checkout failing %03d %s", i, strings.Repeat("x", 220))}); err != nil {
			t.Fatal(err)
		}
	}
	cmd := socketCommand("U1", dmBetweenPeople, "list", "t.big")
	cmd["response_url"] = h.fake.ResponseURL(dmBetweenPeople, "U1")
	id, err := h.fake.SocketSend("slash_commands", cmd, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := h.fake.WaitSocketAck(id, 10*time.Second); !ok {
		t.Fatal("the envelope with a large reply was not acknowledged")
	}
	if !h.fake.WaitUntil(10*time.Second, func() bool { return len(h.fake.Responses(dmBetweenPeople, "U1")) == 1 }) {
		t.Fatalf("the large reply did not reach the person; postEphemeral: %+v", h.fake.CallsTo("chat.postEphemeral"))
	}
	if got := h.fake.Responses(dmBetweenPeople, "U1")[0]; got.ResponseType != slack.ResponseTypeEphemeral || !strings.Contains(got.Text, "Checkout failing 099") {
		t.Errorf("answer: %s %.120q", got.ResponseType, got.Text)
	}
}
