package postgres

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// Group commit.
//
// Why: a webhook's change is a few small statements, and what it costs on
// PostgreSQL is round trips and the commit (a WAL flush), not the
// statements' work. In an alert storm dozens of webhooks wait at once, each
// paying its own BEGIN, COMMIT and flush. So Update hands fn to one of a few
// writer goroutines, which runs the changes queued at that moment (at most
// maxBatch) in one transaction and commits them together.
//
// Each change keeps its all-or-nothing semantics: it runs inside a
// SAVEPOINT (sent with its first statement, no round trip of its own), and
// a change whose fn fails or panics is rolled back to its savepoint alone;
// its caller gets its error. A change that failed only because of another
// transaction (a deadlock, a concurrent change of an incident it read, a
// unique key a concurrent transaction took) is rolled back to its
// savepoint and run again on its own, as Update did before. Callers return
// after the commit, so success still means committed. When the batch fails
// as a whole (its commit, or a savepoint that cannot be rolled back to),
// every change in it that had succeeded gets that error: none was stored.
//
// A change sees the changes batched before it (same transaction), as it
// would have seen them committed; the locks a change takes (FOR UPDATE)
// are held until the batch commits. A lone change runs as before: no
// savepoint.

// maxBatch bounds the changes in one transaction: PostgreSQL tracks up to
// 64 subtransactions per backend in shared memory, and one batch should not
// keep the changes queued behind it waiting long.
const maxBatch = 32

// writers is how many batches run at once, each on its own connection (of
// the pool's four by default). Measured with cmd/loadgen on 2 cores:
// median intake ratios 0.39 with one, 0.53 with two, 0.51 with three, 0.49
// with four: one leaves the connection idle while its batch's results
// travel; more split the queue into smaller batches.
const writers = 2

// batchTimeout bounds one batch's transaction.
const batchTimeout = 30 * time.Second

// errClosed is returned by Update after Close.
var errClosed = errors.New("the database is closed")

// writeCall is one change waiting for, or run by, a writer.
type writeCall struct {
	ctx      context.Context
	fn       func(bot.Tx) error
	err      error
	alone    bool // run it again on its own: it lost to another transaction
	panicked any  // fn's panic, re-raised in the caller's goroutine
	done     chan struct{}
}

// batcher is the writers' queue.
type batcher struct {
	calls chan *writeCall
	quit  chan struct{}
	once  sync.Once
	wg    sync.WaitGroup
}

func (db *DB) startWriters() {
	db.batch = &batcher{calls: make(chan *writeCall), quit: make(chan struct{})}
	for range writers {
		db.batch.wg.Add(1)
		go db.writeLoop()
	}
}

func (db *DB) stopWriters() {
	if db.batch == nil {
		return
	}
	db.batch.once.Do(func() { close(db.batch.quit) })
	db.batch.wg.Wait()
}

// Update runs fn in a write transaction: everything fn does through tx
// commits together or not at all. It returns fn's error, the context's
// error, or the error that kept the transaction from committing.
func (db *DB) Update(ctx context.Context, fn func(bot.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if db.batch == nil {
		return db.updateAlone(ctx, fn)
	}
	c := &writeCall{ctx: ctx, fn: fn, done: make(chan struct{})}
	select {
	case db.batch.calls <- c:
	case <-ctx.Done():
		return ctx.Err()
	case <-db.batch.quit:
		return errClosed
	}
	<-c.done
	if c.panicked != nil {
		panic(c.panicked)
	}
	if c.alone {
		return db.updateAlone(ctx, fn)
	}
	return c.err
}

func (db *DB) writeLoop() {
	defer db.batch.wg.Done()
	for {
		var first *writeCall
		select {
		case first = <-db.batch.calls:
		case <-db.batch.quit:
			return
		}
		// Let the handlers about to queue a change join this batch.
		runtime.Gosched()
		batch := []*writeCall{first}
	collect:
		for len(batch) < maxBatch {
			select {
			case c := <-db.batch.calls:
				batch = append(batch, c)
			default:
				break collect
			}
		}
		db.runBatch(batch)
		for _, c := range batch {
			close(c.done)
		}
	}
}

// runBatch runs the changes of batch in one transaction.
func (db *DB) runBatch(batch []*writeCall) {
	if len(batch) == 1 {
		c := batch[0]
		c.err, c.panicked = runGuarded(func() error { return db.updateAlone(c.ctx, c.fn) })
		return
	}
	// The batch's statements run under a context of its own (one change's
	// context ending must not end the others'), bounded: a database that
	// stops answering fails the batch's callers instead of holding them.
	ctx, cancel := context.WithTimeout(context.Background(), batchTimeout)
	defer cancel()
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		for _, c := range batch {
			c.err = fmt.Errorf("begin transaction: %w", err)
		}
		return
	}
	s := &session{ctx: ctx, conn: conn, prefix: []string{"BEGIN"}}
	committed := false
	defer func() {
		if !committed {
			s.rollback(ctx)
		}
		conn.Release()
	}()
	var ok []*writeCall
	for i, c := range batch {
		if err := c.ctx.Err(); err != nil {
			c.err = err
			continue
		}
		mark := len(s.prefix)
		s.prefix = append(s.prefix, "SAVEPOINT batched_change")
		sent := s.sent
		err, panicked := runGuarded(func() error { return c.fn(&tx{session: s, db: db}) })
		if err == nil && panicked == nil {
			if s.sent == sent {
				s.prefix = s.prefix[:mark] // it sent nothing: no savepoint
			} else {
				s.prefix = append(s.prefix, "RELEASE batched_change")
			}
			ok = append(ok, c)
			continue
		}
		c.panicked = panicked
		c.err = err
		if panicked == nil && retryable(err) {
			c.alone, c.err = true, nil
		}
		if s.sent == sent {
			s.prefix = s.prefix[:mark]
			continue
		}
		if rerr := s.settle(); rerr != nil && c.err == nil && !c.alone {
			c.err = rerr
		}
		if _, rerr := s.conn.Exec(ctx, "ROLLBACK TO batched_change"); rerr != nil {
			// The transaction cannot go on: what succeeded in it is
			// lost, and this change (which may have failed because of
			// it) and the rest run on their own.
			for _, o := range ok {
				o.err = fmt.Errorf("batched transaction failed: %w", rerr)
			}
			if c.panicked == nil {
				c.alone, c.err = true, nil
			}
			for _, rest := range batch[i+1:] {
				rest.alone = true
			}
			return
		}
		s.prefix = append(s.prefix, "RELEASE batched_change")
	}
	if err := s.commit(); err != nil {
		for _, o := range ok {
			if retryable(err) {
				o.alone = true
			} else {
				o.err = err
			}
		}
		return
	}
	committed = true
}

// runGuarded runs fn and returns its error or its panic.
func runGuarded(fn func() error) (err error, panicked any) {
	defer func() {
		if p := recover(); p != nil {
			panicked = p
		}
	}()
	return fn(), nil
}
