package postgres

import (
	"fmt"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/store"
)

// chatEventPruneEvery is how far the prune time must have moved since this
// handle last pruned before old marks are deleted again: the mark statement
// treats old marks as forgotten by itself, the delete only keeps the table
// small, so it need not cost every webhook a statement.
const chatEventPruneEvery = time.Minute

// MarkChatEvent remembers a chat delivery id; a second mark of the same id,
// by any replica, stores nothing and reports false, unless the first was
// received before prune. A concurrent mark of the same id waits for the
// first transaction's outcome (the primary key).
func (t *tx) MarkChatEvent(source, id string, at, prune time.Time) (bool, error) {
	if t.db.pruneDue(prune) {
		if _, err := t.exec(`DELETE FROM chat_events WHERE received_at < $1`, store.EncodeTime(prune)); err != nil {
			return false, fmt.Errorf("prune chat events: %w", err)
		}
	}
	tag, err := t.exec(`INSERT INTO chat_events (source, event_id, received_at) VALUES ($1, $2, $3)
		ON CONFLICT (source, event_id) DO UPDATE SET received_at = excluded.received_at
		WHERE chat_events.received_at < $4`, source, id, store.EncodeTime(at), store.EncodeTime(prune))
	if err != nil {
		return false, fmt.Errorf("mark %s event %s: %w", source, id, err)
	}
	return tag.RowsAffected() == 1, nil
}

// pruneDue reports whether to prune marks up to prune now, and takes note.
func (db *DB) pruneDue(prune time.Time) bool {
	last, at := db.prunedChatEvents.Load(), prune.UnixNano()
	if last != 0 && at >= last && at-last < int64(chatEventPruneEvery) {
		return false
	}
	db.prunedChatEvents.Store(at)
	return true
}

// EventByDedupKey returns the incident's event with that dedup key.
func (t *tx) EventByDedupKey(incidentID int64, key string) (bot.Event, error) {
	ev, err := store.ScanEvent(t.queryRow(`SELECT `+store.EventColumns+` FROM events
		WHERE incident_id = $1 AND dedup_key = $2 AND dedup_key <> '' FOR UPDATE`, incidentID, key))
	return ev, notFound(err, "%s has no timeline event %q", bot.IncidentKey(incidentID), key)
}

// UpdateEventByDedupKey rewrites an event's actor, text, data and source
// URL; its kind and times stay.
func (t *tx) UpdateEventByDedupKey(ev bot.Event) error {
	raw, err := eventData(ev)
	if err != nil {
		return err
	}
	tag, err := t.exec(`UPDATE events SET actor = $1, text = $2, data = $3, source_url = $4
		WHERE incident_id = $5 AND dedup_key = $6 AND dedup_key <> ''`,
		ev.Actor, ev.Text, raw, ev.SourceURL, ev.IncidentID, ev.DedupKey)
	if err != nil {
		return fmt.Errorf("update event %q of %s: %w", ev.DedupKey, bot.IncidentKey(ev.IncidentID), err)
	}
	if tag.RowsAffected() == 0 {
		return bot.Errorf(bot.ENOTFOUND, "%s has no timeline event %q", bot.IncidentKey(ev.IncidentID), ev.DedupKey)
	}
	return nil
}

// Event returns one event of an incident, locked for the change, or
// ENOTFOUND.
func (t *tx) Event(incidentID, eventID int64) (bot.Event, error) {
	ev, err := store.ScanEvent(t.queryRow(`SELECT `+store.EventColumns+` FROM events
		WHERE incident_id = $1 AND id = $2 FOR UPDATE`, incidentID, eventID))
	return ev, notFound(err, "%s has no timeline event %d", bot.IncidentKey(incidentID), eventID)
}

// CorrectEvent sets an event's time and hidden mark; nothing else of it
// changes.
func (t *tx) CorrectEvent(incidentID, eventID int64, occurredAt time.Time, hidden bool) error {
	tag, err := t.exec(`UPDATE events SET occurred_at = $1, hidden = $2 WHERE incident_id = $3 AND id = $4`,
		store.EncodeTime(occurredAt), hidden, incidentID, eventID)
	if err != nil {
		return fmt.Errorf("correct event %d of %s: %w", eventID, bot.IncidentKey(incidentID), err)
	}
	if tag.RowsAffected() == 0 {
		return bot.Errorf(bot.ENOTFOUND, "%s has no timeline event %d", bot.IncidentKey(incidentID), eventID)
	}
	return nil
}
