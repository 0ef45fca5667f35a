package slackchat_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/app"
	"github.com/sitrep-io/sitrep/internal/slackfake"
	"github.com/sitrep-io/sitrep/slackchat"
	"github.com/sitrep-io/sitrep/store"
)

const signingSecret = "test-signing-secret"

// slackHarness runs the Slack edge against a real SQLite store, the real
// service and outbox, and the Slack adapter talking to the fake Slack.
type slackHarness struct {
	t    *testing.T
	db   *store.DB
	svc  *bot.Service
	fake *slackfake.Server
	chat *slackchat.Client
	disp *bot.Dispatcher
	app  *slackchat.Inbound
	srv  *httptest.Server
	// skew moves the service's and the dispatcher's clock ahead of the wall
	// clock (one clock, so scheduled jobs agree on what is due), so a test
	// makes a retry due without sleeping.
	skew *atomic.Int64
	// sitrep is the assembled service, dispatcher and features.
	sitrep *app.App
}

func newSlackHarness(t *testing.T, opts ...slackfake.Option) *slackHarness {
	t.Helper()
	return newSlackHarnessApp(t, nil, opts...)
}

// newSlackHarnessApp is newSlackHarness with configure applied to the edge
// before it starts.
func newSlackHarnessApp(t *testing.T, configure func(*slackchat.Inbound), opts ...slackfake.Option) *slackHarness {
	t.Helper()
	return newSlackHarnessWired(t, nil, func(edge *slackchat.Inbound, _ *app.App) {
		if configure != nil {
			configure(edge)
		}
	}, opts...)
}

// newSlackHarnessWired is newSlackHarness with wire adding features to the
// wiring (internal/app, as sitrep serve wires) and configure applied to the
// edge, with the assembled features, before it starts.
func newSlackHarnessWired(t *testing.T, wire func(*app.Config), configure func(*slackchat.Inbound, *app.App), opts ...slackfake.Option) *slackHarness {
	t.Helper()
	db := openStore(t)
	fake := slackfake.New(t, opts...)
	broadcast := fake.AddChannel(slackfake.Channel{Name: "incidents"})
	fake.AddChannel(slackfake.Channel{ID: "CGENERAL", Name: "general"}) // where people type /incident declare
	skew := new(atomic.Int64)
	clock := func() time.Time { return time.Now().Add(time.Duration(skew.Load())) }
	chat := slackchat.New(slackchat.Options{Token: slackfake.BotToken, APIURL: fake.URL(),
		Sleep: func(context.Context, time.Duration) error { return nil }}) // no pacing waits in tests
	ac := app.Config{Store: db, Chat: chat, Directory: chat, Pins: chat,
		Service:    bot.ServiceConfig{BroadcastChannel: broadcast, Now: clock},
		Dispatcher: bot.DispatcherOptions{BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond, Now: clock}}
	if wire != nil {
		wire(&ac)
	}
	sitrep, err := app.New(ac)
	if err != nil {
		t.Fatal(err)
	}
	svc, disp := sitrep.Service, sitrep.Dispatcher
	edge := &slackchat.Inbound{Service: svc, API: chat.API(), SigningSecret: signingSecret, Log: slog.New(slog.DiscardHandler),
		Requests: svc, Workspace: slackchat.OwnWorkspace(chat, "")}
	if configure != nil {
		configure(edge, sitrep)
	}
	edge.LearnWorkspace(context.Background())
	mux := http.NewServeMux()
	for pattern, h := range edge.Routes() {
		mux.Handle(pattern, h)
	}
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { srv.Close(); edge.Wait() })
	return &slackHarness{t: t, db: db, svc: svc, fake: fake, chat: chat, disp: disp, app: edge, srv: srv, skew: skew, sitrep: sitrep}
}

func (h *slackHarness) url(path string) string { return h.srv.URL + path }

// do sends a request and returns the status, content type and body.
func (h *slackHarness) do(req *http.Request) (int, string, []byte) {
	h.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

// command sends a signed /incident command and returns the ephemeral text.
func (h *slackHarness) command(user, channel, text string) (int, map[string]any) {
	h.t.Helper()
	cmd := slashCommand(user, channel, text)
	cmd.ResponseURL = h.fake.ResponseURL(channel, user)
	req := slackfake.SlashCommandRequest(h.url("/slack/commands"), signingSecret, time.Now(), cmd)
	status, _, body := h.do(req)
	return status, jsonAnswer(h.t, "command", body)
}

func slashCommand(user, channel, text string) slackfake.SlashCommand {
	return slackfake.SlashCommand{Token: "fixed", TeamID: slackfake.TeamID, TeamDomain: slackfake.TeamDom,
		ChannelID: channel, ChannelName: "somewhere", UserID: user, UserName: "someone", Command: "/incident",
		Text: text, ResponseURL: "https://hooks.slack.com/commands/T0FAKE001/1/fake", TriggerID: "1.2.trigger"}
}

func (h *slackHarness) drain() {
	h.t.Helper()
	if err := h.disp.Drain(context.Background()); err != nil {
		h.t.Fatal(err)
	}
}

func (h *slackHarness) incident(id int64) bot.Incident {
	h.t.Helper()
	inc, err := h.db.Incident(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return inc
}

// declared declares an incident through the slash command and delivers the
// outbox, so its channel exists.
func (h *slackHarness) declared(user, title string) bot.Incident {
	h.t.Helper()
	if status, out := h.command(user, "CGENERAL", "declare "+title); status != http.StatusOK || !strings.Contains(out["text"].(string), "Declared") {
		h.t.Fatalf("declare: %d %v", status, out)
	}
	h.drain()
	incs, err := h.db.Incidents(context.Background(), bot.IncidentFilter{})
	if err != nil || len(incs) == 0 {
		h.t.Fatalf("no incident after declare: %v", err)
	}
	inc := incs[0]
	if inc.ChannelID == "" {
		h.t.Fatalf("%s has no channel after delivery", inc.Key())
	}
	return inc
}

func (h *slackHarness) timeline(id int64) []bot.Event {
	h.t.Helper()
	evs, err := h.db.Timeline(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return evs
}

func eventsOf(evs []bot.Event, kind bot.EventKind) []bot.Event {
	var out []bot.Event
	for _, ev := range evs {
		if ev.Kind == kind {
			out = append(out, ev)
		}
	}
	return out
}

// assertNothingStored checks that no incident, outbox entry or Slack call
// resulted.
func (h *slackHarness) assertNothingStored() {
	h.t.Helper()
	incs, err := h.db.Incidents(context.Background(), bot.IncidentFilter{All: true})
	if err != nil {
		h.t.Fatal(err)
	}
	if len(incs) != 0 {
		h.t.Errorf("a rejected request stored %d incidents", len(incs))
	}
	ds, err := h.db.Deliveries(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	if len(ds) != 0 {
		h.t.Errorf("a rejected request queued %d deliveries", len(ds))
	}
}

func TestSlackSignature_Rejections(t *testing.T) {
	body := slashCommand("U1", "C1", "declare Platform API returning 500").Encode()
	now := time.Now()
	cases := []struct {
		name   string
		header func(r *http.Request)
	}{
		{"ErrMissing", func(r *http.Request) {
			r.Header.Del(slackfake.HeaderSignature)
			r.Header.Del(slackfake.HeaderTimestamp)
		}},
		{"ErrMissingTimestamp", func(r *http.Request) { r.Header.Del(slackfake.HeaderTimestamp) }},
		{"ErrWrongSecret", func(r *http.Request) { setSigned(r, "not-the-secret", now, body) }},
		{"ErrTamperedBody", func(r *http.Request) { setSigned(r, signingSecret, now, append([]byte("x"), body...)) }},
		{"ErrStale", func(r *http.Request) { setSigned(r, signingSecret, now.Add(-5*time.Minute-10*time.Second), body) }},
		{"ErrFutureSkew", func(r *http.Request) { setSigned(r, signingSecret, now.Add(5*time.Minute+10*time.Second), body) }},
		{"ErrVersion", func(r *http.Request) {
			r.Header.Set(slackfake.HeaderSignature, strings.Replace(r.Header.Get(slackfake.HeaderSignature), "v0=", "v1=", 1))
		}},
		{"ErrNotHex", func(r *http.Request) { r.Header.Set(slackfake.HeaderSignature, "v0=zz") }},
	}
	for _, path := range []string{"/slack/commands", "/slack/interactions", "/slack/events"} {
		for _, tc := range cases {
			t.Run(strings.TrimPrefix(path, "/slack/")+"/"+tc.name, func(t *testing.T) {
				h := newSlackHarness(t)
				req := slackfake.SlashCommandRequest(h.url(path), signingSecret, now, slashCommand("U1", "C1", "declare Platform API returning 500"))
				tc.header(req)
				callsBefore := len(h.fake.Calls()) // the edge's auth.test at start
				status, _, raw := h.do(req)
				if status != http.StatusUnauthorized {
					t.Fatalf("status = %d (%s), want 401", status, raw)
				}
				var out map[string]any
				if err := json.Unmarshal(raw, &out); err != nil || out["error"] != "invalid request" {
					t.Errorf("body = %s, want {\"error\":\"invalid request\"}", raw)
				}
				h.assertNothingStored()
				if n := len(h.fake.Calls()) - callsBefore; n != 0 {
					t.Errorf("a rejected request made %d Slack calls", n)
				}
			})
		}
	}
}

func setSigned(r *http.Request, secret string, at time.Time, body []byte) {
	for k, v := range slackfake.Sign(secret, at, body) {
		r.Header[k] = v
	}
}

// TestSlackSignature_OfficialVector checks Slack's published test vector,
// with the clock frozen at its 2018 timestamp.
func TestSlackSignature_OfficialVector(t *testing.T) {
	header, body := readSignedVector(t)
	at := time.Unix(1531420618, 0)
	if err := slackchat.VerifySignature(header, body, "8f742231b10e8888abcd99yyyzzz85a5", at.Add(90*time.Second)); err != nil {
		t.Fatalf("the official vector is rejected: %v", err)
	}
	if err := slackchat.VerifySignature(header, body, "8f742231b10e8888abcd99yyyzzz85a5", at.Add(5*time.Minute+time.Second)); err == nil {
		t.Error("the official vector is accepted 5 minutes after its timestamp")
	}
	if err := slackchat.VerifySignature(header, body, "8f742231b10e8888abcd99yyyzzz85a5", time.Now()); err == nil {
		t.Error("the official vector is accepted with today's clock")
	}

	h := newSlackHarnessApp(t, func(app *slackchat.Inbound) {
		app.SigningSecret = "8f742231b10e8888abcd99yyyzzz85a5"
		app.Workspace = func(context.Context) (slackchat.Workspace, error) {
			return slackchat.Workspace{TeamID: "T1DC2JH3J"}, nil // the vector's workspace
		}
	})
	h.app.Now = func() time.Time { return at }
	req, _ := http.NewRequest(http.MethodPost, h.url("/slack/commands"), bytes.NewReader(body))
	req.Header = header.Clone()
	status, _, raw := h.do(req)
	if status != http.StatusOK {
		t.Fatalf("the official vector through the handler: %d %s", status, raw)
	}
	if !strings.Contains(string(raw), "Usage: /incident") {
		t.Errorf("an empty command should answer the help: %s", raw)
	}
}

// readSignedVector reads testdata/slack_slash_command_signed_request.http
// (copied from the shared payloads): its headers and body.
func readSignedVector(t *testing.T) (http.Header, []byte) {
	t.Helper()
	raw, err := os.ReadFile("testdata/slack_slash_command_signed_request.http")
	if err != nil {
		t.Fatal(err)
	}
	header := http.Header{}
	var body []byte
	lines := strings.Split(string(raw), "\n")
	for i, line := range lines {
		if strings.HasPrefix(line, "#") || strings.HasPrefix(line, "POST ") {
			continue
		}
		if strings.TrimSpace(line) == "" {
			body = []byte(strings.TrimRight(strings.Join(lines[i+1:], "\n"), "\n"))
			break
		}
		k, v, _ := strings.Cut(line, ":")
		header.Set(k, strings.TrimSpace(v))
	}
	if header.Get(slackfake.HeaderSignature) == "" || len(body) == 0 {
		t.Fatal("could not read the vector")
	}
	return header, body
}

func TestSlackSSLCheckAndBodyLimit(t *testing.T) {
	h := newSlackHarness(t)
	req, _ := http.NewRequest(http.MethodPost, h.url("/slack/commands"), strings.NewReader("ssl_check=1&token=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if status, _, raw := h.do(req); status != http.StatusOK {
		t.Errorf("ssl_check: %d %s", status, raw)
	}
	big := slashCommand("U1", "C1", "note "+strings.Repeat("a", 1<<20))
	status, _, _ := h.do(slackfake.SlashCommandRequest(h.url("/slack/commands"), signingSecret, time.Now(), big))
	if status != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over 1 MiB: %d, want 413", status)
	}
	h.assertNothingStored()
}
