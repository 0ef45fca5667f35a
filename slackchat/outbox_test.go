package slackchat_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/slackfake"
	"github.com/sitrep-io/sitrep/slackchat"
	"github.com/sitrep-io/sitrep/store"
)

// world is the bot over a real SQLite file, delivering through the real
// Slack adapter to the fake Slack, on a fake clock.
type world struct {
	t         *testing.T
	path      string
	clock     *fakeClock
	srv       *slackfake.Server
	client    *slackchat.Client
	broadcast string
	stamps    *stampingTransport
	db        *store.DB
	svc       *bot.Service
	disp      *bot.Dispatcher
}

func newWorld(t *testing.T) *world {
	t.Helper()
	return newWorldAt(t, filepath.Join(t.TempDir(), "sitrep.db"))
}

// newWorldAt is newWorld with its database file at path.
func newWorldAt(t *testing.T, path string) *world {
	t.Helper()
	w := &world{t: t, path: path, clock: newClock(), srv: slackfake.New(t)}
	w.srv.AddUser(slackfake.User{ID: "U1", Name: "alice"})
	w.srv.AddUser(slackfake.User{ID: "U2", Name: "bob"})
	w.broadcast = w.srv.AddChannel(slackfake.Channel{Name: "incidents"})
	w.client, w.stamps = stampedClient(t, w.srv, w.clock)
	w.open()
	return w
}

// open opens the database and builds the service and dispatcher on it, as
// sitrep serve does at start.
func (w *world) open() {
	w.t.Helper()
	db, err := store.Open(w.t.Context(), w.path)
	if err != nil {
		w.t.Fatalf("store.Open: %v", err)
	}
	w.t.Cleanup(func() { _ = db.Close() })
	w.db = db
	w.svc = bot.NewService(db, bot.ServiceConfig{BroadcastChannel: w.broadcast, Now: w.clock.Now})
	w.disp = w.dispatcher(db)
	w.svc.OnCommit(w.disp.Wake)
}

func (w *world) dispatcher(ds bot.DeliveryStore) *bot.Dispatcher {
	d := bot.NewDispatcher(ds, bot.DispatcherOptions{Workers: 4, BaseBackoff: time.Second, MaxBackoff: 10 * time.Second,
		Now: w.clock.Now, OnFailure: w.svc.RecordDeliveryFailure})
	if err := bot.Wire(w.svc, d, bot.ChatOps(w.client)); err != nil {
		w.t.Fatal(err)
	}
	return d
}

// restart closes the database as a dying process would and opens it again,
// then recovers what was in flight (as Dispatcher.Run does first).
func (w *world) restart() {
	w.t.Helper()
	if err := w.db.Close(); err != nil {
		w.t.Fatalf("Close: %v", err)
	}
	w.open()
	if _, err := w.db.RecoverDeliveries(w.t.Context()); err != nil {
		w.t.Fatalf("RecoverDeliveries: %v", err)
	}
}

// settle delivers until the outbox is empty, moving the fake clock to each
// retry as it comes due.
func (w *world) settle() {
	w.t.Helper()
	for range 500 {
		if err := w.disp.Drain(w.t.Context()); err != nil {
			w.t.Fatalf("Drain: %v", err)
		}
		pending, err := w.db.Deliveries(w.t.Context(), bot.DeliveryPending, bot.DeliverySending)
		if err != nil {
			w.t.Fatal(err)
		}
		if len(pending) == 0 {
			return
		}
		now, next := w.clock.Now(), time.Time{}
		for _, d := range pending {
			if d.NextAttemptAt.After(now) && (next.IsZero() || d.NextAttemptAt.Before(next)) {
				next = d.NextAttemptAt
			}
		}
		if next.IsZero() {
			w.t.Fatalf("outbox stuck: %d entries unfinished, none due later (first: %+v)", len(pending), pending[0])
		}
		w.clock.Advance(next.Sub(now))
	}
	w.t.Fatal("outbox did not settle")
}

func (w *world) declare(title string) bot.Incident {
	w.t.Helper()
	inc, err := w.svc.Declare(w.t.Context(), bot.DeclareRequest{Actor: "U1", Title: title})
	if err != nil {
		w.t.Fatalf("Declare: %v", err)
	}
	return inc
}

func (w *world) incident(id int64) bot.Incident {
	w.t.Helper()
	inc, err := w.svc.Incident(w.t.Context(), id)
	if err != nil {
		w.t.Fatal(err)
	}
	return inc
}

// texts returns the text of every message in a channel, in order.
func (w *world) texts(channel string) []string {
	var out []string
	for _, m := range w.srv.Messages(channel) {
		out = append(out, m.Text)
	}
	return out
}

func (w *world) requireNoFailures() {
	w.t.Helper()
	failed, err := w.db.Deliveries(w.t.Context(), bot.DeliveryFailed)
	if err != nil {
		w.t.Fatal(err)
	}
	for _, d := range failed {
		w.t.Errorf("delivery %d (%s) failed: %s", d.ID, d.Op, d.LastError)
	}
}

func statusStep(i int) bot.Status {
	return []bot.Status{bot.StatusIdentified, bot.StatusMonitoring}[i%2]
}

// TestOutboxThroughFaults: a declaration and 20 status changes reach Slack
// through 429s (with Retry-After), 5xx answers and a slow call: every
// message once, in order, and the card shows the final state.
func TestOutboxThroughFaults(t *testing.T) {
	w := newWorld(t)
	w.srv.FailNext("conversations.create", slackfake.ServerError(503))
	w.srv.FailNextN("chat.postMessage", 3, slackfake.RateLimited(5))
	w.srv.FailNextN("chat.postMessage", 2, slackfake.ServerError(502))
	w.srv.FailNext("chat.postMessage", slackfake.SlackError("internal_error"))
	w.srv.FailNext("pins.add", slackfake.ServerError(500))
	w.srv.FailNextN("chat.update", 2, slackfake.RateLimited(3))
	w.srv.FailNext("conversations.setTopic", slackfake.ServerError(500))

	inc := w.declare("Platform API returning 500")
	for i := 1; i <= 20; i++ {
		if _, err := w.svc.SetStatus(t.Context(), "U1", inc.ID, statusStep(i), fmt.Sprintf("step %d", i)); err != nil {
			t.Fatal(err)
		}
		if i == 10 { // half of it goes out while Slack misbehaves again
			w.settle()
			w.srv.FailNextN("chat.postMessage", 2, slackfake.RateLimited(2))
			w.srv.FailNext(slackfake.AnyMethod, slackfake.ServerError(500))
		}
	}
	w.settle()
	w.requireNoFailures()

	inc = w.incident(inc.ID)
	texts := w.texts(inc.ChannelID)
	if len(texts) != 21 {
		t.Fatalf("%d messages in the channel, want the card and 20 status changes:\n%s", len(texts), strings.Join(texts, "\n"))
	}
	if texts[0] != bot.Card(w.incident(inc.ID)).Text && !strings.HasPrefix(texts[0], "INC-1 SEV3: Platform API returning 500") {
		t.Errorf("first message %q, want the card", texts[0])
	}
	for i := 1; i <= 20; i++ {
		if want := fmt.Sprintf("step %d", i); !strings.HasSuffix(texts[i], want) {
			t.Errorf("message %d is %q, want it to end with %q (order or duplicates broken)", i, texts[i], want)
		}
	}
	if got := w.texts(w.broadcast); len(got) != 1 || !strings.Contains(got[0], "INC-1") {
		t.Errorf("broadcast channel has %q, want one announcement", got)
	}
	card, _ := w.srv.Message(inc.ChannelID, inc.CardTS)
	if !strings.Contains(card.Text, string(statusStep(20))) || !card.Pinned {
		t.Errorf("card %q (pinned %v), want the final status %s, pinned", card.Text, card.Pinned, statusStep(20))
	}
	faulted := 0
	for _, c := range w.srv.Calls() {
		if c.Fault != nil {
			faulted++
		}
	}
	if faulted < 12 {
		t.Errorf("only %d calls were faulted; the test did not exercise the failures", faulted)
	}
	requireRetryAfterHonoured(t, w, "chat.postMessage")
	requireRetryAfterHonoured(t, w, "chat.update")
	if got := w.srv.Topic(inc.ChannelID); !strings.Contains(got, string(statusStep(20))) {
		t.Errorf("topic %q, want the final status", got)
	}
}

// requireRetryAfterHonoured checks, on the fake clock, that no call of
// method followed a 429 sooner than its Retry-After.
func requireRetryAfterHonoured(t *testing.T, w *world, method string) {
	t.Helper()
	calls, at := w.srv.CallsTo(method), w.stamps.times(method)
	if len(calls) != len(at) {
		t.Fatalf("%d %s calls recorded by the fake, %d sent", len(calls), method, len(at))
	}
	seen := 0
	for i, c := range calls[:len(calls)-1] {
		if c.Fault == nil || c.Fault.RetryAfter == 0 {
			continue
		}
		seen++
		if gap, want := at[i+1].Sub(at[i]), time.Duration(c.Fault.RetryAfter)*time.Second; gap < want {
			t.Errorf("%s call %d came %s after a 429 asking for %s", method, i+1, gap, want)
		}
	}
	if seen == 0 {
		t.Errorf("no 429 with Retry-After on %s was followed by another call", method)
	}
}

// crashingStore records no completions: every attempt the dispatcher makes
// through it looks, after a restart, as if the process died mid-call.
type crashingStore struct{ bot.DeliveryStore }

func (crashingStore) CompleteDelivery(context.Context, int64, []byte, time.Time) error { return nil }

// TestOutboxRestartNoDoublePost: a post Slack received just before the
// process died is found by its tag after the restart, not posted again; a
// post claimed but never sent is sent once.
func TestOutboxRestartNoDoublePost(t *testing.T) {
	w := newWorld(t)
	inc := w.declare("Checkout failing")
	w.settle()
	inc = w.incident(inc.ID)

	// 1. Slack got the post; the process died before recording it.
	if _, err := w.svc.SetStatus(t.Context(), "U1", inc.ID, bot.StatusIdentified, "sent before the crash"); err != nil {
		t.Fatal(err)
	}
	if err := w.dispatcher(crashingStore{w.db}).Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := w.texts(inc.ChannelID); !strings.HasSuffix(got[len(got)-1], "sent before the crash") {
		t.Fatalf("the post should have reached Slack before the crash: %q", got)
	}
	sending, _ := w.db.Deliveries(t.Context(), bot.DeliverySending)
	if len(sending) != 1 || sending[0].Op != bot.OpPost {
		t.Fatalf("want the post left sending, got %+v", sending)
	}
	w.restart()
	w.settle()

	// 2. Claimed, then the process died before calling Slack.
	if _, err := w.svc.SetStatus(t.Context(), "U1", inc.ID, bot.StatusMonitoring, "claimed before the crash"); err != nil {
		t.Fatal(err)
	}
	if claimed, err := w.db.ClaimDeliveries(t.Context(), w.clock.Now(), 1); err != nil || len(claimed) != 1 || claimed[0].Op != bot.OpPost {
		t.Fatalf("claim: %+v, %v", claimed, err)
	}
	w.restart()
	w.settle()
	w.requireNoFailures()

	for _, want := range []string{"sent before the crash", "claimed before the crash"} {
		n := 0
		for _, text := range w.texts(inc.ChannelID) {
			if strings.HasSuffix(text, want) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%q posted %d times, want once", want, n)
		}
	}
	if len(w.srv.CallsTo("conversations.history")) < 2 {
		t.Error("the recovered posts should have been looked up by tag first")
	}
}

// TestChannelNameCollision: when inc-1-<slug> exists, the incident gets
// inc-1-<slug>-2.
func TestChannelNameCollision(t *testing.T) {
	w := newWorld(t)
	taken := bot.ChannelName(1, "Database down", "")
	w.srv.AddChannel(slackfake.Channel{Name: taken})
	inc := w.declare("Database down")
	w.settle()
	w.requireNoFailures()
	inc = w.incident(inc.ID)
	if want := taken + "-2"; inc.ChannelName != want {
		t.Fatalf("channel %q, want %q", inc.ChannelName, want)
	}
	ch, ok := w.srv.Channel(inc.ChannelName)
	if !ok || ch.ID != inc.ChannelID || !containsAll(ch.Members, "U1") {
		t.Errorf("channel %+v (found %v): want it to be the incident's, with the declarer invited", ch, ok)
	}
}

// TestCardUpdatedAfterEachChange: each change redraws the pinned card in
// place; a burst of changes is coalesced, and the card ends on the final
// state.
func TestCardUpdatedAfterEachChange(t *testing.T) {
	w := newWorld(t)
	inc := w.declare("Search is slow")
	w.settle()
	inc = w.incident(inc.ID)
	ctx := t.Context()
	steps := []struct {
		name   string
		change func() (bot.Incident, error)
		want   string // in the card's blocks
	}{
		{"Severity", func() (bot.Incident, error) { return w.svc.SetSeverity(ctx, "U1", inc.ID, bot.SEV1) }, "SEV1"},
		{"Commander", func() (bot.Incident, error) {
			return w.svc.AssignRole(ctx, "U1", inc.ID, bot.RoleCommander, "<@U2>")
		}, "@U2"},
		{"Status", func() (bot.Incident, error) {
			return w.svc.SetStatus(ctx, "U2", inc.ID, bot.StatusMonitoring, "")
		}, "monitoring"},
	}
	for _, st := range steps {
		before := len(w.srv.CallsTo("chat.update"))
		if _, err := st.change(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		w.settle()
		card, _ := w.srv.Message(inc.ChannelID, inc.CardTS)
		if len(w.srv.CallsTo("chat.update")) <= before || !strings.Contains(string(card.Blocks), st.want) {
			t.Errorf("after %s the card was not redrawn with %q: %s", st.name, st.want, card.Blocks)
		}
	}
	before := len(w.srv.CallsTo("chat.update"))
	for i := range 6 { // monitoring → identified → monitoring …
		if _, err := w.svc.SetStatus(ctx, "U2", inc.ID, statusStep(i), ""); err != nil {
			t.Fatal(err)
		}
	}
	w.settle()
	updates := len(w.srv.CallsTo("chat.update")) - before
	card, _ := w.srv.Message(inc.ChannelID, inc.CardTS)
	if updates < 1 || updates > 6 || !strings.Contains(card.Text, string(statusStep(5))) {
		t.Errorf("%d redraws for 6 quick changes, card %q; want 1..6 redraws ending on %s", updates, card.Text, statusStep(5))
	}
	if len(w.srv.Messages(inc.ChannelID)) == 0 || w.srv.Messages(inc.ChannelID)[0].TS != inc.CardTS {
		t.Error("the card should be the channel's first message, redrawn in place")
	}
	w.requireNoFailures()
}
