package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/store"
)

// OutboxBacklog counts the unfinished outbox entries by op, with the oldest
// due time of each (bot.MetricsStore): the same query as SQLite's.
func (db *DB) OutboxBacklog(ctx context.Context, now time.Time) ([]bot.OutboxBacklog, error) {
	rows, err := db.pool.Query(ctx, `SELECT op, COUNT(*),
			COALESCE(MIN(CASE WHEN next_attempt_at = '' THEN created_at WHEN next_attempt_at <= $1 THEN next_attempt_at END), '')
		FROM outbox WHERE state IN ('pending','sending') GROUP BY op ORDER BY op`, store.EncodeTime(now))
	if err != nil {
		return nil, fmt.Errorf("count the outbox backlog: %w", err)
	}
	defer rows.Close()
	var out []bot.OutboxBacklog
	for rows.Next() {
		var b bot.OutboxBacklog
		var n int64
		var oldest string
		if err := rows.Scan(&b.Op, &n, &oldest); err != nil {
			return nil, fmt.Errorf("count the outbox backlog: %w", err)
		}
		b.Unfinished = int(n)
		if b.OldestDue, err = store.DecodeTime(oldest); err != nil {
			return nil, fmt.Errorf("count the outbox backlog: %w", err)
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// OpenIncidentCounts counts the incidents not resolved, by severity
// (bot.MetricsStore).
func (db *DB) OpenIncidentCounts(ctx context.Context) (map[bot.Severity]int, error) {
	rows, err := db.pool.Query(ctx, `SELECT severity, COUNT(*) FROM incidents
		WHERE status IN ('triggered','investigating','identified','monitoring') GROUP BY severity`)
	if err != nil {
		return nil, fmt.Errorf("count open incidents: %w", err)
	}
	defer rows.Close()
	out := map[bot.Severity]int{}
	for rows.Next() {
		var sev int
		var n int64
		if err := rows.Scan(&sev, &n); err != nil {
			return nil, fmt.Errorf("count open incidents: %w", err)
		}
		out[bot.Severity(sev)] = int(n)
	}
	return out, rows.Err()
}
