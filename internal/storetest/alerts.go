package storetest

import (
	"fmt"
	"sync"
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

// testOpenIncidentByLabel covers the attach-by-label lookup: the oldest open
// incident with the label's value, any source; resolved incidents, other
// values and other labels do not match; a label name with a dot works.
func testOpenIncidentByLabel(t *testing.T, open Opener) {
	db := open(t)
	with := func(title string, status bot.Status, labels map[string]string) bot.Incident {
		inc := NewIncident(title)
		inc.Status, inc.Labels = status, labels
		if status == bot.StatusResolved {
			inc.ResolvedAt = t0
		}
		return inc
	}
	incs := Create(t, db,
		with("resolved checkout", bot.StatusResolved, map[string]string{"service": "checkout"}),
		with("first checkout", bot.StatusTriggered, map[string]string{"service": "checkout", "team": "web"}),
		with("second checkout", bot.StatusInvestigating, map[string]string{"service": "checkout"}),
		with("search", bot.StatusTriggered, map[string]string{"service": "search", "pagerduty.service": "Checkout API"}),
	)
	find := func(name, value string) (bot.Incident, error) {
		var inc bot.Incident
		err := db.Update(t.Context(), func(tx bot.Tx) (err error) {
			inc, err = tx.OpenIncidentByLabel(name, value)
			return err
		})
		return inc, err
	}
	if inc, err := find("service", "checkout"); err != nil || inc.ID != incs[1].ID {
		t.Errorf("service=checkout: %s, %v; want the oldest open one, %s", inc.Key(), err, incs[1].Key())
	}
	if inc, err := find("pagerduty.service", "Checkout API"); err != nil || inc.ID != incs[3].ID {
		t.Errorf("pagerduty.service: %s, %v; want %s", inc.Key(), err, incs[3].Key())
	}
	for _, miss := range [][2]string{{"service", "payments"}, {"team", "search"}, {"region", "checkout"}, {"service", "Checkout"}} {
		if inc, err := find(miss[0], miss[1]); bot.ErrorCode(err) != bot.ENOTFOUND {
			t.Errorf("%s=%s: %s, %v; want ENOTFOUND", miss[0], miss[1], inc.Key(), err)
		}
	}
}

// testOpenIncidentByLabelSerializes: two transactions on two handles that
// each look a label up and, missing it, open an incident with it, run at
// once many times: never both miss (see bot.AlertTx.OpenIncidentByLabel).
func testOpenIncidentByLabelSerializes(t *testing.T, open Opener) {
	dbs := []Store{open(t), open(t)}
	const rounds = 20
	for r := range rounds {
		value := fmt.Sprintf("svc-%d", r)
		var wg sync.WaitGroup
		errs := make([]error, len(dbs))
		for i, db := range dbs {
			wg.Go(func() {
				errs[i] = db.Update(t.Context(), func(tx bot.Tx) error {
					_, err := tx.OpenIncidentByLabel("service", value)
					if bot.ErrorCode(err) != bot.ENOTFOUND {
						return err
					}
					inc := NewIncident(fmt.Sprintf("%s by handle %d", value, i))
					inc.Labels = map[string]string{"service": value}
					return tx.CreateIncident(&inc)
				})
			})
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Fatalf("round %d, handle %d: %v", r, i, err)
			}
		}
	}
	incs, err := dbs[0].Incidents(t.Context(), bot.IncidentFilter{All: true})
	if err != nil {
		t.Fatal(err)
	}
	per := map[string]int{}
	for _, inc := range incs {
		per[inc.Labels["service"]]++
	}
	for value, n := range per {
		if n != 1 {
			t.Errorf("%d incidents with service=%s, want 1: two transactions both missed", n, value)
		}
	}
	if len(per) != rounds {
		t.Errorf("%d label values opened, want %d", len(per), rounds)
	}
}
