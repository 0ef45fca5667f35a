// Package postgres is sitrep's PostgreSQL store, for deployments that run
// several replicas on one database (SQLite, package store, stays the
// embedded default). It talks to PostgreSQL through pgx's own interface and
// pool (pgxpool) rather than database/sql: claims pass id arrays (= ANY($1)),
// the migration lock must stay on one held connection, and errors are
// matched by SQLSTATE (*pgconn.PgError), all of which pgx gives directly.
//
// DB implements bot.Store with the guarantees bot/ports.go documents, checked
// by the contract suite (internal/storetest) like SQLite's; tx.go says how
// transactions get them from PostgreSQL, batch.go how concurrent changes
// are committed together (group commit, as SQLite's store does, for a
// reason of its own: round trips and WAL flushes, not one writer).
// SQLite's prepared statements stay in SQLite: pgx caches each statement's
// plan per connection by itself.
package postgres

import (
	"context"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/store"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationLock is the pg_advisory_lock key that serialises migrations
// between replicas starting together ("sitrep" in ASCII).
const migrationLock int64 = 0x736974726570

// IsURL reports whether a db setting names a PostgreSQL database rather than
// a SQLite file.
func IsURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// Redact returns a database URL fit to show: its password, if any, is
// replaced by "xxxxx" (so are the password parameters of its query). What
// is not a URL is returned as it is (a SQLite path holds no secret).
func Redact(s string) string {
	if !IsURL(s) {
		return s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "postgres://(unparsable URL)"
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// CheckURL reports what is wrong with a PostgreSQL URL, without the secret
// it may hold.
func CheckURL(s string) error {
	if !IsURL(s) {
		return errors.New("a PostgreSQL database is named by a postgres:// URL")
	}
	if _, err := pgxpool.ParseConfig(s); err != nil {
		return fmt.Errorf("%s is not a usable PostgreSQL URL: %s", Redact(s), redactErr(err, s))
	}
	return nil
}

// redactErr is err's message with the URL's password taken out (pgx
// redacts its own messages; what it wraps may quote the input).
func redactErr(err error, rawURL string) string {
	msg := err.Error()
	if u, perr := url.Parse(rawURL); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			msg = strings.ReplaceAll(msg, pw, "xxxxx")
		}
	}
	return msg
}

// DB is a PostgreSQL database opened by sitrep.
type DB struct {
	pool *pgxpool.Pool
	// claimer names this handle in the outbox entries it claims
	// (claimed_by), to tell which replica holds a lease.
	claimer          string
	prunedChatEvents atomic.Int64 // the prune time of this handle's last chat_events prune (UnixNano)
	lease            atomic.Int64 // how long a claim holds (time.Duration)
	batch            *batcher     // the group-commit writers (batch.go)
}

var _ bot.Store = (*DB)(nil)

// Open connects to the database at url (postgres://…) and applies pending
// migrations.
func Open(ctx context.Context, url string) (*DB, error) {
	if err := CheckURL(url); err != nil {
		return nil, err
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, errors.New(redactErr(err, url))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, errors.New(redactErr(err, url))
	}
	db := &DB{pool: pool, claimer: claimerName()}
	db.lease.Store(int64(bot.DeliveryLease))
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("%s (is the server up, and the URL's host, user and database right?)", redactErr(err, url))
	}
	if _, err := db.Migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	db.startWriters()
	return db, nil
}

// Close closes every connection.
func (db *DB) Close() error {
	db.stopWriters()
	db.pool.Close()
	return nil
}

// Ping checks that the database answers and has every migration this
// sitrep has (/readyz: a replica is not ready on a database behind its
// schema, restored from an old backup say, until `sitrep migrate`).
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("ping PostgreSQL: %w", err)
	}
	all, err := Migrations()
	if err != nil {
		return err
	}
	var missing int
	err = db.pool.QueryRow(ctx, `SELECT count(*) FROM unnest($1::int[]) AS want(version)
		WHERE NOT EXISTS (SELECT 1 FROM schema_migrations m WHERE m.version = want.version)`, migrationVersions(all)).Scan(&missing)
	if err != nil {
		return fmt.Errorf("ping PostgreSQL: read its migrations: %w", err)
	}
	if missing > 0 {
		return fmt.Errorf("PostgreSQL has %d migrations pending: run `sitrep migrate` (or restart sitrep serve)", missing)
	}
	return nil
}

func migrationVersions(ms []store.Migration) []int32 {
	out := make([]int32, len(ms))
	for i, m := range ms {
		out[i] = int32(m.Version)
	}
	return out
}

// Migrations returns the embedded PostgreSQL migrations in order.
func Migrations() ([]store.Migration, error) {
	return store.ReadMigrations(migrationFiles, "migrations")
}

// Migrate applies every embedded migration the database has not had yet,
// each in its own transaction, and returns the names of those it applied.
// It holds a session advisory lock throughout, so that replicas starting
// together migrate once: the others wait, then find nothing to apply.
func (db *DB) Migrate(ctx context.Context) ([]string, error) {
	all, err := Migrations()
	if err != nil {
		return nil, err
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLock); err != nil {
		return nil, fmt.Errorf("migrate: take the migration lock: %w", err)
	}
	defer func() {
		// A fresh context: the lock must go even when ctx is done, or the
		// pooled connection would keep it.
		unlockCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(unlockCtx, `SELECT pg_advisory_unlock($1)`, migrationLock); err != nil {
			conn.Conn().Close(unlockCtx) // closing the session drops the lock
		}
	}()
	if _, err := conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	var applied []string
	for _, m := range all {
		did := false
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM schema_migrations WHERE version = $1`, m.Version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
				m.Version, m.Name, time.Now().UTC().Format(time.RFC3339Nano))
			did = err == nil
			return err
		})
		if err != nil {
			return applied, fmt.Errorf("apply migration %s: %w", m.Name, err)
		}
		if did {
			applied = append(applied, m.Name)
		}
	}
	return applied, nil
}

// SchemaVersion is the highest migration applied.
func (db *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v int
	err := db.pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_migrations`).Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("read schema version: %w", err)
	}
	return v, nil
}

// claimerName is host:pid:random, unique to one open handle.
func claimerName() string {
	host, _ := os.Hostname()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return fmt.Sprintf("%s:%d:%x", host, os.Getpid(), b)
}
