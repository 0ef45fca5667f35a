package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/store"
)

// The alerting side of the store (bot.AlertTx, bot.AlertStore).

// OpenIncidentByLabel takes a transaction-scoped advisory lock on the label
// name and value first, so that concurrent transactions of any replica
// asking for it take turns: the second one's SELECT, a statement started
// after the first committed, sees the incident the first opened (see
// bot.AlertTx).
func (t *tx) OpenIncidentByLabel(name, value string) (bot.Incident, error) {
	if _, err := t.exec(`SELECT pg_advisory_xact_lock(hashtextextended('sitrep.attach:' || $1 || '=' || $2, 0))`, name, value); err != nil {
		return bot.Incident{}, fmt.Errorf("lock label %s: %w", name, err)
	}
	inc, err := t.readIncident(`SELECT `+store.IncidentColumns+`, xmin FROM incidents
		WHERE status <> 'resolved' AND labels::jsonb ->> $1 = $2 ORDER BY id LIMIT 1`, name, value)
	return inc, notFound(err, "no open incident with %s=%q", name, value)
}

func (t *tx) LatestIncidentByDedupKey(source, key string) (bot.Incident, error) {
	inc, err := t.readIncident(`SELECT `+store.IncidentColumns+`, xmin FROM incidents
		WHERE source = $1 AND dedup_key = $2 AND dedup_key <> '' ORDER BY id DESC LIMIT 1`, source, key)
	return inc, notFound(err, "no incident for %s key %q", source, key)
}

func (t *tx) AlertTriage(incidentID int64) (bot.Triage, error) {
	tr, err := store.ScanTriage(t.queryRow(`SELECT `+store.TriageColumns+` FROM alert_triage WHERE incident_id = $1 FOR UPDATE`, incidentID))
	return tr, notFound(err, "%s did not go to triage", bot.IncidentKey(incidentID))
}

func (t *tx) SaveAlertTriage(tr bot.Triage) error {
	_, err := t.exec(`INSERT INTO alert_triage (`+store.TriageColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (incident_id) DO UPDATE SET state = excluded.state, channel_id = excluded.channel_id,
		message_ts = excluded.message_ts, decided_by = excluded.decided_by, reason = excluded.reason,
		decided_at = excluded.decided_at`,
		tr.IncidentID, string(tr.State), tr.ChannelID, tr.MessageTS, tr.DecidedBy, tr.Reason,
		store.EncodeTime(tr.DecidedAt), store.EncodeTime(tr.CreatedAt))
	if err != nil {
		return fmt.Errorf("save triage of %s: %w", bot.IncidentKey(tr.IncidentID), err)
	}
	return nil
}

func (t *tx) SetAlertSummaryRef(incidentID int64, ref bot.MessageRef) error {
	_, err := t.exec(`INSERT INTO alert_summaries (incident_id, channel_id, message_ts) VALUES ($1, $2, $3)
		ON CONFLICT (incident_id) DO UPDATE SET channel_id = excluded.channel_id, message_ts = excluded.message_ts`,
		incidentID, ref.ChannelID, ref.TS)
	if err != nil {
		return fmt.Errorf("record alert summary of %s: %w", bot.IncidentKey(incidentID), err)
	}
	return nil
}

func (t *tx) PendingCoalesced(coalesce string) (bool, error) {
	var found bool
	err := t.queryRow(`SELECT EXISTS (SELECT 1 FROM outbox WHERE coalesce_key = $1 AND state = 'pending' AND coalesce_key <> '')`,
		coalesce).Scan(&found)
	if err != nil {
		return false, fmt.Errorf("look for pending %s: %w", coalesce, err)
	}
	return found, nil
}

// AlertTriage returns an incident's triage record, or ENOTFOUND.
func (db *DB) AlertTriage(ctx context.Context, incidentID int64) (bot.Triage, error) {
	tr, err := store.ScanTriage(db.pool.QueryRow(ctx, `SELECT `+store.TriageColumns+` FROM alert_triage WHERE incident_id = $1`, incidentID))
	return tr, notFound(err, "%s did not go to triage", bot.IncidentKey(incidentID))
}

// AlertSummaryRef returns the incident's alert summary message, or a zero
// ref when none is posted.
func (db *DB) AlertSummaryRef(ctx context.Context, incidentID int64) (bot.MessageRef, error) {
	var ref bot.MessageRef
	err := db.pool.QueryRow(ctx, `SELECT channel_id, message_ts FROM alert_summaries WHERE incident_id = $1`, incidentID).
		Scan(&ref.ChannelID, &ref.TS)
	if errors.Is(err, pgx.ErrNoRows) {
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
	err := db.pool.QueryRow(ctx, `SELECT
			count(*) FILTER (WHERE kind = 'alert_fired'), count(*) FILTER (WHERE kind = 'alert_resolved'),
			coalesce(min(occurred_at), ''), coalesce(max(occurred_at), '')
		FROM events WHERE incident_id = $1 AND kind IN ('alert_fired', 'alert_resolved')`, incidentID).
		Scan(&c.Fired, &c.Resolved, &first, &last)
	if err != nil {
		return c, fmt.Errorf("count alerts of %s: %w", bot.IncidentKey(incidentID), err)
	}
	if c.FirstAt, err = store.DecodeTime(first); err != nil {
		return c, err
	}
	if c.LastAt, err = store.DecodeTime(last); err != nil {
		return c, err
	}
	err = db.pool.QueryRow(ctx, `SELECT text FROM events WHERE incident_id = $1 AND kind IN ('alert_fired', 'alert_resolved')
		ORDER BY occurred_at DESC, id DESC LIMIT 1`, incidentID).Scan(&c.LastTitle)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return c, fmt.Errorf("read last alert of %s: %w", bot.IncidentKey(incidentID), err)
	}
	return c, nil
}
