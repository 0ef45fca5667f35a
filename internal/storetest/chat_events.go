package storetest

import (
	"errors"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

func testMarkChatEvent(t *testing.T, open Opener) {
	db := open(t)
	markAt := func(id string, at time.Time) bool {
		t.Helper()
		var fresh bool
		err := db.Update(t.Context(), func(tx bot.Tx) error {
			var err error
			fresh, err = tx.MarkChatEvent("slack", id, at, at.Add(-72*time.Hour))
			return err
		})
		if err != nil {
			t.Fatalf("MarkChatEvent(%s): %v", id, err)
		}
		return fresh
	}
	if !markAt("Ev1", t0) {
		t.Fatal("a first delivery is not fresh")
	}
	if markAt("Ev1", t0.Add(time.Minute)) {
		t.Error("a redelivery is fresh")
	}
	if !markAt("Ev2", t0.Add(73*time.Hour)) {
		t.Fatal("another event is not fresh")
	}
	if !markAt("Ev1", t0.Add(73*time.Hour)) {
		t.Error("a mark older than the retention was not pruned")
	}

	// A mark rolled back with its transaction is not kept: the redelivery
	// applies the event.
	boom := errors.New("boom")
	err := db.Update(t.Context(), func(tx bot.Tx) error {
		if _, err := tx.MarkChatEvent("slack", "Ev3", t0, t0); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update: %v", err)
	}
	if !markAt("Ev3", t0.Add(time.Second)) {
		t.Error("a rolled-back mark was kept")
	}
}

func testUpdateEventByDedupKey(t *testing.T, open Opener) {
	db := open(t)
	inc := Create(t, db, NewIncident("pinned"))[0]
	ev := &bot.Event{IncidentID: inc.ID, OccurredAt: t0, RecordedAt: t0.Add(time.Hour), Kind: bot.KindMessagePinned,
		Actor: "U1", Text: "before", DedupKey: "pin:C1:1.2", Data: map[string]any{"state": "fetching"}}
	AppendEvents(t, db, ev)
	err := db.Update(t.Context(), func(tx bot.Tx) error {
		got, err := tx.EventByDedupKey(inc.ID, "pin:C1:1.2")
		if err != nil {
			return err
		}
		got.Text, got.Actor, got.Data["state"] = "after", "U2", "fetched"
		got.OccurredAt = t0.Add(48 * time.Hour) // times are kept whatever the caller says
		return tx.UpdateEventByDedupKey(got)
	})
	if err != nil {
		t.Fatal(err)
	}
	evs, err := db.Timeline(t.Context(), inc.ID)
	if err != nil || len(evs) != 1 {
		t.Fatalf("timeline: %v %v", evs, err)
	}
	if got := evs[0]; got.Text != "after" || got.Actor != "U2" || got.Data["state"] != "fetched" || !got.OccurredAt.Equal(t0) || got.Kind != bot.KindMessagePinned {
		t.Errorf("updated event: %+v", got)
	}
	err = db.Update(t.Context(), func(tx bot.Tx) error {
		if _, err := tx.EventByDedupKey(inc.ID, "pin:C1:9.9"); bot.ErrorCode(err) != bot.ENOTFOUND {
			t.Errorf("EventByDedupKey of a missing key: %v, want ENOTFOUND", err)
		}
		if _, err := tx.EventByDedupKey(inc.ID, ""); bot.ErrorCode(err) != bot.ENOTFOUND {
			t.Errorf("EventByDedupKey of the empty key: %v, want ENOTFOUND", err)
		}
		err := tx.UpdateEventByDedupKey(bot.Event{IncidentID: inc.ID, DedupKey: "pin:C1:9.9", Text: "x"})
		if bot.ErrorCode(err) != bot.ENOTFOUND {
			t.Errorf("UpdateEventByDedupKey of a missing key: %v, want ENOTFOUND", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
