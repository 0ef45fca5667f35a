package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// t0 is the base of the times the tests store; it has nanoseconds so that a
// round trip that drops precision shows.
var t0 = time.Date(2024, 3, 1, 12, 0, 0, 123456789, time.UTC)

// NewIncident is a valid incident to store.
func NewIncident(title string) bot.Incident {
	return bot.Incident{
		Title: title, Severity: bot.SEV3, Status: bot.StatusInvestigating, Source: "chat",
		DeclaredAt: t0, DetectedAt: t0, UpdatedAt: t0,
	}
}

// Create stores incidents in one transaction and returns them with their ids.
func Create(t *testing.T, db Store, incs ...bot.Incident) []bot.Incident {
	t.Helper()
	err := db.Update(t.Context(), func(tx bot.Tx) error {
		for i := range incs {
			if err := tx.CreateIncident(&incs[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("create incidents: %v", err)
	}
	return incs
}

// AppendEvents stores events in one transaction.
func AppendEvents(t *testing.T, db Store, evs ...*bot.Event) {
	t.Helper()
	err := db.Update(t.Context(), func(tx bot.Tx) error {
		for _, ev := range evs {
			if _, err := tx.AppendEvent(ev); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("append events: %v", err)
	}
}

func ids(incs []bot.Incident) []int64 {
	out := []int64{}
	for _, inc := range incs {
		out = append(out, inc.ID)
	}
	return out
}

func testIncidentRoundTrip(t *testing.T, open Opener) {
	db := open(t)
	ctx := t.Context()
	paris := time.FixedZone("CET", 3600)
	in := bot.Incident{
		Title: "Checkout is down", Description: "5xx on /pay", Severity: bot.SEV1, Status: bot.StatusMonitoring,
		Commander: "U1", CommsLead: "U2", Private: true,
		ChannelID: "C1", ChannelName: "inc-1-checkout-is-down", CardTS: "1700000000.000100",
		Source: "alertmanager", DedupKey: "checkout-5xx", SourceURL: "https://am.example/alert/1",
		Labels:         map[string]string{"service": "checkout", "team": "payments"},
		DetectedAt:     t0,
		DeclaredAt:     t0.Add(time.Second),
		AcknowledgedAt: t0.Add(2 * time.Second).In(paris), // stored as UTC
		MitigatedAt:    t0.Add(3 * time.Second),
		LastUpdateAt:   t0.Add(4 * time.Second),
		UpdatedAt:      t0.Add(5 * time.Second),
		NextUpdateBy:   t0.Add(30 * time.Minute),
	}
	inc := Create(t, db, in)[0]
	if inc.ID == 0 {
		t.Fatal("CreateIncident did not set the ID")
	}

	got, err := db.Incident(ctx, inc.ID)
	if err != nil {
		t.Fatalf("Incident: %v", err)
	}
	want := inc
	want.AcknowledgedAt = want.AcknowledgedAt.UTC()
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Incident(%d) =\n%+v\nwant\n%+v", inc.ID, got, want)
	}

	t.Run("UpdateIncident", func(t *testing.T) {
		want := got
		want.Status = bot.StatusResolved
		want.ResolvedAt = t0.Add(time.Hour)
		want.Labels = map[string]string{"service": "checkout"}
		want.Title = "Checkout was down"
		if err := db.Update(ctx, func(tx bot.Tx) error { return tx.UpdateIncident(want) }); err != nil {
			t.Fatalf("UpdateIncident: %v", err)
		}
		got, err := db.Incident(ctx, inc.ID)
		if err != nil {
			t.Fatalf("Incident: %v", err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("after update Incident(%d) =\n%+v\nwant\n%+v", inc.ID, got, want)
		}
	})

	t.Run("NilLabels", func(t *testing.T) {
		inc := Create(t, db, NewIncident("no labels"))[0]
		got, err := db.Incident(ctx, inc.ID)
		if err != nil {
			t.Fatalf("Incident: %v", err)
		}
		if len(got.Labels) != 0 {
			t.Errorf("Labels = %v, want none", got.Labels)
		}
		if !got.ResolvedAt.IsZero() || !got.AcknowledgedAt.IsZero() {
			t.Errorf("unset times came back set: resolved %v, acknowledged %v", got.ResolvedAt, got.AcknowledgedAt)
		}
	})
}

func testNotFound(t *testing.T, open Opener) {
	db := open(t)
	ctx := t.Context()
	inc := Create(t, db, NewIncident("exists"))[0]
	missing := inc.ID + 100

	tests := []struct {
		name string
		call func() error
	}{
		{"Incident", func() error { _, err := db.Incident(ctx, missing); return err }},
		{"IncidentByChannel", func() error { _, err := db.IncidentByChannel(ctx, "CNOPE"); return err }},
		{"IncidentByEmptyChannel", func() error { _, err := db.IncidentByChannel(ctx, ""); return err }},
		{"TxIncident", func() error {
			return db.Update(ctx, func(tx bot.Tx) error { _, err := tx.Incident(missing); return err })
		}},
		{"TxOpenIncidentByDedupKey", func() error {
			return db.Update(ctx, func(tx bot.Tx) error { _, err := tx.OpenIncidentByDedupKey("webhook", "nope"); return err })
		}},
		{"TxOpenIncidentByEmptyDedupKey", func() error {
			// inc has source "chat" and no dedup key: an empty key never matches.
			return db.Update(ctx, func(tx bot.Tx) error { _, err := tx.OpenIncidentByDedupKey("chat", ""); return err })
		}},
		{"TxUpdateIncident", func() error {
			ghost := NewIncident("ghost")
			ghost.ID = missing
			return db.Update(ctx, func(tx bot.Tx) error { return tx.UpdateIncident(ghost) })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			if got, want := bot.ErrorCode(err), bot.ENOTFOUND; got != want {
				t.Errorf("error code = %q (%v), want %q", got, err, want)
			}
		})
	}
}

func testUpdateIsOneTransaction(t *testing.T, open Opener) {
	ctx := t.Context()

	t.Run("ErrRollsBackEverything", func(t *testing.T) {
		db := open(t)
		boom := errors.New("boom")
		var createdID int64
		err := db.Update(ctx, func(tx bot.Tx) error {
			inc := NewIncident("doomed")
			if err := tx.CreateIncident(&inc); err != nil {
				return err
			}
			createdID = inc.ID
			ev := bot.Event{IncidentID: inc.ID, OccurredAt: t0, RecordedAt: t0, Kind: bot.KindDeclared, Actor: "U1", Text: "declared"}
			if _, err := tx.AppendEvent(&ev); err != nil {
				return err
			}
			d, err := bot.NewDelivery("incident:1", bot.OpPost, inc.ID, map[string]string{"text": "hi"})
			if err != nil {
				return err
			}
			if err := tx.Enqueue(d); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("Update error = %v, want %v", err, boom)
		}
		if createdID == 0 {
			t.Fatal("the incident was never created inside the transaction")
		}
		incs, err := db.Incidents(ctx, bot.IncidentFilter{All: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(incs) != 0 {
			t.Errorf("incidents after rollback = %v, want none", ids(incs))
		}
		evs, err := db.Timeline(ctx, createdID)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 0 {
			t.Errorf("events after rollback = %d, want none", len(evs))
		}
		ds, err := db.Deliveries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != 0 {
			t.Errorf("deliveries after rollback = %d, want none", len(ds))
		}
	})

	t.Run("ErrKeepsEarlierState", func(t *testing.T) {
		db := open(t)
		inc := Create(t, db, NewIncident("before"))[0]
		err := db.Update(ctx, func(tx bot.Tx) error {
			cur, err := tx.Incident(inc.ID)
			if err != nil {
				return err
			}
			cur.Title, cur.Status = "after", bot.StatusResolved
			if err := tx.UpdateIncident(cur); err != nil {
				return err
			}
			ev := bot.Event{IncidentID: inc.ID, OccurredAt: t0, RecordedAt: t0, Kind: bot.KindStatusChanged, Actor: "U1", Text: "resolved"}
			if _, err := tx.AppendEvent(&ev); err != nil {
				return err
			}
			return bot.Errorf(bot.EINVALID, "changed my mind")
		})
		if got, want := bot.ErrorCode(err), bot.EINVALID; got != want {
			t.Fatalf("Update error code = %q (%v), want %q", got, err, want)
		}
		got, err := db.Incident(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Title != "before" || got.Status != bot.StatusInvestigating {
			t.Errorf("incident after rollback = %q %s, want %q %s", got.Title, got.Status, "before", bot.StatusInvestigating)
		}
		evs, err := db.Timeline(ctx, inc.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) != 0 {
			t.Errorf("events after rollback = %d, want none", len(evs))
		}
	})

	t.Run("OKCommitsEverything", func(t *testing.T) {
		db := open(t)
		var id int64
		err := db.Update(ctx, func(tx bot.Tx) error {
			inc := NewIncident("kept")
			if err := tx.CreateIncident(&inc); err != nil {
				return err
			}
			id = inc.ID
			ev := bot.Event{IncidentID: inc.ID, OccurredAt: t0, RecordedAt: t0, Kind: bot.KindDeclared, Actor: "U1", Text: "declared"}
			if _, err := tx.AppendEvent(&ev); err != nil {
				return err
			}
			return tx.Enqueue(bot.Delivery{Key: "incident:1", Op: bot.OpPost, IncidentID: inc.ID, NextAttemptAt: t0})
		})
		if err != nil {
			t.Fatalf("Update: %v", err)
		}
		if _, err := db.Incident(ctx, id); err != nil {
			t.Errorf("Incident: %v", err)
		}
		evs, _ := db.Timeline(ctx, id)
		ds, _ := db.Deliveries(ctx)
		if len(evs) != 1 || len(ds) != 1 {
			t.Errorf("stored %d events and %d deliveries, want 1 and 1", len(evs), len(ds))
		}
	})
}

func testCreateIncidentDedup(t *testing.T, open Opener) {
	withKey := func(source, key string, status bot.Status) bot.Incident {
		inc := NewIncident(source + "/" + key)
		inc.Source, inc.DedupKey, inc.Status = source, key, status
		return inc
	}
	tests := []struct {
		name         string
		first, again bot.Incident
		wantCode     string
	}{
		{"ErrSameKeyOpen", withKey("webhook", "k1", bot.StatusTriggered), withKey("webhook", "k1", bot.StatusInvestigating), bot.ECONFLICT},
		{"OKOtherSource", withKey("webhook", "k1", bot.StatusTriggered), withKey("pagerduty", "k1", bot.StatusTriggered), ""},
		{"OKOtherKey", withKey("webhook", "k1", bot.StatusTriggered), withKey("webhook", "k2", bot.StatusTriggered), ""},
		{"OKFirstResolved", withKey("webhook", "k1", bot.StatusResolved), withKey("webhook", "k1", bot.StatusTriggered), ""},
		{"OKSecondResolved", withKey("webhook", "k1", bot.StatusTriggered), withKey("webhook", "k1", bot.StatusResolved), ""},
		{"OKNoKey", withKey("chat", "", bot.StatusInvestigating), withKey("chat", "", bot.StatusInvestigating), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			db := open(t)
			var firstID int64
			var againErr error
			err := db.Update(t.Context(), func(tx bot.Tx) error {
				first := tt.first
				if err := tx.CreateIncident(&first); err != nil {
					return err
				}
				firstID = first.ID
				again := tt.again
				againErr = tx.CreateIncident(&again)
				return nil // commit the first even when the second failed
			})
			if err != nil {
				t.Fatalf("Update: %v", err)
			}
			if got, want := bot.ErrorCode(againErr), tt.wantCode; got != want {
				t.Errorf("second CreateIncident code = %q (%v), want %q", got, againErr, want)
			}
			incs, err := db.Incidents(t.Context(), bot.IncidentFilter{All: true})
			if err != nil {
				t.Fatal(err)
			}
			wantN := 2
			if tt.wantCode != "" {
				wantN = 1
			}
			if got := len(incs); got != wantN {
				t.Errorf("stored %d incidents, want %d", got, wantN)
			}
			if _, err := db.Incident(t.Context(), firstID); err != nil {
				t.Errorf("first incident lost: %v", err)
			}
		})
	}

	t.Run("ErrReopenOverOpen", func(t *testing.T) {
		db := open(t)
		incs := Create(t, db, withKey("webhook", "k1", bot.StatusResolved), withKey("webhook", "k1", bot.StatusTriggered))
		old := incs[0]
		old.Status = bot.StatusInvestigating
		err := db.Update(t.Context(), func(tx bot.Tx) error { return tx.UpdateIncident(old) })
		if got, want := bot.ErrorCode(err), bot.ECONFLICT; got != want {
			t.Errorf("UpdateIncident code = %q (%v), want %q", got, err, want)
		}
	})

	t.Run("OpenIncidentByDedupKey", func(t *testing.T) {
		db := open(t)
		incs := Create(t, db, withKey("webhook", "k1", bot.StatusResolved), withKey("webhook", "k1", bot.StatusMonitoring))
		var got bot.Incident
		err := db.Update(t.Context(), func(tx bot.Tx) error {
			var err error
			got, err = tx.OpenIncidentByDedupKey("webhook", "k1")
			return err
		})
		if err != nil {
			t.Fatalf("OpenIncidentByDedupKey: %v", err)
		}
		if got, want := got.ID, incs[1].ID; got != want {
			t.Errorf("open incident = %d, want %d (the unresolved one)", got, want)
		}
	})
}

func testIncidents(t *testing.T, open Opener) {
	db := open(t)
	ctx := t.Context()
	inc := func(title string, status bot.Status, resolvedAt time.Duration) bot.Incident {
		i := NewIncident(title)
		i.Status = status
		if status == bot.StatusResolved {
			i.ResolvedAt = t0.Add(resolvedAt)
		}
		return i
	}
	incs := Create(t, db,
		inc("open-1", bot.StatusInvestigating, 0),
		inc("resolved-1h", bot.StatusResolved, time.Hour),
		inc("open-3", bot.StatusTriggered, 0),
		inc("resolved-3h", bot.StatusResolved, 3*time.Hour),
		inc("resolved-2h", bot.StatusResolved, 2*time.Hour),
		inc("open-6", bot.StatusMonitoring, 0),
	)
	id := func(i int) int64 { return incs[i].ID }

	tests := []struct {
		name   string
		filter bot.IncidentFilter
		want   []int64
	}{
		{"OpenOnly", bot.IncidentFilter{}, []int64{id(5), id(2), id(0)}},
		{"ResolvedSince", bot.IncidentFilter{ResolvedSince: t0.Add(2 * time.Hour)}, []int64{id(5), id(2), id(0), id(3), id(4)}},
		{"ResolvedSinceAfterAll", bot.IncidentFilter{ResolvedSince: t0.Add(4 * time.Hour)}, []int64{id(5), id(2), id(0)}},
		{"All", bot.IncidentFilter{All: true}, []int64{id(5), id(2), id(0), id(3), id(4), id(1)}},
		{"Limit", bot.IncidentFilter{All: true, Limit: 4}, []int64{id(5), id(2), id(0), id(3)}},
		{"NewestFirst", bot.IncidentFilter{All: true, NewestFirst: true}, []int64{id(5), id(4), id(3), id(2), id(1), id(0)}},
		{"NewestFirstPage", bot.IncidentFilter{All: true, NewestFirst: true, Limit: 2}, []int64{id(5), id(4)}},
		{"NewestFirstBefore", bot.IncidentFilter{All: true, NewestFirst: true, Before: id(4), Limit: 2}, []int64{id(3), id(2)}},
		{"NewestFirstOpenBefore", bot.IncidentFilter{NewestFirst: true, Before: id(5)}, []int64{id(2), id(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.Incidents(ctx, tt.filter)
			if err != nil {
				t.Fatalf("Incidents: %v", err)
			}
			if got, want := ids(got), tt.want; !reflect.DeepEqual(got, want) {
				t.Errorf("Incidents(%+v) = %v, want %v", tt.filter, got, want)
			}
		})
	}
}

func testIncidentByChannel(t *testing.T, open Opener) {
	db := open(t)
	ctx := t.Context()
	a, b, c := NewIncident("a"), NewIncident("b"), NewIncident("c")
	a.ChannelID, b.ChannelID = "C1", "C2"
	incs := Create(t, db, a, b, c)

	for _, tt := range []struct {
		channel string
		want    int64
	}{{"C1", incs[0].ID}, {"C2", incs[1].ID}} {
		t.Run(tt.channel, func(t *testing.T) {
			got, err := db.IncidentByChannel(ctx, tt.channel)
			if err != nil {
				t.Fatalf("IncidentByChannel(%s): %v", tt.channel, err)
			}
			if got.ID != tt.want {
				t.Errorf("IncidentByChannel(%s) = %d, want %d", tt.channel, got.ID, tt.want)
			}
		})
	}
}

func testTimeline(t *testing.T, open Opener) {
	db := open(t)
	ctx := t.Context()
	incs := Create(t, db, NewIncident("one"), NewIncident("two"))
	ev := func(inc int, occurred time.Duration, text string) *bot.Event {
		return &bot.Event{IncidentID: incs[inc].ID, OccurredAt: t0.Add(occurred), RecordedAt: t0.Add(time.Hour),
			Kind: bot.KindNote, Actor: "U1", Text: text}
	}
	// Recorded out of order: the timeline is in the order things happened,
	// ties in the order they were recorded.
	late := ev(0, 2*time.Minute, "late")
	late.Data = map[string]any{"n": 1.5, "tags": []any{"a", "b"}, "ok": true}
	late.SourceURL = "https://example.com/x"
	AppendEvents(t, db, late, ev(0, 0, "first"), ev(1, time.Second, "other incident"), ev(0, time.Minute, "middle"), ev(0, 0, "first-tie"))

	got, err := db.Timeline(ctx, incs[0].ID)
	if err != nil {
		t.Fatalf("Timeline: %v", err)
	}
	var texts []string
	for _, e := range got {
		texts = append(texts, e.Text)
	}
	if want := []string{"first", "first-tie", "middle", "late"}; !reflect.DeepEqual(texts, want) {
		t.Errorf("timeline = %q, want %q", texts, want)
	}
	last := got[len(got)-1]
	if last.ID != late.ID || !last.OccurredAt.Equal(late.OccurredAt) || !last.RecordedAt.Equal(late.RecordedAt) ||
		last.Kind != late.Kind || last.Actor != late.Actor || last.SourceURL != late.SourceURL ||
		!reflect.DeepEqual(last.Data, late.Data) {
		t.Errorf("event round trip:\n got %+v\nwant %+v", last, *late)
	}

	t.Run("Empty", func(t *testing.T) {
		got, err := db.Timeline(ctx, incs[1].ID+100)
		if err != nil || len(got) != 0 {
			t.Errorf("Timeline(missing) = %d events, %v; want none, nil", len(got), err)
		}
	})

	t.Run("ErrUnknownIncident", func(t *testing.T) {
		err := db.Update(ctx, func(tx bot.Tx) error {
			_, err := tx.AppendEvent(ev(1, 0, "x"))
			if err != nil {
				return err
			}
			orphan := &bot.Event{IncidentID: incs[1].ID + 100, OccurredAt: t0, RecordedAt: t0, Kind: bot.KindNote, Actor: "U1", Text: "orphan"}
			_, err = tx.AppendEvent(orphan)
			return err
		})
		if err == nil {
			t.Error("AppendEvent on a missing incident succeeded, want a foreign key error")
		}
	})
}

func testAppendEventDedup(t *testing.T, open Opener) {
	db := open(t)
	ctx := t.Context()
	incs := Create(t, db, NewIncident("one"), NewIncident("two"))
	ev := func(inc int, key string) *bot.Event {
		return &bot.Event{IncidentID: incs[inc].ID, OccurredAt: t0, RecordedAt: t0, Kind: bot.KindAlertFired,
			Actor: "alert:webhook", Text: "fired", DedupKey: key}
	}
	tests := []struct {
		name string
		ev   *bot.Event
		want bool
	}{
		{"OKFirst", ev(0, "alert:e1"), true},
		{"Redelivery", ev(0, "alert:e1"), false},
		{"OKOtherIncident", ev(1, "alert:e1"), true},
		{"OKOtherKey", ev(0, "alert:e2"), true},
		{"OKNoKey", ev(0, ""), true},
		{"OKNoKeyAgain", ev(0, ""), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got bool
			err := db.Update(ctx, func(tx bot.Tx) error {
				var err error
				got, err = tx.AppendEvent(tt.ev)
				return err
			})
			if err != nil {
				t.Fatalf("AppendEvent: %v", err)
			}
			if got != tt.want {
				t.Errorf("AppendEvent stored = %v, want %v", got, tt.want)
			}
			if got, want := tt.ev.ID != 0, tt.want; got != want {
				t.Errorf("ID set = %v, want %v", got, want)
			}
		})
	}
	evs, err := db.Timeline(ctx, incs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(evs), 4; got != want {
		t.Errorf("incident 1 has %d events, want %d", got, want)
	}
}

// testConcurrentWriters writes from many goroutines through two handles on
// one file (like two processes) while others read: every write must succeed,
// none with SQLITE_BUSY.
func testConcurrentWriters(t *testing.T, open Opener) {
	dbs := []Store{open(t), open(t)}
	ctx := t.Context()
	const writers, perWriter = 8, 20

	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter*2)
	for w := range writers {
		db := dbs[w%len(dbs)]
		wg.Go(func() {
			for i := range perWriter {
				err := db.Update(ctx, func(tx bot.Tx) error {
					inc := NewIncident(fmt.Sprintf("w%d-%d", w, i))
					if err := tx.CreateIncident(&inc); err != nil {
						return err
					}
					ev := bot.Event{IncidentID: inc.ID, OccurredAt: t0, RecordedAt: t0, Kind: bot.KindDeclared, Actor: "U1", Text: "declared"}
					if _, err := tx.AppendEvent(&ev); err != nil {
						return err
					}
					return tx.Enqueue(bot.Delivery{Key: fmt.Sprintf("incident:%d", inc.ID), Op: bot.OpPost, IncidentID: inc.ID, NextAttemptAt: t0})
				})
				if err != nil {
					errs <- err
				}
			}
		})
		wg.Go(func() { // a reader alongside each writer
			for range perWriter {
				if _, err := db.Incidents(ctx, bot.IncidentFilter{All: true}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if msg := err.Error(); strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "locked") {
			t.Errorf("busy error: %v", err)
		} else {
			t.Errorf("error: %v", err)
		}
	}
	for i, db := range dbs {
		incs, err := db.Incidents(ctx, bot.IncidentFilter{All: true})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(incs), writers*perWriter; got != want {
			t.Errorf("handle %d sees %d incidents, want %d", i, got, want)
		}
		ds, err := db.Deliveries(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(ds), writers*perWriter; got != want {
			t.Errorf("handle %d sees %d deliveries, want %d", i, got, want)
		}
	}
}

// testReopenKeepsData checks that what one handle wrote is there after it
// is closed and the file opened again.
func testReopenKeepsData(t *testing.T, open Opener) {
	db := open(t)
	in := NewIncident("persisted")
	in.Status, in.ResolvedAt = bot.StatusResolved, t0.Add(time.Hour)
	inc := Create(t, db, in)[0]
	AppendEvents(t, db, &bot.Event{IncidentID: inc.ID, OccurredAt: t0, RecordedAt: t0, Kind: bot.KindNote, Actor: "U1", Text: "kept"})
	if err := db.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	db = open(t)
	inc.Labels = map[string]string{} // nil labels are stored as {}
	got, err := db.Incident(t.Context(), inc.ID)
	if err != nil {
		t.Fatalf("Incident after reopen: %v", err)
	}
	if !reflect.DeepEqual(got, inc) {
		t.Errorf("after reopen Incident =\n%+v\nwant\n%+v", got, inc)
	}
	evs, err := db.Timeline(t.Context(), inc.ID)
	if err != nil || len(evs) != 1 || evs[0].Text != "kept" {
		t.Errorf("Timeline after reopen = %+v, %v; want the one note", evs, err)
	}
}

// testReadModifyWriteIsIsolated: Updates on several handles (processes)
// each read one incident through tx, change it and save it. None of the
// changes is lost: a concurrent change makes one transaction wait, or run
// its fn again, never overwrite what the other committed.
func testReadModifyWriteIsIsolated(t *testing.T, open Opener) {
	dbs := []Store{open(t), open(t)}
	inc := Create(t, dbs[0], NewIncident("counted"))[0]
	const writers, perWriter = 6, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*perWriter)
	for w := range writers {
		db := dbs[w%len(dbs)]
		wg.Go(func() {
			for range perWriter {
				err := db.Update(t.Context(), func(tx bot.Tx) error {
					cur, err := tx.Incident(inc.ID)
					if err != nil {
						return err
					}
					n := 0
					fmt.Sscan(cur.Labels["n"], &n)
					cur.Labels = map[string]string{"n": fmt.Sprint(n + 1)}
					cur.Description += "x"
					return tx.UpdateIncident(cur)
				})
				if err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("Update: %v", err)
	}
	got, err := dbs[1].Incident(t.Context(), inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprint(writers * perWriter); got.Labels["n"] != want || len(got.Description) != writers*perWriter {
		t.Errorf("after %d increments n = %s and %d marks, want %s and %d: changes were lost", writers*perWriter, got.Labels["n"], len(got.Description), want, writers*perWriter)
	}
}
