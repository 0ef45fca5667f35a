package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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

// tx implements bot.Tx over one pgx transaction. bot.Tx's methods take no
// context, so the transaction keeps Update's.
type tx struct {
	ctx context.Context
	tx  pgx.Tx
	db  *DB
	// readXmin is the version (xmin) of each incident this transaction
	// read, which UpdateIncident saves over only if unchanged.
	readXmin map[int64]uint32
}

var _ bot.Tx = (*tx)(nil)

// Update runs fn in one transaction, again after a deadlock or a
// serialization failure.
func (db *DB) Update(ctx context.Context, fn func(bot.Tx) error) error {
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
	ptx, err := db.pool.Begin(ctx)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	// Rolls back after an error or a panic in fn; a no-op after Commit. A
	// context of its own: a transaction must end even when ctx has.
	defer ptx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck
	if err := fn(&tx{ctx: ctx, tx: ptx, db: db}); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := ptx.Commit(ctx); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
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

func (t *tx) exec(query string, args ...any) (pgconn.CommandTag, error) {
	return t.tx.Exec(t.ctx, query, args...)
}

func (t *tx) queryRow(query string, args ...any) pgx.Row {
	return t.tx.QueryRow(t.ctx, query, args...)
}
