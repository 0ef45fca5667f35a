package store

import (
	"encoding/json"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

const (
	sqlPruneChatEvents = `DELETE FROM chat_events WHERE received_at < ?`
	// A mark received before the prune time counts as forgotten whether or
	// not a prune deleted it yet: the conflict renews it and reports a row.
	sqlMarkChatEvent = `INSERT INTO chat_events (source, event_id, received_at) VALUES (?,?,?)
		ON CONFLICT (source, event_id) DO UPDATE SET received_at = excluded.received_at
		WHERE chat_events.received_at < ?`
)

// chatEventPruneEvery is how far the prune time must have moved since the
// last prune before old marks are deleted again. Why: deleting on every mark
// was one more statement per webhook in an alert storm, for nothing, since
// the mark statement itself treats old marks as forgotten; the delete only
// keeps the table small.
const chatEventPruneEvery = time.Minute

// MarkChatEvent remembers a chat delivery id; a second mark of the same id
// stores nothing and reports false, unless the first was received before
// prune: that one is forgotten and the id is fresh again. Marks received
// before prune are deleted on the way, at most once per
// chatEventPruneEvery of prune time (the index on received_at keeps that
// cheap).
func (t *tx) MarkChatEvent(source, id string, at, prune time.Time) (bool, error) {
	if t.db == nil || t.db.prunedChatEvents.due(prune) {
		if _, err := t.exec(sqlPruneChatEvents, encTime(prune)); err != nil {
			return false, fmt.Errorf("prune chat events: %w", err)
		}
	}
	res, err := t.exec(sqlMarkChatEvent, source, id, encTime(at), encTime(prune))
	if err != nil {
		return false, fmt.Errorf("mark %s event %s: %w", source, id, err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// pruneClock remembers the prune time of the last prune. A prune rolled
// back with its transaction is simply made later: marks are treated as
// forgotten by time, not by being deleted.
type pruneClock struct{ last atomic.Int64 } // UnixNano; 0: never

// due reports whether to prune up to prune now, and if so takes note.
func (p *pruneClock) due(prune time.Time) bool {
	last, at := p.last.Load(), prune.UnixNano()
	if last != 0 && at >= last && at-last < int64(chatEventPruneEvery) {
		return false
	}
	p.last.Store(at)
	return true
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
