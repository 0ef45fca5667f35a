package bot_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

var updateGolden = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./bot -run %s -update to create it)", err, t.Name())
	}
	g, w := strings.Split(got, "\n"), strings.Split(string(want), "\n")
	for i := range max(len(g), len(w)) {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			t.Fatalf("%s differs at line %d:\n got: %s\nwant: %s\n(run go test ./bot -run %s -update after checking the change)", path, i+1, gl, wl, t.Name())
		}
	}
}

// The seed night's people (as cmd/sitrep's demo names them) and the
// status-page posts, verbatim (seed-incident.md).
const (
	lena = "U0LENA"
	dev  = "U0DEV"
	cam  = "U0CAM"

	seedInvestigating = "Some customers may be experiencing issues accessing their online store. Our engineers are investigating the root cause of this issue, and we will provide updates as soon as possible. We are working to resolve this ASAP."
	seedStillLooking  = "We are continuing to investigate this issue - we'll continue to post updates in real-time via this status page.\n\nWe understand the impact any downtime has and appreciate your patience while we work through this.\n\nWe sincerely apologize for this inconvenience & assure you that all efforts are focused on getting your online stores running ASAP!"
	seedMonitoring    = "A fix has been implemented for this issue and full functionality for accessing online stores has been resumed."
	seedResolved      = "This incident has been resolved and full functionality has been restored. We will post a post-mortem tomorrow with more technical details and the steps we'll be taking to address this going forward."
)

// fakeDirectory knows the seed team's handles.
type fakeDirectory map[string]string

func (d fakeDirectory) User(_ context.Context, id string) (bot.ChatUser, error) {
	if n, ok := d[id]; ok {
		return bot.ChatUser{ID: id, Name: n}, nil
	}
	return bot.ChatUser{}, bot.Errorf(bot.ENOTFOUND, "no user %s", id)
}
func (d fakeDirectory) UserByEmail(context.Context, string) (bot.ChatUser, error) {
	return bot.ChatUser{}, bot.Errorf(bot.ENOTFOUND, "no users by email here")
}
func (d fakeDirectory) GroupMembers(context.Context, string) ([]string, error) { return nil, nil }

// seedNight replays the seed outage through the service, step by step at
// its times (2020-10-08 UTC, as cmd/sitrep's demo does), and at each
// moment the team posted a status update asks for the draft first
// ("/incident update" without text), then posts the seed's text (with
// --anyway where it repeats the previous one word for word). It returns
// what each draft and each refusal said.
type seedNight struct {
	t      *testing.T
	e      *env
	inc    bot.Incident
	out    strings.Builder
	drafts []string
	pin    *fakeFetcher
}

func seedAt(hms string) time.Time {
	t, err := time.Parse(time.RFC3339, "2020-10-08T"+hms+"Z")
	if err != nil {
		panic(err)
	}
	return t
}

func newSeedNight(t *testing.T, loc *time.Location) *seedNight {
	e := newEnv(t, bot.ServiceConfig{BroadcastChannel: broadcast, Location: loc,
		Directory: fakeDirectory{lena: "lena", dev: "dev", cam: "cam"}})
	e.clock.Set(seedAt("00:06:00"))
	n := &seedNight{t: t, e: e, pin: &fakeFetcher{msgs: map[string]bot.ChatMessage{}}}
	e.wire(bot.NewReminders(bot.DefaultReminderConfig()), bot.PinnedMessages(n.pin))
	out, err := e.svc.IngestAlert(e.ctx(), bot.Alert{Source: "pagerduty", DedupKey: "PSEED1", Title: "Platform API returning 500",
		Firing: true, Severity: bot.SEV1})
	if err != nil {
		t.Fatal(err)
	}
	e.drain()
	n.inc = e.incident(out.Incident.ID)
	return n
}

func (n *seedNight) at(hms string) {
	n.t.Helper()
	n.e.clock.Set(seedAt(hms))
	n.e.drain()
}

func (n *seedNight) cmd(actor, text string) bot.Reply {
	n.t.Helper()
	r, err := n.e.svc.Execute(n.e.ctx(), bot.Invocation{Actor: actor, ChannelID: n.inc.ChannelID, Text: text})
	if err != nil {
		n.t.Fatalf("/incident %s: %v", text, err)
	}
	n.e.drain()
	return r
}

// update is one of the seed's status-page posts: the draft first, then the
// post.
func (n *seedNight) update(text string) {
	n.t.Helper()
	draft := n.cmd(cam, "update")
	n.drafts = append(n.drafts, draft.Text)
	fmt.Fprintf(&n.out, "── %s /incident update (cam)\n%s\n", n.e.clock.Now().In(n.e.svc.Now().Location()).Format("15:04"), draft.Text)
	r := n.cmd(cam, "update "+text)
	if strings.Contains(r.Text, "repeats the status update") {
		fmt.Fprintf(&n.out, "── /incident update <the seed's text> (cam)\n%s\n", r.Text)
		n.cmd(cam, "update --anyway "+text)
	}
	n.out.WriteString("\n")
}

// run records one runbook run's events as the runbooks package writes them.
func (n *seedNight) run(id int64, runbook, requester string, approvers []string, needsApproval bool, failure string) {
	n.t.Helper()
	ev := func(kind bot.EventKind, actor, text string, data map[string]any) {
		if data == nil {
			data = map[string]any{}
		}
		data["run"], data["runbook"] = id, runbook
		now := n.e.clock.Now()
		err := n.e.svc.Update(n.e.ctx(), func(tx bot.Tx) error {
			_, err := tx.AppendEvent(&bot.Event{IncidentID: n.inc.ID, OccurredAt: now, RecordedAt: now, Kind: kind, Actor: actor, Text: text, Data: data})
			return err
		})
		if err != nil {
			n.t.Fatal(err)
		}
		n.e.clock.Advance(10 * time.Second)
	}
	key := bot.RunKey(id)
	ev(bot.KindRunbookRequested, requester, "requested "+key+": "+runbook, map[string]any{"needs_approval": needsApproval})
	for _, a := range approvers {
		ev(bot.KindRunbookApproved, a, fmt.Sprintf("approved %s (%s)", key, runbook), nil)
	}
	ev(bot.KindRunbookStepStarted, bot.SystemActor, key+" step 1/1 started", map[string]any{"step": "act"})
	if failure != "" {
		ev(bot.KindRunbookStepFinished, bot.SystemActor, key+" step 1/1 failed: "+failure, map[string]any{"step": "act", "status": "failed"})
		ev(bot.KindRunbookFailed, bot.SystemActor, fmt.Sprintf("%s (%s) failed: step act failed: %s", key, runbook, failure), nil)
		return
	}
	ev(bot.KindRunbookStepFinished, bot.SystemActor, key+" step 1/1 succeeded: exit 0", map[string]any{"step": "act", "status": "succeeded"})
	ev(bot.KindRunbookSucceeded, bot.SystemActor, fmt.Sprintf("%s (%s) succeeded", key, runbook), nil)
}

// pinned pins a message someone wrote in the channel.
func (n *seedNight) pinned(ts, author, by, text string) {
	n.t.Helper()
	n.pin.msgs[ts] = bot.ChatMessage{Author: author, Text: text}
	if _, err := n.e.svc.PinMessage(n.e.ctx(), bot.PinRequest{ChannelID: n.inc.ChannelID, MessageTS: ts,
		PostedAt: n.e.clock.Now(), Author: author, PinnedBy: by}); err != nil {
		n.t.Fatal(err)
	}
	n.e.drain()
}

// replay is the seed night (seed-incident.md; cmd/sitrep/demo_story.go).
func (n *seedNight) replay() string {
	n.at("00:13:00")
	if _, err := n.e.svc.Acknowledge(n.e.ctx(), lena, n.inc.ID); err != nil {
		n.t.Fatal(err)
	}
	n.cmd(lena, "lead <@"+lena+">")
	n.cmd(lena, "comms <@"+cam+"|cam>")
	n.update(seedInvestigating)
	n.cmd(dev, "note --update Initial investigation: the API gateway reports degraded health and inbound traffic spiked far outside the nominal range")
	n.cmd(dev, "note ruling out a security threat first") // not marked: not in the draft

	n.at("00:51:00")
	n.update(seedInvestigating)
	n.at("01:23:00")
	n.update(seedInvestigating)

	n.at("01:50:00")
	n.run(1, "pool-scale-up", dev, []string{lena}, true, "")
	n.cmd(dev, "note --update Scaled up the server pool and rebooted the existing servers: all came back online with positive health statuses, but the load balancer still reports failures")
	n.at("01:50:40")
	n.run(2, "platform-api-probe", dev, nil, false, "GET https://platform.olla.example/v1/health answered 500")

	n.at("02:05:00")
	n.cmd(dev, "note --update Full reboot of all infrastructure servers; logging that had failed now gives more output")
	n.run(3, "gateway-cert-audit", dev, nil, false, "certificate for platform.olla.example valid until 2021-01-05, but the gateway answers 500")
	n.pinned("1602122760.000100", dev, lena, "The Platform API certificate is valid and not expired, but the API gateway (the reverse proxy) returns 500 for it")
	n.cmd(dev, "note --next Auditing the SSL certificates of every part of the core infrastructure")
	n.at("02:07:00")
	n.update(seedInvestigating)
	n.at("03:01:00")
	n.update(seedInvestigating)

	n.at("03:45:00")
	n.cmd(lena, "status identified The daily automatic certificate renewal of the unexpired Platform API certificate left an invalid configuration in the API gateway")
	n.cmd(lena, "note --next Re-order the certificate without installing it, which rewrites the gateway configuration")
	n.at("03:53:00")
	n.update(seedStillLooking)

	n.at("04:37:00")
	n.run(4, "gateway-cert-reorder", dev, []string{lena}, true, "")
	n.cmd(lena, "note --update All retailer online stores are back up and new orders are flowing to retailers")
	n.at("04:42:00")
	n.cmd(lena, "status monitoring")
	n.update(seedMonitoring)
	n.at("04:56:00")
	n.cmd(lena, "resolve")
	n.update(seedResolved)
	return n.out.String()
}

// TestUpdateDraftSeedNight is the drafting on a replay of the seed night:
// every draft states only what the timeline recorded since the previous
// update, "No change since HH:MM." when nothing was, and the four
// word-for-word repeats are stopped before they are posted.
func TestUpdateDraftSeedNight(t *testing.T) {
	n := newSeedNight(t, time.UTC)
	got := n.replay()
	golden(t, "update-drafts-seed-utc.txt", got)

	// What the golden file must show, whatever its wording.
	for _, want := range []string{
		"No change since 00:51.",
		"No change since 02:07.",
		"this repeats the status update of 00:13",
		"runbook pool-scale-up (RUN-1), requested by @dev and approved by @lena, succeeded.",
		"failed: step act failed: GET https://platform.olla.example/v1/health answered 500.",
		"Pinned at 02:05 by @dev: The Platform API certificate is valid",
		"Next: Auditing the SSL certificates",
		"moved the incident from investigating to identified",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the drafts lack %q", want)
		}
	}
	if strings.Contains(got, "ruling out a security threat") {
		t.Error("a note not marked for the update is in a draft")
	}
	for _, d := range n.drafts {
		if strings.Contains(d, "<@") {
			t.Errorf("a draft carries a live mention:\n%s", d)
		}
	}
	// Five seed posts of the same sentence; each repeat was stopped, then
	// posted anyway: the channel has all five, nothing more.
	var posted int
	for _, p := range n.e.chat.Posts(n.inc.ChannelID) {
		if strings.Contains(p, seedInvestigating) {
			posted++
		}
	}
	if posted != 5 {
		t.Errorf("%d posts of the seed's repeated update, want 5", posted)
	}
}

// TestUpdateDraftInTeamTimeZone: the draft's times are the team's.
func TestUpdateDraftInTeamTimeZone(t *testing.T) {
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Skip(err)
	}
	n := newSeedNight(t, la)
	n.at("00:51:00")
	r := n.cmd(cam, "update")
	if !strings.Contains(r.Text, "At 17:06") && !strings.Contains(r.Text, "No change since 17:06.") {
		t.Errorf("draft not in Pacific time:\n%s", r.Text)
	}
}

// TestUpdateTemplateConfigurable: a custom template replaces the shipped
// one; one that cannot render the facts is refused at parse time.
func TestUpdateTemplateConfigurable(t *testing.T) {
	tmpl, err := bot.ParseUpdateTemplate(`{{if .NoChange}}Quiet since {{.Since}}{{else}}{{range .Notes}}* {{.Text}}{{"\n"}}{{end}}{{end}}`)
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, bot.ServiceConfig{UpdateTemplate: tmpl})
	inc := e.opened("Checkout failing")
	draft, err := e.svc.DraftUpdate(e.ctx(), inc.ID)
	if err != nil || draft != "Quiet since 07:08" {
		t.Errorf("draft = %q, %v", draft, err)
	}
	if _, err := e.svc.AddMarkedNote(e.ctx(), "U1", inc.ID, "rolled back the deploy", bot.NoteForUpdate); err != nil {
		t.Fatal(err)
	}
	if draft, _ := e.svc.DraftUpdate(e.ctx(), inc.ID); draft != "* rolled back the deploy" {
		t.Errorf("draft = %q", draft)
	}
	for _, bad := range []string{`{{.Nope}}`, `{{range .Runs}}{{.Missing}}{{end}}`, `{{if}}`} {
		if _, err := bot.ParseUpdateTemplate(bad); err == nil {
			t.Errorf("ParseUpdateTemplate(%q) accepted it", bad)
		}
	}
	if _, err := bot.ParseUpdateTemplate(bot.DefaultUpdateTemplateText()); err != nil {
		t.Errorf("the shipped template: %v", err)
	}
}
