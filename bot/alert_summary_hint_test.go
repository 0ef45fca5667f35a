package bot_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// The in-memory summary hint (alert_summary_hint.go) may only skip the
// "summary already queued?" query when the answer is yes: these tests fire
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
	e.svc.EnableAlerting(bot.AlertingConfig{SummaryEvery: time.Minute})
	e.disp.Handle(e.svc.AlertHandlers(e.chat))
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
