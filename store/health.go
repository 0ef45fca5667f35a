package store

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// Storage failures.
//
// Why: a full disk, a file made read-only or a corrupt page are not bugs of
// the request that meets them: the same request succeeds once the storage
// is fixed. So every such error leaves the store as an EUNAVAILABLE
// *bot.Error (webhooks answer 503 with Retry-After, the outbox retries),
// and the store remembers it, so that /readyz reports not-ready while the
// database cannot write, and ready again by itself once it can.

// storageKind names the storage failure err is, or "" when it is another
// kind of error (a constraint, a missing row, a bug).
func storageKind(err error) string {
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() & 0xff {
		case sqlite3.SQLITE_FULL:
			return "disk full"
		case sqlite3.SQLITE_READONLY:
			return "read-only"
		case sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB:
			return "corrupt"
		case sqlite3.SQLITE_IOERR:
			return "I/O error"
		case sqlite3.SQLITE_CANTOPEN:
			return "cannot open"
		case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED:
			return "busy"
		case sqlite3.SQLITE_PERM:
			return "permission denied"
		}
	}
	switch {
	case errors.Is(err, syscall.ENOSPC):
		return "disk full"
	case errors.Is(err, syscall.EROFS):
		return "read-only"
	case errors.Is(err, syscall.EIO):
		return "I/O error"
	}
	return ""
}

// storageErr returns err as an EUNAVAILABLE *bot.Error when it is a storage
// failure, and records the failure for Ping; other errors pass unchanged.
func (db *DB) storageErr(err error) error {
	if err == nil {
		if db.health.reconnecting.Load() {
			db.healed()
		}
		return nil
	}
	if bot.ErrorCode(err) == bot.EUNAVAILABLE {
		return err
	}
	kind := storageKind(err)
	if kind == "" {
		return err
	}
	db.health.failed(kind, err)
	if kind != "disk full" && kind != "busy" && !db.health.reconnecting.Swap(true) {
		// A connection keeps what it found at open: a file opened
		// read-only stays so after a chmod or remount, and its page cache
		// may hold a page read while corrupt. Reopen connections while the
		// failure lasts, so that a fixed file is seen as fixed.
		db.writer.SetConnMaxLifetime(reconnectEvery)
		db.reader.SetConnMaxLifetime(reconnectEvery)
	}
	return bot.Unavailable(kind, err)
}

// reconnectEvery is how old a connection may get while storage fails.
const reconnectEvery = 500 * time.Millisecond

// healed keeps connections for good again once the storage has not failed
// for a while.
func (db *DB) healed() {
	h := &db.health
	h.mu.Lock()
	quiet := time.Since(h.failedAt) >= healthWindow
	h.mu.Unlock()
	if quiet && h.reconnecting.CompareAndSwap(true, false) {
		db.writer.SetConnMaxLifetime(0)
		db.reader.SetConnMaxLifetime(0)
	}
}

// storageHealth remembers the last storage failure and the last write
// probe.
type storageHealth struct {
	mu          sync.Mutex
	failedAt    time.Time // last storage failure of any operation
	failedKind  string
	failedErr   error
	probedAt    time.Time // last write probe
	probeResult error
	// reconnecting is set while connections are being reopened after a
	// failure that a connection would keep seeing (storageErr).
	reconnecting atomic.Bool
}

func (h *storageHealth) failed(kind string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.failedAt, h.failedKind, h.failedErr = time.Now(), kind, err
}

// healthWindow (a variable for tests) is how long a storage failure keeps the store not ready
// after it happened: a database that fails some operations (a corrupt table)
// while others succeed is not ready.
var healthWindow = 5 * time.Second

// probeEvery bounds how often Ping writes (readiness checks may come often).
const probeEvery = time.Second

// sqlWriteProbe rewrites a row of schema_migrations with its own values: a
// real write transaction (SQLite writes the page again) that changes
// nothing, so Ping needs no table of its own.
const sqlWriteProbe = `UPDATE schema_migrations SET applied_at = applied_at
	WHERE version = (SELECT max(version) FROM schema_migrations)`

// sqlReadProbe reads the newest row of the tables every request and every
// delivery needs, through each table's own b-tree (root and rightmost
// leaf): a damaged page there shows at once, not only when the dispatcher
// next meets it.
const sqlReadProbe = `SELECT (SELECT coalesce(max(id), 0) FROM outbox), (SELECT coalesce(max(id), 0) FROM incidents),
	(SELECT coalesce(max(id), 0) FROM events)`

// Ping checks that the database answers and can write: a read, a write
// probe (at most once a second), and no storage failure in the last few
// seconds. Its error names the failure.
func (db *DB) Ping(ctx context.Context) error {
	var one int
	if err := db.reader.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("ping database: %w", db.storageErr(err))
	}
	h := &db.health
	h.mu.Lock()
	probe := time.Since(h.probedAt) >= probeEvery
	if probe {
		h.probedAt = time.Now() // one prober at a time; the others use the last result
	}
	h.mu.Unlock()
	if probe {
		var a, b, c int64
		err := db.reader.QueryRowContext(ctx, sqlReadProbe).Scan(&a, &b, &c)
		if err != nil {
			err = fmt.Errorf("read probe: %w", db.storageErr(err))
		} else if _, err = db.write(ctx, sqlWriteProbe); err != nil {
			err = fmt.Errorf("write probe: %w", err) // write already recorded a storage failure
		}
		h.mu.Lock()
		h.probeResult = err
		h.mu.Unlock()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.probeResult != nil {
		return fmt.Errorf("database cannot write: %w", h.probeResult)
	}
	if ago := time.Since(h.failedAt); ago < healthWindow {
		return fmt.Errorf("database failed %s ago (%s): %w", ago.Round(time.Millisecond), h.failedKind, h.failedErr)
	}
	return nil
}
