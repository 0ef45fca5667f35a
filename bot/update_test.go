package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

func statusUpdates(e *env, id int64) []bot.Event {
	e.t.Helper()
	var out []bot.Event
	for _, ev := range e.timeline(id) {
		if ev.Kind == bot.KindStatusUpdate {
			out = append(out, ev)
		}
	}
	return out
}

func action(a *bot.Message, id string) bot.Action {
	if a != nil {
		for _, x := range a.Actions {
			if x.ID == id {
				return x
			}
		}
	}
	return bot.Action{}
}

// TestRepeatedUpdateGuard: an update equal to the previous one ignoring
// case, spacing and punctuation is not posted; its author is told which
// update it repeats and offered Post anyway (which posts it) and Edit.
func TestRepeatedUpdateGuard(t *testing.T) {
	e, inc, _ := cmdEnv(t)
	first := "Our engineers are investigating the root cause of this issue."
	if _, err := e.exec(inc.ChannelID, "update "+first); err != nil {
		t.Fatal(err)
	}
	posted := e.clock.Now().Format("15:04")
	e.drain()
	e.clock.Advance(30 * time.Minute)
	before := e.snapshot()

	repeat := "our engineers are  investigating the root-cause of this issue!!"
	r, err := e.exec(inc.ChannelID, "update "+repeat)
	if err != nil {
		t.Fatalf("a repeat is an answer, not an error: %v", err)
	}
	if r.Public || !strings.Contains(r.Text, "repeats the status update of "+posted) {
		t.Errorf("reply = %+v, want it to the author alone naming %s", r, posted)
	}
	e.requireUnchanged(before)
	if n := len(statusUpdates(e, inc.ID)); n != 1 {
		t.Fatalf("%d updates after a repeat, want 1", n)
	}

	anyway, edit := action(r.Message, bot.ActionPostUpdateAnyway), action(r.Message, bot.ActionEditUpdate)
	if anyway.Value == "" || edit.Value == "" || len(anyway.Value) > bot.MaxActionValue {
		t.Fatalf("buttons: %+v", r.Message)
	}
	er, err := e.svc.HandleAction(e.ctx(), bot.ActionInvocation{Actor: "U1", ChannelID: inc.ChannelID, ActionID: bot.ActionEditUpdate, Value: edit.Value})
	if err != nil || !strings.Contains(er.Text, repeat) {
		t.Errorf("Edit: %+v, %v", er, err)
	}
	e.requireUnchanged(before)

	if _, err := e.svc.HandleAction(e.ctx(), bot.ActionInvocation{Actor: "U1", ChannelID: inc.ChannelID, ActionID: bot.ActionPostUpdateAnyway, Value: anyway.Value}); err != nil {
		t.Fatalf("Post anyway: %v", err)
	}
	ups := statusUpdates(e, inc.ID)
	if len(ups) != 2 || ups[1].Text != repeat || ups[1].Data["anyway"] != true {
		t.Fatalf("after Post anyway: %+v", ups)
	}
	// Pressed twice: posted once.
	_, err = e.svc.HandleAction(e.ctx(), bot.ActionInvocation{Actor: "U1", ChannelID: inc.ChannelID, ActionID: bot.ActionPostUpdateAnyway, Value: anyway.Value})
	if bot.ErrorCode(err) != bot.ECONFLICT || !strings.Contains(bot.ErrorMessage(err), "already posted") {
		t.Errorf("Post anyway again: %v", err)
	}
	if n := len(statusUpdates(e, inc.ID)); n != 2 {
		t.Fatalf("%d updates after pressing Post anyway twice, want 2", n)
	}

	// A different update goes straight through; so does --anyway.
	e.clock.Advance(time.Minute)
	if r, err := e.exec(inc.ChannelID, "update Rolled back the deploy; error rate falling"); err != nil || strings.Contains(r.Text, "repeats") {
		t.Fatalf("a new update: %+v, %v", r, err)
	}
	if _, err := e.exec(inc.ChannelID, "update --anyway rolled back the deploy, error rate falling"); err != nil {
		t.Fatal(err)
	}
	if n := len(statusUpdates(e, inc.ID)); n != 4 {
		t.Errorf("%d updates, want 4", n)
	}

	// Through the plain service call too (the form's path).
	_, err = e.svc.PostUpdate(e.ctx(), "U1", inc.ID, "ROLLED BACK THE DEPLOY; ERROR RATE FALLING")
	if bot.ErrorCode(err) != bot.EINVALID || !strings.Contains(bot.ErrorMessage(err), "repeats the status update") {
		t.Errorf("PostUpdate of a repeat: %v", err)
	}

	// A button value that is not an update is refused.
	if _, err := e.svc.HandleAction(e.ctx(), bot.ActionInvocation{Actor: "U1", ActionID: bot.ActionPostUpdateAnyway, Value: "7"}); bot.ErrorCode(err) != bot.EINVALID {
		t.Errorf("Post anyway with a bad value: %v", err)
	}
}

// TestRepeatedUpdateTooLongForAButton: the reply says how to post it
// anyway without a button.
func TestRepeatedUpdateTooLongForAButton(t *testing.T) {
	e, inc, _ := cmdEnv(t)
	long := strings.Repeat("still investigating the gateway ", 80)
	if _, err := e.exec(inc.ChannelID, "update "+long); err != nil {
		t.Fatal(err)
	}
	r, err := e.exec(inc.ChannelID, "update "+long)
	if err != nil || !strings.Contains(r.Text, "--anyway") || len(r.Message.Actions) != 0 {
		t.Errorf("reply = %+v, %v", r, err)
	}
}

// TestNextUpdateBy: an update says when the next one comes, by default the
// severity's reminder interval, and the reminder follows the stated time.
func TestNextUpdateBy(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{BroadcastChannel: broadcast})
	remindersOn(e, testReminderConfig()) // SEV1 every 30 min
	inc := declareSev(e, "Checkout down", bot.SEV1)

	at(e, 10*time.Minute)
	if _, err := e.exec(inc.ChannelID, "update Rolling back"); err != nil {
		t.Fatal(err)
	}
	e.drain()
	want := start.Add(40 * time.Minute).Format("15:04")
	if got := e.incident(inc.ID).NextUpdateBy; !got.Equal(start.Add(40 * time.Minute)) {
		t.Errorf("NextUpdateBy = %v, want the 30 min default", got)
	}
	for _, ch := range []string{inc.ChannelID, broadcast} {
		if p := e.chat.Posts(ch); len(p) == 0 || !strings.Contains(p[len(p)-1], "Next update by "+want+".") {
			t.Errorf("%s: last post %q lacks the next update time %s", ch, p, want)
		}
	}

	// A stated time later than the interval: no reminder at the interval,
	// one when the stated time is missed, even after a severity change.
	at(e, 20*time.Minute)
	if _, err := e.exec(inc.ChannelID, "update --next 45m Waiting for the rollback to finish"); err != nil {
		t.Fatal(err)
	}
	at(e, 30*time.Minute)
	if _, err := e.svc.SetSeverity(e.ctx(), "U1", inc.ID, bot.SEV2); err != nil {
		t.Fatal(err)
	}
	at(e, 64*time.Minute)
	wantReminders(t, e, inc, 0, "before the stated 65 min")
	at(e, 65*time.Minute)
	wantReminders(t, e, inc, 1, "at the stated 65 min")
	if r := reminders(e, inc.ChannelID)[0]; !strings.Contains(r, "said the next would come by "+start.Add(65*time.Minute).Format("15:04")) {
		t.Errorf("reminder %q does not name the missed time", r)
	}
	// Then the grid of the severity's interval (SEV2: 1 h) from the missed time.
	at(e, 124*time.Minute)
	wantReminders(t, e, inc, 1, "before an hour after the missed time")
	at(e, 125*time.Minute)
	wantReminders(t, e, inc, 2, "an hour after the missed time")

	// An earlier stated time, as a wall-clock time.
	next := start.Add(135 * time.Minute)
	if _, err := e.exec(inc.ChannelID, "update --next "+next.Format("15:04")+" Rollback done; watching error rates"); err != nil {
		t.Fatal(err)
	}
	at(e, 134*time.Minute)
	wantReminders(t, e, inc, 2, "before the stated time")
	at(e, 135*time.Minute)
	wantReminders(t, e, inc, 3, "at the stated time")
}

// TestNextUpdateWithoutInterval: a severity without reminders has no
// default, but a stated time is still reminded once when missed.
func TestNextUpdateWithoutInterval(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	remindersOn(e, testReminderConfig()) // SEV3: off
	inc := declareSev(e, "Slow search", bot.SEV3)
	if _, err := e.exec(inc.ChannelID, "update Looking into it"); err != nil {
		t.Fatal(err)
	}
	e.drain()
	if got := e.incident(inc.ID).NextUpdateBy; !got.IsZero() {
		t.Errorf("NextUpdateBy = %v, want none", got)
	}
	if p := e.chat.Posts(inc.ChannelID); strings.Contains(p[len(p)-1], "Next update by") {
		t.Errorf("post %q promises an update", p[len(p)-1])
	}
	if _, err := e.exec(inc.ChannelID, "update --next=20m Found a slow query"); err != nil {
		t.Fatal(err)
	}
	at(e, 19*time.Minute)
	wantReminders(t, e, inc, 0, "before 20 min")
	at(e, 20*time.Minute)
	wantReminders(t, e, inc, 1, "at 20 min")
	at(e, 5*time.Hour)
	wantReminders(t, e, inc, 1, "later: no interval, no more reminders")
}

// TestParseNextUpdate covers the forms and the refusals.
func TestParseNextUpdate(t *testing.T) {
	now := time.Date(2020, 10, 8, 0, 51, 0, 0, time.UTC)
	la, _ := time.LoadLocation("America/Los_Angeles")
	for _, tt := range []struct {
		in   string
		loc  *time.Location
		want time.Time
	}{
		{"30m", time.UTC, now.Add(30 * time.Minute)},
		{"1h30m", time.UTC, now.Add(90 * time.Minute)},
		{"01:30", time.UTC, time.Date(2020, 10, 8, 1, 30, 0, 0, time.UTC)},
		{"00:30", time.UTC, time.Date(2020, 10, 9, 0, 30, 0, 0, time.UTC)}, // tomorrow
		{"18:30", la, time.Date(2020, 10, 8, 1, 30, 0, 0, time.UTC)},       // 18:30 PDT
	} {
		if tt.loc == nil {
			continue
		}
		got, err := bot.ParseNextUpdate(tt.in, now, tt.loc)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("ParseNextUpdate(%q, %s) = %v, %v; want %v", tt.in, tt.loc, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", "soon", "0m", "-1h", "25h", "24:61"} {
		if _, err := bot.ParseNextUpdate(bad, now, time.UTC); bot.ErrorCode(err) != bot.EINVALID {
			t.Errorf("ParseNextUpdate(%q) = %v, want EINVALID", bad, err)
		}
	}
}

// TestNoteMarks: --update and --next put a note in the next draft; a plain
// note is not.
func TestNoteMarks(t *testing.T) {
	e, inc, _ := cmdEnv(t)
	for _, c := range []string{"note plain note", "note --update gateway config rolled back", "note --next watch the error rate for 15 min"} {
		if _, err := e.exec(inc.ChannelID, c); err != nil {
			t.Fatal(err)
		}
	}
	r, err := e.exec(inc.ChannelID, "update")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.Text, "gateway config rolled back.") || !strings.Contains(r.Text, "Next: watch the error rate for 15 min.") ||
		strings.Contains(r.Text, "plain note") || !strings.Contains(r.Text, "/incident update <text>") {
		t.Errorf("draft:\n%s", r.Text)
	}
	if n := len(statusUpdates(e, inc.ID)); n != 0 {
		t.Errorf("asking for the draft posted %d updates", n)
	}
}

// TestNextUpdateClearedOnResolve: a resolved incident owes no update, and a
// re-opened one is reminded on its interval from the re-open, not from a
// time promised before it was resolved.
func TestNextUpdateClearedOnResolve(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	remindersOn(e, testReminderConfig()) // SEV1: 30 min
	inc := declareSev(e, "Checkout down", bot.SEV1)
	if _, err := e.exec(inc.ChannelID, "update --next 2h Rolling back"); err != nil {
		t.Fatal(err)
	}
	at(e, 10*time.Minute)
	if _, err := e.svc.Resolve(e.ctx(), "U1", inc.ID, "rolled back"); err != nil {
		t.Fatal(err)
	}
	if got := e.incident(inc.ID).NextUpdateBy; !got.IsZero() {
		t.Errorf("NextUpdateBy after resolve = %v", got)
	}
	at(e, 20*time.Minute)
	if _, err := e.svc.SetStatus(e.ctx(), "U1", inc.ID, bot.StatusInvestigating, "errors are back"); err != nil {
		t.Fatal(err)
	}
	at(e, 49*time.Minute)
	wantReminders(t, e, inc, 0, "29 min after the re-open")
	at(e, 50*time.Minute)
	wantReminders(t, e, inc, 1, "30 min after the re-open")
}
