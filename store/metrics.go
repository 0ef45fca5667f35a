package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// sqlOutboxBacklog reads the unfinished entries through the partial index
// outbox_unfinished (its WHERE is the same), so a scrape costs one pass over
// what is waiting, not over the outbox's history. An entry's due time is
// its next attempt, or its creation when it was due at once (”).
const sqlOutboxBacklog = `SELECT op, COUNT(*),
		MIN(CASE WHEN next_attempt_at = '' THEN created_at WHEN next_attempt_at <= ? THEN next_attempt_at END)
	FROM outbox WHERE state IN ('pending','sending') GROUP BY op ORDER BY op`

// OutboxBacklog counts the unfinished outbox entries by op, with the oldest
// due time of each (bot.MetricsStore).
func (db *DB) OutboxBacklog(ctx context.Context, now time.Time) ([]bot.OutboxBacklog, error) {
	rows, err := db.reader.QueryContext(ctx, sqlOutboxBacklog, encTime(now))
	if err != nil {
		return nil, db.storageErr(fmt.Errorf("count the outbox backlog: %w", err))
	}
	defer rows.Close()
	var out []bot.OutboxBacklog
	for rows.Next() {
		var b bot.OutboxBacklog
		var oldest sql.NullString
		if err := rows.Scan(&b.Op, &b.Unfinished, &oldest); err != nil {
			return nil, db.storageErr(fmt.Errorf("count the outbox backlog: %w", err))
		}
		if b.OldestDue, err = decTime(oldest.String); err != nil {
			return nil, fmt.Errorf("count the outbox backlog: %w", err)
		}
		out = append(out, b)
	}
	return out, db.storageErr(rows.Err())
}

// sqlOpenIncidentCounts names the open statuses rather than saying "not
// resolved": SQLite then reads them through the index incidents_status
// instead of scanning every incident ever resolved.
const sqlOpenIncidentCounts = `SELECT severity, COUNT(*) FROM incidents
	WHERE status IN ('triggered','investigating','identified','monitoring') GROUP BY severity`

// OpenIncidentCounts counts the incidents not resolved, by severity
// (bot.MetricsStore).
func (db *DB) OpenIncidentCounts(ctx context.Context) (map[bot.Severity]int, error) {
	rows, err := db.reader.QueryContext(ctx, sqlOpenIncidentCounts)
	if err != nil {
		return nil, db.storageErr(fmt.Errorf("count open incidents: %w", err))
	}
	defer rows.Close()
	out := map[bot.Severity]int{}
	for rows.Next() {
		var sev bot.Severity
		var n int
		if err := rows.Scan(&sev, &n); err != nil {
			return nil, db.storageErr(fmt.Errorf("count open incidents: %w", err))
		}
		out[sev] = n
	}
	return out, db.storageErr(rows.Err())
}
