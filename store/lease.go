package store

import (
	"fmt"
	"os"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// Outbox leases (bot.DeliveryStore). A claim holds until lease_until, by
// this process's clock: leases are about whether the claimer is alive, so
// they go by real time, never by the claim's now (a test's fake clock that
// jumps an hour does not make a live claim lapse).

// sqlTakeOverLapsed returns entries whose lease ended to pending, marked
// uncertain, so that the claim after it takes them like any other. The
// state term selects the partial index outbox_leased.
const sqlTakeOverLapsed = `UPDATE outbox SET state = 'pending', uncertain = 1
	WHERE state = 'sending' AND lease_until <> '' AND lease_until <= ?`

// claimer is what claimed_by records for this process's claims.
var claimer = func() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("%s:%d", host, os.Getpid())
}()

// takeOverLapsed runs sqlTakeOverLapsed in t and returns the lease end of
// the claims t makes now.
func (db *DB) takeOverLapsed(t *tx) (string, error) {
	now := time.Now()
	if _, err := t.exec(sqlTakeOverLapsed, encTime(now)); err != nil {
		return "", fmt.Errorf("take over lapsed claims: %w", err)
	}
	lease := time.Duration(db.lease.Load())
	if lease <= 0 {
		lease = bot.DeliveryLease
	}
	return encTime(now.Add(lease)), nil
}

// SetDeliveryLease sets how long this handle's claims hold (default
// bot.DeliveryLease); for tests.
func (db *DB) SetDeliveryLease(d time.Duration) { db.lease.Store(int64(d)) }
