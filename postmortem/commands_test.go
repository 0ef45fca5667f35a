package postmortem_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/ghexport"
	"github.com/sitrep-io/sitrep/internal/ghfake"
	"github.com/sitrep-io/sitrep/internal/testclock"
	"github.com/sitrep-io/sitrep/postmortem"
	"github.com/sitrep-io/sitrep/store"
)

// chat records what the bot does in chat; it is also the directory.
type chat struct {
	mu        sync.Mutex
	seq       int
	posts     []bot.Message
	uploads   []bot.File
	uploadErr error
}

var (
	_ bot.Chat      = (*chat)(nil)
	_ bot.Directory = (*chat)(nil)
)

func (c *chat) next() string { c.seq++; return fmt.Sprintf("%d.0001", c.seq) }

func (c *chat) CreateChannel(_ context.Context, spec bot.ChannelSpec) (bot.ChannelRef, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return bot.ChannelRef{ID: "C" + c.next(), Name: spec.Name}, nil
}

func (c *chat) Post(_ context.Context, ch string, msg bot.Message) (bot.MessageRef, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.posts = append(c.posts, msg)
	return bot.MessageRef{ChannelID: ch, TS: c.next()}, nil
}

func (c *chat) Upload(_ context.Context, ch string, f bot.File) (bot.MessageRef, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.uploadErr != nil {
		return bot.MessageRef{}, c.uploadErr
	}
	c.uploads = append(c.uploads, f)
	return bot.MessageRef{ChannelID: ch, TS: c.next()}, nil
}

func (c *chat) Update(context.Context, bot.MessageRef, bot.Message) error { return nil }
func (c *chat) SetTopic(context.Context, string, string) error            { return nil }
func (c *chat) Invite(context.Context, string, []string) error            { return nil }
func (c *chat) Pin(context.Context, bot.MessageRef) error                 { return nil }
func (c *chat) Archive(context.Context, string) error                     { return nil }

var people = map[string]string{"U1": "Lena Ortiz", "U2": "Dev Patel"}

func (c *chat) User(_ context.Context, id string) (bot.ChatUser, error) {
	if n, ok := people[id]; ok {
		return bot.ChatUser{ID: id, Name: strings.ToLower(strings.Fields(n)[0]), RealName: n}, nil
	}
	return bot.ChatUser{}, bot.Errorf(bot.ENOTFOUND, "no user %s", id)
}

func (c *chat) UserByEmail(context.Context, string) (bot.ChatUser, error) {
	return bot.ChatUser{}, bot.Errorf(bot.ENOTFOUND, "no directory")
}

func (c *chat) GroupMembers(context.Context, string) ([]string, error) { return nil, nil }

// texts returns every posted message's text.
func (c *chat) texts() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, m := range c.posts {
		out = append(out, m.Text)
	}
	return out
}

func (c *chat) lastUpload() (bot.File, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.uploads) == 0 {
		return bot.File{}, false
	}
	return c.uploads[len(c.uploads)-1], true
}

// env is the service over a real SQLite file with the postmortem feature,
// a recording chat and, when gh is set, GitHub through go-github.
type env struct {
	t     *testing.T
	db    *store.DB
	svc   *bot.Service
	pm    *bot.Postmortems
	disp  *bot.Dispatcher
	chat  *chat
	clock *testclock.Clock
	gh    *ghfake.Server
}

func newEnv(t *testing.T, withGitHub bool, mode string) *env {
	t.Helper()
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "sitrep.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	e := &env{t: t, db: db, chat: &chat{}, clock: testclock.New(utc("2020-10-08T00:06:00Z"))}
	e.svc = bot.NewService(db, bot.ServiceConfig{Now: e.clock.Now, DefaultSeverity: bot.SEV1})
	la := loc(t, "America/Los_Angeles")
	cfg := bot.PostmortemConfig{Location: la, Directory: e.chat, Chat: e.chat,
		Drafter: &postmortem.Drafter{Store: db, Directory: e.chat, Location: la, Now: e.clock.Now}}
	if withGitHub {
		e.gh = ghfake.New(t, "acme", "postmortems")
		exp, err := ghexport.New(ghexport.Config{Token: e.gh.Token(), Repo: "acme/postmortems", APIURL: e.gh.URL(), Mode: mode,
			Labels: []string{"postmortem"}, FollowUpLabels: []string{"follow-up"}})
		if err != nil {
			t.Fatal(err)
		}
		cfg.Publisher = exp
	}
	e.pm = bot.NewPostmortems(cfg)
	e.disp = bot.NewDispatcher(db, bot.DispatcherOptions{Now: e.clock.Now, BaseBackoff: time.Second, MaxBackoff: 10 * time.Second,
		OnFailure: e.svc.RecordDeliveryFailure})
	if err := bot.Wire(e.svc, e.disp, bot.ChatOps(e.chat), e.pm); err != nil {
		t.Fatal(err)
	}
	e.svc.OnCommit(e.disp.Wake)
	return e
}

func (e *env) drain() {
	e.t.Helper()
	if err := e.disp.Drain(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
}

// run types a command in the incident's channel at the given time.
func (e *env) run(at, actor, channel, text string) (bot.Reply, error) {
	e.clock.Set(utc(at))
	return e.svc.Execute(e.t.Context(), bot.Invocation{Actor: actor, ChannelID: channel, Text: text})
}

func (e *env) must(at, actor, channel, text string) bot.Reply {
	e.t.Helper()
	r, err := e.run(at, actor, channel, text)
	if err != nil {
		e.t.Fatalf("/incident %s: %v", text, err)
	}
	e.drain()
	return r
}

// seedIncident declares and runs a short version of the seed outage, with
// two follow-ups (one without an owner), and resolves it.
func (e *env) seedIncident() bot.Incident {
	e.t.Helper()
	e.must("2020-10-08T00:06:00Z", "U1", "", "declare --sev1 Platform API returning 500")
	inc, err := e.svc.Incident(e.t.Context(), 1)
	if err != nil {
		e.t.Fatal(err)
	}
	ch := inc.ChannelID
	if ch == "" {
		e.t.Fatal("no channel was created")
	}
	e.must("2020-10-08T00:13:00Z", "U1", ch, "update Some customers may be experiencing issues accessing their online store.")
	e.must("2020-10-08T03:45:00Z", "U2", ch, "status identified the certificate renewal wrote an invalid gateway config")
	e.must("2020-10-08T04:37:00Z", "U1", ch, "status monitoring stores are back")
	e.must("2020-10-08T04:50:00Z", "U1", ch, "followup Alert when the certificate renewal writes a configuration <@U2>")
	e.must("2020-10-08T04:51:00Z", "U1", ch, "followup Evaluate a replacement for the reverse proxy's SSL management")
	e.must("2020-10-08T04:56:00Z", "U1", ch, "resolve full functionality restored")
	inc, _ = e.svc.Incident(e.t.Context(), 1)
	return inc
}

func TestFollowUpAndImpactCommands(t *testing.T) {
	e := newEnv(t, false, "")
	inc := e.seedIncident()
	ch := inc.ChannelID
	ctx := t.Context()

	fus, err := e.db.FollowUps(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(fus) != 2 || fus[0].Owner != "U2" || fus[0].Text != "Alert when the certificate renewal writes a configuration" ||
		fus[1].Owner != "" || fus[0].CreatedBy != "U1" || !fus[0].CreatedAt.Equal(utc("2020-10-08T04:50:00Z")) || fus[0].EventID == 0 {
		t.Fatalf("follow-ups = %+v", fus)
	}
	r := e.must("2020-10-08T04:58:00Z", "U1", ch, "followup Page the gateway owner on 5xx spikes")
	if !strings.Contains(r.Text, "no owner yet") {
		t.Errorf("reply = %q", r.Text)
	}

	// Bad input: a usage error, nothing stored.
	before, _ := e.svc.Timeline(ctx, inc.ID)
	for _, bad := range []string{"followup", "followup @U2", "impact", "impact middle", "impact start 25:99",
		"impact start 2030-01-01T00:00:00Z", "impact end yesterday"} {
		_, err := e.run("2020-10-08T05:00:00Z", "U1", ch, bad)
		if bot.ErrorCode(err) != bot.EINVALID || !strings.Contains(err.Error(), "Usage: /incident") {
			t.Errorf("/incident %s: err = %v, want a usage error", bad, err)
		}
	}
	after, _ := e.svc.Timeline(ctx, inc.ID)
	if fus, _ := e.db.FollowUps(ctx, inc.ID); len(after) != len(before) || len(fus) != 3 {
		t.Errorf("bad commands stored something: %d → %d events, %d follow-ups", len(before), len(after), len(fus))
	}

	// RFC 3339, and HH:MM in the display zone (21:37 PDT on Oct 7 = 04:37Z).
	e.must("2020-10-08T05:00:00Z", "U2", ch, "impact start 2020-10-08T00:06:00Z")
	r = e.must("2020-10-08T05:01:00Z", "U2", ch, "impact end 21:37")
	if !strings.Contains(r.Text, "2020-10-08 04:37 UTC (2020-10-07 21:37 PDT)") {
		t.Errorf("impact end reply = %q", r.Text)
	}
	a, err := e.db.ImpactAnchors(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !a.StartedAt.Equal(utc("2020-10-08T00:06:00Z")) || !a.EndedAt.Equal(utc("2020-10-08T04:37:00Z")) || a.StartedBy != "U2" || a.EndedBy != "U2" {
		t.Errorf("impact anchors = %+v", a)
	}
	evs, _ := e.svc.Timeline(ctx, inc.ID)
	var impact []bot.Event
	for _, ev := range evs {
		if ev.Kind == bot.KindImpactSet {
			impact = append(impact, ev)
		}
	}
	if len(impact) != 2 || !impact[1].OccurredAt.Equal(utc("2020-10-08T04:37:00Z")) || !impact[1].RecordedAt.Equal(utc("2020-10-08T05:01:00Z")) {
		t.Errorf("impact events = %+v", impact)
	}
	// "now" by default.
	e.must("2020-10-08T05:02:00Z", "U2", ch, "impact end")
	if a, _ := e.db.ImpactAnchors(ctx, inc.ID); !a.EndedAt.Equal(utc("2020-10-08T05:02:00Z")) || !a.StartedAt.Equal(utc("2020-10-08T00:06:00Z")) {
		t.Errorf("impact end now: %+v", a)
	}
}

func TestPostmortemCommandPostsTheDraft(t *testing.T) {
	e := newEnv(t, false, "")
	inc := e.seedIncident()
	if !slices.ContainsFunc(bot.Card(inc).Actions, func(a bot.Action) bool { return a.ID == bot.ActionDraftPostmortem }) {
		t.Error("the resolved incident's card has no Draft postmortem button")
	}
	r := e.must("2020-10-08T05:10:00Z", "U1", inc.ChannelID, "postmortem")
	if !strings.Contains(r.Text, "Drafted the postmortem of INC-1 (draft): 10 prompts left") {
		t.Errorf("reply = %q", r.Text)
	}
	f, ok := e.chat.lastUpload()
	if !ok || f.Name != "INC-1-postmortem.md" {
		t.Fatalf("upload = %+v", f)
	}
	md := string(f.Content)
	for _, want := range []string{
		"| impact duration | 4h 31m | `impact_started_at` 2020-10-08T00:06:00Z | `impact_ended_at` 2020-10-08T04:37:00Z |",
		"Lena Ortiz (commander)", "| Dev Patel |", "⚠ **missing owner**", "| 2020-10-08 00:06:00 | 2020-10-07 17:06:00 PDT |",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("uploaded draft lacks %q", want)
		}
	}
	if strings.Contains(md, "U1") || strings.Contains(md, "U2") {
		t.Error("the draft shows raw user ids")
	}
	// The message after the file: review state, no export button without
	// GitHub configured.
	posts := e.chat.posts
	last := posts[len(posts)-1]
	if !strings.Contains(last.Text, "Postmortem draft of INC-1: draft") || len(last.Actions) != 0 {
		t.Errorf("draft message = %+v", last)
	}
	evs, _ := e.svc.Timeline(t.Context(), inc.ID)
	if !slices.ContainsFunc(evs, func(ev bot.Event) bool {
		return ev.Kind == bot.KindPostmortemDrafted && ev.Actor == "U1" && ev.Data["prompts"] == 10.0
	}) {
		t.Error("postmortem_drafted is not on the timeline")
	}
	// The button does the same.
	if _, err := e.svc.HandleAction(t.Context(), bot.ActionInvocation{Actor: "U2", ActionID: bot.ActionDraftPostmortem, Value: "1"}); err != nil {
		t.Fatal(err)
	}
	e.drain()
	if n := len(e.chat.uploads); n != 2 {
		t.Errorf("%d uploads after the button, want 2", n)
	}
	// Export without GitHub: says how to configure it.
	if _, err := e.run("2020-10-08T05:12:00Z", "U1", inc.ChannelID, "export"); bot.ErrorCode(err) != bot.EINVALID || !strings.Contains(err.Error(), "GITHUB_TOKEN") {
		t.Errorf("export without GitHub: %v", err)
	}
}

func TestUploadFallsBackToAMessage(t *testing.T) {
	e := newEnv(t, false, "")
	inc := e.seedIncident()
	e.chat.uploadErr = bot.Errorf(bot.EFORBIDDEN, "files:write is missing")
	e.must("2020-10-08T05:10:00Z", "U1", inc.ChannelID, "postmortem")
	texts := e.chat.texts()
	if !slices.ContainsFunc(texts, func(s string) bool { return strings.HasPrefix(s, "# Postmortem: INC-1") }) {
		t.Error("the draft was not posted as a message when the upload was refused")
	}
	// A temporary failure is retried instead.
	e.chat.uploadErr = bot.Temporary(errors.New("503"), 0)
	e.must("2020-10-08T05:20:00Z", "U1", inc.ChannelID, "postmortem")
	if ds, _ := e.db.Deliveries(t.Context(), bot.DeliveryPending); !slices.ContainsFunc(ds, func(d bot.Delivery) bool { return d.Op == bot.OpUploadPostmortem }) {
		t.Error("a temporary upload failure was not kept for retry")
	}
}

func TestExportToGitHub(t *testing.T) {
	e := newEnv(t, true, "file")
	inc := e.seedIncident()
	ch := inc.ChannelID
	e.must("2020-10-08T05:10:00Z", "U1", ch, "postmortem")
	draftMsg := e.chat.posts[len(e.chat.posts)-1]
	if len(draftMsg.Actions) != 1 || draftMsg.Actions[0].ID != bot.ActionExportPostmortem || draftMsg.Actions[0].Label != "Export to GitHub" {
		t.Fatalf("draft message actions = %+v", draftMsg.Actions)
	}
	r := e.must("2020-10-08T05:11:00Z", "U1", ch, "export")
	if !strings.Contains(r.Text, "acme/postmortems") {
		t.Errorf("reply = %q", r.Text)
	}
	path, branch := "postmortems/2020-10-08-inc-1-platform-api-returning-500.md", "sitrep/postmortem-inc-1"
	file, ok := e.gh.File(branch, path)
	if !ok {
		t.Fatalf("no %s on %s; branches %v", path, branch, e.gh.Branches())
	}
	issues, prs := e.gh.Issues(), e.gh.PullRequests()
	if len(issues) != 2 || len(prs) != 1 || prs[0].Number != 3 {
		t.Fatalf("issues %+v, PRs %+v", issues, prs)
	}
	// Follow-ups became issues, linked from the postmortem.
	for _, want := range []string{"[#1](https://github.com/acme/postmortems/issues/1)", "[#2](https://github.com/acme/postmortems/issues/2)", "| impact duration | 4h 31m |"} {
		if !strings.Contains(file, want) {
			t.Errorf("exported file lacks %q", want)
		}
	}
	if !strings.Contains(issues[0].Body, "Owner: Dev Patel") || !slices.Equal(issues[0].Labels, []string{"follow-up"}) {
		t.Errorf("follow-up issue = %+v", issues[0])
	}
	// The links are posted and recorded.
	if !slices.ContainsFunc(e.chat.texts(), func(s string) bool {
		return strings.Contains(s, "exported to acme/postmortems: https://github.com/acme/postmortems/pull/3") &&
			strings.Contains(s, "Follow-up 2: https://github.com/acme/postmortems/issues/2")
	}) {
		t.Errorf("no message with the links: %q", e.chat.texts())
	}
	exp, _ := e.db.PostmortemExport(t.Context(), inc.ID)
	if exp.PRNumber != 3 || exp.Path != path || exp.Branch != branch {
		t.Errorf("export record = %+v", exp)
	}
	evs, _ := e.svc.Timeline(t.Context(), inc.ID)
	if !slices.ContainsFunc(evs, func(ev bot.Event) bool {
		return ev.Kind == bot.KindPostmortemExported && ev.SourceURL == "https://github.com/acme/postmortems/pull/3"
	}) {
		t.Error("the export is not on the timeline")
	}

	// Re-export after more happened: the same file, PR and issues, updated.
	e.must("2020-10-08T06:00:00Z", "U2", ch, "note the renewal job runs daily at 00:05 UTC")
	if _, err := e.svc.HandleAction(t.Context(), bot.ActionInvocation{Actor: "U1", ActionID: bot.ActionExportPostmortem, Value: "1"}); err != nil {
		t.Fatal(err)
	}
	e.drain()
	file, _ = e.gh.File(branch, path)
	if !strings.Contains(file, "the renewal job runs daily") {
		t.Error("the re-export did not update the file")
	}
	if n, m := len(e.gh.Issues()), len(e.gh.PullRequests()); n != 2 || m != 1 {
		t.Errorf("after re-export: %d issues, %d PRs; want 2 and 1", n, m)
	}
	if n := len(e.gh.CallsTo(ghfake.RouteEditIssue)); n != 2 {
		t.Errorf("follow-up issues edited %d times, want 2", n)
	}
	if n := len(e.gh.CallsTo(ghfake.RouteEditPull)); n != 1 {
		t.Errorf("PR edited %d times, want 1", n)
	}
}

func TestExportIssueMode(t *testing.T) {
	e := newEnv(t, true, "issue")
	inc := e.seedIncident()
	e.must("2020-10-08T05:11:00Z", "U1", inc.ChannelID, "export")
	e.must("2020-10-08T05:20:00Z", "U1", inc.ChannelID, "export")
	issues := e.gh.Issues()
	if len(issues) != 3 || len(e.gh.PullRequests()) != 0 {
		t.Fatalf("issues = %d, PRs = %d", len(issues), len(e.gh.PullRequests()))
	}
	pm := issues[2]
	if !strings.HasPrefix(pm.Title, "Postmortem: INC-1") || !slices.Equal(pm.Labels, []string{"postmortem"}) ||
		!strings.Contains(pm.Body, "[#1](https://github.com/acme/postmortems/issues/1)") {
		t.Errorf("postmortem issue = %+v", pm)
	}
	if exp, _ := e.db.PostmortemExport(t.Context(), inc.ID); exp.IssueNumber != 3 || exp.Mode != "issue" {
		t.Errorf("export record = %+v", exp)
	}
}

func TestExportErrorsAreReported(t *testing.T) {
	for _, tc := range []struct {
		name, route string
		fault       ghfake.Fault
		says        string
	}{
		{"401", ghfake.AnyRoute, ghfake.BadCredentials().Repeat(ghfake.Always), "GITHUB_TOKEN"},
		{"404", ghfake.RouteGetRepo, ghfake.NotFound().Repeat(ghfake.Always), "check GITHUB_REPO (acme/postmortems)"},
		{"422", ghfake.RouteCreateIssue, ghfake.ValidationFailed(ghfake.ValidationError{Resource: "Issue", Field: "labels", Code: "invalid"}), "GITHUB_FOLLOWUP_LABELS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, true, "file")
			inc := e.seedIncident()
			e.gh.Fail(tc.route, tc.fault)
			e.must("2020-10-08T05:11:00Z", "U1", inc.ChannelID, "export")
			texts := e.chat.texts()
			if !slices.ContainsFunc(texts, func(s string) bool {
				return strings.Contains(s, "The export of INC-1 to acme/postmortems failed") && strings.Contains(s, tc.says) &&
					strings.Contains(s, "run /incident export again")
			}) {
				t.Errorf("no failure report naming %q: %q", tc.says, texts)
			}
			if ds, _ := e.db.Deliveries(t.Context(), bot.DeliveryFailed); !slices.ContainsFunc(ds, func(d bot.Delivery) bool { return d.Op == bot.OpExportPostmortem }) {
				t.Error("the failed export is not marked failed in the outbox")
			}
			// Fixed, the export can be run again, and it completes.
			e.gh.ClearFaults()
			e.must("2020-10-08T05:20:00Z", "U1", inc.ChannelID, "export")
			if len(e.gh.PullRequests()) != 1 || len(e.gh.Issues()) != 2 {
				t.Errorf("after the fix: %d PRs, %d issues", len(e.gh.PullRequests()), len(e.gh.Issues()))
			}
		})
	}
}

func TestExportRetriesTemporaryErrors(t *testing.T) {
	for _, tc := range []struct {
		name, route string
		fault       ghfake.Fault
	}{
		{"primary rate limit", ghfake.RouteCreatePull, ghfake.PrimaryRateLimit(http.StatusForbidden, time.Now().Add(2*time.Second))},
		{"secondary rate limit", ghfake.RouteCreatePull, ghfake.SecondaryRateLimit(http.StatusTooManyRequests, time.Second)},
		{"5xx", ghfake.RoutePutContents, ghfake.ServerError(http.StatusBadGateway).Repeat(2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, true, "file")
			inc := e.seedIncident()
			e.gh.Fail(tc.route, tc.fault)
			e.must("2020-10-08T05:11:00Z", "U1", inc.ChannelID, "export")
			if !slices.ContainsFunc(e.chat.texts(), func(s string) bool { return strings.Contains(s, "is delayed") }) {
				t.Errorf("the delay was not reported: %q", e.chat.texts())
			}
			pending, _ := e.db.Deliveries(t.Context(), bot.DeliveryPending)
			if !slices.ContainsFunc(pending, func(d bot.Delivery) bool {
				return d.Op == bot.OpExportPostmortem && d.NextAttemptAt.After(e.clock.Now())
			}) {
				t.Fatal("the export is not scheduled for a retry")
			}
			// Retry until it goes through. go-github also waits out a rate
			// limit on the wall clock, so poll with a generous deadline.
			deadline := time.Now().Add(30 * time.Second)
			for len(e.gh.PullRequests()) == 0 {
				if time.Now().After(deadline) {
					t.Fatalf("the export never completed; outbox %+v", pending)
				}
				time.Sleep(50 * time.Millisecond)
				e.clock.Advance(5 * time.Minute)
				e.drain()
			}
			if n, m := len(e.gh.PullRequests()), len(e.gh.Issues()); n != 1 || m != 2 {
				t.Errorf("after retries: %d PRs, %d issues; want 1 and 2 (nothing twice)", n, m)
			}
			if exp, _ := e.db.PostmortemExport(t.Context(), inc.ID); exp.PRNumber == 0 {
				t.Error("the export was not recorded")
			}
		})
	}
}
