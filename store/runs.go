package store

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

const runColumns = `id, incident_id, runbook, title, params, steps, state, needs_approval, approvers, two_person,
	expires_at, requested_by, requested_at, decided_by, decided_at, reason, started_at, finished_at,
	card_channel, card_ts, updated_at, runner, heartbeat_at`

func scanRun(row scanner) (bot.RunbookRun, error) {
	var r bot.RunbookRun
	var params, steps, state, approvers string
	times := make([]string, 7)
	err := row.Scan(&r.ID, &r.IncidentID, &r.Runbook, &r.Title, &params, &steps, &state, &r.NeedsApproval,
		&approvers, &r.TwoPerson, &times[0], &r.RequestedBy, &times[1], &r.DecidedBy, &times[2], &r.Reason,
		&times[3], &times[4], &r.CardChannel, &r.CardTS, &times[5],
		&r.Runner, &times[6])
	if err != nil {
		return bot.RunbookRun{}, err
	}
	r.State = bot.RunState(state)
	for _, f := range []struct {
		src string
		dst any
	}{{params, &r.Params}, {steps, &r.Steps}, {approvers, &r.Approvers}} {
		if err := json.Unmarshal([]byte(f.src), f.dst); err != nil {
			return bot.RunbookRun{}, fmt.Errorf("decode %s: %w", r.Key(), err)
		}
	}
	dst := []*time.Time{&r.ExpiresAt, &r.RequestedAt, &r.DecidedAt, &r.StartedAt, &r.FinishedAt, &r.UpdatedAt, &r.HeartbeatAt}
	for i, t := range dst {
		if *t, err = decTime(times[i]); err != nil {
			return bot.RunbookRun{}, fmt.Errorf("decode %s: %w", r.Key(), err)
		}
	}
	return r, nil
}

// runArgs are the values of every column but id, in runColumns order.
func runArgs(r bot.RunbookRun) ([]any, error) {
	params, steps, approvers := r.Params, r.Steps, r.Approvers
	if params == nil {
		params = map[string]string{}
	}
	if steps == nil {
		steps = []bot.RunStep{}
	}
	if approvers == nil {
		approvers = [][]string{}
	}
	var raw [3][]byte
	for i, v := range []any{params, steps, approvers} {
		b, err := json.Marshal(v)
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", r.Key(), err)
		}
		raw[i] = b
	}
	return []any{r.IncidentID, r.Runbook, r.Title, string(raw[0]), string(raw[1]), string(r.State), r.NeedsApproval,
		string(raw[2]), r.TwoPerson, encTime(r.ExpiresAt), r.RequestedBy, encTime(r.RequestedAt), r.DecidedBy,
		encTime(r.DecidedAt), r.Reason, encTime(r.StartedAt), encTime(r.FinishedAt), r.CardChannel, r.CardTS,
		encTime(r.UpdatedAt), r.Runner, encTime(r.HeartbeatAt)}, nil
}

// runColumnNames are runColumns without id, as a list.
func runColumnNames() []string {
	cols := strings.Split(runColumns, ",")
	out := make([]string, 0, len(cols)-1)
	for _, c := range cols[1:] {
		out = append(out, strings.TrimSpace(c))
	}
	return out
}

func (t *tx) CreateRunbookRun(r *bot.RunbookRun) error {
	args, err := runArgs(*r)
	if err != nil {
		return err
	}
	cols := runColumnNames()
	res, err := t.tx.Exec(`INSERT INTO runbook_runs (`+strings.Join(cols, ", ")+`)
		VALUES (`+strings.TrimSuffix(strings.Repeat("?,", len(cols)), ",")+`)`, args...)
	if err != nil {
		return fmt.Errorf("insert run of %s: %w", r.Runbook, err)
	}
	r.ID, err = res.LastInsertId()
	return err
}

func (t *tx) RunbookRun(id int64) (bot.RunbookRun, error) {
	r, err := scanRun(t.tx.QueryRow(`SELECT `+runColumns+` FROM runbook_runs WHERE id = ?`, id))
	return r, notFound(err, "%s does not exist", bot.RunKey(id))
}

func (t *tx) UpdateRunbookRun(r bot.RunbookRun, from bot.RunState) (bool, error) {
	args, err := runArgs(r)
	if err != nil {
		return false, err
	}
	cols := runColumnNames()
	set := make([]string, len(cols))
	for i, c := range cols {
		set[i] = c + " = ?"
	}
	res, err := t.tx.Exec(`UPDATE runbook_runs SET `+strings.Join(set, ", ")+` WHERE id = ? AND state = ?`,
		append(args, r.ID, string(from))...)
	if err != nil {
		return false, fmt.Errorf("update %s: %w", r.Key(), err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// RunbookRun returns one run.
func (db *DB) RunbookRun(ctx context.Context, id int64) (bot.RunbookRun, error) {
	r, err := scanRun(db.reader.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runbook_runs WHERE id = ?`, id))
	return r, db.storageErr(notFound(err, "%s does not exist", bot.RunKey(id)))
}

// RunbookRuns lists the runs f selects, oldest first.
func (db *DB) RunbookRuns(ctx context.Context, f bot.RunbookRunFilter) ([]bot.RunbookRun, error) {
	where, args := []string{"1 = 1"}, []any{}
	if f.IncidentID != 0 {
		where, args = append(where, "incident_id = ?"), append(args, f.IncidentID)
	}
	if len(f.States) > 0 {
		where = append(where, "state IN ("+strings.TrimSuffix(strings.Repeat("?,", len(f.States)), ",")+")")
		for _, s := range f.States {
			args = append(args, string(s))
		}
	}
	rows, err := db.reader.QueryContext(ctx, `SELECT `+runColumns+` FROM runbook_runs WHERE `+
		strings.Join(where, " AND ")+` ORDER BY id`, args...)
	if err != nil {
		return nil, db.storageErr(fmt.Errorf("list runbook runs: %w", err))
	}
	defer rows.Close()
	var out []bot.RunbookRun
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, db.storageErr(fmt.Errorf("list runbook runs: %w", err))
		}
		out = append(out, r)
	}
	return out, db.storageErr(rows.Err())
}
