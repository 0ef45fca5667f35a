package bot

import (
	"context"
	"fmt"
	"strconv"
	"time"
)

// Triage: not every alert deserves a channel. An alert whose source and
// severity the policy sends to triage opens its incident without a channel
// and posts a message with Accept and Decline buttons in the triage channel.
// Accept opens the channel (a normal incident from then on); Decline records
// why and resolves it.
//
// The triage state lives in its own table (migration 0003) rather than as a
// new incident status: a status would ripple through the lifecycle, the
// metrics and every listing, while "waiting for a decision" is a fact about
// how the incident reaches chat, not about the outage.

// TriageState is where an incident is in triage.
type TriageState string

const (
	TriagePending  TriageState = "pending"  // waiting for Accept or Decline
	TriageAccepted TriageState = "accepted" // a normal incident now
	TriageDeclined TriageState = "declined" // closed by a person
	TriageClosed   TriageState = "closed"   // resolved at the source before anyone decided
)

// Triage is an incident's triage record.
type Triage struct {
	IncidentID int64
	State      TriageState
	ChannelID  string // the triage channel the message is in
	MessageTS  string // the triage message, once posted
	DecidedBy  string
	Reason     string
	DecidedAt  time.Time
	CreatedAt  time.Time
}

// Neutral ids of the triage buttons.
const (
	ActionTriageAccept  = "triage-accept"
	ActionTriageDecline = "triage-decline"
)

// Outbox ops of alerting.
const (
	OpTriageRefresh = "triage.refresh" // post or redraw the triage message
	OpAlertSummary  = "alert.summary"  // post or redraw the alert summary in the incident channel
)

// KindTriage records triage decisions on the timeline.
const KindTriage EventKind = "triage"

// TriagePolicy says which alerts open a channel at once: those at least as
// severe as the threshold of their source (Default for sources not listed).
// SEV4 opens everything at once.
type TriagePolicy struct {
	Default  Severity
	BySource map[string]Severity
}

// DefaultTriagePolicy opens SEV1 and SEV2 at once and triages SEV3 and SEV4.
func DefaultTriagePolicy() TriagePolicy { return TriagePolicy{Default: SEV2} }

// Triaged reports whether an alert of source with severity sev goes to
// triage.
func (p TriagePolicy) Triaged(source string, sev Severity) bool {
	limit, ok := p.BySource[source]
	if !ok {
		limit = p.Default
	}
	if !limit.Valid() {
		limit = SEV2
	}
	return sev > limit
}

// AlertingConfig turns on what the alert sources need beyond the core.
type AlertingConfig struct {
	// TriageChannel is the chat channel id of triage messages; empty turns
	// triage off (every alert opens its channel at once).
	TriageChannel string
	Triage        TriagePolicy
	// SummaryEvery is how often, at most, repeated alerts of one incident
	// are summarised in chat (default one minute).
	SummaryEvery time.Duration
	// AttachByLabel, when set, is a label name (e.g. "service"): a firing
	// alert with a new dedup key whose value of this label is that of an
	// open incident is recorded on that incident instead of opening
	// another. Empty: every new dedup key opens its own incident.
	AttachByLabel string
}

// alerting is the Service's alerting state; the zero value is off (the
// core's behaviour: every alert opens its channel, repeats are only
// recorded).
type alerting struct {
	on    bool
	cfg   AlertingConfig
	pager bool // PagerDuty incidents page their on-call responders
}

// EnableAlerting turns on triage, alert summaries and the triage buttons and
// commands (accept, decline).
func (s *Service) EnableAlerting(cfg AlertingConfig) {
	if cfg.SummaryEvery <= 0 {
		cfg.SummaryEvery = time.Minute
	}
	if !cfg.Triage.Default.Valid() {
		cfg.Triage.Default = SEV2
	}
	if cfg.AttachByLabel != "" && !ValidLabelName(cfg.AttachByLabel) {
		panic(fmt.Sprintf("bot: AttachByLabel %q is not a label name (the configuration check refuses it)", cfg.AttachByLabel))
	}
	s.alerts.on, s.alerts.cfg = true, cfg
	s.RegisterAction(ActionTriageAccept, s.triageAction(func(ctx context.Context, a ActionInvocation, id int64) (Incident, error) {
		return s.AcceptTriage(ctx, a.Actor, id)
	}))
	s.RegisterAction(ActionTriageDecline, s.triageAction(func(ctx context.Context, a ActionInvocation, id int64) (Incident, error) {
		return s.DeclineTriage(ctx, a.Actor, id, a.Input["reason"])
	}))
	s.RegisterCommand(Command{Name: "accept", Help: "accept a triaged alert: open its channel",
		Run: func(ctx context.Context, inv Invocation, inc Incident, _ string) (Reply, error) {
			return s.replied(s.AcceptTriage(ctx, inv.Actor, inc.ID))
		}})
	s.RegisterCommand(Command{Name: "decline", Syntax: "[reason]", Help: "decline a triaged alert: record why and close it",
		Run: func(ctx context.Context, inv Invocation, inc Incident, args string) (Reply, error) {
			return s.replied(s.DeclineTriage(ctx, inv.Actor, inc.ID, args))
		}})
}

func (s *Service) triageAction(f func(ctx context.Context, a ActionInvocation, id int64) (Incident, error)) ActionHandler {
	return func(ctx context.Context, a ActionInvocation) (Reply, error) {
		id, err := ActionIncident(a)
		if err != nil {
			return Reply{}, err
		}
		return s.replied(f(ctx, a, id))
	}
}

// openAlertIncident queues what a new alert incident does in chat: its
// channel at once, or a triage message when the policy says so.
func (s *Service) openAlertIncident(tx Tx, inc Incident) error {
	if !s.alerts.on || s.alerts.cfg.TriageChannel == "" || !s.alerts.cfg.Triage.Triaged(inc.Source, inc.Severity) {
		if err := s.enqueueOpening(tx, inc, nil); err != nil {
			return err
		}
		return s.enqueueResponders(tx, inc)
	}
	now := s.now()
	t := Triage{IncidentID: inc.ID, State: TriagePending, ChannelID: s.alerts.cfg.TriageChannel, CreatedAt: now}
	if err := tx.SaveAlertTriage(t); err != nil {
		return fmt.Errorf("triage %s: %w", inc.Key(), err)
	}
	ev := Event{Kind: KindTriage, Actor: SystemActor, Text: fmt.Sprintf("%s alert sent to triage", inc.Severity),
		Data: map[string]any{"state": string(TriagePending)}}
	if err := appendAll(tx, inc.ID, now, ev); err != nil {
		return err
	}
	return s.refreshTriage(tx, inc.ID, time.Time{})
}

// refreshTriage queues a redraw of the triage message, due at due (zero:
// now). Pending redraws are superseded, so a storm redraws it once a window.
func (s *Service) refreshTriage(tx Tx, id int64, due time.Time) error {
	d := mustDelivery(triageKey(id), OpTriageRefresh, id, nil)
	d.Coalesce = "triage:" + strconv.FormatInt(id, 10)
	d.NextAttemptAt = due
	return tx.Enqueue(d)
}

func triageKey(id int64) string { return fmt.Sprintf("triage:%d", id) }

// pendingTriage loads an incident and its triage record, and fails unless it
// is waiting for a decision.
func pendingTriage(tx Tx, id int64) (Incident, Triage, error) {
	inc, err := tx.Incident(id)
	if err != nil {
		return Incident{}, Triage{}, err
	}
	t, err := tx.AlertTriage(id)
	if ErrorCode(err) == ENOTFOUND {
		return inc, t, Errorf(EINVALID, "%s did not go to triage", inc.Key())
	}
	if err != nil {
		return inc, t, err
	}
	if t.State != TriagePending {
		by := ""
		if t.DecidedBy != "" {
			by = " by " + actorMention(t.DecidedBy)
		}
		return inc, t, Errorf(EINVALID, "%s was already %s%s", inc.Key(), t.State, by)
	}
	return inc, t, nil
}

// AcceptTriage turns a triaged alert into a normal incident: its channel is
// created and the person who accepted it becomes its commander. It returns
// EINVALID when the incident is not waiting in triage.
func (s *Service) AcceptTriage(ctx context.Context, actor string, id int64) (Incident, error) {
	var out Incident
	err := s.update(ctx, func(tx Tx) error {
		inc, t, err := pendingTriage(tx, id)
		if err != nil {
			return err
		}
		now := s.now()
		t.State, t.DecidedBy, t.DecidedAt = TriageAccepted, actor, now
		if err := tx.SaveAlertTriage(t); err != nil {
			return err
		}
		invite := []string(nil)
		events := []Event{{Kind: KindTriage, Actor: actor, Text: "accepted in triage: opening the incident channel",
			Data: map[string]any{"state": string(TriageAccepted)}}}
		if actor != "" && inc.Commander == "" {
			inc.Commander, invite = actor, []string{actor}
			events = append(events, Event{Kind: KindRoleAssigned, Actor: actor, Text: fmt.Sprintf("<@%s> is commander", actor),
				Data: map[string]any{"role": string(RoleCommander), "user": actor}})
		}
		inc.UpdatedAt = now
		if err := tx.UpdateIncident(inc); err != nil {
			return err
		}
		if err := appendAll(tx, inc.ID, now, events...); err != nil {
			return err
		}
		if err := s.enqueueOpening(tx, inc, invite); err != nil {
			return err
		}
		if err := s.enqueueResponders(tx, inc); err != nil {
			return err
		}
		out = inc
		return s.refreshTriage(tx, inc.ID, time.Time{})
	})
	return out, err
}

// DeclineTriage closes a triaged alert: the reason is recorded and the
// incident resolved with a "declined" mark, without ever opening a channel.
// It returns EINVALID when the incident is not waiting in triage.
func (s *Service) DeclineTriage(ctx context.Context, actor string, id int64, reason string) (Incident, error) {
	reason, err := typedText("reason", "a reason", reason, MaxTextLen, true)
	if err != nil {
		return Incident{}, err
	}
	if reason == "" {
		reason = "not worth an incident"
	}
	var out Incident
	err = s.update(ctx, func(tx Tx) error {
		inc, t, err := pendingTriage(tx, id)
		if err != nil {
			return err
		}
		out, err = s.closeTriage(tx, inc, t, TriageDeclined, actor, reason)
		return err
	})
	return out, err
}

// closeTriage resolves a triaged incident quietly (it has no channel to
// tell) and redraws its triage message.
func (s *Service) closeTriage(tx Tx, inc Incident, t Triage, state TriageState, actor, reason string) (Incident, error) {
	now := s.now()
	t.State, t.DecidedBy, t.Reason, t.DecidedAt = state, actor, reason, now
	if err := tx.SaveAlertTriage(t); err != nil {
		return inc, err
	}
	from := inc.Status
	if inc.Open() {
		if _, err := inc.transition(StatusResolved, now); err != nil {
			return inc, err
		}
	}
	inc.UpdatedAt = now
	if err := tx.UpdateIncident(inc); err != nil {
		return inc, err
	}
	events := []Event{
		{Kind: KindTriage, Actor: actor, Text: fmt.Sprintf("%s in triage: %s", state, reason),
			Data: map[string]any{"state": string(state), "reason": reason, string(TriageDeclined): state == TriageDeclined}},
	}
	if from != StatusResolved {
		events = append(events, Event{Kind: KindStatusChanged, Actor: actor, Text: fmt.Sprintf("status %s → resolved: %s", from, state),
			Data: map[string]any{"from": string(from), "to": string(StatusResolved), "reopened": false, "message": reason, "triage": string(state)}})
	}
	if err := appendAll(tx, inc.ID, now, events...); err != nil {
		return inc, err
	}
	return inc, s.refreshTriage(tx, inc.ID, time.Time{})
}

// TriageMessage is the triage message: the alert's facts, how often it
// fired, and the Accept/Decline buttons while it waits for a decision.
func TriageMessage(inc Incident, t Triage, c AlertCounts) Message {
	id := strconv.FormatInt(inc.ID, 10)
	title := fmt.Sprintf("Triage %s %s: %s", inc.Key(), inc.Severity, inc.Title)
	fields := []Field{
		{Label: "Source", Value: sourceText(inc)},
		{Label: "Alerts", Value: countsText(c)},
		{Label: "Detected", Value: timeText(inc.DetectedAt)},
	}
	if inc.SourceURL != "" {
		fields = append(fields, Field{Label: "Link", Value: inc.SourceURL})
	}
	msg := Message{Title: title, Fields: fields}
	switch t.State {
	case TriagePending:
		msg.Text = fmt.Sprintf("%s: open an incident channel? (%s)", title, countsText(c))
		msg.Actions = []Action{
			{ID: ActionTriageAccept, Label: "Accept", Value: id, Style: "primary"},
			{ID: ActionTriageDecline, Label: "Decline", Value: id, Style: "danger",
				Confirm: fmt.Sprintf("Decline %s? It is resolved without a channel.", inc.Key())},
		}
	case TriageAccepted:
		where := ""
		if inc.ChannelID != "" {
			where = fmt.Sprintf(" in <#%s>", inc.ChannelID)
		}
		msg.Text = fmt.Sprintf("%s: accepted by %s; the incident is open%s", title, actorMention(t.DecidedBy), where)
	default:
		msg.Text = fmt.Sprintf("%s: %s by %s: %s", title, t.State, actorMention(t.DecidedBy), t.Reason)
	}
	return msg
}

func countsText(c AlertCounts) string {
	text := fmt.Sprintf("%d fired", c.Fired)
	if c.Resolved > 0 {
		text += fmt.Sprintf(", %d resolved", c.Resolved)
	}
	if !c.FirstAt.IsZero() {
		text += " since " + timeText(c.FirstAt)
	}
	return text
}
