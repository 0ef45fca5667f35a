package postgres

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/store"
)

// outboxKeyLocks is the first half of the two-part advisory lock keys that
// Enqueue takes per outbox key (the two-part keys do not overlap the
// migration lock's one-part key).
const outboxKeyLocks int32 = 0x6f7574 // "out"

// Enqueue adds an outbox entry. Without a NextAttemptAt it is due at once.
//
// Entries of one key are delivered in id order, so ids must follow commit
// order within a key; a sequence alone does not give that (a transaction
// that took id 10 may commit after one that took 11, and a claimer may have
// delivered 11 by then). So the insert first takes a transaction lock on
// the key: a second transaction enqueueing on the key waits until the first
// has committed, and only then draws its id.
func (t *tx) Enqueue(d bot.Delivery) error {
	created := d.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	payload := string(d.Payload)
	if payload == "" {
		payload = "{}"
	}
	// One statement: the supersede (with Coalesce set) and the insert; the
	// lock is taken in the FROM subquery, before the identity default draws
	// the id.
	_, err := t.exec(`WITH superseded AS (
			UPDATE outbox SET state = 'superseded' WHERE $7 <> '' AND coalesce_key = $7 AND state = 'pending' AND coalesce_key <> '')
		INSERT INTO outbox (key, op, incident_id, payload, next_attempt_at, created_at, coalesce_key, priority)
		SELECT $1, $2, $3, $4, $5, $6, $7, $9 FROM (SELECT pg_advisory_xact_lock($8, hashtext($1))) AS key_lock`,
		d.Key, d.Op, d.IncidentID, payload, store.EncodeTime(d.NextAttemptAt), store.EncodeTime(created), d.Coalesce, outboxKeyLocks, d.Priority)
	if err != nil {
		return fmt.Errorf("enqueue %s: %w", d.Op, err)
	}
	if d.Priority > 0 {
		// The older entries of the key go first whatever their priority, so
		// they take this one's: a person's action is not held behind a
		// low-priority head (the key's lock is held since the insert).
		if _, err := t.exec(`UPDATE outbox SET priority = $1 WHERE key = $2 AND state IN ('pending','sending') AND priority < $1`,
			d.Priority, d.Key); err != nil {
			return fmt.Errorf("raise the priority of %s: %w", d.Key, err)
		}
	}
	return nil
}

// sqlClaim claims the due heads: pending, due, and no older entry of their
// key pending or sending. FOR UPDATE SKIP LOCKED makes concurrent claimers
// take different entries; one that finds a head locked by another claimer
// skips it, and its key's later entries are not heads (the locked one is
// still pending in its snapshot), so a key is never claimed twice at once.
var sqlClaim = `WITH due AS (
		SELECT o.id FROM outbox o
		WHERE o.state = 'pending' AND o.next_attempt_at <= $1
		AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.key = o.key AND p.id < o.id AND p.state IN ('pending','sending'))
		ORDER BY o.priority DESC, o.next_attempt_at, o.id LIMIT $2
		FOR UPDATE OF o SKIP LOCKED)
	UPDATE outbox SET state = 'sending', claimed_by = $3, lease_until = ` + sqlClaimLease + ` FROM due WHERE outbox.id = due.id
	RETURNING ` + deliveryColumnsOfOutbox

// deliveryColumnsOfOutbox is store.DeliveryColumns qualified with the table
// (RETURNING of an UPDATE … FROM).
var deliveryColumnsOfOutbox = func() string {
	cols := columnNames(store.DeliveryColumns)
	for i, c := range cols {
		cols[i] = "outbox." + c
	}
	return strings.Join(cols, ", ")
}()

// serverTime is the database server's clock in the stored time layout
// (PostgreSQL keeps microseconds). Leases go by it: one clock for every
// replica, whatever theirs say.
func serverTime(plus string) string {
	return `to_char((clock_timestamp()` + plus + `) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"000Z"')`
}

var (
	sqlTakeOverLapsed = `UPDATE outbox SET state = 'pending', uncertain = TRUE
		WHERE state = 'sending' AND lease_until <> '' AND lease_until <= ` + serverTime("")
	sqlClaimLease = serverTime(" + $4::bigint * interval '1 microsecond'")
)

// ClaimDeliveries claims the due heads of up to limit keys, exclusively
// across replicas, each with a lease (SetDeliveryLease) on the server's
// clock. First, entries whose lease lapsed (their claimer died) go back to
// pending, marked uncertain, so they are claimed like any other.
func (db *DB) ClaimDeliveries(ctx context.Context, now time.Time, limit int) ([]bot.Delivery, error) {
	var out []bot.Delivery
	err := pgx.BeginFunc(ctx, db.pool, func(ptx pgx.Tx) error {
		if _, err := ptx.Exec(ctx, sqlTakeOverLapsed); err != nil {
			return fmt.Errorf("take over lapsed claims: %w", err)
		}
		rows, err := ptx.Query(ctx, sqlClaim, store.EncodeTime(now), limit, db.claimer, db.lease.Load()/int64(time.Microsecond))
		if err != nil {
			return err
		}
		out, err = collect(rows, store.ScanDelivery)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim deliveries: %w", err)
	}
	// RETURNING keeps no order: the claim's order is priority, then due.
	slices.SortFunc(out, func(a, b bot.Delivery) int {
		if c := cmp.Compare(b.Priority, a.Priority); c != 0 {
			return c
		}
		if c := a.NextAttemptAt.Compare(b.NextAttemptAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// SetDeliveryLease sets how long this handle's claims hold (default
// bot.DeliveryLease); for tests.
func (db *DB) SetDeliveryLease(d time.Duration) { db.lease.Store(int64(d)) }

func (db *DB) exec(ctx context.Context, what string, query string, args ...any) error {
	if _, err := db.pool.Exec(ctx, query, args...); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// CompleteDelivery records a delivered entry and its result.
func (db *DB) CompleteDelivery(ctx context.Context, id int64, result []byte, at time.Time) error {
	return db.exec(ctx, fmt.Sprintf("complete delivery %d", id), `UPDATE outbox SET state = 'delivered', attempts = attempts + 1,
		delivered_at = $1, result = $2, last_error = '' WHERE id = $3`, store.EncodeTime(at), string(result), id)
}

// RetryDelivery puts an entry back to wait for its next attempt.
func (db *DB) RetryDelivery(ctx context.Context, id int64, next time.Time, lastErr string) error {
	return db.exec(ctx, fmt.Sprintf("reschedule delivery %d", id), `UPDATE outbox SET state = 'pending', attempts = attempts + 1,
		next_attempt_at = $1, last_error = $2 WHERE id = $3`, store.EncodeTime(next), lastErr, id)
}

// DeferDelivery puts an entry back to wait until next without counting an
// attempt: a rate limit held it back.
func (db *DB) DeferDelivery(ctx context.Context, id int64, next time.Time, lastErr string) error {
	return db.exec(ctx, fmt.Sprintf("defer delivery %d", id), `UPDATE outbox SET state = 'pending', next_attempt_at = $1,
		last_error = $2 WHERE id = $3`, store.EncodeTime(next), lastErr, id)
}

// FailDelivery gives up on an entry, keeping it for inspection.
func (db *DB) FailDelivery(ctx context.Context, id int64, lastErr string, at time.Time) error {
	return db.exec(ctx, fmt.Sprintf("fail delivery %d", id), `UPDATE outbox SET state = 'failed', attempts = attempts + 1,
		delivered_at = $1, last_error = $2 WHERE id = $3`, store.EncodeTime(at), lastErr, id)
}

// RecoverDeliveries returns every entry left sending to pending, marked
// uncertain (see the port: only while no other process delivers).
func (db *DB) RecoverDeliveries(ctx context.Context) (int, error) {
	tag, err := db.pool.Exec(ctx, `UPDATE outbox SET state = 'pending', uncertain = TRUE WHERE state = 'sending'`)
	if err != nil {
		return 0, fmt.Errorf("recover deliveries: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// Deliveries lists outbox entries, oldest first, optionally only those in
// the given states. It is for inspection and tests.
func (db *DB) Deliveries(ctx context.Context, states ...bot.DeliveryState) ([]bot.Delivery, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+store.DeliveryColumns+` FROM outbox ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	all, err := collect(rows, store.ScanDelivery)
	if err != nil {
		return nil, fmt.Errorf("list deliveries: %w", err)
	}
	out := all[:0]
	for _, d := range all {
		if len(states) == 0 || slices.Contains(states, d.State) {
			out = append(out, d)
		}
	}
	return out, nil
}
