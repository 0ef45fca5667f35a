package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/store"
)

var (
	runCols         = store.RunColumnNames()
	sqlInsertRun    = `INSERT INTO runbook_runs (` + strings.Join(runCols, ", ") + `) VALUES (` + placeholders(1, len(runCols)) + `) RETURNING id`
	sqlUpdateRunCAS = `UPDATE runbook_runs SET ` + assignments(runCols, 1) +
		` WHERE id = $` + strconv.Itoa(len(runCols)+1) + ` AND state = $` + strconv.Itoa(len(runCols)+2)
)

func (t *tx) CreateRunbookRun(r *bot.RunbookRun) error {
	args, err := store.RunArgs(*r)
	if err != nil {
		return err
	}
	if err := t.queryRow(sqlInsertRun, args...).Scan(&r.ID); err != nil {
		return fmt.Errorf("insert run of %s: %w", r.Runbook, err)
	}
	return nil
}

func (t *tx) RunbookRun(id int64) (bot.RunbookRun, error) {
	r, err := store.ScanRun(t.queryRow(`SELECT `+store.RunColumns+` FROM runbook_runs WHERE id = $1 FOR UPDATE`, id))
	return r, notFound(err, "%s does not exist", bot.RunKey(id))
}

// UpdateRunbookRun is a compare-and-set on the committed state: at READ
// COMMITTED an UPDATE that waited for a concurrent one re-checks its WHERE
// on the row that one committed, so of two racing approvals one applies.
func (t *tx) UpdateRunbookRun(r bot.RunbookRun, from bot.RunState) (bool, error) {
	args, err := store.RunArgs(r)
	if err != nil {
		return false, err
	}
	tag, err := t.exec(sqlUpdateRunCAS, append(args, r.ID, string(from))...)
	if err != nil {
		return false, fmt.Errorf("update %s: %w", r.Key(), err)
	}
	return tag.RowsAffected() == 1, nil
}

// RunbookRun returns one run.
func (db *DB) RunbookRun(ctx context.Context, id int64) (bot.RunbookRun, error) {
	r, err := store.ScanRun(db.pool.QueryRow(ctx, `SELECT `+store.RunColumns+` FROM runbook_runs WHERE id = $1`, id))
	return r, notFound(err, "%s does not exist", bot.RunKey(id))
}

// RunbookRuns lists the runs f selects, oldest first.
func (db *DB) RunbookRuns(ctx context.Context, f bot.RunbookRunFilter) ([]bot.RunbookRun, error) {
	states := make([]string, len(f.States))
	for i, s := range f.States {
		states[i] = string(s)
	}
	rows, err := db.pool.Query(ctx, `SELECT `+store.RunColumns+` FROM runbook_runs
		WHERE ($1 = 0 OR incident_id = $1) AND (cardinality($2::text[]) = 0 OR state = ANY($2)) ORDER BY id`,
		f.IncidentID, states)
	if err != nil {
		return nil, fmt.Errorf("list runbook runs: %w", err)
	}
	out, err := collect(rows, store.ScanRun)
	if err != nil {
		return nil, fmt.Errorf("list runbook runs: %w", err)
	}
	return out, nil
}
