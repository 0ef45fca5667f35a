package storetest

import (
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// testCorrectEvent: a correction changes an event's time and hidden mark and
// nothing else, is visible to every handle, reorders the timeline by the
// corrected time, and names a missing event ENOTFOUND.
func testCorrectEvent(t *testing.T, open Opener) {
	db, other := open(t), open(t)
	ctx := t.Context()
	incs := Create(t, db, NewIncident("one"), NewIncident("two"))
	early := &bot.Event{IncidentID: incs[0].ID, OccurredAt: t0, RecordedAt: t0, Kind: bot.KindNote, Actor: "U1", Text: "early",
		Data: map[string]any{"k": "v"}, SourceURL: "https://example.com/e", DedupKey: "pin:1"}
	late := &bot.Event{IncidentID: incs[0].ID, OccurredAt: t0.Add(time.Hour), RecordedAt: t0, Kind: bot.KindNote, Actor: "U2", Text: "late"}
	AppendEvents(t, db, early, late)

	moved := t0.Add(2 * time.Hour)
	if err := db.Update(ctx, func(tx bot.Tx) error { return tx.CorrectEvent(incs[0].ID, early.ID, moved, true) }); err != nil {
		t.Fatalf("CorrectEvent: %v", err)
	}
	got, err := other.Timeline(ctx, incs[0].ID)
	if err != nil {
		t.Fatalf("Timeline: %v", err)
	}
	if len(got) != 2 || got[0].ID != late.ID || got[1].ID != early.ID {
		t.Fatalf("timeline after the correction = %+v, want late then early (ordered by the corrected time)", got)
	}
	c := got[1]
	if !c.OccurredAt.Equal(moved) || !c.Hidden || got[0].Hidden {
		t.Errorf("corrected event: occurred %v hidden %v (other hidden %v), want %v true (false)", c.OccurredAt, c.Hidden, got[0].Hidden, moved)
	}
	if c.Text != "early" || c.Actor != "U1" || !c.RecordedAt.Equal(t0) || c.SourceURL != early.SourceURL || c.DedupKey != "pin:1" || c.Data["k"] != "v" {
		t.Errorf("a correction changed more than time and mark: %+v", c)
	}
	err = db.Update(ctx, func(tx bot.Tx) error {
		ev, err := tx.Event(incs[0].ID, early.ID)
		if err != nil {
			return err
		}
		if !ev.Hidden || !ev.OccurredAt.Equal(moved) {
			t.Errorf("Tx.Event = %+v, want the corrected event", ev)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Tx.Event: %v", err)
	}
	for name, fn := range map[string]func(tx bot.Tx) error{
		"Event of another incident":    func(tx bot.Tx) error { _, err := tx.Event(incs[1].ID, early.ID); return err },
		"CorrectEvent of a missing id": func(tx bot.Tx) error { return tx.CorrectEvent(incs[0].ID, late.ID+100, t0, false) },
		"CorrectEvent across incidents": func(tx bot.Tx) error {
			return tx.CorrectEvent(incs[1].ID, late.ID, t0, false)
		},
	} {
		if err := db.Update(ctx, fn); bot.ErrorCode(err) != bot.ENOTFOUND {
			t.Errorf("%s: %v, want ENOTFOUND", name, err)
		}
	}
}
