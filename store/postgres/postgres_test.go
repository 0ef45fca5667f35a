package postgres_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/sitrep-io/sitrep/internal/pgtest"
	"github.com/sitrep-io/sitrep/internal/storetest"
	"github.com/sitrep-io/sitrep/store"
	"github.com/sitrep-io/sitrep/store/postgres"
	_ "modernc.org/sqlite"
)

func open(t *testing.T, url string) *postgres.DB {
	t.Helper()
	db, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// TestMigrateOnceAcrossReplicas opens one fresh database from several
// "replicas" at once: each opens a migrated database, and every migration
// is applied once.
func TestMigrateOnceAcrossReplicas(t *testing.T) {
	url := pgtest.NewDatabase(t)
	all, err := postgres.Migrations()
	if err != nil || len(all) == 0 {
		t.Fatalf("Migrations = %d, %v", len(all), err)
	}
	const replicas = 4
	dbs := make([]*postgres.DB, replicas)
	errs := make([]error, replicas)
	var wg sync.WaitGroup
	for i := range replicas {
		wg.Go(func() { dbs[i], errs[i] = postgres.Open(t.Context(), url) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("replica %d: Open: %v", i, err)
		}
		t.Cleanup(func() { _ = dbs[i].Close() })
	}
	for i, db := range dbs {
		v, err := db.SchemaVersion(t.Context())
		if err != nil || v != all[len(all)-1].Version {
			t.Errorf("replica %d: SchemaVersion = %d, %v; want %d", i, v, err, all[len(all)-1].Version)
		}
	}
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var rows, distinct int
	if err := conn.QueryRow(t.Context(), `SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != len(all) || distinct != len(all) {
		t.Errorf("schema_migrations has %d rows (%d versions), want %d, each once", rows, distinct, len(all))
	}
	// Opening again applies nothing.
	if applied, err := dbs[0].Migrate(t.Context()); err != nil || len(applied) != 0 {
		t.Errorf("Migrate on a migrated database = %v, %v; want nothing applied", applied, err)
	}
	// The lock is released: a session can take it at once.
	var got bool
	if err := conn.QueryRow(t.Context(), `SELECT pg_try_advisory_lock($1)`, int64(0x736974726570)).Scan(&got); err != nil || !got {
		t.Errorf("migration lock still held after Open: %v, %v", got, err)
	}
}

// TestSchemaMatchesSQLite checks that every table of the schema is there
// with the columns sitrep reads, so rows move over column for column.
func TestSchemaMatchesSQLite(t *testing.T) {
	url := pgtest.NewDatabase(t)
	open(t, url)
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	rows, err := conn.Query(t.Context(), `SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	tables, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Join(sqliteTables(t), " ")
	if got := strings.Join(tables, " "); got != want {
		t.Errorf("tables = %s\nwant     %s", got, want)
	}
}

func TestOpenNeedsAURL(t *testing.T) {
	for _, bad := range []string{"", "sitrep.db", "mysql://x"} {
		if db, err := postgres.Open(t.Context(), bad); err == nil {
			db.Close()
			t.Errorf("Open(%q) succeeded, want an error", bad)
		}
	}
}

// sqliteTables lists the tables of a freshly migrated SQLite database.
func sqliteTables(t *testing.T) []string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sitrep.db")
	db, err := store.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.QueryContext(t.Context(), `SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		names = append(names, n)
	}
	return names
}

// TestContract runs the store contract on PostgreSQL: each test gets a
// database of its own, and every handle the test opens opens it.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		url := pgtest.NewDatabase(t)
		return func(t *testing.T) storetest.Store {
			return open(t, url)
		}
	})
}

func TestSessionContract(t *testing.T) {
	storetest.RunSessions(t, func(t *testing.T) func(t *testing.T) storetest.SessionStore {
		url := pgtest.NewDatabase(t)
		return func(t *testing.T) storetest.SessionStore { return open(t, url) }
	})
}
