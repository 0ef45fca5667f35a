package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sitrep-io/sitrep/bot"
)

// Transactions.
//
// Update runs at READ COMMITTED, PostgreSQL's default, and gets what SQLite
// gets from having one writer by checking what it read before it saves it:
// an incident is saved only if no other transaction changed it since this
// one read it (its xmin; otherwise fn runs again, incidents.go), and the
// other rows a transaction reads through bot.Tx to change them (a run, a
// triage record, a timeline event) are read FOR UPDATE. So two replicas
// changing one incident never overwrite each other's change. Uniqueness is the database's (partial unique indexes,
// ON CONFLICT), and outbox ids follow commit order per key (Enqueue). What
// PostgreSQL aborts, a deadlock between two such transactions or a
// serialization failure, is retried: fn runs again on a fresh transaction
// (the port allows it).

// maxAttempts bounds the retries of one Update.
const maxAttempts = 20

// session is one transaction on one pooled connection: one change's, or
// a batch's (batch.go). bot.Tx's methods take no context, so the session
// keeps the one its statements run under.
//
// BEGIN is not sent on a round trip of its own: it goes out with the
// transaction's first statement, in one pipeline, as do the savepoints of
// a batch (prefix); a change that sends no statement costs none. A storm's
// webhook pays five round trips instead of six (TestRoundTripsPerWebhook).
type session struct {
	ctx  context.Context
	conn *pgxpool.Conn
	// begun: BEGIN has been sent; the connection is in the transaction.
	begun bool
	// prefix is what goes out with the next statement, in its pipeline
	// (BEGIN, SAVEPOINT, RELEASE): control statements need no round trip
	// of their own.
	prefix []string
	// pending is the pipeline that carried the prefix, until the
	// statement's result is read (then closed).
	pending pgx.BatchResults
	// sent counts the statements sent, to tell whether a change sent any.
	sent int
}

// tx implements bot.Tx for one change, over a session.
type tx struct {
	*session
	db *DB
	// readXmin is the version (xmin) of each incident this change read,
	// which UpdateIncident saves over only if unchanged.
	readXmin map[int64]uint32
}

var _ bot.Tx = (*tx)(nil)

// updateAlone runs fn in a transaction of its own, again after a deadlock,
// a serialization failure or a concurrent change of what it read.
func (db *DB) updateAlone(ctx context.Context, fn func(bot.Tx) error) error {
	delay := time.Millisecond
	for attempt := 1; ; attempt++ {
		err := db.updateOnce(ctx, fn)
		if err == nil || !retryable(err) || attempt == maxAttempts {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay + rand.N(delay)):
		}
		delay = min(2*delay, 100*time.Millisecond)
	}
}

func (db *DB) updateOnce(ctx context.Context, fn func(bot.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	t := &tx{session: &session{ctx: ctx, conn: conn, prefix: []string{"BEGIN"}}, db: db}
	// Rolls back after an error or a panic in fn, and gives the connection
	// back. A context of its own: a transaction must end even when ctx has.
	committed := false
	defer func() {
		if !committed {
			t.rollback(context.WithoutCancel(ctx))
		}
		conn.Release()
	}()
	if err := fn(t); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := t.commit(); err != nil {
		return err
	}
	committed = true
	return nil
}

// commit ends the transaction. PostgreSQL answers COMMIT of a transaction
// that a failed statement aborted with ROLLBACK, not an error.
func (t *session) commit() error {
	if err := t.settle(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	t.prefix = nil // COMMIT releases every savepoint
	if !t.begun {
		return nil // nothing was sent
	}
	tag, err := t.conn.Exec(t.ctx, "COMMIT")
	if err == nil && tag.String() == "ROLLBACK" {
		err = pgx.ErrTxCommitRollback
	}
	if err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	t.begun = false
	return nil
}

// rollback ends an unfinished transaction; a connection whose rollback
// fails is closed, so that the pool never hands out one still inside it.
func (t *session) rollback(ctx context.Context) {
	_ = t.settle()
	t.prefix = nil
	if !t.begun {
		return
	}
	if _, err := t.conn.Exec(ctx, "ROLLBACK"); err != nil {
		_ = t.conn.Conn().Close(ctx)
	}
	t.begun = false
}

// settle reads what is left of the pipeline that sent BEGIN.
func (t *session) settle() error {
	if t.pending == nil {
		return nil
	}
	err := t.pending.Close()
	t.pending = nil
	return err
}

// first sends the prefix and query in one pipeline and returns its
// results, the statement's next to be read.
func (t *session) first(query string, args ...any) (pgx.BatchResults, error) {
	b := &pgx.Batch{}
	for _, control := range t.prefix {
		b.Queue(control)
	}
	b.Queue(query, args...)
	br := t.conn.SendBatch(t.ctx, b)
	prefix := t.prefix
	t.prefix, t.pending = nil, br
	for _, control := range prefix {
		if control == "BEGIN" {
			t.begun = true
		}
		if _, err := br.Exec(); err != nil {
			return nil, fmt.Errorf("%s: %w", strings.ToLower(control), err)
		}
	}
	return br, nil
}

// SQLSTATEs sitrep handles.
const (
	codeUniqueViolation      = "23505"
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
)

func sqlState(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// retryable reports whether a transaction failed only because of another
// one, so that running it again may succeed.
func retryable(err error) bool {
	if errors.Is(err, errIncidentChanged) {
		return true
	}
	switch sqlState(err) {
	case codeSerializationFailure, codeDeadlockDetected:
		return true
	case codeUniqueViolation:
		// Only statements whose conflict a concurrent transaction can
		// cause raise it (the others use ON CONFLICT): run again, the
		// conflicting row is visible and the statement sees it
		// (UpdateIncident).
		return true
	}
	return false
}

// notFound maps pgx.ErrNoRows to an ENOTFOUND domain error.
func notFound(err error, format string, args ...any) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return bot.Errorf(bot.ENOTFOUND, format, args...)
	}
	return err
}

func (t *session) exec(query string, args ...any) (pgconn.CommandTag, error) {
	t.sent++
	if err := t.settle(); err != nil {
		return pgconn.CommandTag{}, err
	}
	if len(t.prefix) == 0 {
		return t.conn.Exec(t.ctx, query, args...)
	}
	br, err := t.first(query, args...)
	if err != nil {
		return pgconn.CommandTag{}, err
	}
	tag, err := br.Exec()
	if cerr := t.settle(); err == nil {
		err = cerr
	}
	return tag, err
}

func (t *session) queryRow(query string, args ...any) pgx.Row {
	t.sent++
	if err := t.settle(); err != nil {
		return errRow{err}
	}
	if len(t.prefix) == 0 {
		return t.conn.QueryRow(t.ctx, query, args...)
	}
	br, err := t.first(query, args...)
	if err != nil {
		return errRow{err}
	}
	return pipelinedRow{row: br.QueryRow(), t: t}
}

// pipelinedRow is the row of a statement sent with a prefix: reading it
// settles the pipeline it came in.
type pipelinedRow struct {
	row pgx.Row
	t   *session
}

func (r pipelinedRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if cerr := r.t.settle(); err == nil {
		err = cerr
	}
	return err
}

// errRow is a row that could not be asked for.
type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
