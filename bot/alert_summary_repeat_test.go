package bot_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/testclock"
)

// Whether an alert summary is queued is asked of the store, never of a
// process's memory: these tests fire
// repeats around deliveries, failed deliveries and a restart, and check
// that every repeat ends up in a summary and that one summary is queued per
// window.

func newSummaryEnv(t *testing.T) *env {
	t.Helper()
	e := newEnv(t, bot.ServiceConfig{})
	enableSummaries(e)
	return e
}

func enableSummaries(e *env) {
	e.wire(bot.Alerting(bot.AlertingConfig{SummaryEvery: time.Minute}, e.chat))
}

func (e *env) fire(eventID string) {
	e.t.Helper()
	e.alert(bot.Alert{Source: "alertmanager", DedupKey: "api", Title: "5xx", Severity: bot.SEV1, Firing: true, EventID: eventID})
}

// pendingSummaries counts the alert summaries waiting in the outbox.
func (e *env) pendingSummaries() int {
	e.t.Helper()
	n := 0
	for _, d := range e.deliveries(bot.DeliveryPending) {
		if d.Op == bot.OpAlertSummary {
			n++
		}
	}
	return n
}

// lastSummary is the text of the latest alert summary posted or redrawn.
func (e *env) lastSummary() string {
	e.t.Helper()
	text := ""
	for _, c := range e.chat.Calls("") {
		if (c.Method == "post" || c.Method == "update") && strings.HasPrefix(c.Text, "Alerts on INC-") {
			text = c.Text
		}
	}
	return text
}

func (e *env) wantSummary(fired string) {
	e.t.Helper()
	if got := e.lastSummary(); !strings.Contains(got, ": "+fired+" fired") {
		e.t.Fatalf("last alert summary %q, want %s fired", got, fired)
	}
}

func (e *env) wantPendingSummaries(n int) {
	e.t.Helper()
	if got := e.pendingSummaries(); got != n {
		e.t.Fatalf("%d alert summaries queued, want %d", got, n)
	}
}

func TestAlertSummary_RepeatsAfterADeliveryQueueTheNext(t *testing.T) {
	e := newSummaryEnv(t)
	e.fire("a1")
	e.drain() // the channel
	e.fire("a2")
	e.fire("a3")
	e.wantPendingSummaries(1)
	e.clock.Advance(time.Minute)
	e.drain()
	e.wantSummary("3")
	e.wantPendingSummaries(0)

	// The summary was delivered: a repeat must queue the next one, not
	// trust what was remembered about the first.
	e.fire("a4")
	e.wantPendingSummaries(1)
	e.fire("a5")
	e.wantPendingSummaries(1)
	e.clock.Advance(time.Minute)
	e.drain()
	e.wantSummary("5")
}

func TestAlertSummary_RepeatsDuringAFailingDeliveryAreSummarised(t *testing.T) {
	e := newSummaryEnv(t)
	e.fire("a1")
	e.drain()
	e.fire("a2")
	e.clock.Advance(time.Minute)
	e.chat.setFail(func(c chatCall) error {
		if strings.HasPrefix(c.Text, "Alerts on INC-") {
			return bot.Temporary(errors.New("slack 503"), 0)
		}
		return nil
	})
	e.drain() // the summary fails and waits for its retry
	e.wantPendingSummaries(1)
	e.fire("a3") // finds the waiting entry: nothing new queued
	e.wantPendingSummaries(1)
	e.chat.setFail(nil)
	e.clock.Advance(maxBackoff)
	e.drain()
	e.wantSummary("3")
	e.wantPendingSummaries(0)
	e.fire("a4")
	e.wantPendingSummaries(1)
}

func TestAlertSummary_RestartAsksTheStore(t *testing.T) {
	e := newSummaryEnv(t)
	e.fire("a1")
	e.drain()
	e.fire("a2") // queued and remembered by this process
	e.reopen()
	enableSummaries(e)
	e.fire("a3") // a new process: the store says it is queued
	e.wantPendingSummaries(1)
	e.clock.Advance(time.Minute)
	e.drain()
	e.wantSummary("3")
	e.fire("a4")
	e.wantPendingSummaries(1)
}

// replica is a second Service and Dispatcher on e's database and chat, with
// a clock of its own: another process of the same deployment, on another
// machine.
func (e *env) replica() *env {
	e.t.Helper()
	r := &env{t: e.t, path: e.path, cfg: e.cfg, clock: testclock.New(e.clock.Now()), chat: e.chat}
	r.cfg.Now = r.clock.Now
	r.open()
	enableSummaries(r)
	return r
}

// A replica whose clock runs a little ahead delivers the summary another
// replica queued before that one's clock reaches the due time: a repeat on
// the slower replica must still be summarised.
func TestAlertSummary_RepeatAfterAnotherReplicaDeliveredIsSummarised(t *testing.T) {
	a := newSummaryEnv(t)
	b := a.replica()
	a.fire("a1")
	a.drain()                                                   // the channel
	a.fire("a2")                                                // replica a queues the summary
	due := a.clock.Now().Truncate(time.Minute).Add(time.Minute) // SummaryEvery
	a.clock.Set(due.Add(-time.Second))
	b.clock.Set(due.Add(time.Second))
	b.drain() // b's clock is past the due time: it delivers
	a.wantSummary("2")
	a.wantPendingSummaries(0)

	a.fire("a3") // a's clock is before the due time, the entry is gone
	a.wantPendingSummaries(1)
	a.clock.Advance(time.Minute)
	b.clock.Advance(time.Minute)
	b.drain()
	a.wantSummary("3")
}
