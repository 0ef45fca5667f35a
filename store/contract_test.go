package store_test

import (
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/internal/storetest"
	"github.com/sitrep-io/sitrep/store"
)

// t0 is the base of the times the tests store; it has nanoseconds so that a
// round trip that drops precision shows.
var t0 = time.Date(2024, 3, 1, 12, 0, 0, 123456789, time.UTC)

// TestContract runs the store contract on SQLite: each test gets a file of
// its own, and every handle the test opens opens that file.
func TestContract(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		path := dbPath(t)
		return func(t *testing.T) storetest.Store {
			db, err := store.Open(t.Context(), path)
			if err != nil {
				t.Fatalf("Open(%s): %v", path, err)
			}
			h := &closeOnce{DB: db}
			t.Cleanup(func() { _ = h.Close() })
			return h
		}
	})
}

func TestSessionContract(t *testing.T) {
	storetest.RunSessions(t, func(t *testing.T) func(t *testing.T) storetest.SessionStore {
		path := dbPath(t)
		return func(t *testing.T) storetest.SessionStore { return &closeOnce{DB: openAt(t, path)} }
	})
}

// closeOnce lets a contract test close a handle before the cleanup does.
type closeOnce struct {
	*store.DB
	once sync.Once
	err  error
}

func (c *closeOnce) Close() error {
	c.once.Do(func() { c.err = c.DB.Close() })
	return c.err
}

// dbPath returns a fresh database file path in the test's temp dir.
func dbPath(t *testing.T) string {
	t.Helper()
	return filepath.Join(t.TempDir(), "sitrep.db")
}

// openAt opens the database file at path and closes it when the test ends.
func openAt(t *testing.T, path string) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestOpen(t *testing.T) {
	t.Run("OK", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "nested", "dir", "sitrep.db")
		db := openAt(t, path)
		if got, want := db.Path(), path; got != want {
			t.Errorf("Path() = %q, want %q", got, want)
		}
		if err := db.Ping(t.Context()); err != nil {
			t.Errorf("Ping: %v", err)
		}
	})
	t.Run("ErrNoPath", func(t *testing.T) {
		db, err := store.Open(t.Context(), "")
		if err == nil {
			db.Close()
			t.Fatal("Open(\"\") succeeded, want an error")
		}
	})
}
