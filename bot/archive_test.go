package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// archived reports whether the incident's channel was archived, and checks
// that the closing message came right before.
func archived(t *testing.T, e *env, inc bot.Incident) bool {
	t.Helper()
	calls := e.chat.In(inc.ChannelID)
	n := 0
	for i, c := range calls {
		if c.Method != "archive" {
			continue
		}
		n++
		if i == 0 || calls[i-1].Method != "post" || !strings.Contains(calls[i-1].Text, "archived") {
			t.Errorf("the archive should follow the closing message; calls: %v", calls)
		}
	}
	if n > 1 {
		t.Errorf("channel archived %d times", n)
	}
	return n > 0
}

func TestArchiveAfterResolve(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	remindersOn(e, testReminderConfig()) // archive after 24 h
	inc := declareSev(e, "Checkout down", bot.SEV2)
	at(e, 50*time.Minute)
	if _, err := e.svc.Resolve(e.ctx(), "U1", inc.ID, "rolled back"); err != nil {
		t.Fatal(err)
	}
	e.drain()
	at(e, 24*time.Hour+49*time.Minute)
	if archived(t, e, inc) {
		t.Fatal("archived before 24 h had passed")
	}
	e.reopen() // the schedule is in the store
	remindersOn(e, testReminderConfig())
	at(e, 24*time.Hour+50*time.Minute)
	if !archived(t, e, inc) {
		t.Fatal("not archived 24 h after resolution")
	}
	if n := count(e.timeline(inc.ID), bot.KindChannelArchived); n != 1 {
		t.Errorf("%d archive events, want 1", n)
	}
	wantReminders(t, e, inc, 0, "resolved SEV2 before its first interval")
}

func TestArchiveSkippedWhenReopened(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	remindersOn(e, testReminderConfig())
	inc := declareSev(e, "Checkout down", bot.SEV3)
	if _, err := e.svc.Resolve(e.ctx(), "U1", inc.ID, ""); err != nil {
		t.Fatal(err)
	}
	at(e, 12*time.Hour)
	if _, err := e.svc.SetStatus(e.ctx(), "U1", inc.ID, bot.StatusInvestigating, "it is back"); err != nil {
		t.Fatal(err)
	}
	at(e, 30*time.Hour)
	if archived(t, e, inc) {
		t.Fatal("a re-opened incident's channel was archived")
	}
	if _, err := e.svc.Resolve(e.ctx(), "U1", inc.ID, ""); err != nil {
		t.Fatal(err)
	}
	at(e, 53*time.Hour+59*time.Minute)
	if archived(t, e, inc) {
		t.Fatal("archived before 24 h after the second resolution")
	}
	at(e, 54*time.Hour)
	if !archived(t, e, inc) {
		t.Fatal("not archived 24 h after the second resolution")
	}
}

func TestArchiveOffByDefault(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	remindersOn(e, bot.DefaultReminderConfig())
	inc := declareSev(e, "Checkout down", bot.SEV3)
	if _, err := e.svc.Resolve(e.ctx(), "U1", inc.ID, ""); err != nil {
		t.Fatal(err)
	}
	at(e, 30*24*time.Hour)
	if archived(t, e, inc) {
		t.Fatal("archived with archiving off")
	}
	for _, d := range e.deliveries() {
		if d.Op == bot.OpArchiveCheck {
			t.Errorf("archive check %d scheduled with archiving off", d.ID)
		}
	}
}
