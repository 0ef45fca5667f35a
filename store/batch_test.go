package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// These tests drive the group commit (batch.go) directly: runBatch with a
// batch made by hand is deterministic, where concurrent Update calls are
// batched only by chance.

var bt0 = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

func openInternal(t *testing.T) *DB {
	t.Helper()
	db, err := Open(t.Context(), filepath.Join(t.TempDir(), "sitrep.db"))
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

// runAll runs calls as the writer goroutine does.
func runAll(db *DB, calls []*writeCall) {
	for rest := calls; len(rest) > 0; {
		rest = db.runBatch(rest)
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

func finished(t *testing.T, calls []*writeCall) {
	t.Helper()
	for i, c := range calls {
		select {
		case <-c.done:
		default:
			t.Errorf("call %d was not finished", i)
		}
	}
}

// TestBatchIsolatesChanges: in one batch, a change that fails, panics or
// whose context ended is undone alone; the others commit together.
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
			// A change sees the changes batched before it.
			inc, err := tx.OpenIncidentByDedupKey("test", "a")
			if err != nil || inc.Title != "a" {
				return fmt.Errorf("incident a not seen in the batch: %+v %v", inc, err)
			}
			return nil
		})),
		newCall(ctx, creating("a", nil)), // a second open incident for key "a": ECONFLICT, undone alone
	}
	runAll(db, calls)
	finished(t, calls)

	if got, want := titles(t, db), []string{"a", "e"}; !slices.Equal(got, want) {
		t.Errorf("stored incidents %v, want %v", got, want)
	}
	for i, want := range []error{nil, boom, nil, context.Canceled, nil, nil} {
		if want != nil && !errors.Is(calls[i].err, want) {
			t.Errorf("call %d: err %v, want %v", i, calls[i].err, want)
		}
		if want == nil && i != 2 && i != 5 && calls[i].err != nil {
			t.Errorf("call %d: err %v, want none", i, calls[i].err)
		}
	}
	if calls[2].panicked != "kaboom" || calls[2].err == nil {
		t.Errorf("panicking call: panicked %v, err %v", calls[2].panicked, calls[2].err)
	}
	if bot.ErrorCode(calls[5].err) != bot.ECONFLICT {
		t.Errorf("duplicate open incident: err %v, want ECONFLICT", calls[5].err)
	}
}

// TestBatchFailsAsAWhole: when SQLite rolls the whole transaction back (as
// after a disk-full error; simulated here), the changes already run in it
// are lost and their callers told so; the changes after it are run in a
// new transaction.
func TestBatchFailsAsAWhole(t *testing.T) {
	db := openInternal(t)
	ctx := t.Context()
	calls := []*writeCall{
		newCall(ctx, creating("a", nil)),
		newCall(ctx, creating("b", func(btx bot.Tx) error {
			_, err := btx.(*tx).tx.Exec("ROLLBACK")
			return err // nil: this change believes it succeeded
		})),
		newCall(ctx, creating("c", nil)),
	}
	runAll(db, calls)
	finished(t, calls)
	if calls[0].err == nil || calls[1].err == nil {
		t.Errorf("changes of the failed transaction reported success: %v, %v", calls[0].err, calls[1].err)
	}
	if calls[2].err != nil {
		t.Errorf("change after the failure: %v", calls[2].err)
	}
	if got, want := titles(t, db), []string{"c"}; !slices.Equal(got, want) {
		t.Errorf("stored incidents %v, want %v", got, want)
	}
	// The writer is healthy afterwards.
	if err := db.Update(ctx, creating("d", nil)); err != nil {
		t.Fatal(err)
	}
}

// TestBatchLoneChange: a change batched alone fails by rolling back its
// transaction (no savepoint), as before group commit.
func TestBatchLoneChange(t *testing.T) {
	db := openInternal(t)
	boom := errors.New("boom")
	calls := []*writeCall{newCall(t.Context(), creating("a", func(bot.Tx) error { return boom }))}
	runAll(db, calls)
	finished(t, calls)
	if !errors.Is(calls[0].err, boom) || len(titles(t, db)) != 0 {
		t.Errorf("err %v, incidents %v", calls[0].err, titles(t, db))
	}
}

// TestConcurrentUpdates: many concurrent changes, every fifth failing,
// through the public Update: exactly the successful ones are stored.
func TestConcurrentUpdates(t *testing.T) {
	db := openInternal(t)
	const n = 200
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			errs[i] = db.Update(t.Context(), creating(fmt.Sprintf("inc%03d", i), func(bot.Tx) error {
				if i%5 == 0 {
					return bot.Errorf(bot.EINVALID, "change %d fails", i)
				}
				return nil
			}))
		})
	}
	wg.Wait()
	var want []string
	for i, err := range errs {
		if (err != nil) != (i%5 == 0) {
			t.Errorf("change %d: err %v", i, err)
		}
		if i%5 != 0 {
			want = append(want, fmt.Sprintf("inc%03d", i))
		}
	}
	if got := titles(t, db); !slices.Equal(got, want) {
		t.Errorf("stored %d incidents, want %d", len(got), len(want))
	}
}

// TestUpdatePanics: a panic in fn reaches Update's caller, and the writer
// goes on.
func TestUpdatePanics(t *testing.T) {
	db := openInternal(t)
	func() {
		defer func() {
			if p := recover(); p != "kaboom" {
				t.Errorf("recovered %v, want kaboom", p)
			}
		}()
		_ = db.Update(t.Context(), creating("a", func(bot.Tx) error { panic("kaboom") }))
	}()
	if err := db.Update(t.Context(), creating("b", nil)); err != nil {
		t.Fatal(err)
	}
	if got := titles(t, db); !slices.Equal(got, []string{"b"}) {
		t.Errorf("stored %v, want [b]", got)
	}
}

// TestUpdateAfterClose returns an error instead of waiting for ever.
func TestUpdateAfterClose(t *testing.T) {
	db := openInternal(t)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if err := db.Update(t.Context(), creating("a", nil)); !errors.Is(err, errClosed) {
		t.Errorf("Update after Close: %v, want %v", err, errClosed)
	}
}

// TestMarkChatEventForgetsByTime: a mark older than the prune time is
// forgotten even when no prune deleted it (prunes are spaced out), and
// old marks are deleted once the prune time has moved on enough.
func TestMarkChatEventForgetsByTime(t *testing.T) {
	db := openInternal(t)
	mark := func(id string, at, prune time.Time) bool {
		t.Helper()
		var fresh bool
		err := db.Update(t.Context(), func(tx bot.Tx) (err error) {
			fresh, err = tx.MarkChatEvent("pagerduty", id, at, prune)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return fresh
	}
	rows := func() (n int) {
		t.Helper()
		if err := db.reader.QueryRow(`SELECT count(*) FROM chat_events`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	first := bt0.Add(-10 * time.Second) // the first prune time: a prune runs
	if !mark("X", bt0, first) || !mark("Y", bt0, first) {
		t.Fatal("first marks are not fresh")
	}
	if mark("X", bt0.Add(time.Second), first) {
		t.Error("a redelivery is fresh")
	}
	// The prune time moves 30s, past X's mark: too little for a prune, but
	// X is forgotten all the same.
	if !mark("X", bt0.Add(30*time.Second), bt0.Add(20*time.Second)) {
		t.Error("a mark older than the prune time was not forgotten")
	}
	if n := rows(); n != 2 {
		t.Errorf("%d marks kept, want 2 (X renewed, Y not pruned yet)", n)
	}
	// The prune time moves on by minutes: the prune runs.
	if !mark("Z", bt0.Add(3*time.Minute), bt0.Add(2*time.Minute)) {
		t.Fatal("Z is not fresh")
	}
	if n := rows(); n != 1 {
		t.Errorf("%d marks kept after the prune, want 1 (Z)", n)
	}
}
