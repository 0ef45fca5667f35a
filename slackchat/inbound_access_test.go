package slackchat_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/slackfake"
)

// Private incidents through the real Slack path: signed slash commands,
// block_actions and view_submission payloads from a person who is not in
// the incident's private channel, asking from another channel. Membership
// is Slack's answer (conversations.members on the fake, through the real
// adapter), as `sitrep serve` wires it.

const outsider = "UOUTSIDER"

// newAccessHarness is the feature harness with access checks on, and a
// private incident declared by U1 (who is in its channel).
func newAccessHarness(t *testing.T, policy bot.Permissions) (*featureHarness, bot.Incident) {
	t.Helper()
	h := newFeatureHarness(t)
	h.svc.EnableAccess(bot.AccessConfig{Members: h.chat, Directory: h.chat, Policy: policy})
	if status, out := h.command("U1", "CGENERAL", "declare --private Payroll data exposed"); status != http.StatusOK {
		t.Fatalf("declare: %d %v", status, out)
	}
	h.drain()
	incs, err := h.db.Incidents(t.Context(), bot.IncidentFilter{})
	if err != nil || len(incs) != 1 || !incs[0].Private || incs[0].ChannelID == "" {
		t.Fatalf("want one private incident with a channel: %+v %v", incs, err)
	}
	return h, incs[0]
}

// refusedText is the reply's text, failing unless it refuses for privacy
// and leaks nothing of the incident.
func refusedText(t *testing.T, text string, inc bot.Incident) {
	t.Helper()
	if !strings.Contains(text, "is private") {
		t.Errorf("want a refusal saying the incident is private, got %q", text)
	}
	if strings.Contains(text, "Payroll") {
		t.Errorf("the refusal leaks the title: %q", text)
	}
}

// eventsOf counts the incident's events of a kind.
func (h *featureHarness) eventsOf(inc bot.Incident, kind bot.EventKind) int {
	n := 0
	for _, ev := range h.timeline(inc.ID) {
		if ev.Kind == kind {
			n++
		}
	}
	return n
}

func TestSlackAccess_ListHidesPrivateIncidents(t *testing.T) {
	h, inc := newAccessHarness(t, nil)
	h.declared("U2", "Public API slow")

	_, out := h.command(outsider, "CGENERAL", "list")
	text, _ := out["text"].(string)
	if strings.Contains(text, "Payroll") || strings.Contains(text, inc.Key()+" ") {
		t.Errorf("a non-member sees the private incident in list: %q", text)
	}
	if !strings.Contains(text, "Public API slow") {
		t.Errorf("public incidents must still be listed: %q", text)
	}
	_, out = h.command("U1", "CGENERAL", "list")
	if text, _ := out["text"].(string); !strings.Contains(text, "Payroll") {
		t.Errorf("a member must see the private incident: %q", text)
	}
}

func TestSlackAccess_CommandsFromAnotherChannel(t *testing.T) {
	h, inc := newAccessHarness(t, nil)
	h.command("U1", inc.ChannelID, "note the dump is 4 GB")
	h.drain()
	for _, cmd := range []string{"timeline", "note I was here", "lead <@" + outsider + ">", "status resolved", "sev 1", "update all fine", "postmortem"} {
		_, out := h.command(outsider, "CGENERAL", inc.Key()+" "+cmd)
		text, _ := out["text"].(string)
		refusedText(t, text, inc)
		if strings.Contains(text, "4 GB") {
			t.Errorf("%s: the timeline leaks to a non-member: %q", cmd, text)
		}
	}
	h.drain()
	got := h.incident(inc.ID)
	if got.Commander != "U1" || got.Status != bot.StatusInvestigating || got.Severity != inc.Severity {
		t.Errorf("a non-member changed the incident: %+v", got)
	}
	if slices.Contains(h.fake.Members(inc.ChannelID), outsider) {
		t.Error("the non-member was invited into the private channel")
	}
	for _, ev := range h.timeline(inc.ID) {
		if ev.Actor == outsider && ev.Kind != bot.KindAccessRefused {
			t.Errorf("a non-member's %s reached the timeline: %q", ev.Kind, ev.Text)
		}
	}
	if n := h.eventsOf(inc, bot.KindAccessRefused); n != 7 {
		t.Errorf("%d refusals on the timeline, want 7 (one per attempt)", n)
	}
	// The members keep today's behaviour.
	if _, out := h.command("U1", "CGENERAL", inc.Key()+" note still here"); !strings.Contains(fmt.Sprint(out["text"]), "Noted") {
		t.Errorf("a member's note: %v", out)
	}
}

func TestSlackAccess_SlackErrorFailsClosed(t *testing.T) {
	h, inc := newAccessHarness(t, nil)
	h.fake.FailNext("conversations.members", slackfake.ServerError(500))
	// U1 is a member, but nobody asked Slack yet: the lookup fails.
	_, out := h.command("U1", "CGENERAL", inc.Key()+" note while Slack is down")
	text, _ := out["text"].(string)
	if !strings.Contains(text, "try again") {
		t.Errorf("want a refusal saying to try again, got %q", text)
	}
	if n := h.eventsOf(inc, bot.KindNote); n != 0 {
		t.Errorf("the note was recorded although membership could not be checked")
	}
	if n := h.eventsOf(inc, bot.KindAccessRefused); n != 0 {
		t.Errorf("nothing was decided about U1, so no refusal is recorded; got %d", n)
	}
	if _, out := h.command("U1", "CGENERAL", inc.Key()+" note Slack is back"); !strings.Contains(fmt.Sprint(out["text"]), "Noted") {
		t.Errorf("after Slack recovers the member may note: %v", out)
	}
}

func TestSlackAccess_ButtonsAndCraftedForms(t *testing.T) {
	h, inc := newAccessHarness(t, nil)
	id := fmt.Sprint(inc.ID)

	// Card buttons clicked by someone who crafted the payload.
	for _, action := range []string{bot.ActionTakeCommand, bot.ActionAcknowledge, bot.ActionResolve} {
		h.press(outsider, "CGENERAL", "", false, button{ActionID: action, Value: id}, "")
	}
	// A run button of a runbook without parameters: it would run at once.
	h.press(outsider, "CGENERAL", "", false, button{ActionID: "run-runbook", Value: id + ":probe"}, "")
	// A run button of a runbook with parameters: no form opens.
	views := len(h.fake.Views())
	h.press(outsider, "CGENERAL", "", false, button{ActionID: "run-runbook", Value: id + ":scale"}, "trigger-1")
	if len(h.fake.Views()) != views {
		t.Error("the runbook form opened for a non-member")
	}
	if eph := h.lastEphemeral("CGENERAL", outsider); !strings.Contains(eph.Text, "is private") {
		t.Errorf("the clicker is not told why: %q", eph.Text)
	}

	// A crafted update form naming the private incident.
	out := h.submitForm(outsider, slackfake.View{CallbackID: "sitrep.post_update", PrivateMetadata: id},
		map[string]string{"text": "all good, nothing to see"})
	refusedText(t, fieldErrors(t, out)["text"], inc)
	// A crafted runbook form naming it.
	out = h.submitForm(outsider, slackfake.View{CallbackID: "sitrep.run_runbook",
		PrivateMetadata: `{"value":"` + id + `:scale","channel":"CGENERAL"}`},
		map[string]string{"param-capacity": "9"})
	for _, msg := range fieldErrors(t, out) {
		refusedText(t, msg, inc)
	}
	h.settle()

	got := h.incident(inc.ID)
	if got.Commander != "U1" || got.Status != bot.StatusInvestigating {
		t.Errorf("a non-member's click changed the incident: %+v", got)
	}
	if n := h.eventsOf(inc, bot.KindStatusUpdate); n != 0 {
		t.Errorf("a crafted update form was accepted (%d updates)", n)
	}
	runs, err := h.db.RunbookRuns(t.Context(), bot.RunbookRunFilter{IncidentID: inc.ID})
	if err != nil || len(runs) != 0 {
		t.Errorf("a non-member requested runs: %+v %v", runs, err)
	}
	if log := h.runLog(); log != "" {
		t.Errorf("a runbook ran for a non-member: %q", log)
	}
}

func TestSlackAccess_ApprovalNeedsMembership(t *testing.T) {
	h, inc := newAccessHarness(t, nil)
	h.fake.AddUserGroup("SONCALL", "UAPPROVER") // an approver, not in the channel
	run := h.requestRun("U1", inc, "scale capacity=4")
	b := buttonNamed(t, buttonsOf(t, h.fake.Messages(inc.ChannelID)[len(h.fake.Messages(inc.ChannelID))-1].Blocks), "approve-run", "")
	h.press("UAPPROVER", "CGENERAL", "", false, b, "")
	h.settle()
	if got := h.run(run.ID); got.State != bot.RunRequested {
		t.Errorf("an approver outside the private channel decided %s: %s", run.Key(), got.State)
	}
	if log := h.runLog(); log != "" {
		t.Errorf("ran: %q", log)
	}
}
