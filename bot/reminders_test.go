package bot_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// remindersOn enables reminders on the env's current service and
// dispatcher (again after each reopen, as sitrep serve does at start).
func remindersOn(e *env, cfg bot.ReminderConfig) *bot.Reminders {
	r := bot.NewReminders(cfg)
	e.wire(r)
	return r
}

func testReminderConfig() bot.ReminderConfig {
	cfg := bot.DefaultReminderConfig()
	cfg.ArchiveAfter = 24 * time.Hour
	return cfg
}

// declareSev declares an incident at sev and delivers its opening.
func declareSev(e *env, title string, sev bot.Severity) bot.Incident {
	e.t.Helper()
	inc, err := e.svc.Declare(e.ctx(), bot.DeclareRequest{Actor: "U1", Title: title, Severity: sev})
	if err != nil {
		e.t.Fatalf("Declare: %v", err)
	}
	e.drain()
	return e.incident(inc.ID)
}

// reminders returns the reminder messages posted in a channel.
func reminders(e *env, channel string) []string {
	var out []string
	for _, p := range e.chat.Posts(channel) {
		if strings.Contains(p, "has had no status update") {
			out = append(out, p)
		}
	}
	return out
}

// at moves the clock to start+d and delivers what is due.
func at(e *env, d time.Duration) {
	e.t.Helper()
	if now := e.clock.Now(); start.Add(d).Before(now) {
		e.t.Fatalf("clock already at %s, past %s", now.Sub(start), d)
	}
	e.clock.Advance(start.Add(d).Sub(e.clock.Now()))
	e.drain()
}

func wantReminders(t *testing.T, e *env, inc bot.Incident, n int, when string) {
	t.Helper()
	got := reminders(e, inc.ChannelID)
	if len(got) != n {
		t.Fatalf("%s: %d reminders, want %d: %q", when, len(got), n, got)
	}
	if sent := count(e.timeline(inc.ID), bot.KindReminderSent); sent != n {
		t.Fatalf("%s: %d reminder events on the timeline, want %d", when, sent, n)
	}
}

func TestReminderAfterInterval(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	remindersOn(e, testReminderConfig())
	inc := declareSev(e, "Checkout down", bot.SEV1)

	at(e, 29*time.Minute)
	wantReminders(t, e, inc, 0, "at 29 min")
	at(e, 30*time.Minute)
	wantReminders(t, e, inc, 1, "at 30 min")
	got := reminders(e, inc.ChannelID)[0]
	for _, want := range []string{bot.Mention("U1"), "INC-1", "30 min"} {
		if !strings.Contains(got, want) {
			t.Errorf("reminder %q lacks %q", got, want)
		}
	}
	at(e, 59*time.Minute)
	wantReminders(t, e, inc, 1, "at 59 min")
	at(e, 60*time.Minute)
	wantReminders(t, e, inc, 2, "at 60 min (still no update)")
	if got := reminders(e, inc.ChannelID)[1]; !strings.Contains(got, "1 h") {
		t.Errorf("second reminder %q should say 1 h without an update", got)
	}
}

func TestReminderMessage(t *testing.T) {
	inc := bot.Incident{ID: 4, Severity: bot.SEV2, Status: bot.StatusIdentified, Commander: "U7"}
	msg := bot.ReminderMessage(inc, time.Hour, 30*time.Minute)
	if len(msg.Actions) != 2 || msg.Actions[0].ID != bot.ActionPostUpdate || msg.Actions[1].ID != bot.ActionSnoozeReminder ||
		msg.Actions[1].Label != "Snooze 30 min" || msg.Actions[0].Value != "4" || msg.Actions[1].Value != "4" {
		t.Errorf("actions %+v, want Post update and Snooze 30 min for incident 4", msg.Actions)
	}
	if !strings.HasPrefix(msg.Text, bot.Mention("U7")) {
		t.Errorf("text %q should mention the commander first", msg.Text)
	}
	inc.Commander = ""
	if msg := bot.ReminderMessage(inc, time.Hour, 30*time.Minute); !strings.Contains(msg.Text, "No one is commander") {
		t.Errorf("without a commander: %q", msg.Text)
	}
}

func TestReminderPostponedByUpdate(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	remindersOn(e, testReminderConfig())
	inc := declareSev(e, "Checkout down", bot.SEV1)

	at(e, 20*time.Minute)
	if _, err := e.svc.PostUpdate(e.ctx(), "U1", inc.ID, "Rolling back the gateway config"); err != nil {
		t.Fatal(err)
	}
	e.drain()
	at(e, 49*time.Minute)
	wantReminders(t, e, inc, 0, "29 min after the update")
	at(e, 50*time.Minute)
	wantReminders(t, e, inc, 1, "30 min after the update")
}

func TestReminderSnooze(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	remindersOn(e, testReminderConfig())
	inc := declareSev(e, "Checkout down", bot.SEV1)
	at(e, 30*time.Minute)
	wantReminders(t, e, inc, 1, "at 30 min")

	at(e, 35*time.Minute)
	reply, err := e.svc.HandleAction(e.ctx(), bot.ActionInvocation{Actor: "U2", ActionID: bot.ActionSnoozeReminder, Value: "1"})
	if err != nil || !strings.Contains(reply.Text, "snoozed") {
		t.Fatalf("snooze: %+v, %v", reply, err)
	}
	at(e, 64*time.Minute)
	wantReminders(t, e, inc, 1, "29 min into the snooze")
	at(e, 65*time.Minute)
	wantReminders(t, e, inc, 2, "when the snooze ends")
	var snoozed []bot.Event
	for _, ev := range e.timeline(inc.ID) {
		if ev.Kind == bot.KindReminderSnoozed {
			snoozed = append(snoozed, ev)
		}
	}
	if len(snoozed) != 1 || snoozed[0].Actor != "U2" {
		t.Errorf("snooze events %+v, want one by U2", snoozed)
	}

	t.Run("ErrBadValue", func(t *testing.T) {
		_, err := e.svc.HandleAction(e.ctx(), bot.ActionInvocation{Actor: "U2", ActionID: bot.ActionSnoozeReminder, Value: "x"})
		wantCode(t, err, bot.EINVALID)
	})
	t.Run("ErrResolved", func(t *testing.T) {
		if _, err := e.svc.Resolve(e.ctx(), "U1", inc.ID, ""); err != nil {
			t.Fatal(err)
		}
		before := e.snapshot()
		_, err := e.svc.HandleAction(e.ctx(), bot.ActionInvocation{Actor: "U2", ActionID: bot.ActionSnoozeReminder, Value: "1"})
		wantCode(t, err, bot.EINVALID)
		e.requireUnchanged(before)
	})
}

func TestReminderNoneWhenResolvedOrOff(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	remindersOn(e, testReminderConfig())
	resolved := declareSev(e, "Checkout down", bot.SEV1)
	quiet := declareSev(e, "Slow search", bot.SEV3) // SEV3: reminders off
	at(e, 10*time.Minute)
	if _, err := e.svc.Resolve(e.ctx(), "U1", resolved.ID, "rolled back"); err != nil {
		t.Fatal(err)
	}
	at(e, 5*time.Hour)
	wantReminders(t, e, resolved, 0, "resolved")
	wantReminders(t, e, quiet, 0, "SEV3")
}

func TestReminderSeverityChange(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	remindersOn(e, testReminderConfig())
	inc := declareSev(e, "Slow search", bot.SEV3)
	at(e, 10*time.Minute)
	if _, err := e.svc.SetSeverity(e.ctx(), "U1", inc.ID, bot.SEV1); err != nil {
		t.Fatal(err)
	}
	at(e, 29*time.Minute)
	wantReminders(t, e, inc, 0, "before SEV1's 30 min")
	at(e, 30*time.Minute)
	wantReminders(t, e, inc, 1, "30 min after the last update, now SEV1")

	// Back to SEV3: the check already scheduled finds reminders off.
	if _, err := e.svc.SetSeverity(e.ctx(), "U1", inc.ID, bot.SEV3); err != nil {
		t.Fatal(err)
	}
	at(e, 3*time.Hour)
	wantReminders(t, e, inc, 1, "after going back to SEV3")

	// SEV2 after 3 h without an update: the next reminder is on the hour
	// grid, not a burst for every missed interval.
	if _, err := e.svc.SetSeverity(e.ctx(), "U1", inc.ID, bot.SEV2); err != nil {
		t.Fatal(err)
	}
	at(e, 3*time.Hour+59*time.Minute)
	wantReminders(t, e, inc, 1, "before the next hour")
	at(e, 4*time.Hour)
	wantReminders(t, e, inc, 2, "on the hour")
}

// dropCompletion records no completion for the chosen entries: after a
// restart they look like attempts cut short by a crash.
type dropCompletion struct {
	bot.DeliveryStore
	drop map[int64]bool
}

func (s dropCompletion) CompleteDelivery(ctx context.Context, id int64, result []byte, at time.Time) error {
	if s.drop[id] {
		return nil
	}
	return s.DeliveryStore.CompleteDelivery(ctx, id, result, at)
}

// TestReminderSurvivesRestart: a scheduled reminder outlives the process,
// fires once after it, and a check cut short by a crash after it posted is
// not repeated.
func TestReminderSurvivesRestart(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	cfg := testReminderConfig()
	remindersOn(e, cfg)
	inc := declareSev(e, "Checkout down", bot.SEV1)

	e.reopen()
	remindersOn(e, cfg)
	at(e, 30*time.Minute)
	wantReminders(t, e, inc, 1, "after a restart")
	e.reopen()
	remindersOn(e, cfg)
	e.drain()
	wantReminders(t, e, inc, 1, "after a second restart")

	// The next check runs and commits, then the process dies before the
	// dispatcher records it.
	e.clock.Advance(30 * time.Minute)
	for _, d := range e.unfinished() {
		if d.Op == bot.OpReminder {
			e.forget[d.ID] = true
		}
	}
	if len(e.forget) != 1 {
		t.Fatalf("want one scheduled check, have %d", len(e.forget))
	}
	e.drain()
	wantReminders(t, e, inc, 2, "before the crash")
	e.reopen()
	remindersOn(e, cfg)
	if n, err := e.db.RecoverDeliveries(e.ctx()); err != nil || n != 1 {
		t.Fatalf("RecoverDeliveries = %d, %v; want the check back", n, err)
	}
	e.drain()
	wantReminders(t, e, inc, 2, "after recovering the check")
	at(e, 90*time.Minute)
	wantReminders(t, e, inc, 3, "the next one still comes")
}
