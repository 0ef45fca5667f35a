package postmortem_test

import (
	"strings"
	"testing"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/postmortem"
)

// The postmortem tells the corrected record: a moved status change moves
// the metric it anchors, and a hidden event is left out.
func TestPostmortemUsesCorrectedRecord(t *testing.T) {
	e := newEnv(t, false, "")
	inc := e.seedIncident()
	ctx := t.Context()
	e.must("2020-10-08T04:57:00Z", "U2", inc.ChannelID, "note restarted pool-7 from the wrong console")
	drafter := &postmortem.Drafter{Store: e.db, Directory: e.chat, Location: loc(t, "America/Los_Angeles"), Now: e.clock.Now}
	before, err := drafter.Render(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(before.Markdown), "wrong console") {
		t.Fatal("the note is not in the draft before it is hidden")
	}
	if strings.Contains(string(before.Markdown), "4h 01m") {
		t.Fatal("the uncorrected draft already says 4h 01m: the test proves nothing")
	}

	evs, _ := e.svc.Timeline(ctx, inc.ID)
	var monitoring, note bot.Event
	for _, ev := range evs {
		switch {
		case ev.Kind == bot.KindStatusChanged && ev.Data["to"] == "monitoring":
			monitoring = ev
		case ev.Kind == bot.KindNote && strings.Contains(ev.Text, "wrong console"):
			note = ev
		}
	}
	// Monitoring was really reached at 04:07, not 04:37.
	if _, err := e.svc.CorrectEvent(ctx, "api:lena", inc.ID, monitoring.ID, bot.EventCorrection{OccurredAt: utc("2020-10-08T04:07:00Z"), Reason: "recorded late"}); err != nil {
		t.Fatal(err)
	}
	hide := true
	if _, err := e.svc.CorrectEvent(ctx, "api:lena", inc.ID, note.ID, bot.EventCorrection{Hidden: &hide, Reason: "another incident"}); err != nil {
		t.Fatal(err)
	}
	after, err := drafter.Render(ctx, inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	md := string(after.Markdown)
	if strings.Contains(md, "wrong console") {
		t.Error("the hidden note is still in the draft")
	}
	if got, _ := e.svc.Incident(ctx, inc.ID); !got.MitigatedAt.Equal(utc("2020-10-08T04:07:00Z")) {
		t.Errorf("mitigated_at = %v, want the corrected 04:07", got.MitigatedAt)
	}
	if !strings.Contains(md, "4h 01m") {
		t.Errorf("the draft does not measure time to mitigate from the corrected time (want 4h 01m from 00:06):\n%s", md)
	}
}
