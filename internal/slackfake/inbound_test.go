package slackfake_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"github.com/sitrep-io/sitrep/internal/slackfake"
)

const (
	vectorSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	vectorTS     = "1531420618"
	vectorBody   = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	vectorSig    = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
	secret       = "test-signing-secret"
)

func TestSignatureOfficialVector(t *testing.T) {
	if got := slackfake.Signature(vectorSecret, vectorTS, []byte(vectorBody)); got != vectorSig {
		t.Fatalf("Signature = %s, want %s", got, vectorSig)
	}
	h := slackfake.Sign(vectorSecret, time.Unix(1531420618, 0), []byte(vectorBody))
	if h.Get("X-Slack-Signature") != vectorSig || h.Get("X-Slack-Request-Timestamp") != vectorTS {
		t.Fatalf("headers = %v", h)
	}

	// The slash command encoder reproduces the vector's body byte for byte.
	cmd := slackfake.SlashCommand{
		Token: "xyzz0WbapA4vBCDEFasx0q6G", TeamID: "T1DC2JH3J", TeamDomain: "testteamnow",
		ChannelID: "G8PSS9T3V", ChannelName: "foobar", UserID: "U2CERLKJA", UserName: "roadrunner",
		Command: "/webhook-collect", Text: "",
		ResponseURL: "https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN",
		TriggerID:   "398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c",
	}
	if got := string(cmd.Encode()); got != vectorBody {
		t.Fatalf("Encode =\n%s\nwant\n%s", got, vectorBody)
	}
	req := slackfake.SlashCommandRequest("http://bot/slack/commands", vectorSecret, time.Unix(1531420618, 0), cmd)
	if req.Header.Get("X-Slack-Signature") != vectorSig {
		t.Fatalf("request signature = %s", req.Header.Get("X-Slack-Signature"))
	}
}

func TestPercentEncode(t *testing.T) {
	for in, want := range map[string]string{
		"This content can't be displayed.": "This%20content%20can%27t%20be%20displayed.",
		"Click Me!":                        "Click%20Me%21",
		"/incident":                        "%2Fincident",
		"a-b_c.d~e":                        "a-b_c.d~e",
		"ü <@U1>":                          "%C3%BC%20%3C%40U1%3E",
	} {
		if got := slackfake.PercentEncode(in); got != want {
			t.Errorf("PercentEncode(%q) = %q, want %q", in, got, want)
		}
	}
}

// verify checks a request with slack-go's verifier and puts the body back.
func verify(t *testing.T, r *http.Request) []byte {
	t.Helper()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	sv, err := slack.NewSecretsVerifier(r.Header, secret)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sv.Write(body); err != nil {
		t.Fatal(err)
	}
	if err := sv.Ensure(); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return body
}

func TestWrongSecretFailsVerification(t *testing.T) {
	r := slackfake.SlashCommandRequest("http://bot/cmd", "other-secret", time.Now(), slackfake.SlashCommand{Command: "/x"})
	body, _ := io.ReadAll(r.Body)
	sv, err := slack.NewSecretsVerifier(r.Header, secret)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = sv.Write(body)
	if sv.Ensure() == nil {
		t.Fatal("a request signed with another secret verified")
	}
	old := slackfake.SlashCommandRequest("http://bot/cmd", secret, time.Now().Add(-10*time.Minute), slackfake.SlashCommand{})
	if _, err := slack.NewSecretsVerifier(old.Header, secret); err == nil {
		t.Fatal("a 10-minute-old request passed the timestamp check")
	}
}

func TestSlashCommandRequestParses(t *testing.T) {
	cmd := slackfake.SlashCommand{
		Token: "tok", TeamID: "T1", TeamDomain: "acme", ChannelID: "C1", ChannelName: "ops",
		UserID: "U1", UserName: "alice", Command: "/incident", Text: "declare sev1 db down & <@U2|bob>",
		ResponseURL: "https://hooks.slack.com/commands/T1/1/x", TriggerID: "1.2.x", APIAppID: "A1",
	}
	r := slackfake.SlashCommandRequest("http://bot/slack/commands", secret, time.Now(), cmd)
	body := verify(t, r)
	if !strings.Contains(string(body), "text=declare%20sev1%20db%20down%20%26%20%3C%40U2%7Cbob%3E") {
		t.Fatalf("body not percent-encoded as on the wire: %s", body)
	}
	got, err := slack.SlashCommandParse(r)
	if err != nil {
		t.Fatal(err)
	}
	if got.Command != "/incident" || got.Text != cmd.Text || got.UserID != "U1" || got.ChannelID != "C1" ||
		got.TriggerID != "1.2.x" || got.ResponseURL != cmd.ResponseURL || got.APIAppID != "A1" || got.TeamDomain != "acme" {
		t.Fatalf("parsed = %+v", got)
	}
}

func TestBlockActionsParses(t *testing.T) {
	now := time.Now()
	p := slackfake.BlockActions(slackfake.ButtonClick{
		UserID: "U1", UserName: "alice", ChannelID: "C1", ChannelName: "inc-1",
		MessageTS: "1700000000.000100", ActionID: "ack", BlockID: "incident_actions", Value: "inc-1", ButtonText: "Acknowledge",
	}, now)
	r := slackfake.InteractionRequest("http://bot/slack/interactivity", secret, now, p)
	body := verify(t, r)
	if !strings.HasPrefix(string(body), "payload=%7B%22type%22%3A%22block_actions%22") {
		t.Fatalf("body = %s", body)
	}
	ic, err := slack.InteractionCallbackParse(r)
	if err != nil {
		t.Fatal(err)
	}
	if ic.Type != slack.InteractionTypeBlockActions || ic.User.ID != "U1" || ic.Channel.ID != "C1" ||
		ic.Container.MessageTs != "1700000000.000100" || ic.Container.ChannelID != "C1" || ic.TriggerID == "" || ic.ResponseURL == "" {
		t.Fatalf("callback = %+v", ic)
	}
	if len(ic.ActionCallback.BlockActions) != 1 {
		t.Fatalf("block actions = %+v", ic.ActionCallback)
	}
	a := ic.ActionCallback.BlockActions[0]
	if a.ActionID != "ack" || a.BlockID != "incident_actions" || a.Value != "inc-1" || a.Type != "button" || a.ActionTs == "" {
		t.Fatalf("action = %+v", a)
	}
	if ic.Message.Timestamp != "1700000000.000100" {
		t.Fatalf("message = %+v", ic.Message)
	}
}

func TestViewSubmissionParses(t *testing.T) {
	now := time.Now()
	p := slackfake.ViewSubmission(slackfake.Submission{
		UserID: "U1", UserName: "alice", ViewID: "V1", CallbackID: "declare", PrivateMetadata: "C1",
		Values: map[string]map[string]slackfake.InputValue{
			"title":    {"title_input": slackfake.PlainTextInput("DB down")},
			"severity": {"sev_select": slackfake.StaticSelect("sev1", "SEV1")},
			"lead":     {"lead_select": slackfake.UsersSelect("U2")},
			"channel":  {"ch_select": slackfake.ConversationsSelect("C9")},
		},
	}, now)
	r := slackfake.InteractionRequest("http://bot/slack/interactivity", secret, now, p)
	verify(t, r)
	ic, err := slack.InteractionCallbackParse(r)
	if err != nil {
		t.Fatal(err)
	}
	if ic.Type != slack.InteractionTypeViewSubmission || ic.View.CallbackID != "declare" || ic.View.PrivateMetadata != "C1" || ic.View.ID != "V1" {
		t.Fatalf("callback = %+v", ic.View)
	}
	v := ic.View.State.Values
	if v["title"]["title_input"].Value != "DB down" || v["severity"]["sev_select"].SelectedOption.Value != "sev1" ||
		v["lead"]["lead_select"].SelectedUser != "U2" || v["channel"]["ch_select"].SelectedConversation != "C9" {
		t.Fatalf("state = %+v", v)
	}
}

func parseEvent(t *testing.T, r *http.Request) slackevents.EventsAPIEvent {
	t.Helper()
	body := verify(t, r)
	if ct := r.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("content type %q", ct)
	}
	ev, err := slackevents.ParseEvent(json.RawMessage(body), slackevents.OptionNoVerifyToken())
	if err != nil {
		t.Fatalf("ParseEvent: %v\n%s", err, body)
	}
	return ev
}

func TestEventRequestsParse(t *testing.T) {
	now := time.Now()
	url := "http://bot/slack/events"

	ev := parseEvent(t, slackfake.EventRequest(url, secret, now,
		slackfake.NewEventCallback("Ev1", slackfake.ReactionAdded("U1", "pushpin", "C1", "1700000000.000100", "U2", now), now)))
	cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok || cb.EventID != "Ev1" || cb.TeamID != slackfake.TeamID || int64(cb.EventTime) != now.Unix() {
		t.Fatalf("outer = %#v", ev.Data)
	}
	ra, ok := ev.InnerEvent.Data.(*slackevents.ReactionAddedEvent)
	if !ok || ra.Reaction != "pushpin" || ra.Item.Channel != "C1" || ra.Item.Timestamp != "1700000000.000100" || ra.ItemUser != "U2" {
		t.Fatalf("reaction = %#v", ev.InnerEvent.Data)
	}

	ev = parseEvent(t, slackfake.EventRequest(url, secret, now,
		slackfake.NewEventCallback("", slackfake.MessageChanged("C1", "U1", "1700000000.000100", "new", "old", now), now)))
	me, ok := ev.InnerEvent.Data.(*slackevents.MessageEvent)
	if !ok || me.SubType != "message_changed" || me.Message == nil || me.Message.Text != "new" || me.PreviousMessage.Text != "old" {
		t.Fatalf("message_changed = %#v", ev.InnerEvent.Data)
	}

	ev = parseEvent(t, slackfake.EventRequest(url, secret, now,
		slackfake.NewEventCallback("", slackfake.MessageDeleted("C1", "1700000000.000100", "gone", now), now)))
	me, ok = ev.InnerEvent.Data.(*slackevents.MessageEvent)
	if !ok || me.SubType != "message_deleted" || me.DeletedTimeStamp != "1700000000.000100" {
		t.Fatalf("message_deleted = %#v", ev.InnerEvent.Data)
	}

	ev = parseEvent(t, slackfake.EventRequest(url, secret, now,
		slackfake.NewEventCallback("", slackfake.MessageEvent("C1", "U1", "hello", "1700000000.000200", ""), now)))
	if me, ok := ev.InnerEvent.Data.(*slackevents.MessageEvent); !ok || me.Text != "hello" || me.Channel != "C1" {
		t.Fatalf("message = %#v", ev.InnerEvent.Data)
	}

	ev = parseEvent(t, slackfake.EventRequest(url, secret, now,
		slackfake.NewEventCallback("", slackfake.MemberJoinedChannel("U1", "C1", "U2", now), now)))
	if mj, ok := ev.InnerEvent.Data.(*slackevents.MemberJoinedChannelEvent); !ok || mj.User != "U1" || mj.Channel != "C1" || mj.Inviter != "U2" {
		t.Fatalf("member_joined = %#v", ev.InnerEvent.Data)
	}

	r := slackfake.EventRequest(url, secret, now, slackfake.NewURLVerification("chal-123"), slackfake.WithRetry(2, "http_timeout"))
	if r.Header.Get("X-Slack-Retry-Num") != "2" || r.Header.Get("X-Slack-Retry-Reason") != "http_timeout" {
		t.Fatalf("retry headers = %v", r.Header)
	}
	ev = parseEvent(t, r)
	if uv, ok := ev.Data.(*slackevents.EventsAPIURLVerificationEvent); !ok || ev.Type != slackevents.URLVerification || uv.Challenge != "chal-123" {
		t.Fatalf("url_verification = %#v", ev)
	}
}
