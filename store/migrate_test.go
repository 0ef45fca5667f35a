package store_test

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/storetest"
	"github.com/sitrep-io/sitrep/store"
	_ "modernc.org/sqlite" // the "sqlite" driver, for raw access
)

func migrations(t *testing.T) []store.Migration {
	t.Helper()
	ms, err := store.Migrations()
	if err != nil {
		t.Fatalf("Migrations: %v", err)
	}
	if len(ms) == 0 {
		t.Fatal("no embedded migrations")
	}
	return ms
}

func TestMigrations(t *testing.T) {
	ms := migrations(t)
	// Numbers run 1..n without a gap: a release ships them in one sequence
	// (work merged from parallel branches is renumbered when it lands).
	for i, m := range ms {
		if m.Version != i+1 {
			t.Errorf("migration %d (%s) has version %d, want %d", i, m.Name, m.Version, i+1)
		}
		if prefix := fmt.Sprintf("%04d_", m.Version); !strings.HasPrefix(m.Name, prefix) || !strings.HasSuffix(m.Name, ".sql") {
			t.Errorf("migration name %q, want %s<name>.sql", m.Name, prefix)
		}
		if strings.TrimSpace(m.SQL) == "" {
			t.Errorf("migration %s is empty", m.Name)
		}
	}
}

// rawDB opens path with database/sql and the modernc driver, bypassing the
// store (and its migrations).
func rawDB(t *testing.T, path string) *sql.DB {
	t.Helper()
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatalf("open raw %s: %v", path, err)
	}
	t.Cleanup(func() { _ = raw.Close() })
	return raw
}

type appliedMigration struct {
	Version   int
	Name      string
	AppliedAt string
}

// applied reads schema_migrations directly.
func applied(t *testing.T, path string) []appliedMigration {
	t.Helper()
	raw := rawDB(t, path)
	defer raw.Close()
	rows, err := raw.Query(`SELECT version, name, applied_at FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatalf("read schema_migrations: %v", err)
	}
	defer rows.Close()
	var out []appliedMigration
	for rows.Next() {
		var m appliedMigration
		if err := rows.Scan(&m.Version, &m.Name, &m.AppliedAt); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkUsable fails unless the schema of every migration is in place: an
// incident, an event and an outbox entry can be stored and read.
func checkUsable(t *testing.T, db *store.DB) {
	t.Helper()
	ctx := t.Context()
	inc := storetest.Create(t, db, storetest.NewIncident("schema check"))[0]
	storetest.AppendEvents(t, db, &bot.Event{IncidentID: inc.ID, OccurredAt: t0, RecordedAt: t0, Kind: bot.KindNote, Actor: "U1", Text: "ok"})
	if err := db.Update(ctx, func(tx bot.Tx) error {
		return tx.Enqueue(bot.Delivery{Key: "k", Op: bot.OpPost, IncidentID: inc.ID, NextAttemptAt: t0})
	}); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	if _, err := db.Incident(ctx, inc.ID); err != nil {
		t.Errorf("Incident: %v", err)
	}
	if evs, err := db.Timeline(ctx, inc.ID); err != nil || len(evs) != 1 {
		t.Errorf("Timeline = %d events, %v; want 1", len(evs), err)
	}
}

func TestMigrate(t *testing.T) {
	ms := migrations(t)
	latest := ms[len(ms)-1].Version

	t.Run("Fresh", func(t *testing.T) {
		path := dbPath(t)
		db := openAt(t, path)
		v, err := db.SchemaVersion(t.Context())
		if err != nil {
			t.Fatalf("SchemaVersion: %v", err)
		}
		if got, want := v, latest; got != want {
			t.Errorf("SchemaVersion = %d, want %d (the latest migration)", got, want)
		}
		got := applied(t, path)
		if len(got) != len(ms) {
			t.Fatalf("schema_migrations has %d rows, want %d", len(got), len(ms))
		}
		for i, m := range ms {
			if got[i].Version != m.Version || got[i].Name != m.Name {
				t.Errorf("schema_migrations row %d = %d %s, want %d %s", i, got[i].Version, got[i].Name, m.Version, m.Name)
			}
			if _, err := time.Parse(time.RFC3339Nano, got[i].AppliedAt); err != nil {
				t.Errorf("applied_at %q: %v", got[i].AppliedAt, err)
			}
		}
		checkUsable(t, db)
	})

	t.Run("ReopenAppliesNothing", func(t *testing.T) {
		path := dbPath(t)
		db, err := store.Open(t.Context(), path)
		if err != nil {
			t.Fatal(err)
		}
		inc := storetest.Create(t, db, storetest.NewIncident("survives"))[0]
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		before := applied(t, path)

		db = openAt(t, path)
		names, err := db.Migrate(t.Context())
		if err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		if len(names) != 0 {
			t.Errorf("Migrate on a current database applied %q, want nothing", names)
		}
		after := applied(t, path)
		if fmt.Sprint(after) != fmt.Sprint(before) {
			t.Errorf("schema_migrations changed on reopen:\n before %v\n after  %v", before, after)
		}
		if _, err := db.Incident(t.Context(), inc.ID); err != nil {
			t.Errorf("data lost on reopen: %v", err)
		}
	})

	// An older database: schema_migrations exists and the first k
	// migrations were applied by hand (k = 0 is a database that has the
	// bookkeeping table but none of the schema). Opening it applies the
	// rest in place and keeps its data.
	for k := range len(ms) {
		t.Run(fmt.Sprintf("UpgradeFromVersion%d", k), func(t *testing.T) {
			path := dbPath(t)
			raw := rawDB(t, path)
			if _, err := raw.Exec(`CREATE TABLE schema_migrations (
				version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
				t.Fatal(err)
			}
			for _, m := range ms[:k] {
				if _, err := raw.Exec(m.SQL); err != nil {
					t.Fatalf("apply %s by hand: %v", m.Name, err)
				}
				if _, err := raw.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
					m.Version, m.Name, t0.Format(time.RFC3339Nano)); err != nil {
					t.Fatal(err)
				}
			}
			if k > 0 { // data written at the old version must survive
				if _, err := raw.Exec(`INSERT INTO incidents (title, severity, status) VALUES ('old', 2, 'investigating')`); err != nil {
					t.Fatalf("insert at version %d: %v", k, err)
				}
			}
			if err := raw.Close(); err != nil {
				t.Fatal(err)
			}

			db := openAt(t, path)
			v, err := db.SchemaVersion(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if got, want := v, latest; got != want {
				t.Errorf("SchemaVersion after upgrade = %d, want %d", got, want)
			}
			rows := applied(t, path)
			if got, want := len(rows), len(ms); got != want {
				t.Errorf("schema_migrations has %d rows, want %d", got, want)
			}
			for i := range k { // the hand-applied rows are left alone
				if got, want := rows[i].AppliedAt, t0.Format(time.RFC3339Nano); got != want {
					t.Errorf("migration %d applied_at = %q, want the original %q", rows[i].Version, got, want)
				}
			}
			if k > 0 {
				inc, err := db.Incident(t.Context(), 1)
				if err != nil || inc.Title != "old" {
					t.Errorf("old incident after upgrade = %q, %v; want %q", inc.Title, err, "old")
				}
			}
			checkUsable(t, db)

			names, err := db.Migrate(t.Context())
			if err != nil {
				t.Fatalf("second Migrate: %v", err)
			}
			if len(names) != 0 {
				t.Errorf("second Migrate applied %q, want nothing", names)
			}
		})
	}

	t.Run("ConcurrentOpens", func(t *testing.T) {
		// Two handles migrating one file at once must not both apply a
		// migration (the second would fail on CREATE TABLE). The file
		// exists, empty, already in WAL mode: SQLite does not wait
		// (busy_timeout) while a brand-new file is switched to WAL, so two
		// processes creating a file at the same instant is another matter.
		path := dbPath(t)
		raw := rawDB(t, path)
		if _, err := raw.Exec(`PRAGMA journal_mode=WAL`); err != nil {
			t.Fatal(err)
		}
		raw.Close()
		errs := make(chan error, 2)
		dbs := make(chan *store.DB, 2)
		for range 2 {
			go func() {
				db, err := store.Open(t.Context(), path)
				errs <- err
				dbs <- db
			}()
		}
		for range 2 {
			if err := <-errs; err != nil {
				t.Errorf("Open: %v", err)
			}
			if db := <-dbs; db != nil {
				db.Close()
			}
		}
		if got, want := len(applied(t, path)), len(ms); got != want {
			t.Errorf("schema_migrations has %d rows, want %d", got, want)
		}
	})
}
