package slackchat_test

import (
	"testing"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/slackfake"
)

// TestChannelCreationAdoptsTheChannelOfALostAnswer (issue 9 item 9, issue
// 10 item 11): conversations.create made the channel but its answer was
// lost (a gateway timeout). The retry finds the name taken; it must find
// and adopt the channel the bot created, not create inc-…-2 and orphan it.
func TestChannelCreationAdoptsTheChannelOfALostAnswer(t *testing.T) {
	for _, private := range []bool{false, true} {
		w := newWorld(t)
		w.srv.FailNext("conversations.create", slackfake.LostAnswer(slackfake.ServerError(504)))
		inc, err := w.svc.Declare(t.Context(), bot.DeclareRequest{Actor: "U1", Title: "Checkout is down", Private: private})
		if err != nil {
			t.Fatal(err)
		}
		w.settle()
		w.requireNoFailures()

		inc = w.incident(inc.ID)
		made, ok := w.srv.Channel("inc-1-checkout-is-down")
		if !ok || inc.ChannelID != made.ID || inc.ChannelName != made.Name {
			t.Fatalf("incident has channel %s #%s, want the one Slack made (%+v)", inc.ChannelID, inc.ChannelName, made)
		}
		if dup, ok := w.srv.Channel("inc-1-checkout-is-down-2"); ok {
			t.Errorf("a second channel was created: %+v", dup)
		}
		if len(w.texts(made.ID)) == 0 {
			t.Error("the adopted channel got no card")
		}
	}
}

// TestChannelCreationDoesNotAdoptSomeoneElsesChannel: a channel with the
// incident's name that the bot did not create (a person made it) is not
// the incident's: the channel gets the next suffix, as before.
func TestChannelCreationDoesNotAdoptSomeoneElsesChannel(t *testing.T) {
	w := newWorld(t)
	theirs := w.srv.AddChannel(slackfake.Channel{Name: "inc-1-checkout-is-down", Creator: "U2", Members: []string{"U2"}})
	inc := w.declare("Checkout is down")
	w.settle()
	w.requireNoFailures()
	inc = w.incident(inc.ID)
	if inc.ChannelID == theirs || inc.ChannelName != "inc-1-checkout-is-down-2" {
		t.Errorf("incident has channel %s #%s, want a new inc-1-checkout-is-down-2", inc.ChannelID, inc.ChannelName)
	}
}

// TestLostPostAnswerIsNotPostedTwice: chat.postMessage posted the card but
// its answer was lost (a gateway timeout). The retry must find the card by
// its tag and keep it, not post a second one.
func TestLostPostAnswerIsNotPostedTwice(t *testing.T) {
	w := newWorld(t)
	w.srv.FailNext("chat.postMessage", slackfake.LostAnswer(slackfake.ServerError(504))) // the card
	inc := w.declare("Checkout is down")
	w.settle()
	w.requireNoFailures()
	inc = w.incident(inc.ID)
	cards := 0
	for _, m := range w.srv.Messages(inc.ChannelID) {
		if m.Text == bot.Card(inc).Text {
			cards++
		}
	}
	if cards != 1 {
		t.Errorf("%d cards in the channel, want one:\n%v", cards, w.texts(inc.ChannelID))
	}
	if m, ok := w.srv.Message(inc.ChannelID, inc.CardTS); !ok || !m.Pinned {
		t.Errorf("the recorded card %s is not the pinned message in the channel", inc.CardTS)
	}
}
