package store

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// MarkChatEvent remembers a chat delivery id; a second mark of the same id
// stores nothing and reports false. Marks received before prune are
// forgotten on the way (the index on received_at keeps that cheap).
func (t *tx) MarkChatEvent(source, id string, at, prune time.Time) (bool, error) {
	if _, err := t.tx.Exec(`DELETE FROM chat_events WHERE received_at < ?`, encTime(prune)); err != nil {
		return false, fmt.Errorf("prune chat events: %w", err)
	}
	res, err := t.tx.Exec(`INSERT INTO chat_events (source, event_id, received_at) VALUES (?,?,?)
		ON CONFLICT (source, event_id) DO NOTHING`, source, id, encTime(at))
	if err != nil {
		return false, fmt.Errorf("mark %s event %s: %w", source, id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// EventByDedupKey returns the incident's event with that dedup key.
func (t *tx) EventByDedupKey(incidentID int64, key string) (bot.Event, error) {
	ev, err := scanEvent(t.tx.QueryRow(`SELECT `+eventColumns+` FROM events
		WHERE incident_id = ? AND dedup_key = ? AND dedup_key <> ''`, incidentID, key))
	return ev, notFound(err, "%s has no timeline event %q", bot.IncidentKey(incidentID), key)
}

// UpdateEventByDedupKey rewrites an event's actor, text, data and source
// URL; its kind and times stay.
func (t *tx) UpdateEventByDedupKey(ev bot.Event) error {
	data := ev.Data
	if data == nil {
		data = map[string]any{}
	}
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode event data: %w", err)
	}
	res, err := t.tx.Exec(`UPDATE events SET actor = ?, text = ?, data = ?, source_url = ?
		WHERE incident_id = ? AND dedup_key = ? AND dedup_key <> ''`,
		ev.Actor, ev.Text, string(raw), ev.SourceURL, ev.IncidentID, ev.DedupKey)
	if err != nil {
		return fmt.Errorf("update event %q of %s: %w", ev.DedupKey, bot.IncidentKey(ev.IncidentID), err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return bot.Errorf(bot.ENOTFOUND, "%s has no timeline event %q", bot.IncidentKey(ev.IncidentID), ev.DedupKey)
	}
	return nil
}
