package bot

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// KindSourceEvent records what a monitoring source reports about its own
// incident (PagerDuty's acknowledged, escalated, annotated...).
const KindSourceEvent EventKind = "source_event"

// webhookRetention is how long webhook delivery ids are remembered: longer
// than PagerDuty's 48 hours of retries.
const webhookRetention = 72 * time.Hour

// SourceEffect is what a source event does to the incident's status.
type SourceEffect int

const (
	EffectNone        SourceEffect = iota // recorded only
	EffectAcknowledge                     // triggered → investigating
	EffectResolve                         // → resolved
	EffectReopen                          // resolved → triggered
)

// SourceEvent is one event a monitoring source reports about an incident it
// tracks, already verified and translated by the edge.
type SourceEvent struct {
	Source string
	// DeliveryID is the source's id of the delivery (PagerDuty's
	// X-Webhook-Id); a delivery received before changes nothing.
	DeliveryID string
	// Trigger, when set, is an alert that opens the incident (or attaches
	// to the open one), exactly as IngestAlert.
	Trigger *Alert
	// DedupKey names the source's incident (the Alert.DedupKey it opened).
	DedupKey string
	// EventID identifies the event at the source; it is recorded once.
	EventID    string
	Type       string // the source's event type, e.g. "incident.escalated"
	Text       string // what to show on the timeline
	Agent      string // who caused it at the source, when known
	OccurredAt time.Time
	URL        string
	Effect     SourceEffect
}

// SourceOutcome says what a source event did.
type SourceOutcome struct {
	AlertOutcome
	Duplicate bool // the delivery had been received before
}

// RecordSourceEvent records a source's event on the incident opened for its
// dedup key (the newest one, open or resolved) with the source's time, and
// applies its effect: acknowledge, resolve or re-open, as actor
// "alert:<source>". An event for an incident sitrep never opened is
// ignored (Ignored says so). Redeliveries change nothing.
func (s *Service) RecordSourceEvent(ctx context.Context, ev SourceEvent) (SourceOutcome, error) {
	ctx = automated(ctx) // what it queues goes after what people do
	if ev.Source == "" {
		return SourceOutcome{}, FieldErrorf("source", "a source event needs a source")
	}
	if ev.Trigger != nil {
		a := *ev.Trigger
		if err := validateAlert(&a); err != nil {
			return SourceOutcome{}, err
		}
		ev.Trigger = &a
	} else if ev.DedupKey == "" {
		return SourceOutcome{}, FieldErrorf("dedup_key", "a source event must name the source's incident")
	}
	if len(ev.DedupKey) > MaxKeyLen || len(ev.EventID) > MaxKeyLen || len(ev.DeliveryID) > MaxKeyLen {
		return SourceOutcome{}, FieldErrorf("id", "a source's identifiers are at most %d characters", MaxKeyLen)
	}
	if len(ev.URL) > MaxURLLen {
		return SourceOutcome{}, FieldErrorf("url", "at most %d bytes (got %d)", MaxURLLen, len(ev.URL))
	}
	ev.Text = cleanBlock(ev.Text, MaxTextLen)
	ev.Agent = cleanLine(ev.Agent, MaxTitleLen)
	return updateAttaching(ctx, s, func(tx Tx, out *SourceOutcome) error { return s.recordSource(tx, ev, out) })
}

func (s *Service) recordSource(tx Tx, ev SourceEvent, out *SourceOutcome) error {
	now := s.now()
	if ev.DeliveryID != "" {
		first, err := tx.MarkChatEvent(ev.Source, ev.DeliveryID, now, now.Add(-webhookRetention))
		if err != nil {
			return err
		}
		if !first {
			out.Duplicate, out.Ignored = true, "delivery received before"
			return nil
		}
	}
	if ev.Trigger != nil {
		return s.ingest(tx, *ev.Trigger, &out.AlertOutcome)
	}
	inc, err := tx.LatestIncidentByDedupKey(ev.Source, ev.DedupKey)
	if ErrorCode(err) == ENOTFOUND {
		out.Ignored = fmt.Sprintf("no incident was opened for %s %s", ev.Source, ev.DedupKey)
		return nil
	}
	if err != nil {
		return err
	}
	out.Incident = inc
	at, clamped := sourceClock(ev.OccurredAt, inc, now)
	rec := sourceTimelineEvent(ev, inc.ID, now)
	rec.OccurredAt = at
	if clamped {
		rec.Data["reported_at"] = ev.OccurredAt.UTC().Format(time.RFC3339)
		rec.Text += fmt.Sprintf(" (the source's time %s was out of range; recorded at %s)",
			ev.OccurredAt.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	}
	ok, err := tx.AppendEvent(&rec)
	if err != nil || !ok {
		return err
	}
	out.Recorded = true
	if err := s.applySourceEffect(tx, &inc, ev, now, at); err != nil {
		return err
	}
	out.Incident = inc
	return nil
}

// sourceClockSkew is how far ahead of sitrep's clock a source's time may be
// (clocks drift); anything later is taken as now.
const sourceClockSkew = time.Minute

// sourceClock is when a source event happened: the source's own time, which
// may be hours older than its delivery (PagerDuty retries for 48 hours),
// clamped to [the incident's detection, now + sourceClockSkew]. A missing
// time is now. clamped reports that the source's time was out of range.
func sourceClock(reported time.Time, inc Incident, now time.Time) (at time.Time, clamped bool) {
	if reported.IsZero() {
		return now, false
	}
	if reported.After(now.Add(sourceClockSkew)) {
		return now, true
	}
	floor := inc.DetectedAt
	if floor.IsZero() || (!inc.DeclaredAt.IsZero() && inc.DeclaredAt.Before(floor)) {
		floor = inc.DeclaredAt
	}
	if !floor.IsZero() && reported.Before(floor) {
		return floor, true
	}
	return reported, false
}

func sourceTimelineEvent(ev SourceEvent, incidentID int64, now time.Time) Event {
	at := ev.OccurredAt
	if at.IsZero() {
		at = now
	}
	data := map[string]any{"source": ev.Source, "event_type": ev.Type, "dedup_key": ev.DedupKey}
	if ev.Agent != "" {
		data["agent"] = ev.Agent
	}
	dedup := ""
	if ev.EventID != "" {
		dedup = "source:" + ev.EventID
		data["event_id"] = ev.EventID
	}
	text := ev.Text
	if text == "" {
		text = fmt.Sprintf("%s: %s", ev.Source, ev.Type)
	}
	return Event{IncidentID: incidentID, Kind: KindSourceEvent, Actor: AlertActor(ev.Source), OccurredAt: at, RecordedAt: now,
		Text: text, Data: data, SourceURL: ev.URL, DedupKey: dedup}
}

// applySourceEffect moves the incident where the source event means it.
// Moves that are already made (the echo of sitrep's own write-back) do
// nothing.
//
// Events may arrive out of order (PagerDuty retries each delivery on its
// own), so the key times follow the source's clock, not the arrival order:
// the first acknowledgement is the earliest one reported, whenever it
// arrived; a resolve or re-open older than the incident's resolution is
// stale (a later move superseded it) and is recorded only.
func (s *Service) applySourceEffect(tx Tx, inc *Incident, ev SourceEvent, now, at time.Time) error {
	actor := AlertActor(ev.Source)
	by := ""
	if ev.Agent != "" {
		by = " by " + ev.Agent
	}
	switch ev.Effect {
	case EffectAcknowledge:
		if inc.Status != StatusTriggered {
			if !inc.AcknowledgedAt.IsZero() && at.Before(inc.AcknowledgedAt) {
				inc.AcknowledgedAt = at // an earlier acknowledgement arrived late
				inc.UpdatedAt = now
				return tx.UpdateIncident(*inc)
			}
			return nil
		}
		return s.statusFromSource(tx, inc, now, at, actor, StatusInvestigating, KindAcknowledged, "acknowledged in "+ev.Source+by)
	case EffectResolve:
		if !inc.Open() {
			return nil
		}
		if !inc.ResolvedAt.IsZero() && at.Before(inc.ResolvedAt) {
			return nil
		}
		if t, err := tx.AlertTriage(inc.ID); err == nil && t.State == TriagePending {
			closed, err := s.closeTriage(tx, *inc, t, TriageClosed, actor, "resolved in "+ev.Source+by)
			*inc = closed
			return err
		}
		return s.statusFromSource(tx, inc, now, at, actor, StatusResolved, KindStatusChanged, "resolved in "+ev.Source+by)
	case EffectReopen:
		if inc.Open() || at.Before(inc.ResolvedAt) {
			return nil // open already, or a re-open that a later resolve superseded
		}
		if _, err := tx.OpenIncidentByDedupKey(ev.Source, ev.DedupKey); err == nil {
			return nil // a newer incident holds the key
		}
		return s.statusFromSource(tx, inc, now, at, actor, StatusTriggered, KindStatusChanged, "re-opened in "+ev.Source+by)
	}
	return nil
}

// statusFromSource applies a status move a source reported. An incident
// without a channel (waiting in triage, or declined) moves quietly and its
// triage message is redrawn; any other says so in its channel.
func (s *Service) statusFromSource(tx Tx, inc *Incident, now, at time.Time, actor string, to Status, kind EventKind, msg string) error {
	t, err := tx.AlertTriage(inc.ID)
	if err != nil && ErrorCode(err) != ENOTFOUND {
		return err
	}
	quiet := err == nil && t.State != TriageAccepted && inc.ChannelID == ""
	if !quiet {
		if err := s.applyStatusAt(tx, inc, now, at, actor, to, msg, kind); err != nil {
			return err
		}
	} else {
		from := inc.Status
		if _, err := inc.transition(to, at); err != nil {
			return err
		}
		ev := Event{Kind: kind, Actor: actor, OccurredAt: at, Text: fmt.Sprintf("status %s → %s: %s", from, to, msg),
			Data: map[string]any{"from": string(from), "to": string(to), "message": msg}}
		if err := appendAll(tx, inc.ID, now, ev); err != nil {
			return err
		}
		if to == StatusTriggered && t.State != TriagePending { // re-opened: back to triage
			t.State, t.DecidedBy, t.Reason, t.DecidedAt = TriagePending, "", "", time.Time{}
			if err := tx.SaveAlertTriage(t); err != nil {
				return err
			}
		}
		if err := s.refreshTriage(tx, inc.ID, time.Time{}); err != nil {
			return err
		}
	}
	inc.UpdatedAt = now
	return tx.UpdateIncident(*inc)
}

// isAlertActor reports whether actor is an alert source rather than a
// person ("alert:pagerduty").
func isAlertActor(actor string) bool { return strings.HasPrefix(actor, "alert:") }
