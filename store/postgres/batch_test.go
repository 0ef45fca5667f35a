package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/pgtest"
)

// These tests drive the group commit (batch.go) directly: runBatch with a
// batch made by hand is deterministic, where concurrent Update calls are
// batched only by chance. TestGroupCommit (roundtrips_test.go) shows that
// concurrent Updates are batched.

var bt0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func openInternal(t *testing.T) *DB {
	t.Helper()
	db, err := Open(t.Context(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func incidentNamed(title string) bot.Incident {
	return bot.Incident{Title: title, Severity: bot.SEV3, Status: bot.StatusTriggered, Source: "test", DedupKey: title,
		DeclaredAt: bt0, DetectedAt: bt0, UpdatedAt: bt0}
}

// creating is a change that opens an incident titled title, then ends with
// then (nil: success).
func creating(title string, then func(tx bot.Tx) error) func(bot.Tx) error {
	return func(tx bot.Tx) error {
		inc := incidentNamed(title)
		if err := tx.CreateIncident(&inc); err != nil {
			return err
		}
		if then != nil {
			return then(tx)
		}
		return nil
	}
}

func newCall(ctx context.Context, fn func(bot.Tx) error) *writeCall {
	return &writeCall{ctx: ctx, fn: fn, done: make(chan struct{})}
}

// runAll runs calls in one batch as a writer does, then the ones it hands
// back to run on their own, as Update does.
func runAll(db *DB, calls []*writeCall) {
	db.runBatch(calls)
	for _, c := range calls {
		if c.alone {
			c.err = db.updateAlone(c.ctx, c.fn)
		}
	}
}

func titles(t *testing.T, db *DB) []string {
	t.Helper()
	incs, err := db.Incidents(t.Context(), bot.IncidentFilter{All: true})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, inc := range incs {
		out = append(out, inc.Title)
	}
	slices.Sort(out)
	return out
}

// In one batch, a change that fails, fails in the database, panics or
// whose context ended is undone alone; the others commit together, and a
// change sees those batched before it.
func TestBatchIsolatesChanges(t *testing.T) {
	db := openInternal(t)
	boom := errors.New("boom")
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	ctx := t.Context()
	calls := []*writeCall{
		newCall(ctx, creating("a", nil)),
		newCall(ctx, creating("b", func(bot.Tx) error { return boom })),
		newCall(ctx, creating("c", func(bot.Tx) error { panic("kaboom") })),
		newCall(cancelled, creating("d", nil)),
		newCall(ctx, creating("e", func(tx bot.Tx) error {
			inc, err := tx.OpenIncidentByDedupKey("test", "a")
			if err != nil || inc.Title != "a" {
				return fmt.Errorf("incident a not seen in the batch: %+v %v", inc, err)
			}
			return nil
		})),
		newCall(ctx, creating("a", nil)), // a second open incident for key "a": ECONFLICT, undone alone
		newCall(ctx, creating("f", func(btx bot.Tx) error {
			// A statement the database refuses aborts the transaction
			// until the change is rolled back to its savepoint.
			_, err := btx.(*tx).exec(`SELECT 1/0`)
			return err
		})),
		newCall(ctx, func(bot.Tx) error { return nil }), // sends nothing
		newCall(ctx, creating("g", nil)),
	}
	runAll(db, calls)

	if got, want := titles(t, db), []string{"a", "e", "g"}; !slices.Equal(got, want) {
		t.Errorf("stored incidents %v, want %v", got, want)
	}
	for i, want := range []error{nil, boom, nil, context.Canceled, nil, nil, nil, nil, nil} {
		switch {
		case i == 2 || i == 5 || i == 6:
		case want != nil && !errors.Is(calls[i].err, want):
			t.Errorf("call %d: err %v, want %v", i, calls[i].err, want)
		case want == nil && calls[i].err != nil:
			t.Errorf("call %d: err %v, want none", i, calls[i].err)
		}
	}
	if calls[2].panicked != "kaboom" {
		t.Errorf("panicking call: panicked %v", calls[2].panicked)
	}
	if bot.ErrorCode(calls[5].err) != bot.ECONFLICT {
		t.Errorf("duplicate open incident: err %v, want ECONFLICT", calls[5].err)
	}
	if calls[6].err == nil || calls[6].alone {
		t.Errorf("division by zero: err %v, alone %v; want its error, not a second run", calls[6].err, calls[6].alone)
	}
}

// When the batch's transaction ends under it (simulated: a change ends it
// itself, as a lost connection would), the changes run in it are lost and
// their callers told so; the changes after it run on their own.
func TestBatchFailsAsAWhole(t *testing.T) {
	db := openInternal(t)
	ctx := t.Context()
	calls := []*writeCall{
		newCall(ctx, creating("a", nil)),
		newCall(ctx, creating("b", func(btx bot.Tx) error {
			_, err := btx.(*tx).conn.Exec(ctx, "ROLLBACK")
			return err // nil: this change believes it succeeded
		})),
		newCall(ctx, creating("c", nil)),
	}
	runAll(db, calls)
	if calls[0].err == nil || calls[1].err == nil {
		t.Errorf("changes of the failed transaction reported success: %v, %v", calls[0].err, calls[1].err)
	}
	if calls[2].err != nil {
		t.Errorf("change after the failure: %v", calls[2].err)
	}
	if got, want := titles(t, db), []string{"c"}; !slices.Equal(got, want) {
		t.Errorf("stored incidents %v, want %v", got, want)
	}
	if err := db.Update(ctx, creating("d", nil)); err != nil {
		t.Fatalf("after a failed batch: %v", err)
	}
}

// A change that lost to another transaction (here: another replica saved
// the incident it read) is rolled back to its savepoint and run again on
// its own, as a lone change would be; the batch's other changes commit.
func TestBatchRunsALoserAgainAlone(t *testing.T) {
	db := openInternal(t)
	other, err := Open(t.Context(), db.pool.Config().ConnString())
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	ctx := t.Context()
	var id int64
	if err := db.Update(ctx, creating("x", func(tx bot.Tx) error { return nil })); err != nil {
		t.Fatal(err)
	}
	incs, err := db.Incidents(ctx, bot.IncidentFilter{All: true})
	if err != nil || len(incs) != 1 {
		t.Fatal(incs, err)
	}
	id = incs[0].ID
	runs := 0
	rename := func(tx bot.Tx) error {
		runs++
		inc, err := tx.Incident(id)
		if err != nil {
			return err
		}
		if runs == 1 { // another replica changes it in between
			if err := other.Update(ctx, func(otx bot.Tx) error {
				o, err := otx.Incident(id)
				if err != nil {
					return err
				}
				o.Commander = "U-other"
				return otx.UpdateIncident(o)
			}); err != nil {
				return err
			}
		}
		inc.Title = "renamed"
		return tx.UpdateIncident(inc)
	}
	calls := []*writeCall{newCall(ctx, creating("a", nil)), newCall(ctx, rename), newCall(ctx, creating("b", nil))}
	runAll(db, calls)
	for i, c := range calls {
		if c.err != nil {
			t.Errorf("call %d: %v", i, c.err)
		}
	}
	if runs != 2 || !calls[1].alone {
		t.Errorf("the change that lost ran %d times (alone: %v), want twice, the second on its own", runs, calls[1].alone)
	}
	got, err := db.Incident(ctx, id)
	if err != nil || got.Title != "renamed" || got.Commander != "U-other" {
		t.Errorf("incident %+v, %v: want both changes, neither overwritten", got, err)
	}
	if got, want := titles(t, db), []string{"a", "b", "renamed"}; !slices.Equal(got, want) {
		t.Errorf("stored incidents %v, want %v", got, want)
	}
}
