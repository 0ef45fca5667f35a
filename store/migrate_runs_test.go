package store_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// Migration 0010 rebuilds runbook_runs to allow the cancelled state: the
// runs written before it survive as they were, and RUN ids are not reused
// (the AUTOINCREMENT counter is carried over, also past a deleted run).
func TestMigrateRunCancelledKeepsRuns(t *testing.T) {
	path := dbPath(t)
	raw := rawDB(t, path)
	if _, err := raw.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range migrations(t) {
		if strings.Contains(m.Name, "run_cancelled") {
			break
		}
		if _, err := raw.Exec(m.SQL); err != nil {
			t.Fatalf("apply %s by hand: %v", m.Name, err)
		}
		if _, err := raw.Exec(`INSERT INTO schema_migrations VALUES (?, ?, ?)`, m.Version, m.Name, t0.Format(time.RFC3339Nano)); err != nil {
			t.Fatal(err)
		}
	}
	for _, stmt := range []string{
		`INSERT INTO incidents (title, severity, status) VALUES ('old', 2, 'investigating')`,
		`INSERT INTO runbook_runs (incident_id, runbook, state, requested_by, requested_at, reason) VALUES (1, 'scale', 'denied', 'U1', '2026-01-01T00:00:00Z', 'not now')`,
		`INSERT INTO runbook_runs (incident_id, runbook, state, requested_by, requested_at) VALUES (1, 'scale', 'requested', 'U1', '2026-01-01T00:00:00Z')`,
		`DELETE FROM runbook_runs WHERE id = 2`,
	} {
		if _, err := raw.Exec(stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	if err := raw.Close(); err != nil {
		t.Fatal(err)
	}

	db := openAt(t, path)
	old, err := db.RunbookRun(t.Context(), 1)
	if err != nil || old.State != bot.RunDenied || old.Reason != "not now" || old.Runbook != "scale" {
		t.Fatalf("run written before the migration: %+v, %v", old, err)
	}
	next := bot.RunbookRun{IncidentID: 1, Runbook: "scale", State: bot.RunRequested, RequestedBy: "U1", RequestedAt: t0}
	err = db.Update(t.Context(), func(tx bot.Tx) error {
		if err := tx.CreateRunbookRun(&next); err != nil {
			return err
		}
		next.State = bot.RunCancelled
		_, err := tx.UpdateRunbookRun(next, bot.RunRequested)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if next.ID != 3 {
		t.Errorf("new run id %d, want 3: RUN-2 existed once and is never reused", next.ID)
	}
}
