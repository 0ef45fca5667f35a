package slackfake_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/sitrep-io/sitrep/internal/slackfake"
)

func newClient(t *testing.T, opts ...slackfake.Option) (*slackfake.Server, *slack.Client) {
	t.Helper()
	srv := slackfake.New(t, opts...)
	return srv, slack.New(slackfake.BotToken, slack.OptionAPIURL(srv.URL()))
}

func slackCode(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

func TestURLHasTrailingSlash(t *testing.T) {
	srv := slackfake.New(t)
	if !strings.HasSuffix(srv.URL(), "/api/") {
		t.Fatalf("URL() = %q, want a trailing /api/", srv.URL())
	}
}

func TestAuth(t *testing.T) {
	srv, api := newClient(t)
	ctx := context.Background()

	resp, err := api.AuthTestContext(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if resp.UserID != slackfake.BotUserID || resp.TeamID != slackfake.TeamID || resp.BotID != slackfake.BotID {
		t.Fatalf("auth.test = %+v", resp)
	}

	bad := slack.New("xoxb-wrong", slack.OptionAPIURL(srv.URL()))
	if _, err := bad.AuthTestContext(ctx); slackCode(err) != "invalid_auth" {
		t.Fatalf("wrong token: err = %v, want invalid_auth", err)
	}
	// An app-level token is not a bot token.
	app := slack.New(slackfake.AppToken, slack.OptionAPIURL(srv.URL()))
	if _, err := app.AuthTestContext(ctx); slackCode(err) != "not_allowed_token_type" {
		t.Fatalf("app token: err = %v", err)
	}

	// No token at all: HTTP 200 with not_authed.
	res, err := http.Post(srv.URL()+"auth.test", "application/x-www-form-urlencoded", nil)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(body), `"error":"not_authed"`) {
		t.Fatalf("no token: %d %s", res.StatusCode, body)
	}
	if n := len(srv.CallsTo("auth.test")); n != 4 {
		t.Fatalf("recorded %d auth.test calls, want 4", n)
	}
}

func TestUnknownMethod(t *testing.T) {
	srv := slackfake.New(t)
	form := url.Values{"token": {slackfake.BotToken}}
	res, err := http.PostForm(srv.URL()+"chat.teleport", form)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var got struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
	}
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if res.StatusCode != 200 || got.OK || got.Error != "unknown_method" {
		t.Fatalf("got %d %+v", res.StatusCode, got)
	}
}

func TestJSONBodyWithBearer(t *testing.T) {
	srv := slackfake.New(t)
	ch := srv.AddChannel(slackfake.Channel{Name: "general"})
	body := `{"channel":"` + ch + `","text":"hi","blocks":[{"type":"section","text":{"type":"mrkdwn","text":"*hi*"}}]}`
	req, _ := http.NewRequest(http.MethodPost, srv.URL()+"chat.postMessage", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("Authorization", "Bearer "+slackfake.BotToken)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	msgs := srv.Messages(ch)
	if len(msgs) != 1 || msgs[0].Text != "hi" || !strings.Contains(string(msgs[0].Blocks), `"*hi*"`) {
		t.Fatalf("messages = %+v", msgs)
	}
	c := srv.CallsTo("chat.postMessage")[0]
	if c.JSON == nil || c.Param("channel") != ch || c.Token != slackfake.BotToken {
		t.Fatalf("call = %+v", c)
	}
}

func TestCreateChannel(t *testing.T) {
	srv, api := newClient(t)
	ctx := context.Background()

	ch, err := api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: "inc-42-db-down", IsPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(ch.ID, "C") || ch.Name != "inc-42-db-down" || !ch.IsPrivate || !ch.IsChannel || ch.Created == 0 {
		t.Fatalf("channel = %+v", ch)
	}
	got, ok := srv.Channel("inc-42-db-down")
	if !ok || got.ID != ch.ID || !got.IsPrivate || len(got.Members) != 1 || got.Members[0] != slackfake.BotUserID {
		t.Fatalf("state = %+v %v", got, ok)
	}

	_, err = api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: "inc-42-db-down"})
	if slackCode(err) != "name_taken" {
		t.Fatalf("second create: %v, want name_taken", err)
	}
	ch2, err := api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: "inc-43"})
	if err != nil || ch2.ID == ch.ID {
		t.Fatalf("fresh id expected: %v %v", ch2, err)
	}

	for name, want := range map[string]string{
		"":                       "invalid_name_required",
		"Upper":                  "invalid_name_specials",
		"with space":             "invalid_name_specials",
		"dot.name":               "invalid_name_specials",
		strings.Repeat("a", 81):  "invalid_name_maxlength",
		"---":                    "invalid_name_punctuation",
		strings.Repeat("a", 80):  "",
		"ok_name-with-digits-42": "",
	} {
		_, err := api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: name})
		if slackCode(err) != want {
			t.Errorf("create %q: err = %v, want %q", name, err, want)
		}
	}
}

func TestPostUpdatePin(t *testing.T) {
	srv, api := newClient(t)
	ctx := context.Background()
	ch, err := api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: "inc-1"})
	if err != nil {
		t.Fatal(err)
	}

	blocks := slack.MsgOptionBlocks(slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", "*SEV1*", false, false), nil, nil))
	meta := slack.MsgOptionMetadata(slack.SlackMetadata{EventType: "incident", EventPayload: map[string]any{"id": "42"}})
	chID, ts, err := api.PostMessageContext(ctx, ch.ID, slack.MsgOptionText("SEV1 declared", false), blocks, meta)
	if err != nil {
		t.Fatal(err)
	}
	if chID != ch.ID || ts != "1700000000.000100" {
		t.Fatalf("post = %s %s", chID, ts)
	}
	_, ts2, err := api.PostMessageContext(ctx, ch.ID, slack.MsgOptionText("reply", false), slack.MsgOptionTS(ts))
	if err != nil || ts2 <= ts {
		t.Fatalf("reply ts %q after %q: %v", ts2, ts, err)
	}

	_, uts, text, err := api.UpdateMessageContext(ctx, ch.ID, ts, slack.MsgOptionText("SEV1 resolved", false))
	if err != nil || uts != ts || text != "SEV1 resolved" {
		t.Fatalf("update = %s %q %v", uts, text, err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, ch.ID, "1.000000", slack.MsgOptionText("x", false)); slackCode(err) != "message_not_found" {
		t.Fatalf("update unknown ts: %v", err)
	}

	if err := api.AddPinContext(ctx, ch.ID, slack.NewRefToMessage(ch.ID, ts)); err != nil {
		t.Fatal(err)
	}
	if err := api.AddPinContext(ctx, ch.ID, slack.NewRefToMessage(ch.ID, ts)); slackCode(err) != "already_pinned" {
		t.Fatalf("second pin: %v", err)
	}
	if err := api.AddPinContext(ctx, ch.ID, slack.NewRefToMessage(ch.ID, "9.9")); slackCode(err) != "message_not_found" {
		t.Fatalf("pin unknown: %v", err)
	}
	if err := api.AddPinContext(ctx, "CNOPE", slack.NewRefToMessage("CNOPE", ts)); slackCode(err) != "channel_not_found" {
		t.Fatalf("pin unknown channel: %v", err)
	}

	msgs := srv.Messages(ch.ID)
	if len(msgs) != 2 {
		t.Fatalf("messages = %+v", msgs)
	}
	m := msgs[0]
	if m.Text != "SEV1 resolved" || !m.Updated() || len(m.Versions) != 2 || m.Versions[0].Text != "SEV1 declared" ||
		!strings.Contains(string(m.Blocks), "*SEV1*") || !strings.Contains(string(m.Metadata), `"event_type":"incident"`) || !m.Pinned {
		t.Fatalf("message = %+v", m)
	}
	if msgs[1].ThreadTS != ts || len(srv.Thread(ch.ID, ts)) != 1 {
		t.Fatalf("reply = %+v", msgs[1])
	}
	if p := srv.Pins(ch.ID); len(p) != 1 || p[0] != ts {
		t.Fatalf("pins = %v", p)
	}

	hist, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: ch.ID, IncludeAllMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(hist.Messages) != 1 || hist.Messages[0].Text != "SEV1 resolved" || hist.Messages[0].ReplyCount != 1 ||
		hist.Messages[0].Metadata.EventType != "incident" {
		t.Fatalf("history = %+v", hist.Messages)
	}

	link, err := api.GetPermalinkContext(ctx, &slack.PermalinkParameters{Channel: ch.ID, Ts: ts})
	if err != nil || !strings.HasSuffix(link, "/archives/"+ch.ID+"/p1700000000000100") {
		t.Fatalf("permalink = %q %v", link, err)
	}
}

func TestRateLimitedDoesNotPost(t *testing.T) {
	srv, api := newClient(t)
	ctx := context.Background()
	ch := srv.AddChannel(slackfake.Channel{Name: "ops", Members: []string{slackfake.BotUserID}})

	srv.FailNext("chat.postMessage", slackfake.RateLimited(7))
	_, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("hello", false))
	var rl *slack.RateLimitedError
	if !errors.As(err, &rl) || rl.RetryAfter != 7*time.Second {
		t.Fatalf("err = %#v, want *slack.RateLimitedError{7s}", err)
	}
	if n := len(srv.Messages(ch)); n != 0 {
		t.Fatalf("a 429'd post left %d messages", n)
	}
	if _, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("hello", false)); err != nil {
		t.Fatal(err)
	}
	calls := srv.CallsTo("chat.postMessage")
	if len(calls) != 2 || calls[0].Fault == nil || calls[0].Status != 429 || calls[0].OK() || !calls[1].OK() {
		t.Fatalf("calls = %+v", calls)
	}
	if n := len(srv.Messages(ch)); n != 1 {
		t.Fatalf("messages = %d, want exactly 1", n)
	}

	// A 429 without Retry-After is a plain status error.
	srv.FailNext("chat.postMessage", slackfake.Fault{Status: 429})
	_, _, err = api.PostMessageContext(ctx, ch, slack.MsgOptionText("x", false))
	var sc slack.StatusCodeError
	if !errors.As(err, &sc) || sc.Code != 429 {
		t.Fatalf("bare 429: %#v", err)
	}
}

func TestServerErrorAndSlackErrorFaults(t *testing.T) {
	srv, api := newClient(t)
	ctx := context.Background()

	srv.FailNext("conversations.create", slackfake.ServerError(503))
	_, err := api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: "inc-5"})
	var sc slack.StatusCodeError
	if !errors.As(err, &sc) || sc.Code != 503 {
		t.Fatalf("err = %#v, want StatusCodeError 503", err)
	}

	srv.FailNext("conversations.create", slackfake.SlackError("restricted_action"))
	_, err = api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: "inc-5"})
	if slackCode(err) != "restricted_action" {
		t.Fatalf("err = %v", err)
	}
	if _, ok := srv.Channel("inc-5"); ok {
		t.Fatal("a faulted create created the channel")
	}
	if _, err := api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: "inc-5"}); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Channels()); n != 1 {
		t.Fatalf("channels = %d", n)
	}
}

func TestFailNextNAndSetFault(t *testing.T) {
	srv, api := newClient(t)
	ctx := context.Background()
	ch := srv.AddChannel(slackfake.Channel{Name: "ops"})

	srv.FailNextN("chat.postMessage", 3, slackfake.ServerError(500))
	for i := 0; i < 3; i++ {
		if _, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("x", false)); err == nil {
			t.Fatalf("call %d succeeded", i)
		}
	}
	if _, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("x", false)); err != nil {
		t.Fatal(err)
	}

	srv.SetFault(slackfake.AnyMethod, slackfake.SlackError("fatal_error"))
	if _, err := api.AuthTestContext(ctx); slackCode(err) != "fatal_error" {
		t.Fatalf("AnyMethod fault: %v", err)
	}
	if _, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("x", false)); slackCode(err) != "fatal_error" {
		t.Fatalf("AnyMethod fault: %v", err)
	}
	srv.ClearFaults()
	if _, err := api.AuthTestContext(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Messages(ch)); n != 1 {
		t.Fatalf("messages = %d, want 1", n)
	}
}

func TestSlowFaultHonoursContext(t *testing.T) {
	srv, api := newClient(t)
	ch := srv.AddChannel(slackfake.Channel{Name: "ops"})
	srv.SetFault("chat.postMessage", slackfake.Slow(5*time.Second))

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("slow", false))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s", d)
	}
	if !srv.WaitUntil(2*time.Second, func() bool {
		c := srv.CallsTo("chat.postMessage")
		return len(c) == 1 && c[0].Canceled
	}) {
		t.Fatalf("abandoned call not recorded: %+v", srv.CallsTo("chat.postMessage"))
	}
	if n := len(srv.Messages(ch)); n != 0 {
		t.Fatalf("abandoned call posted %d messages", n)
	}

	// A short delay passes through to the normal handler.
	srv.SetFault("chat.postMessage", slackfake.Slow(20*time.Millisecond))
	if _, _, err := api.PostMessageContext(context.Background(), ch, slack.MsgOptionText("late", false)); err != nil {
		t.Fatal(err)
	}
	if n := len(srv.Messages(ch)); n != 1 {
		t.Fatalf("messages = %d", n)
	}
}

func TestCloseDoesNotWaitForSlowCalls(t *testing.T) {
	srv := slackfake.New(nil)
	api := slack.New(slackfake.BotToken, slack.OptionAPIURL(srv.URL()))
	srv.SetFault("auth.test", slackfake.Slow(time.Minute))
	errc := make(chan error, 1)
	go func() { _, err := api.AuthTest(); errc <- err }()
	if !srv.WaitUntil(5*time.Second, func() bool { return srv.InFlight("auth.test") == 1 }) {
		t.Fatal("call never arrived")
	}
	start := time.Now()
	srv.Close()
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Close took %s", d)
	}
	select {
	case <-errc:
	case <-time.After(5 * time.Second):
		t.Fatal("client still blocked after Close")
	}
}

func TestInvite(t *testing.T) {
	srv, api := newClient(t)
	ctx := context.Background()
	srv.AddUser(slackfake.User{ID: "U111", Name: "alice", Email: "alice@example.com"})
	srv.AddUser(slackfake.User{ID: "U222", Name: "bob", Email: "bob@example.com"})
	ch, err := api.CreateConversationContext(ctx, slack.CreateConversationParams{ChannelName: "inc-7"})
	if err != nil {
		t.Fatal(err)
	}

	_, err = api.InviteUsersToConversationContext(ctx, ch.ID, "U111", "UNOBODY")
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != "user_not_found" || len(se.Errors) != 1 ||
		se.Errors[0].ConversationsInviteResponseError == nil || se.Errors[0].ConversationsInviteResponseError.User != "UNOBODY" {
		t.Fatalf("partial failure: %#v", err)
	}
	if m := srv.Members(ch.ID); len(m) != 1 {
		t.Fatalf("failed invite changed members: %v", m)
	}

	got, err := api.InviteUsersToConversationContext(ctx, ch.ID, "U111", "U222")
	if err != nil || got.ID != ch.ID {
		t.Fatalf("invite: %v %v", got, err)
	}
	if m := srv.Members(ch.ID); strings.Join(m, ",") != slackfake.BotUserID+",U111,U222" {
		t.Fatalf("members = %v", m)
	}
	if _, err := api.InviteUsersToConversationContext(ctx, ch.ID, "U111"); slackCode(err) != "already_in_channel" {
		t.Fatalf("re-invite: %v", err)
	}
	if _, err := api.InviteUsersToConversationContext(ctx, ch.ID, slackfake.BotUserID); slackCode(err) != "cant_invite_self" {
		t.Fatalf("invite self: %v", err)
	}

	members, _, err := api.GetUsersInConversationContext(ctx, &slack.GetUsersInConversationParameters{ChannelID: ch.ID})
	if err != nil || len(members) != 3 {
		t.Fatalf("members: %v %v", members, err)
	}
}

func TestUsersAndGroups(t *testing.T) {
	srv, api := newClient(t)
	ctx := context.Background()
	srv.AddUser(slackfake.User{ID: "U111", Name: "alice", RealName: "Alice A", Email: "Alice@Example.com", TZ: "Europe/Berlin"})
	srv.AddUserGroup("S0ONCALL", "U111")

	u, err := api.GetUserByEmailContext(ctx, "alice@example.com")
	if err != nil || u.ID != "U111" || u.RealName != "Alice A" || u.Profile.Email != "Alice@Example.com" || u.TZ != "Europe/Berlin" {
		t.Fatalf("lookup = %+v %v", u, err)
	}
	if _, err := api.GetUserByEmailContext(ctx, "nobody@example.com"); slackCode(err) != "users_not_found" {
		t.Fatalf("lookup miss: %v", err)
	}
	if u, err := api.GetUserInfoContext(ctx, "U111"); err != nil || u.Name != "alice" {
		t.Fatalf("users.info = %+v %v", u, err)
	}
	if _, err := api.GetUserInfoContext(ctx, "UNOPE"); slackCode(err) != "user_not_found" {
		t.Fatalf("users.info miss: %v", err)
	}
	m, err := api.GetUserGroupMembersContext(ctx, "S0ONCALL")
	if err != nil || len(m) != 1 || m[0] != "U111" {
		t.Fatalf("group = %v %v", m, err)
	}
	if _, err := api.GetUserGroupMembersContext(ctx, "SNOPE"); slackCode(err) != "no_such_subteam" {
		t.Fatalf("group miss: %v", err)
	}
}

func TestConversationLifecycle(t *testing.T) {
	srv, api := newClient(t)
	ctx := context.Background()
	id := srv.AddChannel(slackfake.Channel{Name: "incidents", Topic: "old"})

	if _, _, _, err := api.JoinConversationContext(ctx, id); err != nil {
		t.Fatal(err)
	}
	_, warning, _, err := api.JoinConversationContext(ctx, id)
	if err != nil || warning != "already_in_channel" {
		t.Fatalf("re-join: %q %v", warning, err)
	}
	ch, err := api.SetTopicOfConversationContext(ctx, id, "SEV2: db slow")
	if err != nil || ch.Topic.Value != "SEV2: db slow" || srv.Topic(id) != "SEV2: db slow" {
		t.Fatalf("topic: %+v %v", ch, err)
	}
	info, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: id})
	if err != nil || info.Name != "incidents" || !info.IsMember {
		t.Fatalf("info = %+v %v", info, err)
	}
	if err := api.ArchiveConversationContext(ctx, id); err != nil {
		t.Fatal(err)
	}
	if err := api.ArchiveConversationContext(ctx, id); slackCode(err) != "already_archived" {
		t.Fatalf("re-archive: %v", err)
	}
	if _, _, err := api.PostMessageContext(ctx, id, slack.MsgOptionText("x", false)); slackCode(err) != "is_archived" {
		t.Fatalf("post to archived: %v", err)
	}
	if c, _ := srv.ChannelByID(id); !c.IsArchived {
		t.Fatal("not archived")
	}
	if _, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: "CNOPE"}); slackCode(err) != "channel_not_found" {
		t.Fatalf("info miss: %v", err)
	}
}

func TestEphemeral(t *testing.T) {
	srv, api := newClient(t)
	ctx := context.Background()
	ch := srv.AddChannel(slackfake.Channel{Name: "ops"})
	ts, err := api.PostEphemeralContext(ctx, ch, "U111", slack.MsgOptionText("only you", false))
	if err != nil || ts == "" {
		t.Fatalf("ephemeral: %q %v", ts, err)
	}
	e := srv.Ephemerals(ch)
	if len(e) != 1 || e[0].User != "U111" || e[0].Text != "only you" || e[0].TS != ts {
		t.Fatalf("ephemerals = %+v", e)
	}
	if len(srv.Messages(ch)) != 0 {
		t.Fatal("ephemeral stored as a channel message")
	}
}

func TestDirectMessageByUserID(t *testing.T) {
	srv, api := newClient(t)
	srv.AddUser(slackfake.User{ID: "U111", Name: "alice"})
	ch, _, err := api.PostMessage("U111", slack.MsgOptionText("psst", false))
	if err != nil || !strings.HasPrefix(ch, "D") {
		t.Fatalf("dm: %q %v", ch, err)
	}
	if m := srv.Messages("U111"); len(m) != 1 || m[0].Channel != ch {
		t.Fatalf("messages = %+v", m)
	}
	if _, _, err := api.PostMessage("UNOPE", slack.MsgOptionText("x", false)); slackCode(err) != "user_not_found" {
		t.Fatalf("dm to unknown: %v", err)
	}
}

func TestViews(t *testing.T) {
	srv, api := newClient(t)
	ctx := context.Background()
	modal := slack.ModalViewRequest{
		Type:            slack.VTModal,
		Title:           slack.NewTextBlockObject("plain_text", "Declare", false, false),
		CallbackID:      "declare",
		PrivateMetadata: "C123",
		Blocks:          slack.Blocks{BlockSet: []slack.Block{slack.NewInputBlock("title", slack.NewTextBlockObject("plain_text", "Title", false, false), nil, slack.NewPlainTextInputBlockElement(nil, "title_input"))}},
	}
	resp, err := api.OpenViewContext(ctx, "123.456.abc", modal)
	if err != nil || resp.View.ID == "" || resp.View.CallbackID != "declare" || resp.View.Hash == "" {
		t.Fatalf("views.open: %+v %v", resp, err)
	}
	modal.Title = slack.NewTextBlockObject("plain_text", "Declared", false, false)
	if _, err := api.UpdateViewContext(ctx, modal, "", "stale", resp.View.ID); slackCode(err) != "hash_conflict" {
		t.Fatalf("stale hash: %v", err)
	}
	up, err := api.UpdateViewContext(ctx, modal, "", resp.View.Hash, resp.View.ID)
	if err != nil || up.View.Title.Text != "Declared" {
		t.Fatalf("views.update: %+v %v", up, err)
	}
	if _, err := api.UpdateViewContext(ctx, modal, "", "", "VNOPE"); slackCode(err) != "not_found" {
		t.Fatalf("update unknown: %v", err)
	}
	v := srv.Views()
	if len(v) != 1 || v[0].TriggerID != "123.456.abc" || v[0].PrivateMetadata != "C123" || v[0].Updates != 1 {
		t.Fatalf("views = %+v", v)
	}

	// Registered triggers work once; others are rejected.
	srv.AddTriggers("t-1", "t-2")
	srv.ExpireTrigger("t-2")
	if _, err := api.OpenViewContext(ctx, "t-1", modal); err != nil {
		t.Fatal(err)
	}
	for trigger, want := range map[string]string{"t-1": "exchanged_trigger_id", "t-2": "expired_trigger_id", "t-9": "invalid_trigger_id"} {
		if _, err := api.OpenViewContext(ctx, trigger, modal); slackCode(err) != want {
			t.Errorf("trigger %s: %v, want %s", trigger, err, want)
		}
	}
}

func TestUploadFile(t *testing.T) {
	srv, api := newClient(t)
	ctx := context.Background()
	ch := srv.AddChannel(slackfake.Channel{Name: "inc-9"})
	content := "# Postmortem\n\nroot cause: ☃ & <tags>\n"
	f, err := api.UploadFileContext(ctx, slack.UploadFileParameters{
		Channel: ch, Filename: "postmortem.md", Title: "Postmortem", Content: content, FileSize: len(content),
		InitialComment: "timeline attached",
	})
	if err != nil {
		t.Fatal(err)
	}
	ups := srv.Uploads()
	if len(ups) != 1 {
		t.Fatalf("uploads = %+v", ups)
	}
	u := ups[0]
	if u.FileID != f.ID || f.Title != "Postmortem" || string(u.Content) != content || !u.Completed ||
		u.Filename != "postmortem.md" || u.Length != len(content) || len(u.Channels) != 1 || u.Channels[0] != ch ||
		u.InitialComment != "timeline attached" {
		t.Fatalf("upload = %+v (file %+v)", u, f)
	}
	if n := len(srv.CallsTo(slackfake.MethodUpload)); n != 1 {
		t.Fatalf("upload calls = %d", n)
	}

	// A failed upload step leaves the file incomplete.
	srv.FailNext(slackfake.MethodUpload, slackfake.ServerError(500))
	_, err = api.UploadFileContext(ctx, slack.UploadFileParameters{Channel: ch, Filename: "b.txt", Content: "b", FileSize: 1})
	if err == nil {
		t.Fatal("upload with failing POST succeeded")
	}
	if ups := srv.Uploads(); len(ups) != 2 || ups[1].Uploaded || ups[1].Completed {
		t.Fatalf("uploads = %+v", ups)
	}
}

func TestConcurrentPostsAndWaitFor(t *testing.T) {
	srv, api := newClient(t)
	ch := srv.AddChannel(slackfake.Channel{Name: "ops"})
	const n = 40
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if _, _, err := api.PostMessage(ch, slack.MsgOptionText(fmt.Sprint(i), false)); err != nil {
				t.Error(err)
			}
		}(i)
	}
	calls := srv.WaitFor("chat.postMessage", n, 10*time.Second)
	wg.Wait()
	if len(calls) < n {
		t.Fatalf("calls = %d", len(calls))
	}
	seen := map[string]bool{}
	prev := ""
	for _, m := range srv.Messages(ch) {
		if seen[m.TS] || m.TS <= prev {
			t.Fatalf("ts %q not unique/increasing after %q", m.TS, prev)
		}
		seen[m.TS], prev = true, m.TS
	}
	if len(seen) != n {
		t.Fatalf("messages = %d", len(seen))
	}
}

// TestTriggerExpiresAfterThreeSeconds: Slack accepts a trigger_id for 3 s
// after issuing it, and once.
func TestTriggerExpiresAfterThreeSeconds(t *testing.T) {
	var mu sync.Mutex
	now := time.Unix(1700000000, 0)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	srv, api := newClient(t, slackfake.WithClock(clock))
	ctx := context.Background()
	modal := slack.ModalViewRequest{Type: slack.VTModal, Title: slack.NewTextBlockObject("plain_text", "Declare", false, false)}
	srv.AddTriggers("fresh", "stale")
	mu.Lock()
	now = now.Add(slackfake.TriggerLifetime)
	mu.Unlock()
	if _, err := api.OpenViewContext(ctx, "fresh", modal); err != nil {
		t.Fatalf("a trigger 3 s old: %v", err)
	}
	if _, err := api.OpenViewContext(ctx, "fresh", modal); slackCode(err) != "exchanged_trigger_id" {
		t.Errorf("a used trigger: %v", err)
	}
	mu.Lock()
	now = now.Add(time.Millisecond)
	mu.Unlock()
	if _, err := api.OpenViewContext(ctx, "stale", modal); slackCode(err) != "expired_trigger_id" {
		t.Errorf("a trigger over 3 s old: %v", err)
	}
}

// TestBlockKitLimits: the fake refuses what Slack refuses.
func TestBlockKitLimits(t *testing.T) {
	srv, api := newClient(t)
	ch := srv.AddChannel(slackfake.Channel{Name: "limits", Members: []string{slackfake.BotUserID}})
	section := func(text string) slack.Block {
		return slack.NewSectionBlock(slack.NewTextBlockObject("mrkdwn", text, false, false), nil, nil)
	}
	many := make([]slack.Block, 51)
	for i := range many {
		many[i] = section("x")
	}
	button := func(id, value string) slack.Block {
		return slack.NewActionBlock("a", slack.NewButtonBlockElement(id, value, slack.NewTextBlockObject("plain_text", "Go", false, false)))
	}
	for name, opts := range map[string][]slack.MsgOption{
		"51 blocks":          {slack.MsgOptionBlocks(many...)},
		"section over 3000":  {slack.MsgOptionBlocks(section(strings.Repeat("x", 3001)))},
		"action_id over 255": {slack.MsgOptionBlocks(button(strings.Repeat("a", 256), "v"))},
		"value over 2000":    {slack.MsgOptionBlocks(button("go", strings.Repeat("v", 2001)))},
		"duplicate block_id": {slack.MsgOptionBlocks(button("go", "v"), button("stop", "v"))},
	} {
		if _, _, err := api.PostMessage(ch, append(opts, slack.MsgOptionText("fallback", false))...); slackCode(err) != "invalid_blocks" {
			t.Errorf("%s: %v, want invalid_blocks", name, err)
		}
	}
	if _, _, err := api.PostMessage(ch, slack.MsgOptionText(strings.Repeat("x", 40001), false)); slackCode(err) != "msg_too_long" {
		t.Errorf("text over 40,000: %v", err)
	}
	_, ts, err := api.PostMessage(ch, slack.MsgOptionBlocks(section(strings.Repeat("x", 3000))), slack.MsgOptionText("ok", false))
	if err != nil {
		t.Fatalf("within the limits: %v", err)
	}
	if _, _, _, err := api.UpdateMessage(ch, ts, slack.MsgOptionBlocks(many...)); slackCode(err) != "invalid_blocks" {
		t.Errorf("update with 51 blocks: %v", err)
	}
}
