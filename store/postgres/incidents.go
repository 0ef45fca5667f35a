package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/store"
)

// placeholders returns "$from, …, $(from+n-1)".
func placeholders(from, n int) string {
	ps := make([]string, n)
	for i := range ps {
		ps[i] = "$" + strconv.Itoa(from+i)
	}
	return strings.Join(ps, ", ")
}

// assignments returns "col1 = $from, col2 = $(from+1), …".
func assignments(cols []string, from int) string {
	set := make([]string, len(cols))
	for i, c := range cols {
		set[i] = c + " = $" + strconv.Itoa(from+i)
	}
	return strings.Join(set, ", ")
}

func columnNames(list string) []string {
	cols := strings.Split(list, ",")
	for i, c := range cols {
		cols[i] = strings.TrimSpace(c)
	}
	return cols
}

var incidentCols = columnNames(store.IncidentColumnsNoID)

// The open-incident predicate is the partial unique index's
// (incidents_open_dedup), so that ON CONFLICT infers that index.
var (
	sqlTxIncident             = `SELECT ` + store.IncidentColumns + `, xmin FROM incidents WHERE id = $1`
	sqlOpenIncidentByDedupKey = `SELECT ` + store.IncidentColumns + `, xmin FROM incidents
		WHERE source = $1 AND dedup_key = $2 AND status <> 'resolved' AND dedup_key <> ''`
	sqlInsertIncident = `INSERT INTO incidents (` + store.IncidentColumnsNoID + `) VALUES (` + placeholders(1, len(incidentCols)) + `)
		ON CONFLICT (source, dedup_key) WHERE status <> 'resolved' AND dedup_key <> '' DO NOTHING RETURNING id`
	// sqlUpdateIncident updates the incident unless that would make a
	// second open incident of its key, and returns a row either way (none:
	// no such incident) saying whether it was held back.
	sqlUpdateIncident = `WITH target AS (SELECT id FROM incidents WHERE id = $` + idParam + `),
		other AS (SELECT 1 FROM incidents o WHERE $` + statusParam + ` <> 'resolved' AND $` + keyParam + ` <> ''
			AND o.source = $` + sourceParam + ` AND o.dedup_key = $` + keyParam + ` AND o.status <> 'resolved' AND o.id <> $` + idParam + ` LIMIT 1),
		updated AS (UPDATE incidents SET ` + assignments(incidentCols, 1) + ` WHERE id = $` + idParam + ` AND NOT EXISTS (SELECT 1 FROM other)
			AND ($` + xminParam + `::xid IS NULL OR xmin = $` + xminParam + `::xid) RETURNING xmin)
		SELECT EXISTS (SELECT 1 FROM other), (SELECT xmin FROM updated) FROM target`
)

// Parameter numbers of sqlUpdateIncident: the columns, then the id.
var (
	idParam     = strconv.Itoa(len(incidentCols) + 1)
	xminParam   = strconv.Itoa(len(incidentCols) + 2)
	statusParam = strconv.Itoa(slices.Index(incidentCols, "status") + 1)
	keyParam    = strconv.Itoa(slices.Index(incidentCols, "dedup_key") + 1)
	sourceParam = strconv.Itoa(slices.Index(incidentCols, "source") + 1)
)

// Incidents are read in a transaction without a lock, and saved only if
// unchanged since (optimistic: the row's xmin, the transaction that last
// wrote it, is remembered at the read and compared at the save). An alert
// storm's transactions read the incident and mostly append to its timeline:
// with a row lock they would take turns for nothing; the rare one that
// changes an incident another transaction changed meanwhile runs again
// (errIncidentChanged is retryable), so no change is lost.
func (t *tx) Incident(id int64) (bot.Incident, error) {
	inc, err := t.readIncident(sqlTxIncident, id)
	return inc, notFound(err, "%s does not exist", bot.IncidentKey(id))
}

func (t *tx) OpenIncidentByDedupKey(source, key string) (bot.Incident, error) {
	inc, err := t.readIncident(sqlOpenIncidentByDedupKey, source, key)
	return inc, notFound(err, "no open incident for %s key %q", source, key)
}

// errIncidentChanged: UpdateIncident found the incident changed by another
// transaction since this one read it.
var errIncidentChanged = errors.New("the incident was changed by a concurrent transaction")

// xminRow scans a row of store.IncidentColumns followed by xmin.
type xminRow struct {
	row  pgx.Row
	xmin *uint32
}

func (r xminRow) Scan(dest ...any) error { return r.row.Scan(append(dest, r.xmin)...) }

// readIncident reads one incident row (query selects IncidentColumns and
// xmin) and remembers the version read.
func (t *tx) readIncident(query string, args ...any) (bot.Incident, error) {
	var xmin uint32
	inc, err := store.ScanIncident(xminRow{row: t.queryRow(query, args...), xmin: &xmin})
	if err != nil {
		return inc, err
	}
	if t.readXmin == nil {
		t.readXmin = map[int64]uint32{}
	}
	t.readXmin[inc.ID] = xmin
	return inc, nil
}

// CreateIncident inserts inc unless an open incident has its key. ON
// CONFLICT DO NOTHING, not a caught unique violation: a failed statement
// would abort the caller's whole transaction, and callers go on after
// ECONFLICT (attach to the open incident). A concurrent transaction opening
// the same key makes this one wait for its outcome.
func (t *tx) CreateIncident(inc *bot.Incident) error {
	args, err := store.IncidentArgs(*inc)
	if err != nil {
		return err
	}
	var id int64
	err = t.queryRow(sqlInsertIncident, args...).Scan(&id)
	if err == pgx.ErrNoRows {
		return bot.Errorf(bot.ECONFLICT, "an incident is already open for %s key %q", inc.Source, inc.DedupKey)
	}
	if err != nil {
		return fmt.Errorf("insert incident: %w", err)
	}
	inc.ID = id
	return nil
}

// UpdateIncident saves inc. Reopening it (or re-keying it) over another
// open incident of the same key is refused with ECONFLICT: the update
// applies only where no such incident is visible. One that a concurrent
// transaction is opening is not visible yet; the unique index then fails
// this statement, which aborts the transaction, and Update runs it again
// (retryable), when the other is visible and this is a clean ECONFLICT.
// No savepoint: this runs for every alert of a storm.
func (t *tx) UpdateIncident(inc bot.Incident) error {
	args, err := store.IncidentArgs(inc)
	if err != nil {
		return err
	}
	var read any // nil: not read in this transaction, a blind save
	if x, ok := t.readXmin[inc.ID]; ok {
		read = x
	}
	var conflict bool
	var written *uint32
	err = t.queryRow(sqlUpdateIncident, append(args, inc.ID, read)...).Scan(&conflict, &written)
	if err == pgx.ErrNoRows {
		return bot.Errorf(bot.ENOTFOUND, "%s does not exist", inc.Key())
	}
	if err != nil {
		return fmt.Errorf("update %s: %w", inc.Key(), err)
	}
	if conflict {
		return bot.Errorf(bot.ECONFLICT, "another incident is open for %s key %q: resolve it first", inc.Source, inc.DedupKey)
	}
	if written == nil {
		return fmt.Errorf("update %s: %w", inc.Key(), errIncidentChanged)
	}
	if t.readXmin != nil {
		t.readXmin[inc.ID] = *written // this transaction's own version now
	}
	return nil
}

// Incident returns one incident.
func (db *DB) Incident(ctx context.Context, id int64) (bot.Incident, error) {
	inc, err := store.ScanIncident(db.pool.QueryRow(ctx, `SELECT `+store.IncidentColumns+` FROM incidents WHERE id = $1`, id))
	return inc, notFound(err, "%s does not exist", bot.IncidentKey(id))
}

// IncidentByChannel returns the incident whose channel is channelID.
func (db *DB) IncidentByChannel(ctx context.Context, channelID string) (bot.Incident, error) {
	inc, err := store.ScanIncident(db.pool.QueryRow(ctx, `SELECT `+store.IncidentColumns+` FROM incidents
		WHERE channel_id = $1 AND channel_id <> '' ORDER BY id DESC LIMIT 1`, channelID))
	return inc, notFound(err, "no incident has channel %s", channelID)
}

// Incidents lists incidents: open ones first (newest first), then resolved
// ones the filter asks for (most recently resolved first).
func (db *DB) Incidents(ctx context.Context, f bot.IncidentFilter) ([]bot.Incident, error) {
	where := `status <> 'resolved'`
	var limit any // NULL: no limit
	if f.Limit > 0 {
		limit = f.Limit
	}
	args := []any{limit}
	switch {
	case f.All:
		where = `TRUE`
	case !f.ResolvedSince.IsZero():
		where = `(status <> 'resolved' OR resolved_at >= $2)`
		args = append(args, store.EncodeTime(f.ResolvedSince))
	}
	order := `status = 'resolved', CASE WHEN status = 'resolved' THEN resolved_at ELSE '' END DESC, id DESC`
	if f.NewestFirst {
		order = `id DESC`
		if f.Before > 0 {
			args = append(args, f.Before)
			where = fmt.Sprintf(`(%s) AND id < $%d`, where, len(args))
		}
	}
	rows, err := db.pool.Query(ctx, `SELECT `+store.IncidentColumns+` FROM incidents WHERE `+where+`
		ORDER BY `+order+` LIMIT $1`, args...)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	out, err := collect(rows, store.ScanIncident)
	if err != nil {
		return nil, fmt.Errorf("list incidents: %w", err)
	}
	return out, nil
}

// collect reads every row with scan.
func collect[T any](rows pgx.Rows, scan func(store.RowScanner) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// AppendEvent stores ev unless its dedup key is on the incident's timeline
// already (ON CONFLICT DO NOTHING: a redelivery is a no-op, not an error
// that would abort the transaction).
func (t *tx) AppendEvent(ev *bot.Event) (bool, error) {
	raw, err := eventData(*ev)
	if err != nil {
		return false, err
	}
	var id int64
	err = t.queryRow(`INSERT INTO events (incident_id, occurred_at, recorded_at, kind, actor, text, data, source_url, dedup_key)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (incident_id, dedup_key) WHERE dedup_key <> '' DO NOTHING RETURNING id`,
		ev.IncidentID, store.EncodeTime(ev.OccurredAt), store.EncodeTime(ev.RecordedAt), string(ev.Kind), ev.Actor, ev.Text,
		raw, ev.SourceURL, ev.DedupKey).Scan(&id)
	if err == pgx.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("insert event: %w", err)
	}
	ev.ID = id
	return true, nil
}

func eventData(ev bot.Event) (string, error) {
	data := ev.Data
	if data == nil {
		data = map[string]any{}
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return "", fmt.Errorf("encode event data: %w", err)
	}
	return string(raw), nil
}

// Timeline returns an incident's events in the order they happened (ties in
// the order they were recorded).
func (db *DB) Timeline(ctx context.Context, incidentID int64) ([]bot.Event, error) {
	rows, err := db.pool.Query(ctx, `SELECT `+store.EventColumns+`
		FROM events WHERE incident_id = $1 ORDER BY occurred_at, id`, incidentID)
	if err != nil {
		return nil, fmt.Errorf("read timeline of %s: %w", bot.IncidentKey(incidentID), err)
	}
	out, err := collect(rows, store.ScanEvent)
	if err != nil {
		return nil, fmt.Errorf("read timeline of %s: %w", bot.IncidentKey(incidentID), err)
	}
	return out, nil
}
