package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Archiving resolved incidents' channels: a configurable time after an
// incident is resolved (ReminderConfig.ArchiveAfter), its channel gets a
// closing message and is archived, unless the incident was re-opened.

// KindChannelArchived records the decision to close the channel; the
// closing message and the archive follow through the outbox.
const KindChannelArchived EventKind = "channel_archived"

// Outbox ops of archiving.
const (
	OpArchiveCheck = "archive.check" // scheduled: archive if still resolved
	OpArchive      = "chat.archive"  // archive the incident channel (a chat op)
)

type archivePayload struct {
	ResolvedAt time.Time `json:"resolved_at"`
}

func archiveKey(id int64) string { return fmt.Sprintf("archive:%d", id) }

// scheduleArchive queues the archive check of a just-resolved incident,
// superseding one still pending from an earlier resolution.
func (r *Reminders) scheduleArchive(tx Tx, inc Incident) error {
	d := mustDelivery(archiveKey(inc.ID), OpArchiveCheck, inc.ID, archivePayload{ResolvedAt: inc.ResolvedAt})
	d.NextAttemptAt = inc.ResolvedAt.Add(r.cfg.ArchiveAfter)
	d.Coalesce = archiveKey(inc.ID)
	return tx.Enqueue(d)
}

// archiveCheck runs when an archive is due. It does nothing when the
// incident was re-opened (or resolved again later: a newer check is
// scheduled); otherwise it records the closing on the timeline and queues
// the closing message and the archive behind everything else the channel
// is owed. The event is keyed by the channel, so the channel is closed once.
func (r *Reminders) archiveCheck(ctx context.Context, d Delivery) (any, error) {
	var p archivePayload
	if err := json.Unmarshal(d.Payload, &p); err != nil {
		return nil, fmt.Errorf("decode archive check: %w", err)
	}
	err := r.svc.Update(ctx, func(tx Tx) error {
		inc, err := tx.Incident(d.IncidentID)
		if err != nil {
			return err
		}
		if inc.Open() || !inc.ResolvedAt.Equal(p.ResolvedAt) || inc.ChannelID == "" {
			return nil
		}
		now := r.svc.now()
		ev := Event{IncidentID: inc.ID, Kind: KindChannelArchived, Actor: SystemActor, OccurredAt: now, RecordedAt: now,
			Text:     fmt.Sprintf("archived #%s, %s after the incident was resolved", inc.ChannelName, durationText(r.cfg.ArchiveAfter)),
			Data:     map[string]any{"channel_id": inc.ChannelID},
			DedupKey: "archive:" + inc.ChannelID}
		if added, err := tx.AppendEvent(&ev); err != nil || !added {
			return err
		}
		closing := Message{Text: fmt.Sprintf("%s was resolved %s ago; this channel is now archived. Its timeline stays in sitrep (`sitrep timeline %s`).",
			inc.Key(), durationText(now.Sub(inc.ResolvedAt)), inc.Key())}
		if err := tx.Enqueue(mustDelivery(incidentKey(inc.ID), OpPost, inc.ID, postPayload{Target: TargetIncident, Message: closing})); err != nil {
			return err
		}
		return tx.Enqueue(mustDelivery(incidentKey(inc.ID), OpArchive, inc.ID, nil))
	})
	if err != nil {
		return nil, fmt.Errorf("check archive of %s: %w", IncidentKey(d.IncidentID), err)
	}
	return nil, nil
}

// archive is the chat handler of OpArchive.
func (h *chatHandlers) archive(ctx context.Context, d Delivery) (any, error) {
	inc, err := h.incident(ctx, d, true)
	if err != nil {
		return nil, err
	}
	if err := h.chat.Archive(ctx, inc.ChannelID); err != nil {
		return nil, fmt.Errorf("archive channel of %s: %w", inc.Key(), err)
	}
	return nil, nil
}
