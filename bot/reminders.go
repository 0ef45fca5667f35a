package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// Status-update reminders: while an open incident has had no status update
// for its severity's interval, the bot reminds the commander in the channel.
// Each reminder is a scheduled outbox entry (NextAttemptAt in the future), so
// a restart neither loses nor repeats one.

// Reminder timeline events.
const (
	KindReminderSent    EventKind = "reminder_sent"
	KindReminderSnoozed EventKind = "reminder_snoozed"
)

// ActionSnoozeReminder is the reminder's Snooze button; its value is the
// incident id.
const ActionSnoozeReminder = "snooze-reminder"

// OpReminder is the scheduled check that posts a reminder when one is due.
const OpReminder = "reminder.check"

// ReminderConfig sets when reminders and archiving happen.
type ReminderConfig struct {
	// Intervals is how long an open incident of each severity may go
	// without a status update; a missing or zero entry: no reminders.
	Intervals map[Severity]time.Duration
	// Snooze is how long the Snooze button postpones a reminder (default
	// 30 min).
	Snooze time.Duration
	// ArchiveAfter is how long after resolution the incident channel is
	// archived, with a closing message; 0: never.
	ArchiveAfter time.Duration
}

// DefaultReminderConfig is SEV1 every 30 min, SEV2 every hour, SEV3 and
// SEV4 never, and no archiving.
func DefaultReminderConfig() ReminderConfig {
	return ReminderConfig{Intervals: map[Severity]time.Duration{SEV1: 30 * time.Minute, SEV2: time.Hour}, Snooze: 30 * time.Minute}
}

// Reminders schedules status-update reminders and channel archiving.
type Reminders struct {
	svc *Service
	cfg ReminderConfig
}

// NewReminders returns the feature of reminders and archiving: an event
// hook that schedules them, the Snooze action, and the handlers of the
// scheduled checks (they need no chat: what they post, and the archive
// itself, go through the chat ops of ChatOps).
func NewReminders(cfg ReminderConfig) *Reminders {
	if cfg.Snooze <= 0 {
		cfg.Snooze = 30 * time.Minute
	}
	return &Reminders{cfg: cfg}
}

// Name implements Feature.
func (r *Reminders) Name() string { return "reminders" }

// Register implements Feature.
func (r *Reminders) Register(reg *Registry) {
	r.svc = reg.svc
	r.svc.updateInterval = r.interval // the default "next update by"
	reg.Hook(r.onEvent)
	reg.Action(ActionSnoozeReminder, r.snoozeAction)
	reg.Enqueues(OpReminder, OpArchiveCheck, OpArchive)
	reg.Deliver(OpReminder, r.check)
	reg.Deliver(OpArchiveCheck, r.archiveCheck)
}

// reminderPayload is what a scheduled check carries: the incident's last
// update mark when it was scheduled. An update after it makes the check moot.
type reminderPayload struct {
	Since time.Time `json:"since"`
}

func reminderKey(id int64) string { return fmt.Sprintf("reminder:%d", id) }

// interval is the reminder interval of sev (0: none).
func (r *Reminders) interval(sev Severity) time.Duration { return r.cfg.Intervals[sev] }

// lastUpdate is when the incident last told people where it stands: its
// last status update, or its declaration.
func lastUpdate(inc Incident) time.Time {
	if inc.LastUpdateAt.After(inc.DeclaredAt) {
		return inc.LastUpdateAt
	}
	return inc.DeclaredAt
}

// onEvent schedules (or reschedules) what an event makes due: a reminder
// when an incident opens, gets a status update, changes severity or is
// re-opened; an archive when it is resolved.
func (r *Reminders) onEvent(tx Tx, inc Incident, ev Event) error {
	if inc.Status == StatusResolved {
		if ev.Kind == KindStatusChanged && r.cfg.ArchiveAfter > 0 {
			return r.scheduleArchive(tx, inc)
		}
		return nil
	}
	since := lastUpdate(inc)
	switch ev.Kind {
	case KindDeclared, KindStatusUpdate, KindSeverityChanged:
	case KindStatusChanged, KindAcknowledged:
		if reopened, _ := ev.Data["reopened"].(bool); !reopened {
			return nil
		}
		// A re-opened incident owes an update from now, not from before it
		// was resolved.
		since = ev.RecordedAt
		inc.NextUpdateBy = time.Time{}
	default:
		return nil
	}
	at, ok := r.due(inc, since, ev.RecordedAt)
	if !ok {
		return nil // a check already scheduled finds nothing due and does nothing
	}
	return r.schedule(tx, inc.ID, since, at)
}

// due is when the next reminder of inc is due after now, counting from
// since (its last update): the time the last update promised the next
// one by, while it is ahead; else the severity's reminder grid (after a
// missed promise, from the promise). ok is false when nothing is due.
func (r *Reminders) due(inc Incident, since, now time.Time) (time.Time, bool) {
	every := r.interval(inc.Severity)
	anchor := since
	if promised := inc.NextUpdateBy; promised.After(since) {
		if promised.After(now) {
			return promised, true
		}
		anchor = promised
	}
	if every <= 0 {
		return time.Time{}, false
	}
	return nextDue(anchor, every, now), true
}

// nextDue is the first time after now on the reminder grid since + k*every
// (k >= 1). Keeping to the grid means a severity change or a restart after
// downtime does not set off a burst of reminders.
func nextDue(since time.Time, every time.Duration, now time.Time) time.Time {
	due := since.Add(every)
	if due.After(now) {
		return due
	}
	return since.Add((now.Sub(since)/every + 1) * every)
}

// schedule queues the reminder check of incident id at at, superseding any
// check still pending: only the newest schedule counts.
func (r *Reminders) schedule(tx Tx, id int64, since, at time.Time) error {
	d := mustDelivery(reminderKey(id), OpReminder, id, reminderPayload{Since: since})
	d.NextAttemptAt = at
	d.Coalesce = reminderKey(id)
	return tx.Enqueue(d)
}

// check runs when a reminder is due. It re-reads the incident and reminds
// only if it is still open, still has an interval and has had no update
// since the check was scheduled; then it schedules the next reminder. The
// reminder event is keyed by the entry, so a check repeated after a crash
// posts nothing twice.
func (r *Reminders) check(ctx context.Context, d Delivery) (any, error) {
	var p reminderPayload
	if err := json.Unmarshal(d.Payload, &p); err != nil {
		return nil, fmt.Errorf("decode reminder: %w", err)
	}
	err := r.svc.Update(ctx, func(tx Tx) error {
		inc, err := tx.Incident(d.IncidentID)
		if err != nil {
			return err
		}
		now := r.svc.now()
		if !inc.Open() || inc.LastUpdateAt.After(p.Since) {
			return nil
		}
		promised := inc.NextUpdateBy.After(p.Since)
		if promised && inc.NextUpdateBy.After(now) {
			return r.schedule(tx, inc.ID, p.Since, inc.NextUpdateBy) // not due yet: the update said when
		}
		if r.interval(inc.Severity) <= 0 && !promised {
			return nil
		}
		quiet := now.Sub(lastUpdate(inc)).Truncate(time.Minute)
		ev := Event{IncidentID: inc.ID, Kind: KindReminderSent, Actor: SystemActor, OccurredAt: now, RecordedAt: now,
			Text:     fmt.Sprintf("reminded %s to post a status update (none for %s)", mentionOr(inc.Commander, "the responders"), durationText(quiet)),
			Data:     map[string]any{"commander": inc.Commander, "quiet_minutes": int(quiet.Minutes())},
			DedupKey: fmt.Sprintf("reminder:%d", d.ID)}
		if added, err := tx.AppendEvent(&ev); err != nil || !added {
			return err
		}
		msg := ReminderMessage(inc, quiet, r.cfg.Snooze)
		if promised {
			msg.Text += fmt.Sprintf(" The last update said the next would come by %s.", r.svc.clock(inc.NextUpdateBy))
		}
		if err := tx.Enqueue(mustDelivery(incidentKey(inc.ID), OpPost, inc.ID, postPayload{Target: TargetIncident, Message: msg})); err != nil {
			return err
		}
		if at, ok := r.due(inc, p.Since, now); ok {
			return r.schedule(tx, inc.ID, p.Since, at)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("check reminder of %s: %w", IncidentKey(d.IncidentID), err)
	}
	return nil, nil
}

// ReminderMessage asks the commander for a status update, with Post update
// and Snooze buttons.
func ReminderMessage(inc Incident, quiet, snooze time.Duration) Message {
	id := strconv.FormatInt(inc.ID, 10)
	who := mentionOr(inc.Commander, "No one is commander yet; responders")
	return Message{
		Text: fmt.Sprintf("%s: %s (%s, %s) has had no status update for %s. Post one with the button or /incident update <text>.",
			who, inc.Key(), inc.Severity, inc.Status, durationText(quiet)),
		Actions: []Action{
			{ID: ActionPostUpdate, Label: "Post update", Value: id, Style: "primary"},
			{ID: ActionSnoozeReminder, Label: "Snooze " + durationText(snooze), Value: id},
		},
	}
}

// Snooze postpones the incident's next reminder to at least the snooze time
// from now (a reminder due later stays later) and records who did it. A
// resolved incident returns EINVALID.
func (r *Reminders) Snooze(ctx context.Context, actor string, id int64) (Incident, error) {
	return r.svc.change(ctx, id, func(tx Tx, inc *Incident, now time.Time) error {
		if !inc.Open() {
			return Errorf(EINVALID, "%s is resolved; there are no reminders to snooze", inc.Key())
		}
		until := now.Add(r.cfg.Snooze)
		if due, ok := r.due(*inc, lastUpdate(*inc), now); ok {
			until = later(until, due)
		}
		ev := Event{Kind: KindReminderSnoozed, Actor: actor,
			Text: fmt.Sprintf("snoozed status-update reminders for %s", durationText(r.cfg.Snooze)),
			Data: map[string]any{"until": until.Format(time.RFC3339)}}
		if err := appendAll(tx, inc.ID, now, ev); err != nil {
			return err
		}
		return r.schedule(tx, inc.ID, lastUpdate(*inc), until)
	})
}

func (r *Reminders) snoozeAction(ctx context.Context, a ActionInvocation) (Reply, error) {
	id, err := ActionIncident(a)
	if err != nil {
		return Reply{}, err
	}
	inc, err := r.Snooze(ctx, a.Actor, id)
	if err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("%s: reminders snoozed for %s", inc.Key(), durationText(r.cfg.Snooze)), Incident: inc}, nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// durationText renders a duration people read: "30 min", "2 h", "1 h 15 min".
func durationText(d time.Duration) string {
	d = d.Round(time.Minute)
	h, m := int(d.Hours()), int(d.Minutes())%60
	switch {
	case h == 0:
		return fmt.Sprintf("%d min", m)
	case m == 0:
		return fmt.Sprintf("%d h", h)
	}
	return fmt.Sprintf("%d h %d min", h, m)
}
