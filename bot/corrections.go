package bot

import (
	"context"
	"fmt"
	"strings"
	"time"
)

// Timeline corrections: the record is fixed after the fact (a time recorded
// late, a message pinned by mistake, something that happened off chat), and
// every correction is itself on the timeline, saying who, when, what it was
// before and why. They come from the web view and the REST API, which name
// the actor; the incident channel is told of each one, so nothing changes
// silently.

// CorrectionTx is the store side of corrections.
type CorrectionTx interface {
	// Event returns one event of the incident, or ENOTFOUND.
	Event(incidentID, eventID int64) (Event, error)
	// CorrectEvent sets the event's OccurredAt and Hidden, and nothing else;
	// ENOTFOUND when there is no such event.
	CorrectEvent(incidentID, eventID int64, occurredAt time.Time, hidden bool) error
}

// MaxReasonLen bounds the reason given for a correction.
const MaxReasonLen = 1000

// EventCorrection is what a person changes about one event: its time, its
// hidden mark, or both, and why.
type EventCorrection struct {
	OccurredAt time.Time // zero: keep the time
	Hidden     *bool     // nil: keep the mark
	Reason     string
}

// EarliestPlausibleTime is the earliest time anything on a timeline can
// have happened: a time before it, from a source or from a correction, is
// a typo or a zero value, not an incident.
var EarliestPlausibleTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// CorrectEvent applies c to an event of incident id and records the
// correction. A key time of the incident that was taken from the event
// (acknowledged, mitigated, resolved, declared, detected) moves with it, so
// the postmortem measures the corrected record. Corrections themselves are
// the audit trail and cannot be corrected.
func (s *Service) CorrectEvent(ctx context.Context, actor string, id, eventID int64, c EventCorrection) (Event, error) {
	reason, err := correctionReason(c.Reason)
	if err != nil {
		return Event{}, err
	}
	if c.OccurredAt.IsZero() && c.Hidden == nil {
		return Event{}, FieldErrorf("occurred_at", "nothing to correct: give a new time (occurred_at) or hidden")
	}
	var out Event
	_, err = s.change(ctx, id, func(tx Tx, inc *Incident, now time.Time) error {
		ev, err := tx.Event(id, eventID)
		if err != nil {
			return err
		}
		if ev.Kind == KindEventCorrected {
			return Errorf(EINVALID, "event %d is the record of a correction and cannot be changed; correct the event it names instead", eventID)
		}
		before := ev
		if !c.OccurredAt.IsZero() {
			at := c.OccurredAt.UTC()
			if err := checkRecordTime("occurred_at", at, now); err != nil {
				return err
			}
			ev.OccurredAt = at
		}
		if c.Hidden != nil {
			ev.Hidden = *c.Hidden
		}
		if ev.OccurredAt.Equal(before.OccurredAt) && ev.Hidden == before.Hidden {
			return Errorf(EINVALID, "event %d already has that time and mark: nothing to correct", eventID)
		}
		if err := tx.CorrectEvent(id, eventID, ev.OccurredAt, ev.Hidden); err != nil {
			return err
		}
		moved := moveKeyTimes(inc, before, ev.OccurredAt)
		what := correctionText(before, ev)
		audit := Event{Kind: KindEventCorrected, Actor: actor, Text: fmt.Sprintf("%s (reason: %s)", what, reason),
			Data: map[string]any{
				"event_id":           eventID,
				"event_kind":         string(before.Kind),
				"before_occurred_at": before.OccurredAt.UTC().Format(time.RFC3339Nano),
				"after_occurred_at":  ev.OccurredAt.UTC().Format(time.RFC3339Nano),
				"before_hidden":      before.Hidden,
				"after_hidden":       ev.Hidden,
				"key_times_moved":    moved,
				"reason":             reason,
			}}
		if err := appendAll(tx, id, now, audit); err != nil {
			return err
		}
		if err := s.say(tx, *inc, fmt.Sprintf("%s corrected the timeline: %s (reason: %s)", actorMention(actor), what, reason)); err != nil {
			return err
		}
		out = ev
		if len(moved) > 0 {
			return s.refresh(tx, *inc, false)
		}
		return nil
	})
	return out, err
}

// AddOffChatEvent records something that happened elsewhere (a phone call,
// a change made from a laptop) at its real time. Its RecordedAt says when it
// was added, and its actor who added it.
func (s *Service) AddOffChatEvent(ctx context.Context, actor string, id int64, at time.Time, text string) (Event, error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return Event{}, FieldErrorf("text", "say what happened")
	}
	if at.IsZero() {
		return Event{}, FieldErrorf("occurred_at", "give the time it happened (RFC 3339)")
	}
	var out Event
	_, err := s.change(ctx, id, func(tx Tx, inc *Incident, now time.Time) error {
		at := at.UTC()
		if err := checkRecordTime("occurred_at", at, now); err != nil {
			return err
		}
		evs := []Event{{Kind: KindOffChat, Actor: actor, Text: text, OccurredAt: at,
			Data: map[string]any{"added_at": now.UTC().Format(time.RFC3339Nano)}}}
		if err := appendAll(tx, id, now, evs...); err != nil { // sets evs[0].ID
			return err
		}
		if err := s.say(tx, *inc, fmt.Sprintf("%s added to the timeline at %s: %s", actorMention(actor), at.Format("2006-01-02 15:04 UTC"), text)); err != nil {
			return err
		}
		out = evs[0]
		return nil
	})
	return out, err
}

func correctionReason(r string) (string, error) {
	r = strings.Join(strings.Fields(r), " ")
	if r == "" {
		return "", FieldErrorf("reason", "say why the record is corrected (it is kept with the correction)")
	}
	if len(r) > MaxReasonLen {
		return "", FieldErrorf("reason", "at most %d bytes (got %d)", MaxReasonLen, len(r))
	}
	return r, nil
}

// checkRecordTime refuses a time that cannot be an incident's: in the future
// (beyond a minute of clock skew) or before 2000.
func checkRecordTime(field string, at, now time.Time) error {
	if at.Before(EarliestPlausibleTime) {
		return FieldErrorf(field, "%s is before 2000: give the time in RFC 3339, e.g. 2026-03-14T00:13:00Z", at.Format(time.RFC3339))
	}
	if at.After(now.Add(time.Minute)) {
		return FieldErrorf(field, "%s is in the future (now is %s)", at.Format(time.RFC3339), now.UTC().Format(time.RFC3339))
	}
	return nil
}

func correctionText(before, after Event) string {
	name := fmt.Sprintf("event %d (%s)", before.ID, before.Kind)
	var parts []string
	if !after.OccurredAt.Equal(before.OccurredAt) {
		parts = append(parts, fmt.Sprintf("moved %s from %s to %s", name,
			before.OccurredAt.UTC().Format(time.RFC3339), after.OccurredAt.UTC().Format(time.RFC3339)))
	}
	switch {
	case after.Hidden && !before.Hidden:
		parts = append(parts, "hid "+name)
	case !after.Hidden && before.Hidden:
		parts = append(parts, "unhid "+name)
	}
	return strings.Join(parts, "; ")
}

// moveKeyTimes moves the incident's key times that were taken from ev (same
// kind, same instant) to at, and names them.
func moveKeyTimes(inc *Incident, ev Event, at time.Time) []string {
	if at.Equal(ev.OccurredAt) {
		return nil
	}
	var moved []string
	move := func(name string, field *time.Time) {
		if !field.IsZero() && field.Equal(ev.OccurredAt) {
			*field = at
			moved = append(moved, name)
		}
	}
	switch ev.Kind {
	case KindDeclared:
		move("declared_at", &inc.DeclaredAt)
		move("detected_at", &inc.DetectedAt)
	case KindAlertFired:
		move("detected_at", &inc.DetectedAt)
	}
	// A status move (acknowledged, changed, or a source's) set the key
	// times its target reaches, at its own instant (Incident.transition).
	if to, err := ParseStatus(fmt.Sprint(ev.Data["to"])); err == nil && StatusTriggered.Before(to) {
		move("acknowledged_at", &inc.AcknowledgedAt)
		if !to.Before(StatusMonitoring) {
			move("mitigated_at", &inc.MitigatedAt)
		}
		if to == StatusResolved {
			move("resolved_at", &inc.ResolvedAt)
		}
	}
	return moved
}
