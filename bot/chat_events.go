package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// The timeline from chat events: a message pinned with a reaction (once,
// however many people react), its later edits and deletion, and responders
// joining an incident channel. A chat platform redelivers an event it thinks
// failed, so each one carries its delivery id, marked in the same
// transaction as its effect: a redelivery changes nothing.

// OpFetchPinned is the outbox op that reads a pinned message's text from the
// chat (a chat API call, so never inside the transaction that recorded the
// reaction) and fills it into the timeline.
const OpFetchPinned = "chat.fetch_pinned"

// chatEventRetention is how long delivery ids are remembered: longer than
// Slack's retries (minutes) and its optional delayed delivery (24 h).
const chatEventRetention = 72 * time.Hour

// States of a pinned message's timeline event (Data["state"]).
const (
	PinFetching    = "fetching"    // recorded; the text is not read yet
	PinFetched     = "fetched"     // the text is the message's
	PinEdited      = "edited"      // the message was edited after it was pinned
	PinDeleted     = "deleted"     // the message was deleted; its text is dropped
	PinUnavailable = "unavailable" // the chat could not find the message
)

// ChatEventTx is the store side of chat events inside a transaction.
type ChatEventTx interface {
	// MarkChatEvent remembers a chat delivery id at time at and reports false,
	// storing nothing, when it is already marked (a redelivery), whichever
	// process marked it. It forgets marks older than prune.
	MarkChatEvent(source, id string, at, prune time.Time) (bool, error)
	// EventByDedupKey returns the incident's timeline event with that dedup
	// key, or ENOTFOUND.
	EventByDedupKey(incidentID int64, key string) (Event, error)
	// UpdateEventByDedupKey rewrites the actor, text, data and source URL of
	// the incident's event with ev.DedupKey, keeping its kind and times. It
	// returns ENOTFOUND when there is no such event.
	UpdateEventByDedupKey(ev Event) error
}

// ChatEventRef identifies one delivery of a chat event.
type ChatEventRef struct {
	Source string // the platform, e.g. "slack"
	ID     string // its delivery id (Slack's event_id); empty: not deduplicated
}

// ChatMessage is a message read back from the chat.
type ChatMessage struct {
	Author string // a chat user id (or bot id)
	Text   string
}

// MessageFetcher is an optional chat capability: read one message by its id
// in a channel. It returns ENOTFOUND when the message is gone and a
// *TemporaryError for failures worth retrying.
type MessageFetcher interface {
	FetchMessage(ctx context.Context, channelID, ts string) (ChatMessage, error)
}

// PinRequest asks to put a chat message on its incident's timeline (someone
// reacted to it with the pin reaction).
type PinRequest struct {
	Event     ChatEventRef
	ChannelID string
	MessageTS string    // the message's id in its channel
	PostedAt  time.Time // when the message was posted: the event's time
	Author    string    // the message's author, when the event says
	PinnedBy  string    // who reacted
}

// PinKey is the dedup key of a pinned message's timeline event.
func PinKey(channelID, ts string) string { return "pin:" + channelID + ":" + ts }

type fetchPinnedPayload struct {
	Channel string `json:"channel"`
	TS      string `json:"ts"`
}

// PinMessage records a pinned message on the timeline of the incident whose
// channel it is in, and queues reading its text. It reports whether anything
// was recorded: not for a channel that is no incident's, a redelivered
// event, or a message already pinned.
func (s *Service) PinMessage(ctx context.Context, req PinRequest) (bool, error) {
	return s.onChatEvent(ctx, req.Event, req.ChannelID, func(tx Tx, inc Incident, now time.Time) (bool, error) {
		author := req.Author
		if author == "" {
			author = req.PinnedBy
		}
		ev := Event{IncidentID: inc.ID, OccurredAt: req.PostedAt, RecordedAt: now, Kind: KindMessagePinned,
			Actor: author, Text: "pinned message (its text is being read from the chat)",
			DedupKey: PinKey(req.ChannelID, req.MessageTS),
			Data: map[string]any{"channel": req.ChannelID, "ts": req.MessageTS, "author": req.Author,
				"pinned_by": req.PinnedBy, "state": PinFetching}}
		if ev.OccurredAt.IsZero() {
			ev.OccurredAt = now
		}
		added, err := tx.AppendEvent(&ev)
		if err != nil || !added {
			return false, err
		}
		d, err := NewDelivery("chat-fetch:"+req.ChannelID, OpFetchPinned, inc.ID, fetchPinnedPayload{Channel: req.ChannelID, TS: req.MessageTS})
		if err != nil {
			return false, err
		}
		return true, tx.Enqueue(d)
	})
}

// EditPinnedMessage replaces the text of a pinned message that was edited in
// the chat, keeping its original time (and its first known text in
// Data["original_text"]). Messages that were never pinned are ignored.
func (s *Service) EditPinnedMessage(ctx context.Context, ref ChatEventRef, channelID, ts, text string, at time.Time) (bool, error) {
	text = cleanBlock(text, MaxDescriptionLen)
	return s.changePinned(ctx, ref, channelID, ts, func(ev *Event) bool {
		if ev.Data["state"] == PinDeleted || ev.Text == text {
			return false // an unfurl re-sends the same text; a deleted message stays deleted
		}
		if _, ok := ev.Data["original_text"]; !ok && ev.Data["state"] != PinFetching {
			ev.Data["original_text"] = ev.Text
		}
		ev.Text = text
		ev.Data["state"] = PinEdited
		ev.Data["edited_at"] = at.UTC().Format(time.RFC3339)
		return true
	})
}

// DeletePinnedMessage marks a pinned message deleted in the chat. Its text
// is dropped from the timeline: people delete what should not have been
// posted (a pasted secret), and the record keeps only that it existed.
func (s *Service) DeletePinnedMessage(ctx context.Context, ref ChatEventRef, channelID, ts string, at time.Time) (bool, error) {
	return s.changePinned(ctx, ref, channelID, ts, func(ev *Event) bool {
		if ev.Data["state"] == PinDeleted {
			return false
		}
		markPinDeleted(ev, at)
		return true
	})
}

func markPinDeleted(ev *Event, at time.Time) {
	ev.Text = "(pinned message deleted in the chat)"
	delete(ev.Data, "original_text")
	ev.Data["state"] = PinDeleted
	ev.Data["deleted_at"] = at.UTC().Format(time.RFC3339)
}

// changePinned applies change to the pinned message's event, if there is
// one, and saves it when change reports a change.
func (s *Service) changePinned(ctx context.Context, ref ChatEventRef, channelID, ts string, change func(ev *Event) bool) (bool, error) {
	return s.onChatEvent(ctx, ref, channelID, func(tx Tx, inc Incident, _ time.Time) (bool, error) {
		ev, err := tx.EventByDedupKey(inc.ID, PinKey(channelID, ts))
		if ErrorCode(err) == ENOTFOUND {
			return false, nil // not a pinned message
		}
		if err != nil {
			return false, err
		}
		if ev.Data == nil {
			ev.Data = map[string]any{}
		}
		if !change(&ev) {
			return false, nil
		}
		return true, tx.UpdateEventByDedupKey(ev)
	})
}

// RecordResponderJoined records that user joined an incident's channel, once
// per user.
func (s *Service) RecordResponderJoined(ctx context.Context, ref ChatEventRef, channelID, user string, at time.Time) (bool, error) {
	return s.onChatEvent(ctx, ref, channelID, func(tx Tx, inc Incident, now time.Time) (bool, error) {
		if at.IsZero() {
			at = now
		}
		ev := Event{IncidentID: inc.ID, OccurredAt: at, RecordedAt: now, Kind: KindResponderJoined, Actor: user,
			Text: Mention(user) + " joined the channel", DedupKey: "joined:" + user,
			Data: map[string]any{"user": user, "channel": channelID}}
		return tx.AppendEvent(&ev)
	})
}

// onChatEvent finds the incident of channelID and runs fn in a transaction
// that also marks the delivery ref. Channels that are no incident's and
// redeliveries are ignored (false, nil).
func (s *Service) onChatEvent(ctx context.Context, ref ChatEventRef, channelID string, fn func(tx Tx, inc Incident, now time.Time) (bool, error)) (bool, error) {
	inc, err := s.store.IncidentByChannel(ctx, channelID)
	if ErrorCode(err) == ENOTFOUND {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("find the incident of channel %s: %w", channelID, err)
	}
	var applied bool
	err = s.update(ctx, func(tx Tx) error {
		applied = false // the committed attempt's: fn may run again
		now := s.now()
		if ref.ID != "" {
			fresh, err := tx.MarkChatEvent(ref.Source, ref.ID, now, now.Add(-chatEventRetention))
			if err != nil || !fresh {
				return err
			}
		}
		applied, err = fn(tx, inc, now)
		return err
	})
	return applied, err
}

func (s *Service) fetchPinned(ctx context.Context, f MessageFetcher, d Delivery) error {
	var p fetchPinnedPayload
	if err := json.Unmarshal(d.Payload, &p); err != nil {
		return fmt.Errorf("decode %s: %w", OpFetchPinned, err)
	}
	msg, err := f.FetchMessage(ctx, p.Channel, p.TS)
	gone := ErrorCode(err) == ENOTFOUND
	if err != nil && !gone {
		return fmt.Errorf("read pinned message %s/%s: %w", p.Channel, p.TS, err)
	}
	return s.update(ctx, func(tx Tx) error {
		ev, err := tx.EventByDedupKey(d.IncidentID, PinKey(p.Channel, p.TS))
		if err != nil {
			return fmt.Errorf("pinned message %s/%s: %w", p.Channel, p.TS, err)
		}
		if ev.Data == nil {
			ev.Data = map[string]any{}
		}
		if ev.Data["state"] != PinFetching {
			return nil // an edit or deletion got there first and is newer
		}
		if gone {
			ev.Text = "(pinned message not found in the chat)"
			ev.Data["state"] = PinUnavailable
		} else {
			ev.Text, ev.Data["state"] = cleanBlock(msg.Text, MaxDescriptionLen), PinFetched
			if ev.Data["author"] == "" && msg.Author != "" { // the event did not say; the chat does
				ev.Actor, ev.Data["author"] = msg.Author, msg.Author
			}
		}
		return tx.UpdateEventByDedupKey(ev)
	})
}

// MarkSignedRequest remembers the signature of a signed chat request
// (source names the platform) received at at, and reports false, storing
// nothing, when it was remembered already: the same signature is the same
// bytes sent again, a replay. Signatures are kept as long as delivery ids,
// far longer than any platform's signature window, in the store so that
// every replica sees them.
func (s *Service) MarkSignedRequest(ctx context.Context, source, signature string, at time.Time) (bool, error) {
	if signature == "" {
		return false, Errorf(EINVALID, "the request has no signature")
	}
	var fresh bool
	err := s.update(ctx, func(tx Tx) error {
		var err error
		fresh, err = tx.MarkChatEvent(source+"-signature", signature, at, at.Add(-chatEventRetention))
		return err
	})
	if err != nil {
		return false, fmt.Errorf("remember a signed %s request: %w", source, err)
	}
	return fresh, nil
}
