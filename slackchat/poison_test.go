package slackchat_test

import (
	"strings"
	"testing"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/slackfake"
)

// TestRefusedCardDoesNotWedgeTheIncident (issue 10 item 9): Slack refuses
// the incident card for good (msg_too_long). The card's redraws must not
// wait for it; every later message of the incident is delivered, across a
// restart too, and the channel is told once what could not be posted.
func TestRefusedCardDoesNotWedgeTheIncident(t *testing.T) {
	w := newWorld(t)
	w.srv.FailNext("chat.postMessage", slackfake.SlackError("msg_too_long")) // the card is the first message
	inc := w.declare("Platform API returning 500")
	if err := w.disp.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := w.svc.SetStatus(t.Context(), "U1", inc.ID, bot.StatusIdentified, "bad deploy found"); err != nil {
		t.Fatal(err)
	}
	w.restart() // with the redraw and the status update queued behind the refused card
	if _, err := w.svc.SetStatus(t.Context(), "U1", inc.ID, bot.StatusMonitoring, "rolled back"); err != nil {
		t.Fatal(err)
	}
	w.settle()

	inc = w.incident(inc.ID)
	if inc.CardTS != "" {
		t.Fatalf("the refused card has a ts %q", inc.CardTS)
	}
	var updates, notices int
	for _, text := range w.texts(inc.ChannelID) {
		switch {
		case strings.Contains(text, "bad deploy found"), strings.Contains(text, "rolled back"):
			updates++
		case strings.Contains(text, "could not deliver the incident card"):
			notices++
			if !strings.Contains(text, "msg_too_long") {
				t.Errorf("the notice does not say why: %q", text)
			}
		}
	}
	if updates != 2 || notices != 1 {
		t.Errorf("%d status updates and %d notices in the channel, want 2 and 1:\n%s", updates, notices, strings.Join(w.texts(inc.ChannelID), "\n"))
	}
	failed, err := w.db.Deliveries(t.Context(), bot.DeliveryFailed)
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 1 || failed[0].Op != bot.OpPostCard {
		t.Errorf("failed deliveries %+v, want the card's post alone", failed)
	}
}
