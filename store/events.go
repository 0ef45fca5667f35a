package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

func (t *tx) AppendEvent(ev *bot.Event) (bool, error) {
	data := ev.Data
	if data == nil {
		data = map[string]any{}
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return false, fmt.Errorf("encode event data: %w", err)
	}
	// ON CONFLICT DO NOTHING against the partial unique index makes a
	// redelivered event a no-op rather than an error that would abort the
	// caller's transaction.
	res, err := t.exec(sqlInsertEvent, ev.IncidentID, encTime(ev.OccurredAt), encTime(ev.RecordedAt), string(ev.Kind), ev.Actor, ev.Text,
		string(raw), ev.SourceURL, ev.DedupKey)
	if err != nil {
		return false, fmt.Errorf("insert event: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return false, nil
	}
	ev.ID, err = res.LastInsertId()
	return true, err
}

const sqlInsertEvent = `INSERT INTO events (incident_id, occurred_at, recorded_at, kind, actor, text, data, source_url, dedup_key)
	VALUES (?,?,?,?,?,?,?,?,?)
	ON CONFLICT (incident_id, dedup_key) WHERE dedup_key <> '' DO NOTHING`

// Timeline returns an incident's events in the order they happened (ties in
// the order they were recorded).
func (db *DB) Timeline(ctx context.Context, incidentID int64) ([]bot.Event, error) {
	rows, err := db.reader.QueryContext(ctx, `SELECT `+eventColumns+`
		FROM events WHERE incident_id = ? ORDER BY occurred_at, id`, incidentID)
	if err != nil {
		return nil, db.storageErr(fmt.Errorf("read timeline of %s: %w", bot.IncidentKey(incidentID), err))
	}
	defer rows.Close()
	var out []bot.Event
	for rows.Next() {
		ev, err := scanEvent(rows)
		if err != nil {
			return nil, db.storageErr(fmt.Errorf("read timeline of %s: %w", bot.IncidentKey(incidentID), err))
		}
		out = append(out, ev)
	}
	return out, db.storageErr(rows.Err())
}

const eventColumns = `id, incident_id, occurred_at, recorded_at, kind, actor, text, data, source_url, dedup_key, hidden`

// scanEvent reads one row of eventColumns.
func scanEvent(row scanner) (bot.Event, error) {
	var ev bot.Event
	var occurred, recorded, kind, data string
	if err := row.Scan(&ev.ID, &ev.IncidentID, &occurred, &recorded, &kind, &ev.Actor, &ev.Text, &data, &ev.SourceURL, &ev.DedupKey, &ev.Hidden); err != nil {
		return bot.Event{}, err
	}
	ev.Kind = bot.EventKind(kind)
	var err error
	if ev.OccurredAt, err = decTime(occurred); err != nil {
		return bot.Event{}, err
	}
	if ev.RecordedAt, err = decTime(recorded); err != nil {
		return bot.Event{}, err
	}
	if data == "{}" || data == "" { // most events: no decoder for nothing (a long timeline reads thousands)
		ev.Data = map[string]any{}
		return ev, nil
	}
	if err := json.Unmarshal([]byte(data), &ev.Data); err != nil {
		return bot.Event{}, fmt.Errorf("decode event %d data: %w", ev.ID, err)
	}
	return ev, nil
}

// Event returns one event of an incident, or ENOTFOUND.
func (t *tx) Event(incidentID, eventID int64) (bot.Event, error) {
	ev, err := scanEvent(t.tx.QueryRow(`SELECT `+eventColumns+` FROM events WHERE incident_id = ? AND id = ?`, incidentID, eventID))
	return ev, notFound(err, "%s has no timeline event %d", bot.IncidentKey(incidentID), eventID)
}

// CorrectEvent sets an event's time and hidden mark; nothing else of it
// changes.
func (t *tx) CorrectEvent(incidentID, eventID int64, occurredAt time.Time, hidden bool) error {
	res, err := t.tx.Exec(`UPDATE events SET occurred_at = ?, hidden = ? WHERE incident_id = ? AND id = ?`,
		encTime(occurredAt), hidden, incidentID, eventID)
	if err != nil {
		return fmt.Errorf("correct event %d of %s: %w", eventID, bot.IncidentKey(incidentID), err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return bot.Errorf(bot.ENOTFOUND, "%s has no timeline event %d", bot.IncidentKey(incidentID), eventID)
	}
	return nil
}
