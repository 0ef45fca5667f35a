package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime"

	"github.com/sitrep-io/sitrep/bot"
)

// Group commit.
//
// Why: every write goes through one SQLite connection, and a commit costs
// far more than the statements of a typical change: it writes each page the
// transaction touched to the WAL (an alert event touches the events table
// and its three indexes), and BEGIN and COMMIT are parsed afresh each time.
// In an alert storm dozens of webhooks queue for the writer, each paying all
// of that for one small change. So Update hands fn to the writer goroutine,
// which runs whatever changes are queued at that moment (at most
// maxBatch) in one SQLite transaction and commits them together; shared
// pages are written once.
//
// Each change keeps its own all-or-nothing semantics: it runs inside a
// SAVEPOINT, and a change whose fn fails (or panics, or whose context ends)
// is rolled back to that savepoint alone, without touching the changes
// batched with it; its caller gets its error. A change's caller returns only
// after the batch committed, so success still means durable as before. When
// the batch itself fails (the commit, or SQLite rolling the whole
// transaction back after a severe error, seen as a failing savepoint
// statement), every change in it that had succeeded gets that error: none of
// them was stored, exactly as when a lone transaction fails. Changes queued
// after the failure are run in a new transaction.
//
// A change sees the changes batched before it (same transaction), as it
// would have seen them committed: the order is the order of the queue. It
// must read through tx, not through the DB's read methods, which see only
// committed data (bot.Store.Update's contract already says so).
//
// A lone change (nothing else queued) runs as before: no savepoint, a
// failing fn rolls back the transaction.

// The savepoint around each change of a batch. One name does: the changes
// run one after another, each savepoint released before the next.
const (
	sqlSavepoint  = `SAVEPOINT batched_change`
	sqlRollbackTo = `ROLLBACK TO batched_change`
	sqlRelease    = `RELEASE batched_change`
)

// maxBatch bounds the changes in one transaction, so that one batch does
// not keep the changes queued behind it waiting for long.
const maxBatch = 64

// errClosed is returned by Update after Close.
var errClosed = errors.New("the database is closed")

// writeCall is one change waiting for, or run by, the writer goroutine.
type writeCall struct {
	ctx      context.Context
	fn       func(bot.Tx) error
	err      error
	panicked any // fn's panic, re-raised in the caller's goroutine
	done     chan struct{}
}

// Update runs fn in a write transaction: everything fn does through tx
// commits together or not at all. It returns fn's error, the context's
// error, or the error that kept the transaction from committing.
func (db *DB) Update(ctx context.Context, fn func(bot.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c := &writeCall{ctx: ctx, fn: fn, done: make(chan struct{})}
	select {
	case db.calls <- c:
	case <-ctx.Done():
		return ctx.Err()
	case <-db.quit:
		return errClosed
	}
	<-c.done // even when ctx ends: fn may be running
	if c.panicked != nil {
		panic(c.panicked)
	}
	return db.storageErr(c.err)
}

// startWriter starts the writer goroutine; Close stops it.
func (db *DB) startWriter() {
	db.calls = make(chan *writeCall) // unbuffered: what is queued is who waits to send
	db.quit = make(chan struct{})
	db.writerDone = make(chan struct{})
	go db.writeLoop()
}

// stopWriter stops the writer goroutine after its current batch.
func (db *DB) stopWriter() {
	if db.quit == nil {
		return
	}
	db.closeOnce.Do(func() { close(db.quit) })
	<-db.writerDone
}

func (db *DB) writeLoop() {
	defer close(db.writerDone)
	batch := make([]*writeCall, 0, maxBatch)
	for {
		batch = batch[:0]
		select {
		case c := <-db.calls:
			batch = append(batch, c)
		case <-db.quit:
			return
		}
		// Let the goroutines that are about to queue a change (a busy
		// machine has them runnable but not running) queue it first: the
		// bigger batch costs the first change a few microseconds and saves
		// a commit for each change that joins it.
		runtime.Gosched()
	queued:
		for len(batch) < maxBatch {
			select {
			case c := <-db.calls:
				batch = append(batch, c)
			default:
				break queued
			}
		}
		for rest := batch; len(rest) > 0; {
			rest = db.runBatch(rest)
		}
		clear(batch) // let the finished calls go
	}
}

// runBatch runs the calls in one transaction and finishes them. After a
// failure of the transaction itself it finishes the calls run so far with
// that error and returns the ones not run yet, for a new transaction.
func (db *DB) runBatch(calls []*writeCall) (notRun []*writeCall) {
	defer func() { // the calls run (all but notRun) are finished
		for _, c := range calls[:len(calls)-len(notRun)] {
			close(c.done)
		}
	}()
	sqlTx, err := db.writer.BeginTx(context.Background(), nil)
	if err != nil {
		failAll(calls, fmt.Errorf("begin transaction: %w", err))
		return nil
	}
	t := &tx{tx: sqlTx, db: db, txStmts: map[string]*sql.Stmt{}}
	if len(calls) == 1 {
		c := calls[0]
		if c.err = runCall(t, c); c.err != nil {
			_ = sqlTx.Rollback()
			return nil
		}
		if err := sqlTx.Commit(); err != nil {
			c.err = fmt.Errorf("commit: %w", err)
		}
		return nil
	}
	var stored []*writeCall // calls whose changes are in the transaction
	for i, c := range calls {
		if err := db.savepoint(t, sqlSavepoint); err != nil {
			return db.abortBatch(sqlTx, calls, stored, i+1, err)
		}
		if c.err = runCall(t, c); c.err != nil { // undo this call's changes alone
			if err := db.savepoint(t, sqlRollbackTo); err != nil {
				return db.abortBatch(sqlTx, calls, stored, i+1, err)
			}
		}
		if err := db.savepoint(t, sqlRelease); err != nil {
			return db.abortBatch(sqlTx, calls, stored, i+1, err)
		}
		if c.err == nil {
			stored = append(stored, c)
		}
	}
	if len(stored) == 0 {
		_ = sqlTx.Rollback()
		return nil
	}
	if err := sqlTx.Commit(); err != nil {
		failAll(stored, fmt.Errorf("commit: %w", err))
	}
	return nil
}

// abortBatch rolls the transaction back after it failed as a whole: the
// calls stored so far lose their changes and get err, as does call n-1 (the
// one being run when it failed) unless it failed by itself; the calls from
// n on were not run and are returned. n ≥ 1, so the writer makes progress.
func (db *DB) abortBatch(sqlTx *sql.Tx, calls, stored []*writeCall, n int, err error) []*writeCall {
	_ = sqlTx.Rollback()
	err = fmt.Errorf("transaction failed: %w", err)
	failAll(stored, err)
	if n > 0 && calls[n-1].err == nil {
		calls[n-1].err = err
	}
	return calls[n:]
}

// runCall runs one call's fn, capturing a panic. A call whose context ended
// is not run, or fails if it ended while fn ran (as database/sql fails the
// commit of a transaction whose context ended).
func runCall(t *tx, c *writeCall) (err error) {
	if err := c.ctx.Err(); err != nil {
		return err
	}
	defer func() {
		if p := recover(); p != nil {
			c.panicked = p
			err = fmt.Errorf("panic in transaction: %v", p)
		}
	}()
	if err := c.fn(t); err != nil {
		return err
	}
	return c.ctx.Err()
}

func (db *DB) savepoint(t *tx, query string) error {
	_, err := t.exec(query)
	return err
}

func failAll(calls []*writeCall, err error) {
	for _, c := range calls {
		c.err = err
	}
}
