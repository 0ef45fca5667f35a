package slackchat_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/slackfake"
)

// recoveryGoal is how soon after Slack recovers everything queued during a
// brownout must be delivered (issue 14, item 3).
const recoveryGoal = 15 * time.Second

// productionDispatcher is the outbox dispatcher with sitrep serve's retry
// policy (no backoff options set), on the world's fake clock.
func (w *world) productionDispatcher() *bot.Dispatcher {
	d := bot.NewDispatcher(w.db, bot.DispatcherOptions{Workers: 4, Now: w.clock.Now, OnFailure: w.svc.RecordDeliveryFailure})
	if err := bot.Wire(w.svc, d, bot.ChatOps(w.client)); err != nil {
		w.t.Fatal(err)
	}
	return d
}

// settleThrough delivers until the outbox is empty, moving the fake clock to
// each retry as it comes due; at recoverAt (if not zero) Slack stops
// answering chat.postMessage with a fault.
func (w *world) settleThrough(disp *bot.Dispatcher, recoverAt time.Time) {
	w.t.Helper()
	for range 2000 {
		if err := disp.Drain(w.t.Context()); err != nil {
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
		if !recoverAt.IsZero() && !next.Before(recoverAt) {
			if now.Before(recoverAt) {
				w.clock.Advance(recoverAt.Sub(now))
			}
			w.srv.ClearFault("chat.postMessage")
			recoverAt = time.Time{}
			continue
		}
		w.clock.Advance(next.Sub(now))
	}
	w.t.Fatal("outbox did not settle")
}

// postedAt returns, on the fake clock, when the successful chat.postMessage
// calls whose text contains text were sent.
func (w *world) postedAt(text string) []time.Time {
	calls, at := w.srv.CallsTo("chat.postMessage"), w.stamps.times("chat.postMessage")
	if len(calls) != len(at) {
		w.t.Fatalf("%d chat.postMessage calls recorded by the fake, %d sent", len(calls), len(at))
	}
	var out []time.Time
	for i, c := range calls {
		if c.Fault == nil && strings.Contains(c.Params.Get("text"), text) {
			out = append(out, at[i])
		}
	}
	return out
}

// lastFaultAt is when the last faulted chat.postMessage call was sent.
func (w *world) lastFaultAt() time.Time {
	calls, at := w.srv.CallsTo("chat.postMessage"), w.stamps.times("chat.postMessage")
	var last time.Time
	for i, c := range calls {
		if c.Fault != nil {
			last = at[i]
		}
	}
	return last
}

// requireDeliveredOnceInOrder checks that the status update is in the
// incident channel once, its broadcast copy in the broadcast channel once,
// the copy sent after the update, and both within recoveryGoal of recovered.
func requireDeliveredOnceInOrder(t *testing.T, w *world, inc bot.Incident, text string, recovered time.Time) {
	t.Helper()
	count := func(channel string) int {
		n := 0
		for _, s := range w.texts(channel) {
			if strings.Contains(s, text) {
				n++
			}
		}
		return n
	}
	if n := count(inc.ChannelID); n != 1 {
		t.Errorf("the update is in the incident channel %d times, want once", n)
	}
	if n := count(w.broadcast); n != 1 {
		t.Errorf("the update is in the broadcast channel %d times, want once", n)
	}
	at := w.postedAt(text)
	if len(at) != 2 {
		t.Fatalf("%d successful posts of the update, want 2 (channel, broadcast)", len(at))
	}
	calls := w.srv.CallsTo("chat.postMessage")
	var channels []string
	for _, c := range calls {
		if c.Fault == nil && strings.Contains(c.Params.Get("text"), text) {
			channels = append(channels, c.Params.Get("channel"))
		}
	}
	if channels[0] != inc.ChannelID || channels[1] != w.broadcast {
		t.Errorf("posted to %v, want the incident channel %s, then the broadcast channel %s", channels, inc.ChannelID, w.broadcast)
	}
	for i, a := range at {
		if late := a.Sub(recovered); late > recoveryGoal {
			t.Errorf("post %d of the update went out %s after Slack recovered, want within %s", i+1, late, recoveryGoal)
		}
	}
	w.requireNoFailures()
}

// TestBrownoutRecoveryAfterRateLimitsAndErrors: a status update and its
// broadcast copy, queued while Slack answers 4×429 (Retry-After: 1) and then
// 3×500, reach Slack within 15 s of the last failed call, once, in order.
func TestBrownoutRecoveryAfterRateLimitsAndErrors(t *testing.T) {
	w := newWorld(t)
	disp := w.productionDispatcher()
	inc := w.declare("Platform API returning 500")
	w.settleThrough(disp, time.Time{})
	inc = w.incident(inc.ID)

	w.srv.FailNextN("chat.postMessage", 4, slackfake.RateLimited(1))
	w.srv.FailNextN("chat.postMessage", 3, slackfake.ServerError(500))
	const text = "Failing over the primary database"
	if _, err := w.svc.PostUpdate(t.Context(), "U1", inc.ID, text); err != nil {
		t.Fatal(err)
	}
	w.settleThrough(disp, time.Time{})
	requireDeliveredOnceInOrder(t, w, inc, text, w.lastFaultAt())
	requireRetryAfterHonoured(t, w, "chat.postMessage")
}

// TestBrownoutRecoveryAfterMinutesOfRateLimits: Slack answers every post
// with 429 (Retry-After: 1) for five minutes; once it stops, the update
// queued at the start and its broadcast copy go out within 15 s, once, in
// order, and the 429s never count as failed attempts.
func TestBrownoutRecoveryAfterMinutesOfRateLimits(t *testing.T) {
	w := newWorld(t)
	disp := w.productionDispatcher()
	inc := w.declare("Platform API returning 500")
	w.settleThrough(disp, time.Time{})
	inc = w.incident(inc.ID)

	w.srv.SetFault("chat.postMessage", slackfake.RateLimited(1))
	recovered := w.clock.Now().Add(5 * time.Minute)
	const text = "Failing over the primary database"
	if _, err := w.svc.PostUpdate(t.Context(), "U1", inc.ID, text); err != nil {
		t.Fatal(err)
	}
	w.settleThrough(disp, recovered)
	requireDeliveredOnceInOrder(t, w, inc, text, recovered)
	delivered, err := w.db.Deliveries(t.Context(), bot.DeliveryDelivered)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range delivered {
		if d.Attempts > 1 {
			t.Errorf("delivery %d (%s) counted %d attempts; 429s are waits, not failed attempts", d.ID, d.Op, d.Attempts)
		}
	}
}

// TestRetryAfterNotWholeSeconds: a Retry-After of "1.5" or an HTTP date is
// waited for, never taken as a permanent failure.
func TestRetryAfterNotWholeSeconds(t *testing.T) {
	w := newWorld(t)
	disp := w.productionDispatcher()
	inc := w.declare("Platform API returning 500")
	w.settleThrough(disp, time.Time{})
	inc = w.incident(inc.ID)

	until := w.clock.Now().Add(10 * time.Second).Truncate(time.Second)
	date := until.UTC().Format(http.TimeFormat)
	w.srv.FailNext("chat.postMessage", slackfake.Fault{Status: 429, RetryAfterHeader: "1.5", Error: "ratelimited"})
	w.srv.FailNext("chat.postMessage", slackfake.Fault{Status: 429, RetryAfterHeader: date, Error: "ratelimited"})
	const text = "Failing over the primary database"
	if _, err := w.svc.PostUpdate(t.Context(), "U1", inc.ID, text); err != nil {
		t.Fatal(err)
	}
	w.settleThrough(disp, time.Time{})
	requireDeliveredOnceInOrder(t, w, inc, text, w.lastFaultAt())
	calls, at := w.srv.CallsTo("chat.postMessage"), w.stamps.times("chat.postMessage")
	for i, c := range calls[:len(calls)-1] {
		if c.Fault == nil {
			continue
		}
		want := 1500 * time.Millisecond
		if c.Fault.RetryAfterHeader == date {
			want = until.Sub(at[i])
		}
		if gap := at[i+1].Sub(at[i]); gap < want {
			t.Errorf("call %d came %s after a 429 with Retry-After %q", i+1, gap, c.Fault.RetryAfterHeader)
		}
	}
}
