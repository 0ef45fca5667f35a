package bot_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// fakeFetcher is a bot.MessageFetcher whose answers the test scripts.
type fakeFetcher struct {
	mu    sync.Mutex
	msgs  map[string]bot.ChatMessage // by ts
	errs  []error                    // returned first, one per call
	calls int
}

func (f *fakeFetcher) FetchMessage(_ context.Context, _, ts string) (bot.ChatMessage, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if len(f.errs) > 0 {
		err := f.errs[0]
		f.errs = f.errs[1:]
		return bot.ChatMessage{}, err
	}
	m, ok := f.msgs[ts]
	if !ok {
		return bot.ChatMessage{}, bot.Errorf(bot.ENOTFOUND, "no message %s", ts)
	}
	return m, nil
}

func pinEnv(t *testing.T) (*env, *fakeFetcher, bot.Incident) {
	t.Helper()
	e := newEnv(t, bot.ServiceConfig{})
	f := &fakeFetcher{msgs: map[string]bot.ChatMessage{}}
	e.wire(bot.PinnedMessages(f))
	return e, f, e.opened("Platform API returning 500")
}

func pinOf(t *testing.T, e *env, id int64) bot.Event {
	t.Helper()
	var pins []bot.Event
	for _, ev := range e.timeline(id) {
		if ev.Kind == bot.KindMessagePinned {
			pins = append(pins, ev)
		}
	}
	if len(pins) != 1 {
		t.Fatalf("message_pinned events = %d, want 1", len(pins))
	}
	return pins[0]
}

func TestPinMessage_OnceSurvivesRestartAndRetries(t *testing.T) {
	e, f, inc := pinEnv(t)
	posted := start.Add(-10 * time.Minute)
	f.msgs["1.1"] = bot.ChatMessage{Author: "U5", Text: "cert renewal rewrote the gateway config"}
	f.errs = []error{bot.Temporary(errors.New("slack 503"), 0)}
	for i, reactor := range []string{"U7", "U8", "U9"} {
		ok, err := e.svc.PinMessage(e.ctx(), bot.PinRequest{Event: bot.ChatEventRef{Source: "slack", ID: "Ev" + reactor},
			ChannelID: inc.ChannelID, MessageTS: "1.1", PostedAt: posted, Author: "U5", PinnedBy: reactor})
		if err != nil || ok != (i == 0) {
			t.Fatalf("pin by %s: %v %v", reactor, ok, err)
		}
	}
	e.reopen() // the text is read after a restart
	e.wire(bot.PinnedMessages(f))
	e.drain() // the 503: retried
	if p := pinOf(t, e, inc.ID); p.Data["state"] != bot.PinFetching || !p.OccurredAt.Equal(posted) {
		t.Fatalf("before the text is read: %+v", p)
	}
	e.clock.Advance(maxBackoff)
	e.drain()
	p := pinOf(t, e, inc.ID)
	if p.Text != "cert renewal rewrote the gateway config" || p.Actor != "U5" || !p.OccurredAt.Equal(posted) || p.Data["state"] != bot.PinFetched {
		t.Errorf("pinned: %+v", p)
	}
	if f.calls != 2 {
		t.Errorf("fetches = %d, want 2 (one 503, one success)", f.calls)
	}
}

func TestPinMessage_DeletedBeforeTheTextIsRead(t *testing.T) {
	e, f, inc := pinEnv(t)
	f.msgs["1.1"] = bot.ChatMessage{Author: "U5", Text: "token=hunter2"}
	ref := func(id string) bot.ChatEventRef { return bot.ChatEventRef{Source: "slack", ID: id} }
	if _, err := e.svc.PinMessage(e.ctx(), bot.PinRequest{Event: ref("Ev1"), ChannelID: inc.ChannelID, MessageTS: "1.1", PinnedBy: "U7"}); err != nil {
		t.Fatal(err)
	}
	ok, err := e.svc.DeletePinnedMessage(e.ctx(), ref("Ev2"), inc.ChannelID, "1.1", start)
	if err != nil || !ok {
		t.Fatalf("delete: %v %v", ok, err)
	}
	e.drain()
	if p := pinOf(t, e, inc.ID); p.Data["state"] != bot.PinDeleted || p.Text == "token=hunter2" {
		t.Errorf("a deleted message came back with its text: %+v", p)
	}
	if ok, _ := e.svc.EditPinnedMessage(e.ctx(), ref("Ev3"), inc.ChannelID, "1.1", "edited", start); ok {
		t.Error("an edit revived a deleted message")
	}
}

func TestPinMessage_GoneBeforeTheTextIsRead(t *testing.T) {
	e, _, inc := pinEnv(t)
	if _, err := e.svc.PinMessage(e.ctx(), bot.PinRequest{Event: bot.ChatEventRef{Source: "slack", ID: "Ev1"},
		ChannelID: inc.ChannelID, MessageTS: "9.9", PinnedBy: "U7"}); err != nil {
		t.Fatal(err)
	}
	e.drain()
	if p := pinOf(t, e, inc.ID); p.Data["state"] != bot.PinUnavailable || p.Actor != "U7" {
		t.Errorf("pinned message not found: %+v", p)
	}
}

func TestChatEvents_OutsideIncidentChannelsAndRedeliveries(t *testing.T) {
	e, _, inc := pinEnv(t)
	before := e.snapshot()
	ref := bot.ChatEventRef{Source: "slack", ID: "EvX"}
	if ok, err := e.svc.PinMessage(e.ctx(), bot.PinRequest{Event: ref, ChannelID: "CRANDOM", MessageTS: "1.1"}); ok || err != nil {
		t.Errorf("pin outside an incident channel: %v %v", ok, err)
	}
	if ok, err := e.svc.RecordResponderJoined(e.ctx(), ref, "CRANDOM", "U3", start); ok || err != nil {
		t.Errorf("join outside an incident channel: %v %v", ok, err)
	}
	e.requireUnchanged(before)

	if ok, err := e.svc.RecordResponderJoined(e.ctx(), ref, inc.ChannelID, "U3", start); !ok || err != nil {
		t.Fatalf("join: %v %v", ok, err)
	}
	// The same delivery again, even of another kind, is not applied.
	if ok, _ := e.svc.RecordResponderJoined(e.ctx(), ref, inc.ChannelID, "U4", start); ok {
		t.Error("a redelivered event id was applied")
	}
	if ok, _ := e.svc.RecordResponderJoined(e.ctx(), bot.ChatEventRef{Source: "slack", ID: "EvY"}, inc.ChannelID, "U3", start); ok {
		t.Error("a second join of the same person was recorded")
	}
}
