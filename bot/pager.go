package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Pager is what the bot needs from a paging service (PagerDuty). Incident
// ids are the pager's own. Adapters return nil when the incident is already
// in the asked state, a *TemporaryError for failures worth retrying (rate
// limits, 5xx, transport errors) and any other error for refusals.
type Pager interface {
	Acknowledge(ctx context.Context, incidentID string) error
	Resolve(ctx context.Context, incidentID string) error
	AddNote(ctx context.Context, incidentID, content string) error
	// OnCall lists the users on call for an escalation policy, with their
	// emails.
	OnCall(ctx context.Context, escalationPolicyID string) ([]OnCallUser, error)
}

// OnCallUser is a person on call in the pager.
type OnCallUser struct {
	ID    string
	Name  string
	Email string
	Level int // escalation level, 1 first
}

// PagerSource is the alert source whose incidents the Pager tracks.
const PagerSource = "pagerduty"

// LabelEscalationPolicy is the incident label holding the pager's
// escalation policy id, from which the on-call responders are found.
const LabelEscalationPolicy = "pagerduty.escalation_policy"

// Outbox operations of the pager.
const (
	OpPagerAcknowledge = "pager.acknowledge"
	OpPagerResolve     = "pager.resolve"
	OpPagerNote        = "pager.note"
	OpPageResponders   = "pager.responders" // look up the on-call users and invite them
)

// Timeline kinds of the responder lookup.
const (
	KindResponderPaged   EventKind = "responder_paged"
	KindResponderInvited EventKind = "responder_invited"
)

type pagerPayload struct {
	PagerIncident string `json:"pager_incident"`
	Note          string `json:"note,omitempty"`
}

// enqueueResponders queues the on-call lookup of a PagerDuty incident
// opening its channel.
func (s *Service) enqueueResponders(tx Tx, inc Incident) error {
	if !s.alerts.pager || inc.Source != PagerSource || inc.Labels[LabelEscalationPolicy] == "" {
		return nil
	}
	return tx.Enqueue(mustDelivery(incidentKey(inc.ID), OpPageResponders, inc.ID, nil))
}

// pagerWriteBack is the EventHook that mirrors what people do in chat to the
// PagerDuty incident. Events caused by an alert source (PagerDuty itself) are
// not written back, which keeps the two from echoing each other.
func (s *Service) pagerWriteBack(tx Tx, inc Incident, ev Event) error {
	if inc.Source != PagerSource || inc.DedupKey == "" || isAlertActor(ev.Actor) || ev.Actor == SystemActor {
		return nil
	}
	op, note := pagerOpOf(ev)
	if op == "" {
		return nil
	}
	d := mustDelivery("pagerduty:"+inc.DedupKey, op, inc.ID, pagerPayload{PagerIncident: inc.DedupKey, Note: note})
	return tx.Enqueue(d)
}

// pagerOpOf maps a timeline event to the write-back it needs, if any.
func pagerOpOf(ev Event) (op, note string) {
	by := actorMention(ev.Actor)
	switch ev.Kind {
	case KindAcknowledged:
		return OpPagerAcknowledge, ""
	case KindStatusChanged:
		switch {
		case ev.Data["to"] == string(StatusResolved):
			return OpPagerResolve, ""
		case ev.Data["from"] == string(StatusTriggered):
			return OpPagerAcknowledge, ""
		}
		return OpPagerNote, fmt.Sprintf("%s (by %s in chat)", ev.Text, by)
	case KindNote:
		return OpPagerNote, fmt.Sprintf("Note from %s in chat: %s", by, ev.Text)
	case KindStatusUpdate:
		return OpPagerNote, fmt.Sprintf("Status update from %s: %s", by, ev.Text)
	}
	return "", ""
}

// PagerWriteBack is the feature that makes incidents opened from PagerDuty
// invite their on-call responders (found by email in chat through dir; nil:
// no one is found), and writes people's acknowledgements, resolutions,
// notes and status updates back to the PagerDuty incident through pager,
// by the outbox.
func PagerWriteBack(pager Pager, dir Directory) Feature {
	return NewFeature("pager write-back", func(r *Registry) {
		s := r.svc
		s.alerts.pager = true
		r.Hook(s.pagerWriteBack)
		h := &pagerHandlers{svc: s, pager: pager, dir: dir}
		r.Enqueues(OpPagerAcknowledge, OpPagerResolve, OpPagerNote, OpPageResponders)
		r.Deliver(OpPagerAcknowledge, h.writeBack(func(ctx context.Context, p pagerPayload) error { return pager.Acknowledge(ctx, p.PagerIncident) }))
		r.Deliver(OpPagerResolve, h.writeBack(func(ctx context.Context, p pagerPayload) error { return pager.Resolve(ctx, p.PagerIncident) }))
		r.Deliver(OpPagerNote, h.writeBack(func(ctx context.Context, p pagerPayload) error { return pager.AddNote(ctx, p.PagerIncident, p.Note) }))
		r.Deliver(OpPageResponders, h.responders)
	})
}

type pagerHandlers struct {
	svc   *Service
	pager Pager
	dir   Directory
}

func (h *pagerHandlers) writeBack(call func(ctx context.Context, p pagerPayload) error) DeliveryHandler {
	return func(ctx context.Context, d Delivery) (any, error) {
		var p pagerPayload
		if err := json.Unmarshal(d.Payload, &p); err != nil {
			return nil, fmt.Errorf("decode %s: %w", d.Op, err)
		}
		if err := call(ctx, p); err != nil {
			return nil, fmt.Errorf("%s on PagerDuty incident %s: %w", d.Op, p.PagerIncident, err)
		}
		return nil, nil
	}
}

// responders looks up who is on call for the incident's escalation policy,
// finds each by email in chat, invites those found and records on the
// timeline who was paged, who was invited and who could not be found.
func (h *pagerHandlers) responders(ctx context.Context, d Delivery) (any, error) {
	inc, err := h.svc.store.Incident(ctx, d.IncidentID)
	if err != nil {
		return nil, fmt.Errorf("load %s: %w", IncidentKey(d.IncidentID), err)
	}
	policy := inc.Labels[LabelEscalationPolicy]
	if policy == "" {
		return nil, nil
	}
	users, err := h.pager.OnCall(ctx, policy)
	if err != nil {
		return nil, fmt.Errorf("on-call users of %s for %s: %w", policy, inc.Key(), err)
	}
	events, invite, err := h.match(ctx, d, uniqueOnCall(users))
	if err != nil {
		return nil, err
	}
	err = h.svc.update(ctx, func(tx Tx) error {
		if err := appendAll(tx, inc.ID, h.svc.now(), events...); err != nil {
			return err
		}
		if len(invite) == 0 {
			return nil
		}
		return tx.Enqueue(mustDelivery(incidentKey(inc.ID), OpInvite, inc.ID, invitePayload{Users: invite}))
	})
	if err != nil {
		return nil, fmt.Errorf("record responders of %s: %w", inc.Key(), err)
	}
	return map[string]any{"on_call": len(users), "invited": invite}, nil
}

// match finds each on-call user in chat by email and returns the timeline
// events to record and the chat users to invite.
func (h *pagerHandlers) match(ctx context.Context, d Delivery, users []OnCallUser) ([]Event, []string, error) {
	var events []Event
	var invite []string
	for _, u := range users {
		dedup := fmt.Sprintf("oncall:%d:%s", d.ID, u.ID)
		events = append(events, Event{Kind: KindResponderPaged, Actor: AlertActor(PagerSource), DedupKey: dedup + ":paged",
			Text: fmt.Sprintf("%s is on call in PagerDuty (level %d) and was paged", u.Name, u.Level),
			Data: map[string]any{"pager_user": u.ID, "email": u.Email, "level": u.Level}})
		cu, err := h.lookup(ctx, u.Email)
		switch {
		case ErrorCode(err) == ENOTFOUND:
			events = append(events, Event{Kind: KindResponderInvited, Actor: SystemActor, DedupKey: dedup + ":missing",
				Text: fmt.Sprintf("%s (%s) has no chat account with that email: invite them by hand", u.Name, orNone(u.Email)),
				Data: map[string]any{"pager_user": u.ID, "email": u.Email, "found": false}})
		case err != nil:
			return nil, nil, fmt.Errorf("find %s in chat: %w", u.Email, err)
		default:
			invite = append(invite, cu.ID)
			events = append(events, Event{Kind: KindResponderInvited, Actor: SystemActor, DedupKey: dedup + ":invited",
				Text: fmt.Sprintf("invited %s (%s), on call in PagerDuty", Mention(cu.ID), u.Email),
				Data: map[string]any{"pager_user": u.ID, "email": u.Email, "user": cu.ID, "found": true}})
		}
	}
	return events, invite, nil
}

func (h *pagerHandlers) lookup(ctx context.Context, email string) (ChatUser, error) {
	if h.dir == nil || strings.TrimSpace(email) == "" {
		return ChatUser{}, Errorf(ENOTFOUND, "no chat user with email %q", email)
	}
	return h.dir.UserByEmail(ctx, email)
}

// uniqueOnCall keeps each user once (on several levels or schedules), at
// their first level.
func uniqueOnCall(users []OnCallUser) []OnCallUser {
	seen := map[string]bool{}
	var out []OnCallUser
	for _, u := range users {
		if seen[u.ID] {
			continue
		}
		seen[u.ID] = true
		out = append(out, u)
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "no email"
	}
	return s
}
