package slackchat_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/slackfake"
)

// TestSlackFeatures_RefusedRunbookCardDoesNotWedgeTheIncident (issue 10
// item 9): Slack refuses a runbook's approval card for good (msg_too_long).
// Its redraw after the approval must not wait for the never-posted card,
// and every later message of the incident goes out: the status update, and
// one notice in the channel saying what could not be posted and why.
func TestSlackFeatures_RefusedRunbookCardDoesNotWedgeTheIncident(t *testing.T) {
	h := newFeatureHarness(t)
	inc := h.declared("U1", "Platform API returning 500")
	before := len(h.fake.Messages(inc.ChannelID))

	h.fake.FailNext("chat.postMessage", slackfake.SlackError("msg_too_long"))
	if status, out := h.command("U1", inc.ChannelID, "run scale capacity=12"); status != http.StatusOK {
		t.Fatalf("/incident run: %d %v", status, out)
	}
	h.drain()
	if status, out := h.command("UAPPROVER", inc.ChannelID, "approve RUN-1"); status != http.StatusOK {
		t.Fatalf("/incident approve: %d %v", status, out)
	}
	h.settle() // the run executes; its card redraw is queued behind nothing that can succeed
	if status, out := h.command("U1", inc.ChannelID, "status monitoring the fix is rolling out"); status != http.StatusOK {
		t.Fatalf("/incident status: %d %v", status, out)
	}
	h.settle()

	check := func(when string) {
		t.Helper()
		var status, notices []string
		for _, m := range h.fake.Messages(inc.ChannelID)[before:] {
			if strings.Contains(m.Text, "the fix is rolling out") {
				status = append(status, m.Text)
			}
			if strings.Contains(m.Text, "could not") && strings.Contains(m.Text, "RUN-1") {
				notices = append(notices, m.Text)
			}
		}
		if len(status) != 1 {
			t.Errorf("%s: status update posted %d times, want once (the incident's messages wait behind the refused card)", when, len(status))
		}
		if len(notices) != 1 || !strings.Contains(notices[0], "msg_too_long") {
			t.Errorf("%s: notices in the channel %q, want one naming RUN-1 and msg_too_long", when, notices)
		}
		unfinished, err := h.db.Deliveries(context.Background(), bot.DeliveryPending, bot.DeliverySending)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range unfinished {
			if d.NextAttemptAt.After(time.Now()) {
				continue // scheduled (the run's expiry), not held up
			}
			t.Errorf("%s: delivery %d (%s) still unfinished: %s", when, d.ID, d.Op, d.LastError)
		}
	}
	check("after the refusal")
	if got := h.runLog(); got != "api-gateway-pool 12\n" {
		t.Errorf("the approved run did not run: runs.log = %q", got)
	}
	if evs := eventsOf(h.timeline(inc.ID), bot.KindDeliveryFailed); len(evs) != 1 {
		t.Errorf("delivery_failed events %+v, want one for the refused card", evs)
	}

}
