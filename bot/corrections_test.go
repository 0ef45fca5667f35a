package bot_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

func eventOf(t *testing.T, evs []bot.Event, kind bot.EventKind) bot.Event {
	t.Helper()
	for _, ev := range evs {
		if ev.Kind == kind {
			return ev
		}
	}
	t.Fatalf("no %s event in %v", kind, kinds(evs))
	return bot.Event{}
}

func TestCorrectEventTimeMovesKeyTimesAndIsAudited(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	inc := e.opened("checkout down")
	e.clock.Advance(40 * time.Minute)
	if _, err := e.svc.SetStatus(e.ctx(), "U1", inc.ID, bot.StatusMonitoring, "fix deployed"); err != nil {
		t.Fatal(err)
	}
	e.drain()
	recorded := e.clock.Now()
	move := eventOf(t, e.timeline(inc.ID), bot.KindStatusChanged)
	if got := e.incident(inc.ID).MitigatedAt; !got.Equal(recorded) {
		t.Fatalf("mitigated_at = %v, want %v", got, recorded)
	}

	// The fix was really deployed 25 minutes earlier; it was said late.
	actual := recorded.Add(-25 * time.Minute)
	e.clock.Advance(time.Hour)
	got, err := e.svc.CorrectEvent(e.ctx(), "api:ana", inc.ID, move.ID, bot.EventCorrection{OccurredAt: actual, Reason: "fix went out at 07:23, announced late"})
	if err != nil {
		t.Fatalf("CorrectEvent: %v", err)
	}
	e.drain()
	if !got.OccurredAt.Equal(actual) {
		t.Errorf("corrected event at %v, want %v", got.OccurredAt, actual)
	}
	after := e.incident(inc.ID)
	if !after.MitigatedAt.Equal(actual) {
		t.Errorf("mitigated_at = %v after the correction, want %v (taken from the corrected event)", after.MitigatedAt, actual)
	}
	if !after.DeclaredAt.Equal(inc.DeclaredAt) {
		t.Errorf("declared_at moved to %v; only the key times of the corrected event may move", after.DeclaredAt)
	}
	audit := eventOf(t, e.timeline(inc.ID), bot.KindEventCorrected)
	if audit.Actor != "api:ana" || !audit.OccurredAt.Equal(e.clock.Now()) ||
		audit.Data["reason"] != "fix went out at 07:23, announced late" ||
		audit.Data["before_occurred_at"] != recorded.UTC().Format(time.RFC3339Nano) ||
		audit.Data["after_occurred_at"] != actual.UTC().Format(time.RFC3339Nano) {
		t.Errorf("audit event = %+v, want who, when, before, after and why", audit)
	}
	posts := strings.Join(e.chat.Posts(after.ChannelID), "\n")
	if !strings.Contains(posts, "corrected the timeline") || !strings.Contains(posts, "announced late") {
		t.Errorf("the channel was not told of the correction; posts:\n%s", posts)
	}
}

func TestHideEventKeepsItAndLeavesKeyTimes(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	inc := e.opened("checkout down")
	if _, err := e.svc.AddNote(e.ctx(), "U2", inc.ID, "pinned by mistake"); err != nil {
		t.Fatal(err)
	}
	note := eventOf(t, e.timeline(inc.ID), bot.KindNote)
	hide := true
	if _, err := e.svc.CorrectEvent(e.ctx(), "api:ana", inc.ID, note.ID, bot.EventCorrection{Hidden: &hide, Reason: "not about this incident"}); err != nil {
		t.Fatalf("hide: %v", err)
	}
	got := eventOf(t, e.timeline(inc.ID), bot.KindNote)
	if !got.Hidden || got.Text != "pinned by mistake" {
		t.Errorf("hidden note = %+v, want it kept and marked hidden", got)
	}
	if line := bot.FormatEvent(got); !strings.Contains(line, "[hidden]") {
		t.Errorf("FormatEvent(hidden) = %q, want it marked", line)
	}
	unhide := false
	if _, err := e.svc.CorrectEvent(e.ctx(), "api:ana", inc.ID, note.ID, bot.EventCorrection{Hidden: &unhide, Reason: "it was about this one"}); err != nil {
		t.Fatalf("unhide: %v", err)
	}
	if got := eventOf(t, e.timeline(inc.ID), bot.KindNote); got.Hidden {
		t.Error("unhidden note is still hidden")
	}
	if n := count(e.timeline(inc.ID), bot.KindEventCorrected); n != 2 {
		t.Errorf("%d correction events, want 2 (one per correction)", n)
	}
}

func TestCorrectEventRefusals(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	inc := e.opened("checkout down")
	other := e.opened("other")
	note := func() bot.Event {
		if _, err := e.svc.AddNote(e.ctx(), "U2", inc.ID, "n"); err != nil {
			t.Fatal(err)
		}
		return eventOf(t, e.timeline(inc.ID), bot.KindNote)
	}()
	hide := true
	if _, err := e.svc.CorrectEvent(e.ctx(), "api:ana", inc.ID, note.ID, bot.EventCorrection{Hidden: &hide, Reason: "x"}); err != nil {
		t.Fatal(err)
	}
	audit := eventOf(t, e.timeline(inc.ID), bot.KindEventCorrected)
	before := e.snapshot()
	tests := []struct {
		name     string
		inc, ev  int64
		c        bot.EventCorrection
		wantCode string
		field    string
	}{
		{"NoReason", inc.ID, note.ID, bot.EventCorrection{OccurredAt: start}, bot.EINVALID, "reason"},
		{"NothingToCorrect", inc.ID, note.ID, bot.EventCorrection{Reason: "r"}, bot.EINVALID, "occurred_at"},
		{"Future", inc.ID, note.ID, bot.EventCorrection{OccurredAt: start.Add(48 * time.Hour), Reason: "r"}, bot.EINVALID, "occurred_at"},
		{"YearZero", inc.ID, note.ID, bot.EventCorrection{OccurredAt: time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Hour), Reason: "r"}, bot.EINVALID, "occurred_at"},
		{"ReasonTooLong", inc.ID, note.ID, bot.EventCorrection{OccurredAt: start, Reason: strings.Repeat("x", bot.MaxReasonLen+1)}, bot.EINVALID, "reason"},
		{"AnotherIncidentsEvent", other.ID, note.ID, bot.EventCorrection{OccurredAt: start, Reason: "r"}, bot.ENOTFOUND, ""},
		{"MissingEvent", inc.ID, note.ID + 1000, bot.EventCorrection{OccurredAt: start, Reason: "r"}, bot.ENOTFOUND, ""},
		{"TheAuditItself", inc.ID, audit.ID, bot.EventCorrection{Hidden: &hide, Reason: "cover it up"}, bot.EINVALID, ""},
		{"AlreadySo", inc.ID, note.ID, bot.EventCorrection{Hidden: &hide, Reason: "again"}, bot.EINVALID, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.svc.CorrectEvent(e.ctx(), "api:ana", tc.inc, tc.ev, tc.c)
			wantCode(t, err, tc.wantCode)
			var be *bot.Error
			if tc.field != "" && (!errors.As(err, &be) || be.Field != tc.field) {
				t.Errorf("error %v names field %q, want %q", err, be.Field, tc.field)
			}
		})
	}
	e.requireUnchanged(before)
}

func TestAddOffChatEvent(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	inc := e.opened("checkout down")
	e.clock.Advance(2 * time.Hour)
	call := start.Add(30 * time.Minute)
	ev, err := e.svc.AddOffChatEvent(e.ctx(), "api:ana", inc.ID, call, "phoned the CDN vendor; they confirmed a bad config push")
	if err != nil {
		t.Fatalf("AddOffChatEvent: %v", err)
	}
	got := eventOf(t, e.timeline(inc.ID), bot.KindOffChat)
	if got.ID != ev.ID || !got.OccurredAt.Equal(call) || !got.RecordedAt.Equal(e.clock.Now()) || got.Actor != "api:ana" {
		t.Errorf("off-chat event = %+v, want it at its real time, recorded now, by its author", got)
	}
	for _, bad := range []struct {
		at   time.Time
		text string
	}{{call, "  "}, {time.Time{}, "x"}, {e.clock.Now().Add(time.Hour), "x"}} {
		if _, err := e.svc.AddOffChatEvent(e.ctx(), "api:ana", inc.ID, bad.at, bad.text); bot.ErrorCode(err) != bot.EINVALID {
			t.Errorf("AddOffChatEvent(%v, %q) = %v, want EINVALID", bad.at, bad.text, err)
		}
	}
}
