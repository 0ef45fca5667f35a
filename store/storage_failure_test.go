package store_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/fsfault"
	"github.com/sitrep-io/sitrep/store"
)

// shortHealthWindow makes a past storage failure stop counting against Ping
// after a second (not five), so that recovery shows sooner.
func shortHealthWindow(t *testing.T) {
	old := store.SetHealthWindow(time.Second)
	t.Cleanup(func() { store.SetHealthWindow(old) })
}

// declareAt stores an incident with a note of size bytes.
func declareAt(ctx context.Context, db *store.DB, note int) error {
	return db.Update(ctx, func(tx bot.Tx) error {
		inc := bot.Incident{Title: "disk test", Severity: bot.SEV2, Status: bot.StatusInvestigating, DeclaredAt: t0, UpdatedAt: t0}
		if err := tx.CreateIncident(&inc); err != nil {
			return err
		}
		_, err := tx.AppendEvent(&bot.Event{IncidentID: inc.ID, OccurredAt: t0, RecordedAt: t0, Kind: bot.KindNote, Actor: "U1", Text: strings.Repeat("x", note)})
		return err
	})
}

// untilReady waits for Ping to succeed again, for up to a few seconds.
func untilReady(t *testing.T, db *store.DB) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := db.Ping(t.Context())
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Ping still fails after the storage was fixed: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func wantUnavailable(t *testing.T, what string, err error, kind string) {
	t.Helper()
	if bot.ErrorCode(err) != bot.EUNAVAILABLE {
		t.Fatalf("%s: %v (code %q), want EUNAVAILABLE", what, err, bot.ErrorCode(err))
	}
	if temp, _ := bot.IsTemporary(err); !temp {
		t.Errorf("%s: a storage failure must be temporary", what)
	}
	if !strings.Contains(bot.ErrorMessage(err), kind) {
		t.Errorf("%s: message %q does not name %q", what, bot.ErrorMessage(err), kind)
	}
}

// TestDiskFullIsUnavailableAndRecovers: on a filesystem that fills up,
// writes fail as EUNAVAILABLE ("disk full"), Ping reports the store cannot
// write, and both recover by themselves once space is freed.
func TestDiskFullIsUnavailableAndRecovers(t *testing.T) {
	shortHealthWindow(t)
	dir := fsfault.Tmpfs(t, "2m")
	db, err := store.Open(t.Context(), filepath.Join(dir, "sitrep.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := declareAt(t.Context(), db, 100); err != nil {
		t.Fatal(err)
	}
	free := fsfault.Fill(t, dir)
	var werr error
	for range 100 { // the WAL grows until the disk is full
		if werr = declareAt(t.Context(), db, 16<<10); werr != nil {
			break
		}
	}
	wantUnavailable(t, "Update on a full disk", werr, "disk full")
	if err := db.Ping(t.Context()); err == nil {
		t.Error("Ping succeeds while the disk is full")
	}
	free()
	if err := declareAt(t.Context(), db, 100); err != nil {
		t.Fatalf("Update after space was freed: %v", err)
	}
	untilReady(t, db)
}

// TestReadOnlyDatabaseIsUnavailableAndRecovers: a database file that is
// read-only (its directory is not) opens, reads, refuses writes as
// EUNAVAILABLE ("read-only") and is not ready; once the file is writable
// again, writes and Ping succeed without reopening the store.
func TestReadOnlyDatabaseIsUnavailableAndRecovers(t *testing.T) {
	shortHealthWindow(t)
	path := filepath.Join(t.TempDir(), "sitrep.db")
	db, err := store.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := declareAt(t.Context(), db, 100); err != nil {
		t.Fatal(err)
	}
	db.Close()
	writable := fsfault.ReadOnlyFile(t, path)

	db, err = store.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open of a read-only file: %v", err)
	}
	defer db.Close()
	if _, err := db.Incident(t.Context(), 1); err != nil {
		t.Errorf("reading a read-only database: %v", err)
	}
	wantUnavailable(t, "Update on a read-only database", declareAt(t.Context(), db, 100), "read-only")
	if err := db.Ping(t.Context()); err == nil {
		t.Error("Ping succeeds while the database is read-only")
	}

	writable()
	deadline := time.Now().Add(10 * time.Second)
	for {
		err := declareAt(t.Context(), db, 100)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Update still fails once the file is writable: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	untilReady(t, db)
}

// TestCorruptPageIsUnavailableAndRecovers: with a page of the incidents
// table overwritten, reading and writing incidents fail as EUNAVAILABLE
// ("corrupt") and the store is not ready; once the page is put back (a
// restore), the same store reads, writes and is ready again.
func TestCorruptPageIsUnavailableAndRecovers(t *testing.T) {
	shortHealthWindow(t)
	path := filepath.Join(t.TempDir(), "sitrep.db")
	db, err := store.Open(t.Context(), path)
	if err != nil {
		t.Fatal(err)
	}
	if err := declareAt(t.Context(), db, 100); err != nil {
		t.Fatal(err)
	}
	db.Close() // checkpointed: the page is in the file
	restore := fsfault.Overwrite(t, path, fsfault.TablePage(t, path, "incidents"), 64)

	db, err = store.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open with a corrupt table page: %v", err)
	}
	defer db.Close()
	_, rerr := db.Incident(t.Context(), 1)
	wantUnavailable(t, "Incident from a corrupt page", rerr, "corrupt")
	wantUnavailable(t, "Update of a corrupt table", declareAt(t.Context(), db, 100), "corrupt")
	if err := db.Ping(t.Context()); err == nil {
		t.Error("Ping succeeds while a table is corrupt")
	}

	restore()
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, err := db.Incident(t.Context(), 1)
		if err == nil {
			err = declareAt(t.Context(), db, 100)
		}
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store still fails once the page is restored: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	untilReady(t, db)
}
