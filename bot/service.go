package bot

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"
)

// ServiceConfig holds the plain values the service needs.
type ServiceConfig struct {
	// BroadcastChannel is the chat channel id where incidents are announced
	// and status updates mirrored; empty disables broadcasts.
	BroadcastChannel string
	// DefaultSeverity applies to alerts and declarations that name none.
	DefaultSeverity Severity
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// Location is the team's time zone: status updates show and read
	// "HH:MM" in it (drafts, "Next update by", --next 01:30, the repeat
	// guard). UTC when nil.
	Location *time.Location
	// UpdateTemplate drafts status updates; nil: the shipped template.
	UpdateTemplate *UpdateTemplate
	// Directory names people in drafts by handle; nil: by user id.
	Directory Directory
	// Observer, when set, is told about acknowledgements, resolutions and
	// finished runbook runs after they commit (metrics).
	Observer Observer
}

// Service applies commands to incidents: every change, its timeline event
// and the chat messages that report it are written in one transaction, and
// the messages are delivered afterwards by the Dispatcher.
type Service struct {
	store    Store
	cfg      ServiceConfig
	now      func() time.Time
	wake     func()
	commands []Command
	actions  map[string]registeredAction
	hooks    []EventHook
	buttons  []func(Incident) []Action // extra card buttons (features)
	access   AccessConfig              // access.go: private incidents, the permission policy
	alerts   alerting                  // triage, alert summaries, pager (triage.go); zero: off
	// updateInterval is the reminder interval of a severity, the default
	// "next update by" (set by EnableReminders; nil: none).
	updateInterval func(Severity) time.Duration
}

// EventHook is told, inside the transaction that recorded it, about every
// timeline event the service appends, after the incident's new state is
// written. A hook may read and write through tx (queue a PagerDuty
// write-back, schedule a reminder); an error aborts the whole change.
type EventHook func(tx Tx, inc Incident, ev Event) error

// RegisterCardButtons adds buttons to the incident card of open
// incidents, before Resolve (the status page's Publish button).
func (s *Service) RegisterCardButtons(f func(Incident) []Action) { s.buttons = append(s.buttons, f) }

// Card is the incident card with the features' buttons.
func (s *Service) Card(inc Incident) Message {
	msg := Card(inc)
	if !inc.Open() {
		return msg
	}
	at := len(msg.Actions)
	for i, a := range msg.Actions {
		if a.ID == ActionResolve {
			at = i
		}
	}
	for _, f := range s.buttons {
		extra := f(inc)
		msg.Actions = append(msg.Actions[:at:at], append(extra, msg.Actions[at:]...)...)
		at += len(extra)
	}
	return msg
}

// RegisterHook adds an EventHook.
func (s *Service) RegisterHook(h EventHook) { s.hooks = append(s.hooks, h) }

// NewService returns a Service over store.
func NewService(store Store, cfg ServiceConfig) *Service {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if !cfg.DefaultSeverity.Valid() {
		cfg.DefaultSeverity = SEV3
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.UpdateTemplate == nil {
		cfg.UpdateTemplate = DefaultUpdateTemplate()
	}
	s := &Service{store: store, cfg: cfg, now: func() time.Time { return cfg.Now().UTC() }, wake: func() {},
		actions: map[string]registeredAction{}}
	s.commands = s.coreCommands()
	for id, h := range s.coreActions() {
		s.RegisterAction(id, h)
	}
	for id, h := range s.updateActions() {
		if id == ActionPostUpdate { // the card's button and the form: the incident id
			s.RegisterAction(id, h)
			continue
		}
		// A repeated update's buttons carry the update (UpdateActionValue).
		s.RegisterActionOn(id, func(_ context.Context, a ActionInvocation) (int64, error) {
			id, _, err := ParseUpdateActionValue(a.Value)
			return id, err
		}, h)
	}
	return s
}

// Store is the service's store, for features built beside the core that
// write in the same transactions (runbooks, postmortems).
func (s *Service) Store() Store { return s.store }

// OnCommit registers f to be called after each committed change that queued
// deliveries (the Dispatcher's Wake); a change that queued none does not
// call it.
func (s *Service) OnCommit(f func()) { s.wake = f }

// Now is the service's clock, in UTC.
func (s *Service) Now() time.Time { return s.now() }

// Incident returns one incident.
func (s *Service) Incident(ctx context.Context, id int64) (Incident, error) {
	return s.store.Incident(ctx, id)
}

// IncidentByChannel returns the incident whose chat channel is channelID.
func (s *Service) IncidentByChannel(ctx context.Context, channelID string) (Incident, error) {
	return s.store.IncidentByChannel(ctx, channelID)
}

// Incidents lists incidents matching f.
func (s *Service) Incidents(ctx context.Context, f IncidentFilter) ([]Incident, error) {
	return s.store.Incidents(ctx, f)
}

// Timeline returns an incident's events in the order they happened.
func (s *Service) Timeline(ctx context.Context, id int64) ([]Event, error) {
	if _, err := s.store.Incident(ctx, id); err != nil {
		return nil, err
	}
	return s.store.Timeline(ctx, id)
}

// update runs fn in a write transaction, then the event hooks on what fn
// appended, and wakes the dispatcher after it commits when fn or a hook
// queued a delivery. Only then: a wake costs the dispatcher a claim, a write
// transaction on the store's single writer connection, and in an alert
// storm most commits (repeat alerts) queue nothing.
func (s *Service) update(ctx context.Context, fn func(tx Tx) error) error {
	queued := false
	var done milestones
	err := s.store.Update(ctx, func(tx Tx) error {
		rec := &recordingTx{Tx: tx, observe: s.cfg.Observer != nil, origin: originOf(ctx)}
		if err := fn(rec); err != nil {
			return err
		}
		err := s.runHooks(rec, rec.appended)
		queued, done = rec.enqueued > 0, rec.milestones // of this attempt only: an earlier one was discarded
		return err
	})
	if err != nil {
		return err
	}
	if queued {
		s.wake()
	}
	if s.cfg.Observer != nil {
		done.report(s.cfg.Observer)
	}
	return nil
}

// Update is update for features beside the core: fn's events reach the
// hooks, and the dispatcher is woken after the commit when something was
// queued.
func (s *Service) Update(ctx context.Context, fn func(tx Tx) error) error { return s.update(ctx, fn) }

// runHooks tells the hooks about events. The incident each hook is given is
// read through rec, which serves it from what the change read when the
// change did not write it since (a repeated alert: one read, not two).
func (s *Service) runHooks(rec *recordingTx, events []Event) error {
	if len(s.hooks) == 0 {
		return nil
	}
	tx := hookTx{rec}
	for _, ev := range events {
		inc, err := rec.Incident(ev.IncidentID)
		if err != nil {
			return fmt.Errorf("hooks for %s: %w", ev.Kind, err)
		}
		for _, h := range s.hooks {
			if err := h(tx, inc, ev); err != nil {
				return err
			}
		}
	}
	return nil
}

// recordingTx remembers the events appended through it, for the hooks, and
// counts the deliveries queued through it, to wake the dispatcher. It also
// remembers the incidents read through it and not written through it since:
// only CreateIncident and UpdateIncident write incidents, so that is their
// stored state in this transaction.
type recordingTx struct {
	Tx
	origin   origin // who caused the change: the priority of its deliveries
	appended []Event
	enqueued int
	read     map[int64]Incident
	// observe turns on recording milestones: the incidents this change
	// acknowledged or resolved and the runs it finished, for the Observer.
	observe    bool
	milestones milestones
}

// remember keeps a copy of an incident read through r.
func (r *recordingTx) remember(inc Incident, err error) (Incident, error) {
	if err != nil {
		return inc, err
	}
	if r.read == nil {
		r.read = map[int64]Incident{}
	}
	kept := inc
	kept.Labels = maps.Clone(inc.Labels) // the caller may change its map
	r.read[inc.ID] = kept
	return inc, nil
}

// Incident serves an incident read before in this transaction, a copy (its
// labels are the caller's to change), or reads it.
func (r *recordingTx) Incident(id int64) (Incident, error) {
	if inc, ok := r.read[id]; ok {
		inc.Labels = maps.Clone(inc.Labels)
		return inc, nil
	}
	return r.remember(r.Tx.Incident(id))
}

func (r *recordingTx) OpenIncidentByDedupKey(source, key string) (Incident, error) {
	return r.remember(r.Tx.OpenIncidentByDedupKey(source, key))
}

func (r *recordingTx) LatestIncidentByDedupKey(source, key string) (Incident, error) {
	return r.remember(r.Tx.LatestIncidentByDedupKey(source, key))
}

func (r *recordingTx) OpenIncidentByLabel(name, value string) (Incident, error) {
	return r.remember(r.Tx.OpenIncidentByLabel(name, value))
}

func (r *recordingTx) UpdateIncident(inc Incident) error {
	before, known := r.read[inc.ID]
	delete(r.read, inc.ID) // read it again, as stored
	if err := r.Tx.UpdateIncident(inc); err != nil {
		return err
	}
	if r.observe && known {
		if before.AcknowledgedAt.IsZero() && !inc.AcknowledgedAt.IsZero() {
			r.milestones.acked = append(r.milestones.acked, inc)
		}
		if before.Status != StatusResolved && inc.Status == StatusResolved {
			r.milestones.resolved = append(r.milestones.resolved, inc)
		}
	}
	return nil
}

func (r *recordingTx) UpdateRunbookRun(run RunbookRun, from RunState) (bool, error) {
	ok, err := r.Tx.UpdateRunbookRun(run, from)
	if ok && err == nil && r.observe && run.State != from && run.State.Final() {
		r.milestones.runs = append(r.milestones.runs, run)
	}
	return ok, err
}

func (r *recordingTx) AppendEvent(ev *Event) (bool, error) {
	ok, err := r.Tx.AppendEvent(ev)
	if ok && err == nil {
		r.appended = append(r.appended, *ev)
	}
	return ok, err
}

func (r *recordingTx) Enqueue(d Delivery) error {
	return r.enqueue(d, r.origin)
}

// enqueue stores d with the priority of its origin (unless it has one).
func (r *recordingTx) enqueue(d Delivery, o origin) error {
	if d.Priority == 0 {
		p, err := r.priority(d, o)
		if err != nil {
			return err
		}
		d.Priority = p
	}
	err := r.Tx.Enqueue(d)
	if err == nil {
		r.enqueued++
	}
	return err
}

// hookTx is what hooks write through: their deliveries are counted, but
// their own events are not recorded (hooks are not run on what hooks
// append).
type hookTx struct{ *recordingTx }

func (h hookTx) AppendEvent(ev *Event) (bool, error) { return h.recordingTx.Tx.AppendEvent(ev) }

// Enqueue: what hooks queue (reminders, alert summaries) is automation's,
// whoever made the change.
func (h hookTx) Enqueue(d Delivery) error { return h.enqueue(d, origin{automated: true}) }

// change loads incident id inside a transaction, lets fn change it and record
// what happened, and saves it.
func (s *Service) change(ctx context.Context, id int64, fn func(tx Tx, inc *Incident, now time.Time) error) (Incident, error) {
	var out Incident
	err := s.update(ctx, func(tx Tx) error {
		inc, err := tx.Incident(id)
		if err != nil {
			return err
		}
		now := s.now()
		if err := fn(tx, &inc, now); err != nil {
			return err
		}
		inc.UpdatedAt = now
		if err := tx.UpdateIncident(inc); err != nil {
			return err
		}
		out = inc
		return nil
	})
	return out, err
}

// DeclareRequest is what a person gives to declare an incident.
type DeclareRequest struct {
	Actor       string
	Title       string
	Description string
	Severity    Severity // 0: the default
	Private     bool
}

// Declare opens an incident by hand. The declarer becomes its commander.
func (s *Service) Declare(ctx context.Context, req DeclareRequest) (Incident, error) {
	title, err := typedText("title", "a title", req.Title, MaxTitleLen, false)
	if err != nil {
		return Incident{}, err
	}
	if title == "" {
		return Incident{}, FieldErrorf("title", "a title is required: /incident declare <title>")
	}
	if req.Description, err = typedText("description", "a description", req.Description, MaxDescriptionLen, true); err != nil {
		return Incident{}, err
	}
	sev := req.Severity
	if sev == 0 {
		sev = s.cfg.DefaultSeverity
	}
	if !sev.Valid() {
		return Incident{}, FieldErrorf("severity", "use SEV1 to SEV4")
	}
	if err := s.permit(ctx, PermDeclare, req.Actor, Incident{}, sev); err != nil {
		return Incident{}, err
	}
	var inc Incident
	err = s.update(ctx, func(tx Tx) error {
		now := s.now()
		inc = Incident{
			Title: title, Description: req.Description, Severity: sev, Private: req.Private,
			Status: StatusInvestigating, Commander: req.Actor, Source: "chat",
			DetectedAt: now, DeclaredAt: now, AcknowledgedAt: now, UpdatedAt: now,
		}
		if err := tx.CreateIncident(&inc); err != nil {
			return err
		}
		events := []Event{
			{Kind: KindDeclared, Actor: req.Actor, Text: fmt.Sprintf("declared %s %s: %s", inc.Key(), sev, title)},
			{Kind: KindRoleAssigned, Actor: req.Actor, Text: fmt.Sprintf("<@%s> is commander", req.Actor),
				Data: map[string]any{"role": string(RoleCommander), "user": req.Actor}},
		}
		if err := appendAll(tx, inc.ID, now, events...); err != nil {
			return err
		}
		return s.enqueueOpening(tx, inc, []string{req.Actor})
	})
	return inc, err
}

// enqueueOpening queues what opening an incident does in chat: its channel,
// the pinned card, invitations and the broadcast announcement.
func (s *Service) enqueueOpening(tx Tx, inc Incident, invite []string) error {
	ops := []Delivery{
		mustDelivery(incidentKey(inc.ID), OpCreateChannel, inc.ID, nil),
		mustDelivery(incidentKey(inc.ID), OpPostCard, inc.ID, nil),
	}
	if users := nonEmpty(invite); len(users) > 0 {
		ops = append(ops, mustDelivery(incidentKey(inc.ID), OpInvite, inc.ID, invitePayload{Users: users}))
	}
	if s.cfg.BroadcastChannel != "" {
		ops = append(ops, mustDelivery(incidentKey(inc.ID), OpAnnounce, inc.ID, nil))
	}
	for _, d := range ops {
		if err := tx.Enqueue(d); err != nil {
			return err
		}
	}
	return nil
}

// SetStatus moves an incident along its lifecycle (or back: a re-open) and
// says so in its channel.
//
// Resolving and re-opening (leaving resolved) are guarded by the
// permission policy (PermResolve, PermReopen).
func (s *Service) SetStatus(ctx context.Context, actor string, id int64, to Status, message string) (Incident, error) {
	message, err := typedText("message", "a status message", message, MaxTextLen, true)
	if err != nil {
		return Incident{}, err
	}
	var checked Incident
	var perm Permission
	if s.access.Policy.guarded(PermResolve) || s.access.Policy.guarded(PermReopen) {
		var err error
		if checked, err = s.store.Incident(ctx, id); err != nil {
			return Incident{}, err
		}
		if perm = statusPermission(checked.Status, to); perm != "" {
			if err := s.permit(ctx, perm, actor, checked, checked.Severity); err != nil {
				return Incident{}, err
			}
		}
	}
	return s.change(ctx, id, func(tx Tx, inc *Incident, now time.Time) error {
		if err := s.decidedOnIfGuarded(perm, checked, *inc); err != nil {
			return err
		}
		return s.applyStatus(tx, inc, now, actor, to, message, KindStatusChanged)
	})
}

// statusPermission is the permission a move from one status to another
// needs, "" for none.
func statusPermission(from, to Status) Permission {
	switch {
	case to == StatusResolved && from != StatusResolved:
		return PermResolve
	case from == StatusResolved && to != StatusResolved:
		return PermReopen
	}
	return ""
}

func (s *Service) applyStatus(tx Tx, inc *Incident, now time.Time, actor string, to Status, message string, kind EventKind) error {
	return s.applyStatusAt(tx, inc, now, now, actor, to, message, kind)
}

// applyStatusAt is applyStatus for a move that happened at at (a source's
// clock), recorded at now.
func (s *Service) applyStatusAt(tx Tx, inc *Incident, now, at time.Time, actor string, to Status, message string, kind EventKind) error {
	from := inc.Status
	reopened, err := inc.transition(to, at)
	if err != nil {
		return err
	}
	text := fmt.Sprintf("status %s → %s", from, to)
	if reopened {
		text = fmt.Sprintf("re-opened: status %s → %s", from, to)
	}
	if message = strings.TrimSpace(message); message != "" {
		text += ": " + message
	}
	ev := Event{Kind: kind, Actor: actor, Text: text, OccurredAt: at,
		Data: map[string]any{"from": string(from), "to": string(to), "reopened": reopened, "message": message}}
	if err := appendAll(tx, inc.ID, now, ev); err != nil {
		return err
	}
	if err := s.say(tx, *inc, fmt.Sprintf("%s %s", actorMention(actor), text)); err != nil {
		return err
	}
	if to == StatusResolved && s.cfg.BroadcastChannel != "" {
		if err := s.broadcast(tx, *inc, fmt.Sprintf("%s resolved", s.publicName(*inc))+summarySuffix(message, inc.Private)); err != nil {
			return err
		}
	}
	return s.refresh(tx, *inc, true)
}

// Acknowledge records that a responder has the incident in hand, moving a
// triggered incident to investigating.
func (s *Service) Acknowledge(ctx context.Context, actor string, id int64) (Incident, error) {
	return s.change(ctx, id, func(tx Tx, inc *Incident, now time.Time) error {
		if inc.Status != StatusTriggered {
			return Errorf(EINVALID, "%s is already acknowledged (status %s)", inc.Key(), inc.Status)
		}
		return s.applyStatus(tx, inc, now, actor, StatusInvestigating, "acknowledged", KindAcknowledged)
	})
}

// Resolve resolves an incident with an optional summary.
func (s *Service) Resolve(ctx context.Context, actor string, id int64, summary string) (Incident, error) {
	return s.SetStatus(ctx, actor, id, StatusResolved, summary)
}

// SetSeverity changes an incident's severity.
func (s *Service) SetSeverity(ctx context.Context, actor string, id int64, sev Severity) (Incident, error) {
	if !sev.Valid() {
		return Incident{}, FieldErrorf("severity", "use SEV1 to SEV4")
	}
	checked, err := s.permitChange(ctx, PermSeverity, actor, id, func(inc Incident) []Severity { return []Severity{inc.Severity, sev} })
	if err != nil {
		return Incident{}, err
	}
	return s.change(ctx, id, func(tx Tx, inc *Incident, now time.Time) error {
		if err := s.decidedOnIfGuarded(PermSeverity, checked, *inc); err != nil {
			return err
		}
		if inc.Severity == sev {
			return Errorf(EINVALID, "%s is already %s", inc.Key(), sev)
		}
		from := inc.Severity
		inc.Severity = sev
		text := fmt.Sprintf("severity %s → %s", from, sev)
		ev := Event{Kind: KindSeverityChanged, Actor: actor, Text: text,
			Data: map[string]any{"from": from.String(), "to": sev.String()}}
		if err := appendAll(tx, inc.ID, now, ev); err != nil {
			return err
		}
		if err := s.say(tx, *inc, actorMention(actor)+" "+text); err != nil {
			return err
		}
		return s.refresh(tx, *inc, true)
	})
}

// AssignRole gives a role to a chat user and invites them to the channel.
func (s *Service) AssignRole(ctx context.Context, actor string, id int64, role Role, user string) (Incident, error) {
	user = NormalizeUser(user)
	if user == "" {
		return Incident{}, FieldErrorf("user", "name a user: /incident lead @user")
	}
	checked, err := s.permitChange(ctx, PermRoles, actor, id, func(inc Incident) []Severity { return []Severity{inc.Severity} })
	if err != nil {
		return Incident{}, err
	}
	return s.change(ctx, id, func(tx Tx, inc *Incident, now time.Time) error {
		if err := s.decidedOnIfGuarded(PermRoles, checked, *inc); err != nil {
			return err
		}
		holder := &inc.Commander
		if role == RoleComms {
			holder = &inc.CommsLead
		} else if role != RoleCommander {
			return FieldErrorf("role", "unknown role %q: use commander or comms", role)
		}
		if *holder == user {
			return Errorf(EINVALID, "<@%s> is already %s of %s", user, role, inc.Key())
		}
		*holder = user
		text := fmt.Sprintf("<@%s> is %s", user, role)
		ev := Event{Kind: KindRoleAssigned, Actor: actor, Text: text, Data: map[string]any{"role": string(role), "user": user}}
		if err := appendAll(tx, inc.ID, now, ev); err != nil {
			return err
		}
		if err := tx.Enqueue(mustDelivery(incidentKey(inc.ID), OpInvite, inc.ID, invitePayload{Users: []string{user}})); err != nil {
			return err
		}
		if err := s.say(tx, *inc, fmt.Sprintf("%s made <@%s> %s", actorMention(actor), user, role)); err != nil {
			return err
		}
		return s.refresh(tx, *inc, role == RoleCommander)
	})
}

// AddNote records a note on the timeline.
func (s *Service) AddNote(ctx context.Context, actor string, id int64, text string) (Incident, error) {
	return s.AddMarkedNote(ctx, actor, id, text, "")
}

// AddMarkedNote records a note; mark NoteForUpdate puts it in the next
// status-update draft, NoteNext there as what is being done next, "" in
// neither.
func (s *Service) AddMarkedNote(ctx context.Context, actor string, id int64, text, mark string) (Incident, error) {
	text, err := typedText("text", "a note", text, MaxTextLen, true)
	if err != nil {
		return Incident{}, err
	}
	if text == "" {
		return Incident{}, FieldErrorf("text", "a note needs text: /incident note [--update | --next] <text>")
	}
	var data map[string]any
	switch mark {
	case "":
	case NoteForUpdate, NoteNext:
		data = map[string]any{mark: true}
	default:
		return Incident{}, FieldErrorf("mark", "unknown note mark %q", mark)
	}
	return s.change(ctx, id, func(tx Tx, inc *Incident, now time.Time) error {
		return appendAll(tx, inc.ID, now, Event{Kind: KindNote, Actor: actor, Text: text, Data: data})
	})
}

// say queues a message to the incident's channel.
func (s *Service) say(tx Tx, inc Incident, text string) error {
	return tx.Enqueue(mustDelivery(incidentKey(inc.ID), OpPost, inc.ID, postPayload{Target: TargetIncident, Message: Message{Text: text}}))
}

// broadcast queues a message to the broadcast channel, after everything
// already queued for the incident (so the channel it links to exists).
func (s *Service) broadcast(tx Tx, inc Incident, text string) error {
	if s.cfg.BroadcastChannel == "" {
		return nil
	}
	return tx.Enqueue(mustDelivery(incidentKey(inc.ID), OpPost, inc.ID, postPayload{Target: TargetBroadcast, Message: Message{Text: text}}))
}

// refresh queues a redraw of the incident card (and of the channel topic when
// topic is set). Older queued redraws are superseded: only the newest
// matters, which keeps a busy incident within chat rate limits.
func (s *Service) refresh(tx Tx, inc Incident, topic bool) error {
	d := mustDelivery(incidentKey(inc.ID), OpRefreshCard, inc.ID, nil)
	d.Coalesce = fmt.Sprintf("card:%d", inc.ID)
	if err := tx.Enqueue(d); err != nil {
		return err
	}
	if !topic {
		return nil
	}
	t := mustDelivery(incidentKey(inc.ID), OpSetTopic, inc.ID, nil)
	t.Coalesce = fmt.Sprintf("topic:%d", inc.ID)
	return tx.Enqueue(t)
}

// publicName is how an incident is named outside its channel: a private one
// is not named at all.
func (s *Service) publicName(inc Incident) string {
	if inc.Private {
		return "A private incident"
	}
	return fmt.Sprintf("%s %s", inc.Key(), inc.Title)
}

func summarySuffix(summary string, private bool) string {
	if summary == "" || private {
		return ""
	}
	return ": " + summary
}

func appendAll(tx Tx, incidentID int64, now time.Time, events ...Event) error {
	for i := range events {
		ev := &events[i]
		ev.IncidentID = incidentID
		ev.RecordedAt = now
		if ev.OccurredAt.IsZero() {
			ev.OccurredAt = now
		}
		if _, err := tx.AppendEvent(ev); err != nil {
			return fmt.Errorf("append %s event: %w", ev.Kind, err)
		}
	}
	return nil
}

// actorMention renders an actor as a chat mention. Alert sources
// ("alert:pagerduty") and the system are not people and are not mentioned.
func actorMention(actor string) string {
	if actor == "" || actor == SystemActor || strings.Contains(actor, ":") {
		return actor
	}
	return "<@" + actor + ">"
}

// AlertActor is the timeline actor for an alert source.
func AlertActor(source string) string { return "alert:" + source }

// NormalizeUser turns Slack's escaped mentions ("<@U123>", "<@U123|name>")
// and "@name" into a bare user id or name.
func NormalizeUser(s string) string {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "<@") && strings.HasSuffix(s, ">") {
		s = strings.TrimSuffix(strings.TrimPrefix(s, "<@"), ">")
		if i := strings.IndexByte(s, '|'); i >= 0 {
			s = s[:i]
		}
	}
	return strings.TrimPrefix(s, "@")
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if s != "" {
			out = append(out, s)
		}
	}
	return out
}
