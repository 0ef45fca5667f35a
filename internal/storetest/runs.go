package storetest

import (
	"encoding/json"
	"reflect"
	"sync"
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

// testRunbookRunHeartbeat: the runner and its heartbeat are stored, a
// renewal on one handle is seen by another (replicas), and the takeover
// is a read-check-write that cannot interleave with the owner's renewals:
// once another handle marks a run with a stale heartbeat interrupted, no
// renewal brings it back, and a renewal the takeover read is respected.
func testRunbookRunHeartbeat(t *testing.T, open Opener) {
	owner, other := open(t), open(t)
	inc := Create(t, owner, NewIncident("gateway 500"))[0]
	run := newRun(inc.ID)
	run.State, run.StartedAt, run.Runner, run.HeartbeatAt = bot.RunRunning, t0, "replica-a", t0
	if err := owner.Update(t.Context(), func(tx bot.Tx) error { return tx.CreateRunbookRun(&run) }); err != nil {
		t.Fatal(err)
	}
	got, err := other.RunbookRun(t.Context(), run.ID)
	if err != nil || got.Runner != "replica-a" || !got.HeartbeatAt.Equal(t0) {
		t.Fatalf("other handle reads runner %q heartbeat %v (%v), want replica-a at %v", got.Runner, got.HeartbeatAt, err, t0)
	}

	// renew is the owner's heartbeat: applied only while the run runs.
	renew := func(at time.Time) (bool, error) {
		applied := false
		err := owner.Update(t.Context(), func(tx bot.Tx) error {
			cur, err := tx.RunbookRun(run.ID)
			if err != nil || cur.State != bot.RunRunning {
				return err
			}
			cur.HeartbeatAt = at
			applied, err = tx.UpdateRunbookRun(cur, bot.RunRunning)
			return err
		})
		return applied, err
	}
	// takeOver is another replica: it interrupts the run only if the
	// heartbeat it reads in its transaction is older than staleBefore.
	takeOver := func(staleBefore time.Time) (bool, error) {
		took := false
		err := other.Update(t.Context(), func(tx bot.Tx) error {
			cur, err := tx.RunbookRun(run.ID)
			if err != nil || cur.State != bot.RunRunning || !cur.HeartbeatAt.Before(staleBefore) {
				return err
			}
			cur.State, cur.Reason = bot.RunInterrupted, "no heartbeat from "+cur.Runner
			took, err = tx.UpdateRunbookRun(cur, bot.RunRunning)
			return err
		})
		return took, err
	}

	if ok, err := renew(t0.Add(10 * time.Second)); err != nil || !ok {
		t.Fatalf("renewal: %v, %v; want applied", ok, err)
	}
	if took, err := takeOver(t0.Add(5 * time.Second)); err != nil || took {
		t.Fatalf("takeover of a run renewed at +10s, stale before +5s: %v, %v; want none", took, err)
	}

	// The owner renews continuously while the other replica tries to take
	// over with a bound the renewals keep ahead of until the owner stops:
	// the takeover must see the last renewal committed before it.
	const beats = 50
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 1; i <= beats; i++ {
			if _, err := renew(t0.Add(time.Duration(10+i) * time.Second)); err != nil {
				t.Errorf("renewal %d: %v", i, err)
				return
			}
		}
	}()
	for i := 0; i < beats; i++ {
		if took, err := takeOver(t0.Add(10 * time.Second)); err != nil || took {
			t.Errorf("takeover while renewals are fresh: %v, %v; want none", took, err)
			break
		}
	}
	wg.Wait()
	if took, err := takeOver(t0.Add(time.Hour)); err != nil || !took {
		t.Fatalf("takeover of a stale heartbeat: %v, %v; want applied", took, err)
	}
	if ok, err := renew(t0.Add(time.Hour + time.Second)); err != nil || ok {
		t.Errorf("renewal after the takeover: %v, %v; want not applied", ok, err)
	}
	got, err = owner.RunbookRun(t.Context(), run.ID)
	if err != nil || got.State != bot.RunInterrupted || got.Reason != "no heartbeat from replica-a" {
		t.Errorf("run = %s %q (%v), want interrupted by the takeover", got.State, got.Reason, err)
	}
	if want := t0.Add(time.Duration(10+beats) * time.Second); !got.HeartbeatAt.Equal(want) {
		t.Errorf("heartbeat = %v, want the last renewal %v", got.HeartbeatAt, want)
	}
}
