package bot_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// TestDeclareDelivers follows a declaration through the outbox to chat.
func TestDeclareDelivers(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{BroadcastChannel: broadcast})
	inc := e.declare("Checkout is DOWN")
	if n := len(e.chat.Calls("")); n != 0 {
		t.Fatalf("%d chat calls before delivery, want none: chat waits for the dispatcher", n)
	}
	e.drain()

	got := e.incident(inc.ID)
	if got.ChannelID == "" || got.ChannelName != "inc-1-checkout-is-down" || got.CardTS == "" {
		t.Fatalf("after delivery: channel %q %q card %q, want all set", got.ChannelID, got.ChannelName, got.CardTS)
	}
	ch := got.ChannelID
	var calls []string
	for _, c := range e.chat.Calls("") {
		calls = append(calls, c.String())
	}
	// The pin is queued by the card's delivery (so a failed pin is retried
	// without posting the card again), so it comes after what the
	// declaration queued: invite and announcement.
	want := []string{
		"create inc-1-checkout-is-down",
		fmt.Sprintf("post %s %q", ch, bot.Card(got).Text),
		fmt.Sprintf("invite %s [U1]", ch),
		fmt.Sprintf("post %s %q", broadcast, fmt.Sprintf("INC-1 SEV3 opened in %s: Checkout is DOWN (investigating)", bot.ChannelLink(ch))),
		fmt.Sprintf("pin %s/%s", ch, got.CardTS),
	}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("chat calls:\n got %q\nwant %q", calls, want)
	}
	card := e.chat.Calls("post")[0]
	if card.Title != bot.Card(got).Title || card.Tag == "" {
		t.Errorf("card post = %+v, want the card with a delivery tag", card)
	}
	if n := len(e.unfinished()); n != 0 {
		t.Errorf("%d entries unfinished, want none", n)
	}
	for _, d := range e.deliveries() {
		if d.State != bot.DeliveryDelivered || d.Attempts != 1 || !d.DeliveredAt.Equal(start) {
			t.Errorf("%s: %s after %d attempts at %v, want delivered once at %v", d.Op, d.State, d.Attempts, d.DeliveredAt, start)
		}
	}
	evs := e.timeline(inc.ID)
	if got := count(evs, bot.KindChannelCreated); got != 1 {
		t.Errorf("%d channel_created events, want 1", got)
	}
	// Delivering again does nothing.
	before := len(e.chat.Calls(""))
	e.drain()
	if after := len(e.chat.Calls("")); after != before {
		t.Errorf("a second drain made %d more chat calls", after-before)
	}
}

func TestPrivateIncidentDelivers(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{BroadcastChannel: broadcast})
	inc, err := e.svc.Declare(e.ctx(), bot.DeclareRequest{Actor: "U1", Title: "Secret breach", Private: true})
	if err != nil {
		t.Fatal(err)
	}
	e.drain()
	if c := e.chat.Calls("create"); len(c) != 1 || !c[0].Private {
		t.Errorf("create calls %+v, want one private channel", c)
	}
	if _, err := e.svc.Resolve(e.ctx(), "U1", inc.ID, "rotated the keys"); err != nil {
		t.Fatal(err)
	}
	e.drain()
	for _, text := range e.chat.Posts(broadcast) {
		if strings.Contains(text, "Secret") || strings.Contains(text, "rotated") || strings.Contains(text, "INC-") {
			t.Errorf("broadcast %q names a private incident", text)
		}
	}
	if got := len(e.chat.Posts(broadcast)); got != 2 {
		t.Errorf("%d broadcasts, want 2 (declared, resolved)", got)
	}
}

// TestKeyOrderDuringOutage: while a chat call for one incident fails
// temporarily, that incident's later messages wait and another incident's
// go ahead; after the backoff everything arrives in order.
func TestKeyOrderDuringOutage(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	one, two := e.opened("one"), e.opened("two")
	e.chat.setFail(func(c chatCall) error {
		if c.Method == "post" && c.Channel == one.ChannelID {
			return bot.Temporary(errors.New("503 service unavailable"), 0)
		}
		return nil
	})
	for i := range 3 {
		if _, err := e.svc.PostUpdate(e.ctx(), "U1", one.ID, fmt.Sprintf("one-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.svc.PostUpdate(e.ctx(), "U1", two.ID, "two-0"); err != nil {
		t.Fatal(err)
	}
	failedAt := e.clock.Now()
	e.drain()

	if got := updates(e.chat.Posts(one.ChannelID)); len(got) != 0 {
		t.Errorf("%s got %q during the outage, want nothing", one.ChannelID, got)
	}
	if got, want := updates(e.chat.Posts(two.ChannelID)), []string{"two-0"}; !reflect.DeepEqual(got, want) {
		t.Errorf("%s got %q, want %q: another key must not wait", two.ChannelID, got, want)
	}
	pending := e.unfinished()
	if len(pending) != 3 {
		t.Fatalf("%d entries unfinished, want 3", len(pending))
	}
	head := pending[0]
	if head.Attempts != 1 || !strings.Contains(head.LastError, "503") {
		t.Errorf("head entry: %d attempts, error %q; want 1 attempt and the 503", head.Attempts, head.LastError)
	}
	// The first retry waits between half and all of the base backoff.
	if earliest, latest := failedAt.Add(baseBackoff/2), failedAt.Add(baseBackoff); head.NextAttemptAt.Before(earliest) || head.NextAttemptAt.After(latest) {
		t.Errorf("next attempt at %v, want between %v and %v", head.NextAttemptAt, earliest, latest)
	}
	for _, d := range pending[1:] {
		if d.Attempts != 0 {
			t.Errorf("entry %d behind the head was tried %d times, want 0", d.ID, d.Attempts)
		}
	}

	// Not due yet: nothing happens, whatever the chat would say.
	e.chat.setFail(nil)
	e.drain()
	if got := updates(e.chat.Posts(one.ChannelID)); len(got) != 0 {
		t.Errorf("%s got %q before the backoff ran out, want nothing", one.ChannelID, got)
	}

	e.clock.Advance(baseBackoff)
	e.drain()
	if got, want := updates(e.chat.Posts(one.ChannelID)), []string{"one-0", "one-1", "one-2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("%s got %q after the outage, want %q", one.ChannelID, got, want)
	}
	if n := len(e.unfinished()); n != 0 {
		t.Errorf("%d entries unfinished, want none", n)
	}
}

// updates returns the status update texts among posts, without the prefix.
func updates(posts []string) []string {
	var out []string
	for _, p := range posts {
		if i := strings.LastIndex(p, ": "); strings.HasPrefix(p, "Status update") && i >= 0 {
			out = append(out, p[i+2:])
		}
	}
	return out
}

func TestRetryAfter(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	inc := e.opened("rate limited")
	const retryAfter = 30 * time.Second
	failures := 1
	e.chat.setFail(func(c chatCall) error {
		if c.Method == "post" && failures > 0 {
			failures--
			return bot.Temporary(errors.New("429 ratelimited"), retryAfter)
		}
		return nil
	})
	if _, err := e.svc.PostUpdate(e.ctx(), "U1", inc.ID, "hello"); err != nil {
		t.Fatal(err)
	}
	failedAt := e.clock.Now()
	e.drain()
	d := e.unfinished()
	if len(d) != 1 || !d[0].NextAttemptAt.Equal(failedAt.Add(retryAfter)) {
		t.Fatalf("unfinished %+v, want one entry due at %v (Retry-After beats the shorter backoff)", d, failedAt.Add(retryAfter))
	}

	e.clock.Advance(retryAfter - time.Second)
	e.drain()
	if got := updates(e.chat.Posts(inc.ChannelID)); len(got) != 0 {
		t.Errorf("posted %q before Retry-After ran out", got)
	}
	e.clock.Advance(time.Second)
	e.drain()
	if got, want := updates(e.chat.Posts(inc.ChannelID)), []string{"hello"}; !reflect.DeepEqual(got, want) {
		t.Errorf("posted %q after Retry-After, want %q", got, want)
	}
}

func TestBackoffCapped(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	inc := e.opened("flaky")
	e.chat.setFail(func(c chatCall) error {
		if c.Method == "post" {
			return bot.Temporary(errors.New("timeout"), 0)
		}
		return nil
	})
	if _, err := e.svc.PostUpdate(e.ctx(), "U1", inc.ID, "hello"); err != nil {
		t.Fatal(err)
	}
	for attempt := range 8 {
		e.drain()
		d := e.unfinished()
		if len(d) != 1 || d[0].Attempts != attempt+1 {
			t.Fatalf("attempt %d: unfinished %+v, want the entry with %d attempts", attempt, d, attempt+1)
		}
		delay := d[0].NextAttemptAt.Sub(e.clock.Now())
		want := min(baseBackoff<<attempt, maxBackoff)
		if delay < want/2 || delay > want {
			t.Errorf("attempt %d: retry in %v, want between %v and %v", attempt, delay, want/2, want)
		}
		e.clock.Advance(delay)
	}
}

func TestPermanentFailure(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	inc := e.opened("doomed")
	e.chat.setFail(func(c chatCall) error {
		if c.Method == "post" && strings.Contains(c.Text, "bad") {
			return errors.New("msg_too_long")
		}
		return nil
	})
	for _, text := range []string{"bad news", "good news"} {
		if _, err := e.svc.PostUpdate(e.ctx(), "U1", inc.ID, text); err != nil {
			t.Fatal(err)
		}
	}
	e.drain()

	failed := e.deliveries(bot.DeliveryFailed)
	if len(failed) != 1 || failed[0].Op != bot.OpPost || !strings.Contains(failed[0].LastError, "msg_too_long") || failed[0].Attempts != 1 {
		t.Fatalf("failed entries %+v, want the one post, tried once", failed)
	}
	evs := e.timeline(inc.ID)
	last := evs[len(evs)-1]
	if last.Kind != bot.KindDeliveryFailed || last.Actor != bot.SystemActor || !strings.Contains(last.Text, "msg_too_long") ||
		last.Data["op"] != bot.OpPost || last.Data["delivery"] != float64(failed[0].ID) {
		t.Errorf("last event = %+v, want delivery_failed about entry %d", last, failed[0].ID)
	}
	// A failure does not hold up the rest of the incident's messages.
	if got, want := updates(e.chat.Posts(inc.ChannelID)), []string{"good news"}; !reflect.DeepEqual(got, want) {
		t.Errorf("posted %q, want %q", got, want)
	}
}

func TestNoHandler(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	inc := e.opened("x")
	err := e.db.Update(e.ctx(), func(tx bot.Tx) error {
		return tx.Enqueue(bot.Delivery{Key: "incident:1", Op: "pager.page", IncidentID: inc.ID})
	})
	if err != nil {
		t.Fatal(err)
	}
	e.drain()
	if failed := e.deliveries(bot.DeliveryFailed); len(failed) != 1 || failed[0].Op != "pager.page" {
		t.Errorf("failed entries %+v, want the unhandled op", failed)
	}
	if got := count(e.timeline(inc.ID), bot.KindDeliveryFailed); got != 1 {
		t.Errorf("%d delivery_failed events, want 1", got)
	}
}

func TestChannelNameTaken(t *testing.T) {
	t.Run("OKSuffixed", func(t *testing.T) {
		e := newEnv(t, bot.ServiceConfig{})
		e.chat.channels["inc-1-db-down"] = "COLD" // an old channel has the name
		inc := e.opened("DB down")
		if got, want := inc.ChannelName, "inc-1-db-down-2"; got != want {
			t.Errorf("channel name %q, want %q", got, want)
		}
		creates := e.chat.Calls("create")
		if len(creates) != 1 || creates[0].Name != "inc-1-db-down-2" || creates[0].Channel != inc.ChannelID {
			t.Errorf("created %+v, want one channel inc-1-db-down-2", creates)
		}
		if len(e.chat.Posts(inc.ChannelID)) != 1 || len(e.chat.In("COLD")) != 0 {
			t.Errorf("the card went to the wrong channel: %v", e.chat.Calls(""))
		}
	})
	t.Run("ErrAllTaken", func(t *testing.T) {
		e := newEnv(t, bot.ServiceConfig{})
		e.chat.setFail(func(c chatCall) error {
			if c.Method == "create" {
				return bot.Errorf(bot.ECONFLICT, "name_taken")
			}
			return nil
		})
		inc := e.opened("DB down")
		if inc.ChannelID != "" {
			t.Errorf("channel %q, want none", inc.ChannelID)
		}
		if got := e.chat.Attempts(); got < 2 || got > 100 {
			t.Errorf("%d create attempts, want a bounded number", got)
		}
		failed := e.deliveries(bot.DeliveryFailed)
		if len(failed) == 0 || failed[0].Op != bot.OpCreateChannel {
			t.Errorf("failed %v, want the channel creation first", opNames(t, failed))
		}
		if n := len(e.unfinished()); n != 0 {
			t.Errorf("%d entries unfinished, want none: without a channel the rest fails", n)
		}
		if got := count(e.timeline(inc.ID), bot.KindDeliveryFailed); got != len(failed) {
			t.Errorf("%d delivery_failed events, want %d", got, len(failed))
		}
	})
}

func TestCardRefreshCoalesced(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	inc := e.opened("busy")
	for _, sev := range []bot.Severity{bot.SEV2, bot.SEV1, bot.SEV4} {
		if _, err := e.svc.SetSeverity(e.ctx(), "U1", inc.ID, sev); err != nil {
			t.Fatal(err)
		}
	}
	superseded := e.deliveries(bot.DeliverySuperseded)
	if got, want := opNames(t, superseded), []string{bot.OpRefreshCard, bot.OpSetTopic, bot.OpRefreshCard, bot.OpSetTopic}; !reflect.DeepEqual(got, want) {
		t.Errorf("superseded %v, want %v", got, want)
	}
	e.drain()
	updates := e.chat.Calls("update")
	if len(updates) != 1 || !strings.Contains(updates[0].Title, "SEV4") {
		t.Errorf("card updates %+v, want one showing SEV4", updates)
	}
	topics := e.chat.Calls("topic")
	if len(topics) != 1 || !strings.HasPrefix(topics[0].Topic, "SEV4") {
		t.Errorf("topic changes %+v, want one showing SEV4", topics)
	}
	var sevPosts []string
	for _, p := range e.chat.Posts(inc.ChannelID) {
		if strings.Contains(p, "severity") {
			sevPosts = append(sevPosts, p)
		}
	}
	if len(sevPosts) != 3 {
		t.Errorf("severity messages %q, want all 3: messages are never coalesced", sevPosts)
	}
}

// TestCrashRecovery: entries claimed by a process that then died are sent
// again, each exactly once, after the file is reopened.
func TestCrashRecovery(t *testing.T) {
	prepare := func(t *testing.T) (*env, []int64) {
		e := newEnv(t, bot.ServiceConfig{})
		for _, title := range []string{"a", "b", "c"} {
			e.declare(title)
		}
		claimed, err := e.db.ClaimDeliveries(e.ctx(), e.clock.Now(), 10)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int64
		for _, d := range claimed {
			ids = append(ids, d.ID)
		}
		if len(ids) != 3 {
			t.Fatalf("claimed %d entries, want the 3 channel creations", len(ids))
		}
		e.reopen() // the process died with them in flight
		return e, ids
	}
	check := func(t *testing.T, e *env) {
		t.Helper()
		creates := e.chat.Calls("create")
		if len(creates) != 3 {
			t.Errorf("%d channels created, want 3 (one each)", len(creates))
		}
		if got := len(e.chat.Calls("pin")); got != 3 {
			t.Errorf("%d cards pinned, want 3", got)
		}
		if n := len(e.unfinished()); n != 0 {
			t.Errorf("%d entries unfinished, want none", n)
		}
		for _, d := range e.deliveries() {
			if d.State != bot.DeliveryDelivered {
				t.Errorf("%d %s is %s, want delivered", d.ID, d.Op, d.State)
			}
		}
	}

	t.Run("RecoverDeliveries", func(t *testing.T) {
		e, ids := prepare(t)
		n, err := e.db.RecoverDeliveries(e.ctx())
		if err != nil || n != len(ids) {
			t.Fatalf("RecoverDeliveries = %d, %v; want %d", n, err, len(ids))
		}
		for _, d := range e.deliveries() {
			recovered := d.ID == ids[0] || d.ID == ids[1] || d.ID == ids[2]
			if d.State != bot.DeliveryPending || d.Uncertain != recovered {
				t.Errorf("entry %d %s: %s uncertain=%v, want pending uncertain=%v", d.ID, d.Op, d.State, d.Uncertain, recovered)
			}
		}
		e.drain()
		check(t, e)
	})

	t.Run("Run", func(t *testing.T) {
		// Run recovers by itself before delivering.
		e, _ := prepare(t)
		ctx, cancel := context.WithCancel(e.ctx())
		done := make(chan error, 1)
		go func() { done <- e.disp.Run(ctx) }()
		deadline := time.Now().Add(30 * time.Second)
		for len(e.chat.Calls("pin")) < 3 && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond) // polling, with a generous deadline
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
		check(t, e)
	})
}

// TestUncertainPostNotRepeated: a post reached the chat but the process died
// before recording it. After recovery, a chat that can find its own tagged
// messages is asked first, and the message is not posted twice.
func TestUncertainPostNotRepeated(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	inc := e.opened("x")
	if _, err := e.svc.PostUpdate(e.ctx(), "U1", inc.ID, "only once"); err != nil {
		t.Fatal(err)
	}
	// The process dies right after the chat accepted the message, so the
	// outcome is never recorded.
	pending := e.unfinished()
	if len(pending) != 1 || pending[0].Op != bot.OpPost {
		t.Fatalf("unfinished %+v, want the one post", pending)
	}
	e.forget[pending[0].ID] = true
	e.drain()
	if n := len(updates(e.chat.Posts(inc.ChannelID))); n != 1 {
		t.Fatalf("%d updates posted before the crash, want 1", n)
	}
	e.adapter = finderChat{e.chat}
	e.reopen()
	if n, err := e.db.RecoverDeliveries(e.ctx()); err != nil || n != 1 {
		t.Fatalf("RecoverDeliveries = %d, %v; want 1", n, err)
	}
	e.drain()
	if got, want := updates(e.chat.Posts(inc.ChannelID)), []string{"only once"}; !reflect.DeepEqual(got, want) {
		t.Errorf("posted %q, want %q", got, want)
	}
	if n := len(e.unfinished()); n != 0 {
		t.Errorf("%d entries unfinished, want none", n)
	}
}

// TestRateLimitStorm: every message posted while most chat calls are rate
// limited arrives exactly once, in order.
func TestRateLimitStorm(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{BroadcastChannel: broadcast})
	inc := e.opened("storm")
	calls := 0
	e.chat.setFail(func(c chatCall) error {
		calls++
		if calls%3 != 0 { // two calls in three are refused
			return bot.Temporary(errors.New("429 ratelimited"), 2*time.Second)
		}
		return nil
	})
	const n = 25
	var want []string
	for i := range n {
		text := fmt.Sprintf("update %02d", i)
		want = append(want, text)
		if _, err := e.svc.PostUpdate(e.ctx(), "U1", inc.ID, text); err != nil {
			t.Fatal(err)
		}
	}
	for round := 0; len(e.unfinished()) > 0; round++ {
		if round > 50*n {
			t.Fatalf("still %d entries unfinished after %d rounds", len(e.unfinished()), round)
		}
		e.drain()
		e.clock.Advance(maxBackoff)
	}
	if got := updates(e.chat.Posts(inc.ChannelID)); !reflect.DeepEqual(got, want) {
		t.Errorf("incident channel got\n%q\nwant\n%q", got, want)
	}
	var mirrored []string
	for _, p := range e.chat.Posts(broadcast) {
		if i := strings.LastIndex(p, ": "); i >= 0 && strings.Contains(p, "update ") {
			mirrored = append(mirrored, p[i+2:])
		}
	}
	if !reflect.DeepEqual(mirrored, want) {
		t.Errorf("broadcast channel got\n%q\nwant\n%q", mirrored, want)
	}
	retried := 0
	for _, d := range e.deliveries() {
		if d.State != bot.DeliveryDelivered {
			t.Errorf("entry %d %s is %s, want delivered", d.ID, d.Op, d.State)
		}
		if d.Attempts > 1 {
			retried++
		}
	}
	if retried == 0 {
		t.Error("no entry was retried: the storm did not happen")
	}
}
