package bot

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Alert summaries keep chat traffic bounded in an alert storm: a repeated
// alert is recorded on the timeline at once, but chat hears about repeats at
// most once per SummaryEvery per incident, as one message redrawn in place
// ("37 fired since …"), or as a redraw of the triage message while the
// incident waits in triage.

// alertRecorded is told about every repeat alert event recorded on an open
// incident (the first one is reported by the opening itself). Whether a
// summary is already queued is asked of the store, in the transaction,
// every time: another replica may have delivered it a moment ago, so no
// memory of this process can answer it.
func (s *Service) alertRecorded(tx Tx, inc Incident) error {
	if !s.alerts.on {
		return nil
	}
	now := s.now()
	due := s.windowEnd(now)
	if s.alerts.cfg.TriageChannel != "" || inc.ChannelID == "" { // only then can it be waiting in triage
		t, err := tx.AlertTriage(inc.ID)
		switch {
		case err == nil && t.State == TriagePending:
			return s.scheduleOnce(tx, "triage:"+strconv.FormatInt(inc.ID, 10), func() error {
				return s.refreshTriage(tx, inc.ID, due)
			})
		case err != nil && ErrorCode(err) != ENOTFOUND:
			return err
		}
	}
	return s.scheduleOnce(tx, summaryCoalesce(inc.ID), func() error {
		d := mustDelivery(summaryKey(inc.ID), OpAlertSummary, inc.ID, nil)
		d.Coalesce, d.NextAttemptAt = summaryCoalesce(inc.ID), due
		return tx.Enqueue(d)
	})
}

// scheduleOnce runs enqueue unless an entry with the coalesce value is
// already waiting: it reads the state when it is delivered, so one is
// enough, and skipping the write keeps an alert storm cheap.
func (s *Service) scheduleOnce(tx Tx, coalesce string, enqueue func() error) error {
	pending, err := tx.PendingCoalesced(coalesce)
	if err != nil || pending {
		return err
	}
	return enqueue()
}

// windowEnd is the end of the summary window now falls in; every repeat in
// one window is summarised by one delivery due then.
func (s *Service) windowEnd(now time.Time) time.Time {
	every := s.alerts.cfg.SummaryEvery
	return now.Truncate(every).Add(every)
}

func summaryKey(id int64) string      { return fmt.Sprintf("alerts:%d", id) }
func summaryCoalesce(id int64) string { return fmt.Sprintf("alert-summary:%d", id) }

// AlertSummary is the message that sums up an incident's repeated alerts.
func AlertSummary(inc Incident, c AlertCounts) Message {
	text := fmt.Sprintf("Alerts on %s: %s", inc.Key(), countsText(c))
	fields := []Field{{Label: "Fired", Value: strconv.Itoa(c.Fired)}, {Label: "Resolved", Value: strconv.Itoa(c.Resolved)},
		{Label: "Last", Value: timeText(c.LastAt)}}
	if c.LastTitle != "" {
		text += "; last: " + c.LastTitle
		fields = append(fields, Field{Label: "Latest", Value: c.LastTitle})
	}
	return Message{Title: "Alerts on " + inc.Key(), Text: text, Fields: fields}
}

type alertHandlers struct {
	svc  *Service
	chat Chat
}

func (h *alertHandlers) refreshTriage(ctx context.Context, d Delivery) (any, error) {
	st := h.svc.store
	inc, err := st.Incident(ctx, d.IncidentID)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", IncidentKey(d.IncidentID), err)
	}
	t, err := st.AlertTriage(ctx, inc.ID)
	if err != nil {
		return nil, fmt.Errorf("load triage of %s: %w", inc.Key(), err)
	}
	counts, err := st.AlertCounts(ctx, inc.ID)
	if err != nil {
		return nil, err
	}
	msg := TriageMessage(inc, t, counts)
	if t.MessageTS != "" {
		ref := MessageRef{ChannelID: t.ChannelID, TS: t.MessageTS}
		if err := h.chat.Update(ctx, ref, msg); err != nil {
			return nil, fmt.Errorf("update triage message of %s: %w", inc.Key(), err)
		}
		return ref, nil
	}
	msg.Tag = fmt.Sprintf("sitrep-triage-%d", inc.ID)
	ref, err := PostOnce(ctx, h.chat, d, t.ChannelID, msg)
	if err != nil {
		return nil, fmt.Errorf("post triage message of %s: %w", inc.Key(), err)
	}
	err = st.Update(ctx, func(tx Tx) error {
		cur, err := tx.AlertTriage(inc.ID)
		if err != nil {
			return err
		}
		cur.ChannelID, cur.MessageTS = ref.ChannelID, ref.TS
		return tx.SaveAlertTriage(cur)
	})
	if err != nil {
		return nil, fmt.Errorf("record triage message of %s: %w", inc.Key(), err)
	}
	if t.State != TriagePending { // decided while the first post was queued: draw the decision
		if err := h.chat.Update(ctx, ref, msg); err != nil {
			return nil, fmt.Errorf("update triage message of %s: %w", inc.Key(), err)
		}
	}
	return ref, nil
}

// errChannelPending is temporary: the summary waits for the channel.
var errChannelPending = errors.New("the incident channel is not created yet")

func (h *alertHandlers) summary(ctx context.Context, d Delivery) (any, error) {
	st := h.svc.store
	inc, err := st.Incident(ctx, d.IncidentID)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", IncidentKey(d.IncidentID), err)
	}
	if inc.ChannelID == "" {
		if t, err := st.AlertTriage(ctx, inc.ID); err == nil && t.State != TriageAccepted {
			return nil, nil // never got a channel: the triage message tells
		}
		return nil, Temporary(errChannelPending, 0)
	}
	counts, err := st.AlertCounts(ctx, inc.ID)
	if err != nil {
		return nil, err
	}
	msg := AlertSummary(inc, counts)
	ref, err := st.AlertSummaryRef(ctx, inc.ID)
	if err != nil {
		return nil, err
	}
	if ref.TS != "" {
		if err := h.chat.Update(ctx, ref, msg); err != nil {
			return nil, fmt.Errorf("update alert summary of %s: %w", inc.Key(), err)
		}
		return ref, nil
	}
	msg.Tag = fmt.Sprintf("sitrep-alerts-%d", inc.ID)
	if ref, err = PostOnce(ctx, h.chat, d, inc.ChannelID, msg); err != nil {
		return nil, fmt.Errorf("post alert summary of %s: %w", inc.Key(), err)
	}
	if err := st.Update(ctx, func(tx Tx) error { return tx.SetAlertSummaryRef(inc.ID, ref) }); err != nil {
		return nil, fmt.Errorf("record alert summary of %s: %w", inc.Key(), err)
	}
	return ref, nil
}
