package slackchat_test

import (
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/fsfault"
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

// afterCall runs do once, after the first answered call to method.
type afterCall struct {
	base   http.RoundTripper
	method string
	once   sync.Once
	do     func()
}

func (a *afterCall) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := a.base.RoundTrip(r)
	if err == nil && strings.TrimPrefix(r.URL.Path, "/api/") == a.method {
		a.once.Do(a.do)
	}
	return resp, err
}

// TestChannelRecordLostToAFullDiskIsAdopted (issue 10 item 11): Slack made
// the incident's channel, then the disk filled before sitrep recorded it.
// The failure is temporary: once space is freed the retry finds the name
// taken by the bot's own channel and adopts it; the incident gets that
// channel (not inc-…-2, not "failed for good").
func TestChannelRecordLostToAFullDiskIsAdopted(t *testing.T) {
	dir := fsfault.Tmpfs(t, "4m")
	w := newWorldAt(t, filepath.Join(dir, "sitrep.db"))
	filled := make(chan func(), 1) // the disk fills as Slack answers conversations.create
	w.stamps.base = &afterCall{base: w.stamps.base, method: "conversations.create", do: func() { filled <- fsfault.Fill(t, dir) }}
	inc := w.declare("Checkout is down")

	drained := make(chan error, 1)
	go func() { drained <- w.disp.Drain(t.Context()) }()
	var free func()
	select {
	case free = <-filled:
	case <-time.After(30 * time.Second):
		t.Fatal("the channel was never created")
	}
	deadline := time.Now().Add(30 * time.Second)
	for w.db.Ping(t.Context()) == nil { // until the record has failed
		if time.Now().After(deadline) {
			t.Fatal("the channel's record never failed on the full disk")
		}
		time.Sleep(10 * time.Millisecond)
	}
	free()
	select {
	case err := <-drained:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("the dispatcher did not carry on once space was freed")
	}
	w.settle()
	w.requireNoFailures()

	inc = w.incident(inc.ID)
	made, ok := w.srv.Channel("inc-1-checkout-is-down")
	if !ok || inc.ChannelID != made.ID {
		t.Fatalf("incident has channel %s #%s, want the one Slack made first (%+v)", inc.ChannelID, inc.ChannelName, made)
	}
	if _, dup := w.srv.Channel("inc-1-checkout-is-down-2"); dup {
		t.Error("a second channel was created")
	}
	if len(w.texts(made.ID)) == 0 {
		t.Error("the adopted channel got no card")
	}
}
