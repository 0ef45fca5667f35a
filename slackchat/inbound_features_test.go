package slackchat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/ghexport"
	"github.com/sitrep-io/sitrep/internal/app"
	"github.com/sitrep-io/sitrep/internal/ghfake"
	"github.com/sitrep-io/sitrep/internal/slackfake"
	"github.com/sitrep-io/sitrep/postmortem"
	"github.com/sitrep-io/sitrep/runbooks"
	"github.com/sitrep-io/sitrep/slackchat"
)

// The features' buttons through the real Slack path: signed block_actions
// and view_submission payloads → POST /slack/interactions → the service →
// what the clicker sees (ephemerals, modals) and what the channel shows
// after the outbox is delivered to the fake Slack through slack-go.

const triageChannel = "CTRIAGE"

// featureRunbooks are the test runbooks. record.sh appends "<step> <value>"
// to runs.log, so a test sees whether (and with what) a step ran.
var featureRunbooks = map[string]string{
	"probe.yaml": `name: probe
title: Probe without parameters or approval
steps:
  - name: probe
    action: exec
    with: {command: ["/bin/sh", "./record.sh", "probe", "ok"], timeout: 30s}
`,
	"scale.yaml": `name: scale
title: Scale the pool behind an on-call approval
params:
  - name: group
    description: Auto-scaling group name.
    pattern: '[a-z][a-z0-9-]{0,40}'
    default: api-gateway-pool
  - name: capacity
    description: New desired capacity.
    pattern: '[1-9][0-9]{0,2}'
    required: true
steps:
  - name: scale
    action: exec
    with: {command: ["/bin/sh", "./record.sh", "{{ .group }}", "{{ .capacity }}"], timeout: 30s}
    approval: {approvers: ["SONCALL"], expires: 15m}
`,
	"gated.yaml": `name: gated
title: Two-person runbook
steps:
  - name: act
    action: exec
    with: {command: ["/bin/sh", "./record.sh", "gated", "x"], timeout: 30s}
    approval: {approvers: ["UAPPROVER", "UREQ"], two_person: true, expires: 15m}
`,
}

// featureHarness is the Slack harness with every feature wired as
// `sitrep serve` wires it: triage, reminders, runbooks and postmortems
// with GitHub export (the GitHub fake behind the real go-github client).
type featureHarness struct {
	*slackHarness
	runs       *runbooks.Runs
	runbookDir string
	gh         *ghfake.Server
}

func newFeatureHarness(t *testing.T) *featureHarness {
	t.Helper()
	h := &featureHarness{runbookDir: t.TempDir(), gh: ghfake.New(t, "acme", "postmortems")}
	cat := writeFeatureRunbooks(t, h.runbookDir)
	exp, err := ghexport.New(ghexport.Config{Token: h.gh.Token(), Repo: "acme/postmortems", APIURL: h.gh.URL()})
	if err != nil {
		t.Fatal(err)
	}
	h.slackHarness = newSlackHarnessWired(t, func(ac *app.Config) {
		ac.Alerting = &bot.AlertingConfig{TriageChannel: triageChannel} // SEV3 and SEV4 alerts wait in triage
		ac.Reminders = bot.DefaultReminderConfig()                      // SEV1: every 30 min
		ac.Runbooks = &runbooks.RunsConfig{Catalog: cat, Executor: runbooks.NewExecutors(runbooks.Options{WorkDir: h.runbookDir})}
		ac.Postmortem = &bot.PostmortemConfig{Drafter: &postmortem.Drafter{Store: ac.Store, Directory: ac.Directory, Now: ac.Service.Now},
			Publisher: exp}
	}, func(edge *slackchat.Inbound, sitrep *app.App) { edge.Runbooks = sitrep.Runs.Catalog() })
	h.runs = h.sitrep.Runs
	t.Cleanup(h.runs.Wait)
	h.fake.AddChannel(slackfake.Channel{ID: triageChannel, Name: "triage"})
	h.fake.AddUserGroup("SONCALL", "UAPPROVER")
	h.svc.OnCommit(func() {}) // deliveries are drained by the tests
	return h
}

// writeFeatureRunbooks writes the test runbooks and their script into dir
// and loads them.
func writeFeatureRunbooks(t *testing.T, dir string) *runbooks.Catalog {
	t.Helper()
	files := map[string]string{"record.sh": "printf '%s %s\\n' \"$1\" \"$2\" >> runs.log\nprintf 'did %s\\n' \"$2\"\n"}
	for name, body := range featureRunbooks {
		files[name] = body
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cat, err := runbooks.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

// button is an interactive element of a message the bot sent.
type button struct {
	ActionID, Value, Text string
}

// buttonsOf reads the buttons of a message's blocks, as Slack shows them.
func buttonsOf(t *testing.T, blocks json.RawMessage) []button {
	t.Helper()
	bs, err := slackfake.ActionsBlocks(blocks)
	if err != nil {
		t.Fatalf("blocks: %v in %s", err, blocks)
	}
	var out []button
	for _, b := range bs {
		ids := map[string]bool{}
		for _, e := range b.Elements {
			if ids[e.ActionID] {
				t.Errorf("action_id %q twice in one block: Block Kit wants them unique", e.ActionID)
			}
			ids[e.ActionID] = true
			out = append(out, button{ActionID: e.ActionID, Value: e.Value, Text: e.Text})
		}
	}
	return out
}

// buttonNamed finds the button with this neutral action (and, when value is
// not "", this value).
func buttonNamed(t *testing.T, buttons []button, action, value string) button {
	t.Helper()
	for _, b := range buttons {
		id, _, _ := strings.Cut(b.ActionID, "#")
		if id == action && (value == "" || b.Value == value) {
			return b
		}
	}
	t.Fatalf("no %s button (value %q) among %+v", action, value, buttons)
	return button{}
}

// press clicks b on the message at ts in channel and waits for the work
// after the acknowledgement.
func (h *featureHarness) press(user, channel, ts string, ephemeral bool, b button, trigger string) {
	h.t.Helper()
	p := slackfake.BlockActions(slackfake.ButtonClick{UserID: user, UserName: "someone", ChannelID: channel, MessageTS: ts,
		Ephemeral: ephemeral, ActionID: b.ActionID, BlockID: slackchat.BlockActions, Value: b.Value, ButtonText: b.Text,
		TriggerID: trigger, ResponseURL: h.fake.ResponseURL(channel, user)}, time.Now())
	if status, body := h.interact(p); status != http.StatusOK {
		h.t.Fatalf("click %s: %d %s", b.ActionID, status, body)
	}
	h.app.Wait()
}

// submitForm submits a modal the bot opened with these field values and
// returns the acknowledgement body (empty: the modal closes).
func (h *featureHarness) submitForm(user string, view slackfake.View, fields map[string]string) map[string]any {
	h.t.Helper()
	values := map[string]map[string]slackfake.InputValue{}
	for block, v := range fields {
		values[block] = map[string]slackfake.InputValue{"value": slackfake.PlainTextInput(v)}
	}
	status, body := h.interact(slackfake.ViewSubmission(slackfake.Submission{UserID: user, ViewID: view.ID,
		CallbackID: view.CallbackID, PrivateMetadata: view.PrivateMetadata, Values: values}, time.Now()))
	if status != http.StatusOK {
		h.t.Fatalf("submit %s: %d %s", view.CallbackID, status, body)
	}
	h.app.Wait()
	return jsonAnswer(h.t, "submission", body)
}

// fieldErrors is the errors map of a response_action "errors" answer.
func fieldErrors(t *testing.T, out map[string]any) map[string]string {
	t.Helper()
	if out["response_action"] != "errors" {
		t.Fatalf("want response_action errors, got %v", out)
	}
	errs := map[string]string{}
	for k, v := range out["errors"].(map[string]any) {
		errs[k], _ = v.(string)
	}
	return errs
}

// lastEphemeral is the newest ephemeral message to user in channel.
func (h *featureHarness) lastEphemeral(channel, user string) slackfake.Ephemeral {
	h.t.Helper()
	eph := h.fake.Ephemerals(channel)
	for i := len(eph) - 1; i >= 0; i-- {
		if eph[i].User == user {
			return eph[i]
		}
	}
	h.t.Fatalf("no ephemeral message to %s in %s (all: %+v)", user, channel, eph)
	return slackfake.Ephemeral{}
}

// messageWith is the message in channel whose text contains substr.
func (h *featureHarness) messageWith(channel, substr string) slackfake.Message {
	h.t.Helper()
	for _, m := range h.fake.Messages(channel) {
		if strings.Contains(m.Text, substr) {
			return m
		}
	}
	var texts []string
	for _, m := range h.fake.Messages(channel) {
		texts = append(texts, m.Text)
	}
	h.t.Fatalf("no message with %q in %s: %q", substr, channel, texts)
	return slackfake.Message{}
}

// card is the incident card as Slack shows it now.
func (h *featureHarness) card(inc bot.Incident) slackfake.Message {
	h.t.Helper()
	inc = h.incident(inc.ID)
	m, ok := h.fake.Message(inc.ChannelID, inc.CardTS)
	if !ok {
		h.t.Fatalf("no card of %s in Slack", inc.Key())
	}
	return m
}

// runLog is what the test runbooks executed, one line a step.
func (h *featureHarness) runLog() string {
	b, err := os.ReadFile(filepath.Join(h.runbookDir, "runs.log"))
	if os.IsNotExist(err) {
		return ""
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return string(b)
}

// settle delivers the outbox, lets started runs finish, and delivers what
// they queued.
func (h *featureHarness) settle() {
	h.t.Helper()
	h.drain()
	h.runs.Wait()
	h.drain()
}

func (h *featureHarness) run(id int64) bot.RunbookRun {
	h.t.Helper()
	run, err := h.db.RunbookRun(context.Background(), id)
	if err != nil {
		h.t.Fatal(err)
	}
	return run
}

// requestRun requests a runbook with the slash command, delivers the outbox
// and returns the run with its approval card posted.
func (h *featureHarness) requestRun(user string, inc bot.Incident, args string) bot.RunbookRun {
	h.t.Helper()
	status, out := h.command(user, inc.ChannelID, "run "+args)
	if text, _ := out["text"].(string); status != http.StatusOK || !strings.Contains(text, "requested") {
		h.t.Fatalf("/incident run %s: %d %v", args, status, out)
	}
	h.drain()
	runs, err := h.db.RunbookRuns(context.Background(), bot.RunbookRunFilter{IncidentID: inc.ID})
	if err != nil || len(runs) == 0 {
		h.t.Fatalf("no run after /incident run: %v", err)
	}
	run := runs[len(runs)-1]
	if run.CardTS == "" {
		h.t.Fatalf("%s has no approval card", run.Key())
	}
	return run
}

// triaged opens an incident from a SEV3 alert, which waits in triage, and
// returns it with its triage message.
func (h *featureHarness) triaged(title string) (bot.Incident, slackfake.Message) {
	h.t.Helper()
	out, err := h.svc.IngestAlert(context.Background(), bot.Alert{Source: "grafana", DedupKey: title, Title: title,
		Firing: true, Severity: bot.SEV3})
	if err != nil {
		h.t.Fatal(err)
	}
	h.drain()
	inc := h.incident(out.Incident.ID)
	if inc.ChannelID != "" {
		h.t.Fatalf("%s skipped triage: channel %s", inc.Key(), inc.ChannelID)
	}
	return inc, h.messageWith(triageChannel, inc.Key())
}

func TestSlackFeatures_RunMenuShowsRunbookButtons(t *testing.T) {
	h := newFeatureHarness(t)
	inc := h.declared("U1", "Platform API returning 500")
	events := len(h.timeline(inc.ID))

	h.press("U1", inc.ChannelID, inc.CardTS, false, buttonNamed(t, buttonsOf(t, h.card(inc).Blocks), bot.ActionRunMenu, ""), "menu-trigger")

	menu := h.lastEphemeral(inc.ChannelID, "U1")
	if !strings.Contains(menu.Text, "Runbooks for INC-1") || !strings.Contains(menu.Text, "/incident run scale [group=…] capacity=…") {
		t.Errorf("menu fallback text: %q", menu.Text)
	}
	buttons := buttonsOf(t, menu.Blocks) // also checks the action_ids are unique
	if len(buttons) != len(featureRunbooks) {
		t.Fatalf("menu buttons: %+v, want one per runbook", buttons)
	}
	for _, name := range []string{"gated", "probe", "scale"} {
		b := buttonNamed(t, buttons, runbooks.ActionRunRunbook, fmt.Sprintf("%d:%s", inc.ID, name))
		if b.Text != "Run "+name {
			t.Errorf("button of %s: %+v", name, b)
		}
	}
	if strings.Contains(string(menu.Blocks), `"*  `) {
		t.Errorf("a field label starts with spaces inside its bold asterisks: %s", menu.Blocks)
	}
	if n := len(h.timeline(inc.ID)); n != events {
		t.Errorf("showing the menu changed the timeline: %d → %d events", events, n)
	}
	if got := h.fake.Views(); len(got) != 0 {
		t.Errorf("the menu opened a modal: %+v", got)
	}

	// On a card of a resolved incident the button is gone; a stale click is
	// refused to the clicker alone.
	h.press("U1", inc.ChannelID, inc.CardTS, false, button{ActionID: bot.ActionRunMenu, Value: "99"}, "")
	if eph := h.lastEphemeral(inc.ChannelID, "U1"); !strings.Contains(eph.Text, "INC-99") || len(eph.Blocks) > 0 && len(buttonsOf(t, eph.Blocks)) > 0 {
		t.Errorf("menu of a missing incident: %+v", eph)
	}
}

// TestSlackFeatures_RunRunbookWithoutParams clicks a menu button (not the
// first of its kind in the block, so its action_id carries the "#n"
// suffix) for a runbook with no parameters: it runs at once.
func TestSlackFeatures_RunRunbookWithoutParams(t *testing.T) {
	h := newFeatureHarness(t)
	inc := h.declared("U1", "Platform API returning 500")
	h.press("U1", inc.ChannelID, inc.CardTS, false, button{ActionID: bot.ActionRunMenu, Value: fmt.Sprint(inc.ID)}, "")
	menu := h.lastEphemeral(inc.ChannelID, "U1")
	probe := buttonNamed(t, buttonsOf(t, menu.Blocks), runbooks.ActionRunRunbook, fmt.Sprintf("%d:probe", inc.ID))
	if !strings.Contains(probe.ActionID, "#") {
		t.Fatalf("want the probe button to repeat the action id with a suffix: %+v", probe)
	}

	h.press("U1", inc.ChannelID, menu.TS, true, probe, "probe-trigger")
	if views := h.fake.Views(); len(views) != 0 {
		t.Fatalf("a runbook without parameters opened a form: %+v", views)
	}
	if eph := h.lastEphemeral(inc.ChannelID, "U1"); !strings.Contains(eph.Text, "RUN-1 requested: probe runs now") {
		t.Errorf("requester told: %q", eph.Text)
	}
	h.settle()
	if got := h.runLog(); got != "probe ok\n" {
		t.Errorf("runs.log = %q", got)
	}
	run := h.run(1)
	if run.State != bot.RunSucceeded || run.RequestedBy != "U1" {
		t.Errorf("run: %s requested by %q", run.State, run.RequestedBy)
	}
	card, ok := h.fake.Message(inc.ChannelID, run.CardTS)
	if !ok || !strings.Contains(card.Text, "succeeded") {
		t.Errorf("run card: %q", card.Text)
	}
	if evs := eventsOf(h.timeline(inc.ID), bot.KindRunbookSucceeded); len(evs) != 1 {
		t.Errorf("succeeded events: %+v", evs)
	}
}

func TestSlackFeatures_RunRunbookParamsForm(t *testing.T) {
	h := newFeatureHarness(t)
	inc := h.declared("U1", "Platform API returning 500")
	value := fmt.Sprintf("%d:scale", inc.ID)
	h.press("U1", inc.ChannelID, "1700000000.000900", true, button{ActionID: runbooks.ActionRunRunbook, Value: value}, "scale-trigger")

	views := h.fake.Views()
	if len(views) != 1 || views[0].CallbackID != "sitrep.run_runbook" || views[0].TriggerID != "scale-trigger" {
		t.Fatalf("form: %+v", views)
	}
	form := views[0]
	var view struct {
		Blocks []struct {
			BlockID  string `json:"block_id"`
			Optional bool   `json:"optional"`
			Label    struct{ Text string }
			Hint     struct{ Text string }
			Element  struct {
				InitialValue string `json:"initial_value"`
			} `json:"element"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(form.Raw, &view); err != nil {
		t.Fatal(err)
	}
	fields := map[string]int{}
	for i, b := range view.Blocks {
		fields[b.BlockID] = i
	}
	group, capacity := view.Blocks[fields["param-group"]], view.Blocks[fields["param-capacity"]]
	if group.Label.Text != "group" || !group.Optional || group.Element.InitialValue != "api-gateway-pool" ||
		!strings.Contains(group.Hint.Text, "[a-z][a-z0-9-]{0,40}") {
		t.Errorf("group field: %+v", group)
	}
	if capacity.Label.Text != "capacity" || capacity.Optional || !strings.Contains(capacity.Hint.Text, "[1-9][0-9]{0,2}") ||
		!strings.Contains(capacity.Hint.Text, "New desired capacity.") {
		t.Errorf("capacity field: %+v", capacity)
	}
	h.assertNoRun(inc)

	// Bad values are named under their fields; nothing is stored.
	errs := fieldErrors(t, h.submitForm("U1", form, map[string]string{"param-group": "API;reboot", "param-capacity": "$(id)"}))
	if !strings.Contains(errs["param-capacity"], "does not match") || !strings.Contains(errs["param-capacity"], "[1-9][0-9]{0,2}") ||
		!strings.Contains(errs["param-group"], "does not match") || len(errs) != 2 {
		t.Errorf("field errors: %v", errs)
	}
	errs = fieldErrors(t, h.submitForm("U1", form, map[string]string{"param-group": "edge-pool"}))
	if !strings.Contains(errs["param-capacity"], "required") {
		t.Errorf("missing capacity: %v", errs)
	}
	h.assertNoRun(inc)

	// Good values: the run is requested (group empty: its default) and its
	// approval card posted in the channel.
	if out := h.submitForm("U1", form, map[string]string{"param-group": "", "param-capacity": "12"}); len(out) != 0 {
		t.Fatalf("valid submission: %v (an empty answer closes the form)", out)
	}
	if eph := h.lastEphemeral(inc.ChannelID, "U1"); !strings.Contains(eph.Text, "RUN-1 requested: scale waits for approval") {
		t.Errorf("requester told: %q", eph.Text)
	}
	h.drain()
	run := h.run(1)
	if run.State != bot.RunRequested || run.Params["capacity"] != "12" || run.Params["group"] != "" ||
		!strings.Contains(run.Steps[0].Display, "api-gateway-pool 12") {
		t.Errorf("run: state %s params %v step %q", run.State, run.Params, run.Steps[0].Display)
	}
	card, _ := h.fake.Message(inc.ChannelID, run.CardTS)
	buttonNamed(t, buttonsOf(t, card.Blocks), runbooks.ActionApproveRun, "1")
	if evs := eventsOf(h.timeline(inc.ID), bot.KindRunbookRequested); len(evs) != 1 || evs[0].Actor != "U1" {
		t.Errorf("requested events: %+v", evs)
	}
	if got := h.runLog(); got != "" {
		t.Errorf("ran before approval: %q", got)
	}

	// A trigger Slack no longer accepts: the clicker is told the command.
	h.fake.ExpireTrigger("late-trigger")
	h.press("U1", inc.ChannelID, "1700000000.000900", true, button{ActionID: runbooks.ActionRunRunbook, Value: value}, "late-trigger")
	if eph := h.lastEphemeral(inc.ChannelID, "U1"); !strings.Contains(eph.Text, "Use /incident run scale [group=…] capacity=… instead") {
		t.Errorf("after a refused views.open: %q", eph.Text)
	}
}

// TestSlackFeatures_RunRunbookWithoutCatalog: an edge not given the
// runbooks (Slack.Runbooks nil) cannot ask for parameters; the click
// requests the run at once, and a missing required value is refused to the
// clicker with the command to type instead.
func TestSlackFeatures_RunRunbookWithoutCatalog(t *testing.T) {
	h := newFeatureHarness(t)
	h.app.Runbooks = nil
	inc := h.declared("U1", "Platform API returning 500")
	h.press("U1", inc.ChannelID, "1700000000.000900", true, button{ActionID: runbooks.ActionRunRunbook, Value: fmt.Sprintf("%d:scale", inc.ID)}, "")
	if views := h.fake.Views(); len(views) != 0 {
		t.Errorf("a form opened without the catalog: %+v", views)
	}
	if eph := h.lastEphemeral(inc.ChannelID, "U1"); !strings.Contains(eph.Text, `param "capacity": is required`) ||
		!strings.Contains(eph.Text, "Usage: /incident run scale") {
		t.Errorf("clicker told: %q", eph.Text)
	}
	h.assertNoRun(inc)
}

func (h *featureHarness) assertNoRun(inc bot.Incident) {
	h.t.Helper()
	runs, err := h.db.RunbookRuns(context.Background(), bot.RunbookRunFilter{IncidentID: inc.ID})
	if err != nil {
		h.t.Fatal(err)
	}
	if len(runs) != 0 || len(eventsOf(h.timeline(inc.ID), bot.KindRunbookRequested)) != 0 {
		h.t.Errorf("a run was stored: %+v", runs)
	}
}

func TestSlackFeatures_ApproveRunUpdatesCardInPlace(t *testing.T) {
	h := newFeatureHarness(t)
	inc := h.declared("U1", "Platform API returning 500")
	run := h.requestRun("U1", inc, "scale capacity=12")
	card, _ := h.fake.Message(inc.ChannelID, run.CardTS)
	approve := buttonNamed(t, buttonsOf(t, card.Blocks), runbooks.ActionApproveRun, fmt.Sprint(run.ID))
	cardsBefore := len(h.fake.Messages(inc.ChannelID))

	h.press("UAPPROVER", inc.ChannelID, run.CardTS, false, approve, "") // a member of the approving group SONCALL
	if eph := h.lastEphemeral(inc.ChannelID, "UAPPROVER"); !strings.Contains(eph.Text, "Approved RUN-1 (scale)") {
		t.Errorf("approver told: %q", eph.Text)
	}
	h.settle()
	if got := h.runLog(); got != "api-gateway-pool 12\n" {
		t.Errorf("runs.log = %q", got)
	}
	card, _ = h.fake.Message(inc.ChannelID, run.CardTS)
	if !card.Updated() || !strings.Contains(card.Text, "succeeded") || !strings.Contains(card.Text, "Approved by: <@UAPPROVER>") {
		t.Errorf("card after approval: updated=%v %q", card.Updated(), card.Text)
	}
	if b := buttonsOf(t, card.Blocks); len(b) != 0 {
		t.Errorf("the decided card still offers buttons: %+v", b)
	}
	var cards int
	for _, m := range h.fake.Messages(inc.ChannelID)[cardsBefore:] {
		if strings.Contains(m.Text, "RUN-1 · scale") {
			cards++
		}
	}
	if cards != 0 {
		t.Errorf("the card was posted again (%d) instead of updated in place", cards)
	}
	if evs := eventsOf(h.timeline(inc.ID), bot.KindRunbookApproved); len(evs) != 1 || evs[0].Actor != "UAPPROVER" {
		t.Errorf("approved events: %+v", evs)
	}

	// A second click (Slack retry, double click) changes nothing.
	h.press("UAPPROVER", inc.ChannelID, run.CardTS, false, approve, "")
	if eph := h.lastEphemeral(inc.ChannelID, "UAPPROVER"); !strings.Contains(eph.Text, "already approved") {
		t.Errorf("second approval: %q", eph.Text)
	}
	h.settle()
	if got := h.runLog(); got != "api-gateway-pool 12\n" {
		t.Errorf("ran twice: %q", got)
	}
}

// TestSlackFeatures_ApproverNotAllowed: the server decides who may approve;
// refusals reach the clicker alone, go on the timeline, and start nothing.
func TestSlackFeatures_ApproverNotAllowed(t *testing.T) {
	h := newFeatureHarness(t)
	inc := h.declared("U1", "Platform API returning 500")
	run := h.requestRun("U1", inc, "scale capacity=12")
	approve := button{ActionID: runbooks.ActionApproveRun, Value: fmt.Sprint(run.ID), Text: "Approve"}
	cardBefore, _ := h.fake.Message(inc.ChannelID, run.CardTS)

	h.press("UOUTSIDER", inc.ChannelID, run.CardTS, false, approve, "")
	eph := h.lastEphemeral(inc.ChannelID, "UOUTSIDER")
	if !strings.Contains(eph.Text, "you are not an approver of RUN-1") {
		t.Errorf("refusal: %q", eph.Text)
	}
	for _, other := range h.fake.Ephemerals(inc.ChannelID) {
		if other.User != "UOUTSIDER" && strings.Contains(other.Text, "not an approver") {
			t.Errorf("the refusal was shown to %s too", other.User)
		}
	}
	h.settle()
	if got := h.run(run.ID); got.State != bot.RunRequested || got.DecidedBy != "" {
		t.Errorf("after a refused approval: %s decided by %q", got.State, got.DecidedBy)
	}
	if got := h.runLog(); got != "" {
		t.Errorf("a refused approval ran the steps: %q", got)
	}
	refused := eventsOf(h.timeline(inc.ID), bot.KindRunbookApprovalRefused)
	if len(refused) != 1 || refused[0].Actor != "UOUTSIDER" {
		t.Errorf("refusal events: %+v", refused)
	}
	if card, _ := h.fake.Message(inc.ChannelID, run.CardTS); len(card.Versions) != len(cardBefore.Versions) {
		t.Errorf("a refused approval redrew the card: %q", card.Text)
	}

	// Two-person: the requester cannot approve their own request, even
	// when listed.
	gated := h.requestRun("UREQ", inc, "gated")
	h.press("UREQ", inc.ChannelID, gated.CardTS, false, button{ActionID: runbooks.ActionApproveRun, Value: fmt.Sprint(gated.ID)}, "")
	if eph := h.lastEphemeral(inc.ChannelID, "UREQ"); !strings.Contains(eph.Text, "needs two people") {
		t.Errorf("own approval: %q", eph.Text)
	}
	h.settle()
	if got := h.run(gated.ID); got.State != bot.RunRequested || h.runLog() != "" {
		t.Errorf("own approval started %s: %q", got.State, h.runLog())
	}
}

func TestSlackFeatures_DenyRun(t *testing.T) {
	h := newFeatureHarness(t)
	inc := h.declared("U1", "Platform API returning 500")
	run := h.requestRun("U1", inc, "scale capacity=12")
	card, _ := h.fake.Message(inc.ChannelID, run.CardTS)
	deny := buttonNamed(t, buttonsOf(t, card.Blocks), runbooks.ActionDenyRun, fmt.Sprint(run.ID))

	h.press("UOUTSIDER", inc.ChannelID, run.CardTS, false, deny, "")
	if eph := h.lastEphemeral(inc.ChannelID, "UOUTSIDER"); !strings.Contains(eph.Text, "not an approver") {
		t.Errorf("outsider's denial: %q", eph.Text)
	}
	h.press("UAPPROVER", inc.ChannelID, run.CardTS, false, deny, "")
	if eph := h.lastEphemeral(inc.ChannelID, "UAPPROVER"); !strings.Contains(eph.Text, "Denied RUN-1 (scale): nothing runs") {
		t.Errorf("approver told: %q", eph.Text)
	}
	h.settle()
	card, _ = h.fake.Message(inc.ChannelID, run.CardTS)
	if !card.Updated() || !strings.Contains(card.Text, "denied") || len(buttonsOf(t, card.Blocks)) != 0 {
		t.Errorf("card after the denial: updated=%v %q", card.Updated(), card.Text)
	}
	if got := h.runLog(); got != "" {
		t.Errorf("a denied run ran: %q", got)
	}
	if evs := eventsOf(h.timeline(inc.ID), bot.KindRunbookDenied); len(evs) != 1 || evs[0].Actor != "UAPPROVER" {
		t.Errorf("denied events: %+v", evs)
	}
}

func TestSlackFeatures_TriageAccept(t *testing.T) {
	h := newFeatureHarness(t)
	inc, msg := h.triaged("Disk 85% on db-3")
	accept := buttonNamed(t, buttonsOf(t, msg.Blocks), bot.ActionTriageAccept, fmt.Sprint(inc.ID))
	buttonNamed(t, buttonsOf(t, msg.Blocks), bot.ActionTriageDecline, fmt.Sprint(inc.ID))

	h.press("U2", triageChannel, msg.TS, false, accept, "")
	if views := h.fake.Views(); len(views) != 0 {
		t.Errorf("accept opened a form: %+v", views)
	}
	if eph := h.fake.Ephemerals(triageChannel); len(eph) != 0 {
		t.Errorf("an accepted click was answered apart from the triage message: %+v", eph)
	}
	h.drain()
	got := h.incident(inc.ID)
	if got.ChannelID == "" || got.Commander != "U2" {
		t.Fatalf("after Accept: channel %q commander %q", got.ChannelID, got.Commander)
	}
	if members := h.fake.Members(got.ChannelID); !strings.Contains(strings.Join(members, ","), "U2") {
		t.Errorf("the acceptor was not invited: %v", members)
	}
	redrawn, _ := h.fake.Message(triageChannel, msg.TS)
	if !redrawn.Updated() || !strings.Contains(redrawn.Text, "accepted by <@U2>") || len(buttonsOf(t, redrawn.Blocks)) != 0 {
		t.Errorf("triage message after Accept: updated=%v %q", redrawn.Updated(), redrawn.Text)
	}
	if evs := eventsOf(h.timeline(inc.ID), bot.KindTriage); len(evs) != 2 || evs[1].Actor != "U2" {
		t.Errorf("triage events: %+v", evs)
	}

	// A late second click is refused to the clicker alone.
	h.press("U3", triageChannel, msg.TS, false, accept, "")
	if eph := h.lastEphemeral(triageChannel, "U3"); !strings.Contains(eph.Text, "already accepted by <@U2>") {
		t.Errorf("second accept: %q", eph.Text)
	}
}

func TestSlackFeatures_TriageDeclineAsksWhy(t *testing.T) {
	h := newFeatureHarness(t)
	inc, msg := h.triaged("Disk 85% on db-3")
	decline := buttonNamed(t, buttonsOf(t, msg.Blocks), bot.ActionTriageDecline, fmt.Sprint(inc.ID))

	h.press("U2", triageChannel, msg.TS, false, decline, "decline-trigger")
	views := h.fake.Views()
	if len(views) != 1 || views[0].CallbackID != "sitrep.triage_decline" || views[0].TriggerID != "decline-trigger" {
		t.Fatalf("decline form: %+v", views)
	}
	if got := h.incident(inc.ID); got.Status == bot.StatusResolved {
		t.Fatal("the click declined before the form was submitted")
	}

	if out := h.submitForm("U2", views[0], map[string]string{"reason": "known flapping check, OPS-123"}); len(out) != 0 {
		t.Fatalf("submit: %v", out)
	}
	got := h.incident(inc.ID)
	triage, err := h.db.AlertTriage(context.Background(), inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != bot.StatusResolved || triage.State != bot.TriageDeclined || triage.Reason != "known flapping check, OPS-123" || triage.DecidedBy != "U2" {
		t.Errorf("after the decline: status %s triage %+v", got.Status, triage)
	}
	evs := eventsOf(h.timeline(inc.ID), bot.KindTriage)
	if last := evs[len(evs)-1]; last.Actor != "U2" || !strings.Contains(last.Text, "known flapping check, OPS-123") {
		t.Errorf("timeline: %+v", last)
	}
	h.drain()
	redrawn, _ := h.fake.Message(triageChannel, msg.TS)
	if !redrawn.Updated() || !strings.Contains(redrawn.Text, "declined by <@U2>: known flapping check") {
		t.Errorf("triage message after Decline: %q", redrawn.Text)
	}
	if got.ChannelID != "" {
		t.Errorf("a declined alert got a channel: %s", got.ChannelID)
	}

	// The same form submitted again (or after someone else decided) is
	// refused inside the form.
	errs := fieldErrors(t, h.submitForm("U3", views[0], map[string]string{"reason": "again"}))
	if !strings.Contains(errs["reason"], "already declined") {
		t.Errorf("second decline: %v", errs)
	}
}

func TestSlackFeatures_SnoozeReminder(t *testing.T) {
	h := newFeatureHarness(t)
	if status, out := h.command("U1", "CGENERAL", "declare --sev1 Checkout failing"); status != http.StatusOK {
		t.Fatalf("declare: %v", out)
	}
	h.drain()
	incs, _ := h.db.Incidents(context.Background(), bot.IncidentFilter{})
	inc := incs[0]

	h.skew.Store(int64(31 * time.Minute)) // the SEV1 reminder (30 min) is due
	h.drain()
	reminder := h.messageWith(inc.ChannelID, "has had no status update")
	snooze := buttonNamed(t, buttonsOf(t, reminder.Blocks), bot.ActionSnoozeReminder, fmt.Sprint(inc.ID))
	buttonNamed(t, buttonsOf(t, reminder.Blocks), bot.ActionPostUpdate, fmt.Sprint(inc.ID))

	h.press("U1", inc.ChannelID, reminder.TS, false, snooze, "")
	if eph := h.lastEphemeral(inc.ChannelID, "U1"); !strings.Contains(eph.Text, "INC-1: reminders snoozed for 30 min") {
		t.Errorf("snoozer told: %q", eph.Text)
	}
	if evs := eventsOf(h.timeline(inc.ID), bot.KindReminderSnoozed); len(evs) != 1 || evs[0].Actor != "U1" {
		t.Errorf("snoozed events: %+v", evs)
	}

	// Snoozing a resolved incident is refused.
	h.command("U1", inc.ChannelID, "resolve")
	h.press("U1", inc.ChannelID, reminder.TS, false, snooze, "")
	if eph := h.lastEphemeral(inc.ChannelID, "U1"); !strings.Contains(eph.Text, "resolved; there are no reminders to snooze") {
		t.Errorf("snooze after resolve: %q", eph.Text)
	}
	if evs := eventsOf(h.timeline(inc.ID), bot.KindReminderSnoozed); len(evs) != 1 {
		t.Errorf("a refused snooze was recorded: %+v", evs)
	}
}

func TestSlackFeatures_DraftAndExportPostmortem(t *testing.T) {
	h := newFeatureHarness(t)
	inc := h.declared("U1", "Platform API returning 500")
	h.command("U1", inc.ChannelID, "followup Alert on config reloads @U2")
	h.command("U1", inc.ChannelID, "resolve gateway config rolled back")
	h.drain()

	draft := buttonNamed(t, buttonsOf(t, h.card(inc).Blocks), bot.ActionDraftPostmortem, fmt.Sprint(inc.ID))
	h.press("U1", inc.ChannelID, inc.CardTS, false, draft, "")
	if eph := h.lastEphemeral(inc.ChannelID, "U1"); !strings.Contains(eph.Text, "Drafted the postmortem of INC-1") {
		t.Errorf("drafter told: %q", eph.Text)
	}
	h.drain()
	uploads := h.fake.Uploads()
	if len(uploads) != 1 || uploads[0].Filename != "INC-1-postmortem.md" || !strings.Contains(string(uploads[0].Content), "Alert on config reloads") {
		t.Fatalf("uploads: %+v", uploads)
	}
	if evs := eventsOf(h.timeline(inc.ID), bot.KindPostmortemDrafted); len(evs) != 1 || evs[0].Actor != "U1" {
		t.Errorf("drafted events: %+v", evs)
	}

	draftMsg := h.messageWith(inc.ChannelID, "Postmortem draft of INC-1")
	export := buttonNamed(t, buttonsOf(t, draftMsg.Blocks), bot.ActionExportPostmortem, fmt.Sprint(inc.ID))
	h.press("U1", inc.ChannelID, draftMsg.TS, false, export, "")
	if eph := h.lastEphemeral(inc.ChannelID, "U1"); !strings.Contains(eph.Text, "Exporting the postmortem of INC-1 to acme/postmortems") {
		t.Errorf("exporter told: %q", eph.Text)
	}
	h.drain()
	if prs := h.gh.PullRequests(); len(prs) != 1 {
		t.Fatalf("pull requests: %+v", prs)
	}
	if issues := h.gh.Issues(); len(issues) != 1 {
		t.Errorf("follow-up issues: %+v", issues)
	}
	h.messageWith(inc.ChannelID, "Postmortem of INC-1 exported to acme/postmortems: https://github.com/acme/postmortems/pull/")
	if evs := eventsOf(h.timeline(inc.ID), bot.KindPostmortemExported); len(evs) != 1 {
		t.Errorf("exported events: %+v", evs)
	}

	// GitHub refusing the token: the channel is told what to fix.
	h.gh.Fail(ghfake.RoutePutContents, ghfake.BadCredentials().Repeat(ghfake.Always))
	h.press("U1", inc.ChannelID, draftMsg.TS, false, export, "")
	h.drain()
	if m := h.fake.Messages(inc.ChannelID); !strings.Contains(m[len(m)-1].Text, "GITHUB_TOKEN") {
		t.Errorf("after a refused export: %q", m[len(m)-1].Text)
	}
}

// TestSlackFeatures_SlashCommands runs the features' commands as typed in
// Slack, through svc.Execute.
func TestSlackFeatures_SlashCommands(t *testing.T) {
	h := newFeatureHarness(t)
	inc := h.declared("U1", "Platform API returning 500")
	say := func(user, channel, text string) string {
		t.Helper()
		status, out := h.command(user, channel, text)
		msg, _ := out["text"].(string)
		if status != http.StatusOK || msg == "" {
			t.Fatalf("%q: %d %v", text, status, out)
		}
		return msg
	}

	t.Run("Runbooks", func(t *testing.T) {
		_, out := h.command("U1", inc.ChannelID, "runbooks")
		raw, _ := json.Marshal(out["blocks"])
		buttonNamed(t, buttonsOf(t, raw), runbooks.ActionRunRunbook, fmt.Sprintf("%d:scale", inc.ID))
		if text, _ := out["text"].(string); !strings.Contains(text, "/incident run scale") || out["response_type"] != "ephemeral" {
			t.Errorf("runbooks: %v", out)
		}
		if _, out = h.command("U1", "CGENERAL", "runbooks"); out["blocks"] != nil {
			t.Errorf("outside an incident the list has no run buttons: %v", out["blocks"])
		}
	})
	t.Run("Run", func(t *testing.T) {
		if msg := say("U1", inc.ChannelID, "run scale capacity=1000"); !strings.Contains(msg, `param "capacity"`) {
			t.Errorf("bad value: %q", msg)
		}
		if msg := say("U1", inc.ChannelID, "run scale capacity=7 --dry-run"); !strings.Contains(msg, "nothing was run") {
			t.Errorf("dry run: %q", msg)
		}
		h.assertNoRun(inc)
		if msg := say("U1", inc.ChannelID, "run probe"); !strings.Contains(msg, "RUN-1 requested: probe runs now") {
			t.Errorf("run: %q", msg)
		}
		h.settle()
		if h.runLog() != "probe ok\n" {
			t.Errorf("runs.log = %q", h.runLog())
		}
	})
	t.Run("FollowupAndImpact", func(t *testing.T) {
		if msg := say("U1", inc.ChannelID, "followup Alert on config reloads <@U2|bo>"); !strings.Contains(msg, "owner <@U2>") {
			t.Errorf("followup: %q", msg)
		}
		fs, _ := h.db.FollowUps(context.Background(), inc.ID)
		if len(fs) != 1 || fs[0].Owner != "U2" || fs[0].Text != "Alert on config reloads" {
			t.Errorf("follow-ups: %+v", fs)
		}
		start := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
		if msg := say("U1", inc.ChannelID, "impact start "+start.Format(time.RFC3339)); !strings.Contains(msg, "Impact start of INC-1") {
			t.Errorf("impact: %q", msg)
		}
		if msg := say("U1", inc.ChannelID, "impact start 25:99"); !strings.Contains(msg, "Usage: /incident impact") {
			t.Errorf("bad impact time: %q", msg)
		}
		if evs := eventsOf(h.timeline(inc.ID), bot.KindImpactSet); len(evs) != 1 || !evs[0].OccurredAt.Equal(start) {
			t.Errorf("impact events: %+v", evs)
		}
	})
	t.Run("PostmortemAndExport", func(t *testing.T) {
		if msg := say("U1", inc.ChannelID, "postmortem"); !strings.Contains(msg, "Drafted the postmortem of INC-1") {
			t.Errorf("postmortem: %q", msg)
		}
		if msg := say("U1", inc.ChannelID, "export"); !strings.Contains(msg, "Exporting") {
			t.Errorf("export: %q", msg)
		}
		h.drain()
		if len(h.fake.Uploads()) != 1 || len(h.gh.PullRequests()) != 1 {
			t.Errorf("uploads %d, pull requests %d", len(h.fake.Uploads()), len(h.gh.PullRequests()))
		}
	})
	t.Run("AcceptDeclineFromTheTriageChannel", func(t *testing.T) {
		accepted, _ := h.triaged("Disk 85% on db-3")
		declined, _ := h.triaged("Disk 90% on db-4")
		if msg := say("U2", triageChannel, "accept"); !strings.Contains(msg, "not an incident channel") {
			t.Errorf("accept without an incident: %q", msg)
		}
		if msg := say("U2", triageChannel, "INC-x accept"); !strings.Contains(msg, "not an incident id") {
			t.Errorf("bad incident key: %q", msg)
		}
		say("U2", triageChannel, accepted.Key()+" accept")
		say("U3", triageChannel, strings.ToLower(declined.Key())+" decline duplicate of "+accepted.Key())
		h.drain()
		if got := h.incident(accepted.ID); got.ChannelID == "" || got.Commander != "U2" {
			t.Errorf("accepted: channel %q commander %q", got.ChannelID, got.Commander)
		}
		tr, _ := h.db.AlertTriage(context.Background(), declined.ID)
		if tr.State != bot.TriageDeclined || tr.Reason != "duplicate of "+accepted.Key() || tr.DecidedBy != "U3" {
			t.Errorf("declined: %+v", tr)
		}
	})
}

// TestSlackFeatures_ApproveAcksWhileSlackIsSlow: deciding who may approve
// asks Slack for the user group's members; with Slack taking 5 s, the click
// is still acknowledged within Slack's 3 s and the approval completes after.
func TestSlackFeatures_ApproveAcksWhileSlackIsSlow(t *testing.T) {
	h := newFeatureHarness(t)
	inc := h.declared("U1", "Platform API returning 500")
	run := h.requestRun("U1", inc, "scale capacity=12")
	card, _ := h.fake.Message(inc.ChannelID, run.CardTS)
	approve := buttonNamed(t, buttonsOf(t, card.Blocks), runbooks.ActionApproveRun, fmt.Sprint(run.ID))

	// The budget and Slack's delay scaled down 10x (2 s → 200 ms, 5 s → 500 ms).
	h.app.AckBudget = 200 * time.Millisecond
	const slow = 500 * time.Millisecond
	h.fake.SetFault("usergroups.users.list", slackfake.Slow(slow))
	p := slackfake.BlockActions(slackfake.ButtonClick{UserID: "UAPPROVER", UserName: "someone", ChannelID: inc.ChannelID,
		MessageTS: run.CardTS, ActionID: approve.ActionID, BlockID: slackchat.BlockActions, Value: approve.Value}, time.Now())
	start := time.Now()
	status, body := h.interact(p)
	if took := time.Since(start); status != http.StatusOK || took >= slow {
		t.Fatalf("click answered %d after %s (%s); it must not wait for Slack's %s", status, took, body, slow)
	}
	h.app.Wait() // the approval finishes after the acknowledgement
	h.fake.ClearFault("usergroups.users.list")
	if eph := h.lastEphemeral(inc.ChannelID, "UAPPROVER"); !strings.Contains(eph.Text, "Approved RUN-1 (scale)") {
		t.Errorf("approver told: %q", eph.Text)
	}
	h.settle()
	if got := h.runLog(); got != "api-gateway-pool 12\n" {
		t.Errorf("runs.log = %q", got)
	}
	if evs := eventsOf(h.timeline(inc.ID), bot.KindRunbookApproved); len(evs) != 1 || evs[0].Actor != "UAPPROVER" {
		t.Errorf("approved events: %+v", evs)
	}
}

// TestSlackFeatures_ApproveCommandAcksWhileSlackIsSlow: "/incident approve
// RUN-n" asks Slack for the user group's members too; with Slack slow the
// command is acknowledged within the budget and the approval is answered
// after.
func TestSlackFeatures_ApproveCommandAcksWhileSlackIsSlow(t *testing.T) {
	h := newFeatureHarness(t)
	inc := h.declared("U1", "Platform API returning 500")
	run := h.requestRun("U1", inc, "scale capacity=12")

	h.app.AckBudget = 200 * time.Millisecond
	const slow = 500 * time.Millisecond
	h.fake.SetFault("usergroups.users.list", slackfake.Slow(slow))
	start := time.Now()
	status, out := h.command("UAPPROVER", inc.ChannelID, fmt.Sprintf("approve RUN-%d", run.ID))
	if took := time.Since(start); status != http.StatusOK || took >= slow {
		t.Fatalf("command answered %d after %s (%v); it must not wait for Slack's %s", status, took, out, slow)
	}
	h.app.Wait()
	h.fake.ClearFault("usergroups.users.list")
	if eph := h.lastEphemeral(inc.ChannelID, "UAPPROVER"); !strings.Contains(eph.Text, "RUN-1") {
		t.Errorf("approver told: %q", eph.Text)
	}
	h.settle()
	if evs := eventsOf(h.timeline(inc.ID), bot.KindRunbookApproved); len(evs) != 1 || evs[0].Actor != "UAPPROVER" {
		t.Errorf("approved events: %+v", evs)
	}
}

// TestSlackFeatures_PostmortemFallbackIsVisible: when Slack refuses the
// draft's file, the draft is posted as a message whose blocks carry it
// (Slack shows a message's text only in notifications when it has blocks).
func TestSlackFeatures_PostmortemFallbackIsVisible(t *testing.T) {
	h := newFeatureHarness(t)
	inc := h.declared("U1", "Platform API returning 500")
	h.command("U1", inc.ChannelID, "followup Alert on config reloads @U2")
	h.command("U1", inc.ChannelID, "resolve gateway config rolled back")
	h.drain()
	h.fake.SetFault("files.getUploadURLExternal", slackfake.SlackError("invalid_arguments"))
	draft := buttonNamed(t, buttonsOf(t, h.card(inc).Blocks), bot.ActionDraftPostmortem, fmt.Sprint(inc.ID))
	h.press("U1", inc.ChannelID, inc.CardTS, false, draft, "")
	h.drain()
	var shown strings.Builder
	found := false
	for _, m := range h.fake.Messages(inc.ChannelID) {
		if !strings.Contains(m.Text, "Alert on config reloads") {
			continue
		}
		found = true
		var blocks []struct {
			Type string `json:"type"`
			Text *struct {
				Text string `json:"text"`
			} `json:"text"`
		}
		if err := json.Unmarshal(m.Blocks, &blocks); err != nil {
			t.Fatal(err)
		}
		for _, b := range blocks {
			if b.Text != nil {
				shown.WriteString(b.Text.Text)
			}
		}
	}
	if !found {
		t.Fatal("the draft was not posted as a message")
	}
	if !strings.Contains(shown.String(), "Alert on config reloads") {
		t.Errorf("the draft is only in the notification text; blocks show %q", shown.String())
	}
}
