package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// tx implements bot.Tx over one SQL transaction. db, when set, holds the
// prepared hot statements, and txStmts their handles in this transaction
// (stmts.go).
type tx struct {
	tx      *sql.Tx
	db      *DB
	txStmts map[string]*sql.Stmt
}

const (
	incidentColumns     = `id, ` + incidentColumnsNoID
	incidentColumnsNoID = `title, description, severity, status, commander, comms_lead, private,
	channel_id, channel_name, card_ts, source, dedup_key, source_url, labels,
	detected_at, declared_at, acknowledged_at, mitigated_at, resolved_at, last_update_at, updated_at, next_update_at`
)

func scanIncident(row scanner) (bot.Incident, error) {
	var inc bot.Incident
	var sev int
	var status, labels string
	var private bool
	times := make([]string, 8)
	err := row.Scan(&inc.ID, &inc.Title, &inc.Description, &sev, &status, &inc.Commander, &inc.CommsLead, &private,
		&inc.ChannelID, &inc.ChannelName, &inc.CardTS, &inc.Source, &inc.DedupKey, &inc.SourceURL, &labels,
		&times[0], &times[1], &times[2], &times[3], &times[4], &times[5], &times[6], &times[7])
	if err != nil {
		return bot.Incident{}, err
	}
	inc.Severity, inc.Status, inc.Private = bot.Severity(sev), bot.Status(status), private
	if inc.Labels, err = decodeLabels(labels); err != nil { // codec.go
		return bot.Incident{}, fmt.Errorf("decode labels of %s: %w", inc.Key(), err)
	}
	dst := []*time.Time{&inc.DetectedAt, &inc.DeclaredAt, &inc.AcknowledgedAt, &inc.MitigatedAt,
		&inc.ResolvedAt, &inc.LastUpdateAt, &inc.UpdatedAt, &inc.NextUpdateBy}
	for i, t := range dst {
		if *t, err = decTime(times[i]); err != nil {
			return bot.Incident{}, fmt.Errorf("decode %s: %w", inc.Key(), err)
		}
	}
	return inc, nil
}

func incidentArgs(inc bot.Incident) ([]any, error) {
	labels := inc.Labels
	if labels == nil {
		labels = map[string]string{}
	}
	rawLabels, err := json.Marshal(labels)
	if err != nil {
		return nil, fmt.Errorf("encode labels: %w", err)
	}
	return []any{inc.Title, inc.Description, int(inc.Severity), string(inc.Status), inc.Commander, inc.CommsLead, inc.Private,
		inc.ChannelID, inc.ChannelName, inc.CardTS, inc.Source, inc.DedupKey, inc.SourceURL, string(rawLabels),
		encTime(inc.DetectedAt), encTime(inc.DeclaredAt), encTime(inc.AcknowledgedAt), encTime(inc.MitigatedAt),
		encTime(inc.ResolvedAt), encTime(inc.LastUpdateAt), encTime(inc.UpdatedAt), encTime(inc.NextUpdateBy)}, nil
}

const (
	sqlIncidentByID           = `SELECT ` + incidentColumns + ` FROM incidents WHERE id = ?`
	sqlOpenIncidentByDedupKey = `SELECT ` + incidentColumns + ` FROM incidents
		WHERE source = ? AND dedup_key = ? AND status <> 'resolved' AND dedup_key <> ''`
	sqlInsertIncident = `INSERT INTO incidents (` + incidentColumnsNoID + `)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`
	sqlUpdateIncident = `UPDATE incidents SET title=?, description=?, severity=?, status=?, commander=?, comms_lead=?,
		private=?, channel_id=?, channel_name=?, card_ts=?, source=?, dedup_key=?, source_url=?, labels=?,
		detected_at=?, declared_at=?, acknowledged_at=?, mitigated_at=?, resolved_at=?, last_update_at=?, updated_at=?, next_update_at=?
		WHERE id = ?`
)

func (t *tx) Incident(id int64) (bot.Incident, error) {
	inc, err := scanIncident(t.queryRow(sqlIncidentByID, id))
	return inc, notFound(err, "%s does not exist", bot.IncidentKey(id))
}

func (t *tx) OpenIncidentByDedupKey(source, key string) (bot.Incident, error) {
	inc, err := scanIncident(t.queryRow(sqlOpenIncidentByDedupKey, source, key))
	return inc, notFound(err, "no open incident for %s key %q", source, key)
}

func (t *tx) CreateIncident(inc *bot.Incident) error {
	args, err := incidentArgs(*inc)
	if err != nil {
		return err
	}
	res, err := t.exec(sqlInsertIncident, args...)
	if isUniqueViolation(err) {
		return bot.Errorf(bot.ECONFLICT, "an incident is already open for %s key %q", inc.Source, inc.DedupKey)
	}
	if err != nil {
		return fmt.Errorf("insert incident: %w", err)
	}
	inc.ID, err = res.LastInsertId()
	return err
}

func (t *tx) UpdateIncident(inc bot.Incident) error {
	args, err := incidentArgs(inc)
	if err != nil {
		return err
	}
	res, err := t.exec(sqlUpdateIncident, append(args, inc.ID)...)
	if isUniqueViolation(err) {
		return bot.Errorf(bot.ECONFLICT, "another incident is open for %s key %q: resolve it first", inc.Source, inc.DedupKey)
	}
	if err != nil {
		return fmt.Errorf("update %s: %w", inc.Key(), err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return bot.Errorf(bot.ENOTFOUND, "%s does not exist", inc.Key())
	}
	return nil
}

// Incident returns one incident.
func (db *DB) Incident(ctx context.Context, id int64) (bot.Incident, error) {
	inc, err := scanIncident(db.reader.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE id = ?`, id))
	return inc, db.storageErr(notFound(err, "%s does not exist", bot.IncidentKey(id)))
}

// IncidentByChannel returns the incident whose channel is channelID.
func (db *DB) IncidentByChannel(ctx context.Context, channelID string) (bot.Incident, error) {
	inc, err := scanIncident(db.reader.QueryRowContext(ctx, `SELECT `+incidentColumns+` FROM incidents
		WHERE channel_id = ? AND channel_id <> '' ORDER BY id DESC LIMIT 1`, channelID))
	return inc, db.storageErr(notFound(err, "no incident has channel %s", channelID))
}

// Incidents lists incidents: open ones first (newest first), then resolved
// ones the filter asks for (most recently resolved first).
func (db *DB) Incidents(ctx context.Context, f bot.IncidentFilter) ([]bot.Incident, error) {
	where := `status <> 'resolved'`
	args := []any{}
	switch {
	case f.All:
		where = `1`
	case !f.ResolvedSince.IsZero():
		where = `(status <> 'resolved' OR resolved_at >= ?)`
		args = append(args, encTime(f.ResolvedSince))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = -1
	}
	order := `status = 'resolved', CASE WHEN status = 'resolved' THEN resolved_at ELSE '' END DESC, id DESC`
	if f.NewestFirst {
		order = `id DESC`
		if f.Before > 0 {
			where = `(` + where + `) AND id < ?`
			args = append(args, f.Before)
		}
	}
	rows, err := db.reader.QueryContext(ctx, `SELECT `+incidentColumns+` FROM incidents WHERE `+where+`
		ORDER BY `+order+` LIMIT ?`, append(args, limit)...)
	if err != nil {
		return nil, db.storageErr(fmt.Errorf("list incidents: %w", err))
	}
	defer rows.Close()
	var out []bot.Incident
	for rows.Next() {
		inc, err := scanIncident(rows)
		if err != nil {
			return nil, db.storageErr(fmt.Errorf("list incidents: %w", err))
		}
		out = append(out, inc)
	}
	return out, db.storageErr(rows.Err())
}
