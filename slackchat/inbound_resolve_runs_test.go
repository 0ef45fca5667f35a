package slackchat_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/runbooks"
)

// Resolving an incident cancels its runbook requests that wait for
// approval: their cards are redrawn as cancelled, the timeline says so, and
// a click on the old card's Approve runs nothing and says why.
func TestSlackFeatures_ResolveCancelsPendingRuns(t *testing.T) {
	h := newFeatureHarness(t)
	inc := h.declared("U1", "Platform API returning 500")
	run := h.requestRun("U1", inc, "scale capacity=12")
	card, _ := h.fake.Message(inc.ChannelID, run.CardTS)
	approve := buttonNamed(t, buttonsOf(t, card.Blocks), runbooks.ActionApproveRun, fmt.Sprint(run.ID))

	h.say("U1", inc.ChannelID, "resolve fixed by a rollback")
	h.settle()
	if got := h.run(run.ID); got.State != bot.RunCancelled || !strings.Contains(got.Reason, "resolved") {
		t.Fatalf("%s after the resolve: %s (%q), want cancelled", run.Key(), got.State, got.Reason)
	}
	card, _ = h.fake.Message(inc.ChannelID, run.CardTS)
	if !card.Updated() || !strings.Contains(card.Text, "cancelled") || len(buttonsOf(t, card.Blocks)) != 0 {
		t.Errorf("the card should be redrawn as cancelled, without buttons: %q", card.Text)
	}
	if evs := eventsOf(h.timeline(inc.ID), bot.KindRunbookCancelled); len(evs) != 1 {
		t.Errorf("cancelled events: %+v", evs)
	}

	h.press("UAPPROVER", inc.ChannelID, run.CardTS, false, approve, "") // the old card's button
	if eph := h.lastEphemeral(inc.ChannelID, "UAPPROVER"); !strings.Contains(eph.Text, "cancelled") || !strings.Contains(eph.Text, "resolved") {
		t.Errorf("the approver is not told why: %q", eph.Text)
	}
	h.settle()
	if got := h.runLog(); got != "" {
		t.Errorf("a request of a resolved incident ran: %q", got)
	}
	if got := h.run(run.ID); got.State != bot.RunCancelled || got.DecidedBy != "" {
		t.Errorf("%s is %s, decided by %q", run.Key(), got.State, got.DecidedBy)
	}
}

// The approval checks the incident as it is at approval time, even before
// the cancellation queued by the resolve is delivered.
func TestSlackFeatures_ApprovalChecksIncidentState(t *testing.T) {
	h := newFeatureHarness(t)
	inc := h.declared("U1", "Platform API returning 500")
	run := h.requestRun("U1", inc, "scale capacity=12")
	if _, out := h.command("U1", inc.ChannelID, "resolve"); !strings.Contains(fmt.Sprint(out["text"]), "resolved") {
		t.Fatalf("resolve: %v", out)
	}
	// Not drained: the cancellation is still in the outbox.
	_, out := h.command("UAPPROVER", inc.ChannelID, "approve "+run.Key())
	if text := fmt.Sprint(out["text"]); !strings.Contains(text, "cancelled") || !strings.Contains(text, "resolved") {
		t.Errorf("approve after the resolve: %q", text)
	}
	h.settle()
	if got := h.runLog(); got != "" {
		t.Errorf("ran: %q", got)
	}
	if got := h.run(run.ID); got.State != bot.RunCancelled {
		t.Errorf("%s is %s, want cancelled", run.Key(), got.State)
	}
	if evs := eventsOf(h.timeline(inc.ID), bot.KindRunbookCancelled); len(evs) != 1 {
		t.Errorf("cancelled once, by the approval or the queued cancel, not twice: %+v", evs)
	}
}
