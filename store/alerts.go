package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/sitrep-io/sitrep/bot"
)

// The alerting side of the store (bot.AlertTx, bot.AlertStore): triage
// records, alert summary messages and the lookups alert sources need.

const (
	sqlLatestIncidentByDedupKey = `SELECT ` + incidentColumns + ` FROM incidents
		WHERE source = ? AND dedup_key = ? AND dedup_key <> '' ORDER BY id DESC LIMIT 1`
	sqlAlertTriage = `SELECT ` + triageColumns + ` FROM alert_triage WHERE incident_id = ?`
	// The empty-key term selects the partial index outbox_coalesce (outbox.go).
	sqlPendingCoalesced = `SELECT 1 FROM outbox WHERE coalesce_key = ? AND state = 'pending' AND coalesce_key <> '' LIMIT 1`
)

// sqlOpenIncidentByLabel: the label's JSON path is built from a label name
// (bot.ValidLabelName: letters, digits, underscores), never from a value.
const sqlOpenIncidentByLabel = `SELECT ` + incidentColumns + ` FROM incidents
	WHERE status <> 'resolved' AND json_extract(labels, ?) = ? ORDER BY id LIMIT 1`

// OpenIncidentByLabel: the single writer serializes every transaction, so
// two never both miss (see bot.AlertTx).
func (t *tx) OpenIncidentByLabel(name, value string) (bot.Incident, error) {
	if !bot.ValidLabelName(name) {
		return bot.Incident{}, fmt.Errorf("label %q: not a label name", name)
	}
	inc, err := scanIncident(t.queryRow(sqlOpenIncidentByLabel, `$."`+name+`"`, value))
	return inc, notFound(err, "no open incident with %s=%q", name, value)
}

func (t *tx) LatestIncidentByDedupKey(source, key string) (bot.Incident, error) {
	inc, err := scanIncident(t.queryRow(sqlLatestIncidentByDedupKey, source, key))
	return inc, notFound(err, "no incident for %s key %q", source, key)
}

const triageColumns = `incident_id, state, channel_id, message_ts, decided_by, reason, decided_at, created_at`

func scanTriage(row scanner) (bot.Triage, error) {
	var t bot.Triage
	var state, decided, created string
	if err := row.Scan(&t.IncidentID, &state, &t.ChannelID, &t.MessageTS, &t.DecidedBy, &t.Reason, &decided, &created); err != nil {
		return bot.Triage{}, err
	}
	t.State = bot.TriageState(state)
	var err error
	if t.DecidedAt, err = decTime(decided); err != nil {
		return bot.Triage{}, err
	}
	if t.CreatedAt, err = decTime(created); err != nil {
		return bot.Triage{}, err
	}
	return t, nil
}

func (t *tx) AlertTriage(incidentID int64) (bot.Triage, error) {
	tr, err := scanTriage(t.queryRow(sqlAlertTriage, incidentID))
	return tr, notFound(err, "%s did not go to triage", bot.IncidentKey(incidentID))
}

func (t *tx) SaveAlertTriage(tr bot.Triage) error {
	_, err := t.tx.Exec(`INSERT INTO alert_triage (`+triageColumns+`) VALUES (?,?,?,?,?,?,?,?)
		ON CONFLICT (incident_id) DO UPDATE SET state = excluded.state, channel_id = excluded.channel_id,
		message_ts = excluded.message_ts, decided_by = excluded.decided_by, reason = excluded.reason,
		decided_at = excluded.decided_at`,
		tr.IncidentID, string(tr.State), tr.ChannelID, tr.MessageTS, tr.DecidedBy, tr.Reason, encTime(tr.DecidedAt), encTime(tr.CreatedAt))
	if err != nil {
		return fmt.Errorf("save triage of %s: %w", bot.IncidentKey(tr.IncidentID), err)
	}
	return nil
}

func (t *tx) SetAlertSummaryRef(incidentID int64, ref bot.MessageRef) error {
	_, err := t.tx.Exec(`INSERT INTO alert_summaries (incident_id, channel_id, message_ts) VALUES (?,?,?)
		ON CONFLICT (incident_id) DO UPDATE SET channel_id = excluded.channel_id, message_ts = excluded.message_ts`,
		incidentID, ref.ChannelID, ref.TS)
	if err != nil {
		return fmt.Errorf("record alert summary of %s: %w", bot.IncidentKey(incidentID), err)
	}
	return nil
}

func (t *tx) PendingCoalesced(coalesce string) (bool, error) {
	var one int
	err := t.queryRow(sqlPendingCoalesced, coalesce).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("look for pending %s: %w", coalesce, err)
	}
	return true, nil
}

// AlertTriage returns an incident's triage record, or ENOTFOUND.
func (db *DB) AlertTriage(ctx context.Context, incidentID int64) (bot.Triage, error) {
	tr, err := scanTriage(db.reader.QueryRowContext(ctx, `SELECT `+triageColumns+` FROM alert_triage WHERE incident_id = ?`, incidentID))
	return tr, db.storageErr(notFound(err, "%s did not go to triage", bot.IncidentKey(incidentID)))
}

// AlertSummaryRef returns the incident's alert summary message, or a zero
// ref when none is posted.
func (db *DB) AlertSummaryRef(ctx context.Context, incidentID int64) (bot.MessageRef, error) {
	var ref bot.MessageRef
	err := db.reader.QueryRowContext(ctx, `SELECT channel_id, message_ts FROM alert_summaries WHERE incident_id = ?`, incidentID).
		Scan(&ref.ChannelID, &ref.TS)
	if errors.Is(err, sql.ErrNoRows) {
		return bot.MessageRef{}, nil
	}
	if err != nil {
		return bot.MessageRef{}, fmt.Errorf("read alert summary of %s: %w", bot.IncidentKey(incidentID), err)
	}
	return ref, nil
}

// AlertCounts counts the alert events on an incident's timeline.
func (db *DB) AlertCounts(ctx context.Context, incidentID int64) (bot.AlertCounts, error) {
	var c bot.AlertCounts
	var first, last string
	err := db.reader.QueryRowContext(ctx, `SELECT
			count(*) FILTER (WHERE kind = 'alert_fired'), count(*) FILTER (WHERE kind = 'alert_resolved'),
			coalesce(min(occurred_at), ''), coalesce(max(occurred_at), '')
		FROM events WHERE incident_id = ? AND kind IN ('alert_fired', 'alert_resolved')`, incidentID).
		Scan(&c.Fired, &c.Resolved, &first, &last)
	if err != nil {
		return c, db.storageErr(fmt.Errorf("count alerts of %s: %w", bot.IncidentKey(incidentID), err))
	}
	if c.FirstAt, err = decTime(first); err != nil {
		return c, err
	}
	if c.LastAt, err = decTime(last); err != nil {
		return c, err
	}
	err = db.reader.QueryRowContext(ctx, `SELECT text FROM events WHERE incident_id = ? AND kind IN ('alert_fired', 'alert_resolved')
		ORDER BY occurred_at DESC, id DESC LIMIT 1`, incidentID).Scan(&c.LastTitle)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return c, db.storageErr(fmt.Errorf("read last alert of %s: %w", bot.IncidentKey(incidentID), err))
	}
	return c, nil
}
