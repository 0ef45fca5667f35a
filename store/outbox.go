package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// The "coalesce_key is not empty" terms let SQLite use the partial index
// outbox_coalesce: it cannot infer them from coalesce_key = ?, and without
// them it scans every pending entry, once per repeated alert in a storm.
const (
	sqlSupersede = `UPDATE outbox SET state = 'superseded'
		WHERE coalesce_key = ? AND state = 'pending' AND coalesce_key <> ''`
	sqlEnqueue = `INSERT INTO outbox (key, op, incident_id, payload, next_attempt_at, created_at, coalesce_key, priority)
		VALUES (?,?,?,?,?,?,?,?)`
	// The state term is outbox_unfinished's, so SQLite uses that index.
	sqlInheritPriority = `UPDATE outbox SET priority = ?
		WHERE key = ? AND state IN ('pending','sending') AND priority < ?`
	sqlDueDeliveries = `SELECT ` + deliveryColumns + ` FROM outbox o
		WHERE o.state = 'pending' AND o.next_attempt_at <= ?
		AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.key = o.key AND p.id < o.id AND p.state IN ('pending','sending'))
		ORDER BY o.priority DESC, o.next_attempt_at, o.id LIMIT ?`
	sqlClaimDelivery    = `UPDATE outbox SET state = 'sending', claimed_by = ?, lease_until = ? WHERE id = ?`
	sqlCompleteDelivery = `UPDATE outbox SET state = 'delivered', attempts = attempts + 1, delivered_at = ?, result = ?,
		last_error = '' WHERE id = ?`
	sqlRetryDelivery = `UPDATE outbox SET state = 'pending', attempts = attempts + 1, next_attempt_at = ?, last_error = ?
		WHERE id = ?`
	sqlDeferDelivery = `UPDATE outbox SET state = 'pending', next_attempt_at = ?, last_error = ? WHERE id = ?`
	sqlFailDelivery  = `UPDATE outbox SET state = 'failed', attempts = attempts + 1, delivered_at = ?, last_error = ?
		WHERE id = ?`
)

// Enqueue adds an outbox entry. Without a NextAttemptAt it is due at once,
// whatever clock the dispatcher runs on (the empty time sorts first).
func (t *tx) Enqueue(d bot.Delivery) error {
	created := d.CreatedAt
	if created.IsZero() {
		created = time.Now()
	}
	next := encTime(d.NextAttemptAt)
	if d.Coalesce != "" {
		if _, err := t.exec(sqlSupersede, d.Coalesce); err != nil {
			return fmt.Errorf("supersede %s: %w", d.Coalesce, err)
		}
	}
	payload := string(d.Payload)
	if payload == "" {
		payload = "{}"
	}
	if d.Priority > 0 {
		// The older entries of the key go first whatever their priority,
		// so they take this one's: a person's action is not held behind a
		// low-priority head.
		if _, err := t.exec(sqlInheritPriority, d.Priority, d.Key, d.Priority); err != nil {
			return fmt.Errorf("raise the priority of %s: %w", d.Key, err)
		}
	}
	if _, err := t.exec(sqlEnqueue, d.Key, d.Op, d.IncidentID, payload, next, encTime(created), d.Coalesce, d.Priority); err != nil {
		return fmt.Errorf("enqueue %s: %w", d.Op, err)
	}
	return nil
}

const deliveryColumns = `id, key, op, incident_id, payload, state, attempts, next_attempt_at, last_error,
	created_at, delivered_at, result, uncertain, coalesce_key, priority`

func scanDelivery(row scanner) (bot.Delivery, error) {
	var d bot.Delivery
	var payload, state, next, created, delivered, result string
	err := row.Scan(&d.ID, &d.Key, &d.Op, &d.IncidentID, &payload, &state, &d.Attempts, &next, &d.LastError,
		&created, &delivered, &result, &d.Uncertain, &d.Coalesce, &d.Priority)
	if err != nil {
		return bot.Delivery{}, err
	}
	d.Payload, d.State = []byte(payload), bot.DeliveryState(state)
	if result != "" {
		d.Result = []byte(result)
	}
	for _, p := range []struct {
		dst *time.Time
		src string
	}{{&d.NextAttemptAt, next}, {&d.CreatedAt, created}, {&d.DeliveredAt, delivered}} {
		if *p.dst, err = decTime(p.src); err != nil {
			return bot.Delivery{}, err
		}
	}
	return d, nil
}

// ClaimDeliveries claims the due heads of up to limit keys, the highest
// priority first, then the longest due: an entry is claimed only when no
// older entry of its key is unfinished, which keeps each key (each channel)
// in order.
func (db *DB) ClaimDeliveries(ctx context.Context, now time.Time, limit int) ([]bot.Delivery, error) {
	var out []bot.Delivery
	err := db.Update(ctx, func(btx bot.Tx) error {
		t := btx.(*tx)
		leaseEnd, err := db.takeOverLapsed(t)
		if err != nil {
			return err
		}
		rows, err := t.query(ctx, sqlDueDeliveries, encTime(now), limit)
		if err != nil {
			return fmt.Errorf("select due deliveries: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			d, err := scanDelivery(rows)
			if err != nil {
				return fmt.Errorf("scan delivery: %w", err)
			}
			out = append(out, d)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for i := range out {
			out[i].State = bot.DeliverySending
			if _, err := t.exec(sqlClaimDelivery, claimer, leaseEnd, out[i].ID); err != nil {
				return fmt.Errorf("claim delivery %d: %w", out[i].ID, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// CompleteDelivery records a delivered entry and its result.
func (db *DB) CompleteDelivery(ctx context.Context, id int64, result []byte, at time.Time) error {
	_, err := db.write(ctx, sqlCompleteDelivery, encTime(at), string(result), id)
	if err != nil {
		return fmt.Errorf("complete delivery %d: %w", id, err)
	}
	return nil
}

// RetryDelivery puts an entry back to wait for its next attempt.
func (db *DB) RetryDelivery(ctx context.Context, id int64, next time.Time, lastErr string) error {
	_, err := db.write(ctx, sqlRetryDelivery, encTime(next), lastErr, id)
	if err != nil {
		return fmt.Errorf("reschedule delivery %d: %w", id, err)
	}
	return nil
}

// DeferDelivery puts an entry back to wait until next without counting an
// attempt: a rate limit held it back.
func (db *DB) DeferDelivery(ctx context.Context, id int64, next time.Time, lastErr string) error {
	_, err := db.write(ctx, sqlDeferDelivery, encTime(next), lastErr, id)
	if err != nil {
		return fmt.Errorf("defer delivery %d: %w", id, err)
	}
	return nil
}

// FailDelivery gives up on an entry, keeping it for inspection.
func (db *DB) FailDelivery(ctx context.Context, id int64, lastErr string, at time.Time) error {
	_, err := db.write(ctx, sqlFailDelivery, encTime(at), lastErr, id)
	if err != nil {
		return fmt.Errorf("fail delivery %d: %w", id, err)
	}
	return nil
}

// RecoverDeliveries returns entries left sending to pending, marked
// uncertain.
func (db *DB) RecoverDeliveries(ctx context.Context) (int, error) {
	res, err := db.write(ctx, `UPDATE outbox SET state = 'pending', uncertain = 1 WHERE state = 'sending'`)
	if err != nil {
		return 0, fmt.Errorf("recover deliveries: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// Deliveries lists outbox entries, oldest first, optionally only those in
// the given states. It is for inspection and tests.
func (db *DB) Deliveries(ctx context.Context, states ...bot.DeliveryState) ([]bot.Delivery, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+deliveryColumns+` FROM outbox ORDER BY id`)
	if err != nil {
		return nil, db.storageErr(fmt.Errorf("list deliveries: %w", err))
	}
	defer rows.Close()
	var out []bot.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, db.storageErr(fmt.Errorf("list deliveries: %w", err))
		}
		if len(states) == 0 || slices.Contains(states, d.State) {
			out = append(out, d)
		}
	}
	return out, db.storageErr(rows.Err())
}

// isUniqueViolation reports whether err is SQLite's UNIQUE constraint error.
func isUniqueViolation(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}

// isBusy reports whether err is SQLite's SQLITE_BUSY (any extended code).
func isBusy(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_BUSY
}
