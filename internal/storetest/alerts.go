package storetest

import (
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// testAlertCounts covers the counts alert summaries are drawn from, which
// since migration 0006 come through the events_incident index: only alert
// events of the one incident count, and the latest one wins by occurred
// time (ties by id), whatever order they were recorded in.
func testAlertCounts(t *testing.T, open Opener) {
	db := open(t)
	incs := Create(t, db, NewIncident("api"), NewIncident("db"))
	a, b := incs[0].ID, incs[1].ID
	ev := func(id int64, kind bot.EventKind, at time.Duration, text string) *bot.Event {
		return &bot.Event{IncidentID: id, Kind: kind, Actor: "alert:alertmanager", Text: text, OccurredAt: t0.Add(at), RecordedAt: t0}
	}
	if c, err := db.AlertCounts(t.Context(), a); err != nil || c != (bot.AlertCounts{}) {
		t.Fatalf("AlertCounts with no alerts = %+v, %v; want zero", c, err)
	}
	AppendEvents(t, db,
		ev(a, bot.KindAlertFired, 2*time.Minute, "alert fired: late"),
		ev(a, bot.KindAlertFired, time.Minute, "alert fired: early"),
		ev(a, bot.KindAlertResolved, 2*time.Minute, "alert resolved: tie, recorded last"),
		ev(a, bot.KindNote, 5*time.Minute, "a note is not an alert"),
		ev(b, bot.KindAlertFired, 9*time.Minute, "another incident's alert"),
	)
	c, err := db.AlertCounts(t.Context(), a)
	if err != nil {
		t.Fatalf("AlertCounts: %v", err)
	}
	want := bot.AlertCounts{Fired: 2, Resolved: 1, FirstAt: t0.Add(time.Minute), LastAt: t0.Add(2 * time.Minute),
		LastTitle: "alert resolved: tie, recorded last"}
	if !c.FirstAt.Equal(want.FirstAt) || !c.LastAt.Equal(want.LastAt) {
		t.Errorf("AlertCounts times = %v..%v, want %v..%v", c.FirstAt, c.LastAt, want.FirstAt, want.LastAt)
	}
	c.FirstAt, c.LastAt, want.FirstAt, want.LastAt = time.Time{}, time.Time{}, time.Time{}, time.Time{}
	if c != want {
		t.Errorf("AlertCounts = %+v, want %+v", c, want)
	}
}
