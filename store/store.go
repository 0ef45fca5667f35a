// Package store keeps sitrep's state in a SQLite file (modernc.org/sqlite,
// pure Go). It implements bot.Store. All writes go through one connection
// in IMMEDIATE transactions, so concurrent requests queue instead of failing
// with SQLITE_BUSY; reads use a separate pool and see committed data (WAL).
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// DB is an open sitrep database.
type DB struct {
	path   string
	writer *sql.DB // one connection: writes are serialised here
	reader *sql.DB
	stmts  map[string]*sql.Stmt // hotStatements, prepared on writer (stmts.go)

	prunedChatEvents pruneClock    // chat_events.go
	health           storageHealth // health.go
	lease            atomic.Int64  // lease.go: how long a claim holds; 0: bot.DeliveryLease

	// The writer goroutine that runs Update's changes, batched (batch.go).
	calls      chan *writeCall
	quit       chan struct{}
	writerDone chan struct{}
	closeOnce  sync.Once
}

var _ bot.Store = (*DB)(nil)

// Open opens (creating if needed) the database file at path and applies any
// pending migrations.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("open database: no path given")
	}
	if dir := filepath.Dir(path); dir != "." {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("open database %s: %w", path, err)
		}
	}
	writer, err := sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	writer.SetMaxOpenConns(1)
	writer.SetConnMaxLifetime(0)
	reader, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	reader.SetMaxOpenConns(4)
	db := &DB{path: path, writer: writer, reader: reader}
	if err := retryBusy(ctx, func() error { _, err := db.Migrate(ctx); return err }); err != nil {
		db.Close()
		return nil, err
	}
	if db.stmts, err = prepareHot(ctx, writer); err != nil {
		db.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	db.startWriter()
	return db, nil
}

// dsn builds the connection string. busy_timeout comes first so that the
// pragmas after it already wait for a lock held by another process (the CLI
// reading while the server writes).
func dsn(path string, write bool) string {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Add("_pragma", "foreign_keys(1)")
	if write {
		q.Set("_txlock", "immediate")
	}
	return "file:" + path + "?" + q.Encode()
}

// Path is the database file's path.
func (db *DB) Path() string { return db.path }

// Close closes the database; a WAL checkpoint leaves the file complete on its
// own.
func (db *DB) Close() error {
	db.stopWriter()
	stmtErr := closeStmts(db.stmts)
	if db.writer != nil {
		_, _ = db.writer.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	}
	return errors.Join(stmtErr, db.reader.Close(), db.writer.Close())
}

// write runs one statement in its own write transaction. A storage failure
// comes back as EUNAVAILABLE (health.go).
func (db *DB) write(ctx context.Context, query string, args ...any) (res sql.Result, err error) {
	if s := db.stmts[query]; s != nil {
		res, err = s.ExecContext(ctx, args...)
	} else {
		res, err = db.writer.ExecContext(ctx, query, args...)
	}
	return res, db.storageErr(err)
}

// Time encoding: UTC RFC 3339 with fixed-width nanoseconds, so that text
// order is time order in SQL comparisons.
const timeLayout = "2006-01-02T15:04:05.000000000Z"

func encTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(timeLayout)
}

func decTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("decode time %q: %w", s, err)
	}
	return t.UTC(), nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

// notFound maps sql.ErrNoRows to an ENOTFOUND domain error, so callers never
// import database/sql.
func notFound(err error, format string, args ...any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return bot.Errorf(bot.ENOTFOUND, format, args...)
	}
	return err
}

// retryBusy runs f again while it fails with SQLITE_BUSY, for about three
// seconds at most. SQLite does not wait out busy_timeout in every case (a
// brand-new file switching to WAL while another process opens it, a stale
// WAL snapshot), so the first writes of Open retry on their own.
func retryBusy(ctx context.Context, f func() error) error {
	delay := 5 * time.Millisecond
	deadline := time.Now().Add(3 * time.Second)
	for {
		err := f()
		if !isBusy(err) || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay = min(2*delay, 200*time.Millisecond)
	}
}
