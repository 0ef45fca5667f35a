package storetest

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

func newRun(incidentID int64) bot.RunbookRun {
	return bot.RunbookRun{IncidentID: incidentID, Runbook: "pool-scale-up", Title: "Scale up",
		Params: map[string]string{"capacity": "12"}, State: bot.RunRequested, NeedsApproval: true,
		Approvers: [][]string{{"U1", "S2"}}, TwoPerson: true, ExpiresAt: t0.Add(15 * time.Minute),
		RequestedBy: "U1", RequestedAt: t0, UpdatedAt: t0,
		Steps: []bot.RunStep{{Name: "scale", Action: "exec", Display: "scale (exec): ./s.sh 12",
			NeedsApproval: true, Spec: json.RawMessage(`{"Step":"scale"}`), State: bot.StepPending}}}
}

func testRunbookRunRoundTrip(t *testing.T, open Opener) {
	db := open(t)
	inc := Create(t, db, NewIncident("gateway 500"))[0]
	want := newRun(inc.ID)
	if err := db.Update(t.Context(), func(tx bot.Tx) error { return tx.CreateRunbookRun(&want) }); err != nil {
		t.Fatal(err)
	}
	if want.ID == 0 {
		t.Fatal("CreateRunbookRun set no ID")
	}
	got, err := db.RunbookRun(t.Context(), want.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
	if _, err := db.RunbookRun(t.Context(), want.ID+1); bot.ErrorCode(err) != bot.ENOTFOUND {
		t.Errorf("missing run: %v, want ENOTFOUND", err)
	}
}

// testUpdateRunbookRunIsConditional: an update from a state the run has
// left changes nothing, which is what makes a second approval a no-op.
func testUpdateRunbookRunIsConditional(t *testing.T, open Opener) {
	db := open(t)
	inc := Create(t, db, NewIncident("gateway 500"))[0]
	run := newRun(inc.ID)
	err := db.Update(t.Context(), func(tx bot.Tx) error {
		if err := tx.CreateRunbookRun(&run); err != nil {
			return err
		}
		run.State, run.DecidedBy = bot.RunApproved, "U9"
		if ok, err := tx.UpdateRunbookRun(run, bot.RunRequested); err != nil || !ok {
			t.Errorf("first approval: %v, %v; want applied", ok, err)
		}
		run.DecidedBy = "U8"
		if ok, err := tx.UpdateRunbookRun(run, bot.RunRequested); err != nil || ok {
			t.Errorf("second approval: %v, %v; want not applied", ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, _ := db.RunbookRun(t.Context(), run.ID)
	if got.State != bot.RunApproved || got.DecidedBy != "U9" {
		t.Errorf("run = %s by %s, want approved by U9", got.State, got.DecidedBy)
	}
	running, err := db.RunbookRuns(t.Context(), bot.RunbookRunFilter{States: []bot.RunState{bot.RunRunning}})
	if err != nil || len(running) != 0 {
		t.Errorf("running runs = %v, %v; want none", running, err)
	}
	mine, err := db.RunbookRuns(t.Context(), bot.RunbookRunFilter{IncidentID: inc.ID, States: []bot.RunState{bot.RunApproved}})
	if err != nil || len(mine) != 1 {
		t.Errorf("approved runs of the incident = %v, %v; want one", mine, err)
	}
}

// testRunbookRunCancelled: a request can be cancelled (its incident was
// resolved), once, and ids keep growing past it.
func testRunbookRunCancelled(t *testing.T, open Opener) {
	db := open(t)
	inc := Create(t, db, NewIncident("gateway 500"))[0]
	run := newRun(inc.ID)
	if err := db.Update(t.Context(), func(tx bot.Tx) error { return tx.CreateRunbookRun(&run) }); err != nil {
		t.Fatal(err)
	}
	run.State, run.Reason, run.FinishedAt = bot.RunCancelled, "INC-1 was resolved", t0
	err := db.Update(t.Context(), func(tx bot.Tx) error {
		if ok, err := tx.UpdateRunbookRun(run, bot.RunRequested); err != nil || !ok {
			t.Errorf("cancel: %v, %v; want applied", ok, err)
		}
		if ok, err := tx.UpdateRunbookRun(run, bot.RunRequested); err != nil || ok {
			t.Errorf("second cancel: %v, %v; want not applied", ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	got, err := db.RunbookRun(t.Context(), run.ID)
	if err != nil || got.State != bot.RunCancelled || got.Reason != "INC-1 was resolved" {
		t.Errorf("run = %+v, %v; want cancelled", got, err)
	}
	next := newRun(inc.ID)
	if err := db.Update(t.Context(), func(tx bot.Tx) error { return tx.CreateRunbookRun(&next) }); err != nil || next.ID <= run.ID {
		t.Errorf("next run id %d after %d: %v", next.ID, run.ID, err)
	}
}

func testRunbookRunNeedsIncident(t *testing.T, open Opener) {
	db := open(t)
	run := newRun(999)
	if err := db.Update(t.Context(), func(tx bot.Tx) error { return tx.CreateRunbookRun(&run) }); err == nil {
		t.Error("a run of a missing incident was stored")
	}
}
