package bot

import (
	"context"
	"fmt"
	"maps"
	"strings"
	"time"
)

// Alert is one notification from monitoring, already verified and
// translated from the vendor's format by the edge.
type Alert struct {
	Source      string // "webhook", "pagerduty", "alertmanager"
	DedupKey    string // the source's grouping key; empty: never deduplicated
	Title       string
	Description string
	Severity    Severity // 0: the default
	Firing      bool     // false: the alert has resolved
	OccurredAt  time.Time
	// reportedAt is the source's time when it was out of range and
	// OccurredAt was clamped (ingest sets it).
	reportedAt  time.Time
	Labels      map[string]string
	Annotations map[string]string
	URL         string
	// EventID, when set, identifies this notification at the source, so a
	// redelivery is recorded once.
	EventID string
}

// AlertOutcome says what an alert did.
type AlertOutcome struct {
	Incident Incident
	Opened   bool   // a new incident was opened
	Recorded bool   // an event was added to the timeline (false: a redelivery)
	Ignored  string // why nothing was done, when nothing was
}

// IngestAlert opens an incident for a firing alert with a new dedup key, or
// records the alert on the incident already open for that key. A resolved
// alert records its end. One open incident per (source, dedup key) is
// enforced by the store, so concurrent deliveries of one alert open one
// incident.
func (s *Service) IngestAlert(ctx context.Context, a Alert) (AlertOutcome, error) {
	ctx = automated(ctx) // what it queues goes after what people do
	if err := validateAlert(&a); err != nil {
		return AlertOutcome{}, err
	}
	return updateAttaching(ctx, s, func(tx Tx, out *AlertOutcome) error { return s.ingest(tx, a, out) })
}

// updateAttaching runs change in a write transaction and returns the
// outcome of the attempt that committed: the store may run a change again
// (bot.Store.Update), so each attempt starts from an empty outcome. A
// conflict means another writer opened the incident between this change's
// read and its insert; the second pass finds and attaches to it.
func updateAttaching[T any](ctx context.Context, s *Service, change func(tx Tx, out *T) error) (T, error) {
	var out T
	var err error
	for range 2 {
		err = s.update(ctx, func(tx Tx) error {
			var empty T
			out = empty
			return change(tx, &out)
		})
		if ErrorCode(err) != ECONFLICT {
			break
		}
	}
	return out, err
}

// ValidLabelName reports whether name can name a label in a policy:
// Prometheus's label names (letters, digits, underscores, not starting
// with a digit), and the dots and dashes of PagerDuty's
// ("pagerduty.service"). At most 100 characters.
func ValidLabelName(name string) bool {
	if name == "" || len(name) > 100 || (name[0] >= '0' && name[0] <= '9') {
		return false
	}
	for _, c := range []byte(name) {
		ok := c == '_' || c == '.' || c == '-' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
		if !ok {
			return false
		}
	}
	return true
}

func validateAlert(a *Alert) error {
	a.Title = strings.TrimSpace(a.Title)
	if a.Title == "" {
		return FieldErrorf("title", "an alert needs a title")
	}
	if a.Source == "" {
		return FieldErrorf("source", "an alert needs a source")
	}
	if a.Severity != 0 && !a.Severity.Valid() {
		return FieldErrorf("severity", "use SEV1 to SEV4")
	}
	return checkAlertBounds(a)
}

func (s *Service) ingest(tx Tx, a Alert, out *AlertOutcome) error {
	now := s.now()
	at, clamped := sourceClock(a.OccurredAt, Incident{}, now)
	if clamped { // a source clock ahead of ours: the alert cannot have fired in the future
		a.reportedAt = a.OccurredAt
	}
	var inc Incident
	var err error
	if a.DedupKey != "" {
		inc, err = tx.OpenIncidentByDedupKey(a.Source, a.DedupKey)
		if err != nil && ErrorCode(err) != ENOTFOUND {
			return err
		}
	}
	attached := ""
	if inc.ID == 0 {
		if inc, attached, err = s.attachByLabel(tx, a); err != nil {
			return err
		}
	}
	if inc.ID == 0 {
		if !a.Firing {
			out.Ignored = "no open incident for this alert"
			return nil
		}
		return s.openFromAlert(tx, a, at, now, out)
	}
	kind, verb := KindAlertFired, "fired"
	if !a.Firing {
		kind, verb = KindAlertResolved, "resolved"
	}
	ev := alertEvent(a, kind, verb, at, now)
	ev.IncidentID = inc.ID
	if attached != "" {
		ev.Data["attached_by"] = attached
		ev.Text += fmt.Sprintf(" (attached: same %s=%q as this incident; its own key is %q)", attached, a.Labels[attached], a.DedupKey)
	}
	ok, err := tx.AppendEvent(&ev)
	if err != nil {
		return fmt.Errorf("record alert on %s: %w", inc.Key(), err)
	}
	out.Incident, out.Recorded = inc, ok
	if !ok {
		return nil
	}
	return s.alertRecorded(tx, inc)
}

// attachByLabel applies the attach-by-label policy (AlertingConfig.
// AttachByLabel) to an alert whose dedup key has no open incident: the open
// incident sharing its value of the label, and the label's name; none when
// the policy is off, the alert lacks the label or no incident has it. An
// alert without a dedup key is never attached (it is never deduplicated
// either).
func (s *Service) attachByLabel(tx Tx, a Alert) (Incident, string, error) {
	name := s.alerts.cfg.AttachByLabel
	value := a.Labels[name]
	if name == "" || value == "" || a.DedupKey == "" {
		return Incident{}, "", nil
	}
	inc, err := tx.OpenIncidentByLabel(name, value)
	if ErrorCode(err) == ENOTFOUND {
		return Incident{}, "", nil
	}
	if err != nil {
		return Incident{}, "", fmt.Errorf("attach by label %s: %w", name, err)
	}
	return inc, name, nil
}

func (s *Service) openFromAlert(tx Tx, a Alert, at, now time.Time, out *AlertOutcome) error {
	sev := a.Severity
	if sev == 0 {
		sev = s.cfg.DefaultSeverity
	}
	inc := Incident{
		Title: a.Title, Description: a.Description, Severity: sev, Status: StatusTriggered,
		Source: a.Source, DedupKey: a.DedupKey, SourceURL: a.URL, Labels: maps.Clone(a.Labels),
		DetectedAt: at, DeclaredAt: now, UpdatedAt: now,
	}
	if err := tx.CreateIncident(&inc); err != nil {
		return err
	}
	fired := alertEvent(a, KindAlertFired, "fired", at, now)
	fired.IncidentID = inc.ID
	if _, err := tx.AppendEvent(&fired); err != nil {
		return fmt.Errorf("record alert on %s: %w", inc.Key(), err)
	}
	declared := Event{Kind: KindDeclared, Actor: AlertActor(a.Source),
		Text: fmt.Sprintf("declared %s %s from a %s alert: %s", inc.Key(), sev, a.Source, a.Title)}
	if err := appendAll(tx, inc.ID, now, declared); err != nil {
		return err
	}
	out.Incident, out.Opened, out.Recorded = inc, true, true
	return s.openAlertIncident(tx, inc)
}

func alertEvent(a Alert, kind EventKind, verb string, at, now time.Time) Event {
	data := map[string]any{"source": a.Source, "dedup_key": a.DedupKey}
	if len(a.Labels) > 0 {
		data["labels"] = a.Labels
	}
	if len(a.Annotations) > 0 {
		data["annotations"] = a.Annotations
	}
	dedup := ""
	if a.EventID != "" {
		dedup = "alert:" + a.EventID
	}
	text := fmt.Sprintf("alert %s: %s", verb, a.Title)
	if !a.reportedAt.IsZero() {
		data["reported_at"] = a.reportedAt.UTC().Format(time.RFC3339)
		text += fmt.Sprintf(" (the source's time %s was in the future; recorded at %s)",
			a.reportedAt.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	}
	return Event{
		Kind: kind, Actor: AlertActor(a.Source), OccurredAt: at, RecordedAt: now,
		Text: text, Data: data, SourceURL: a.URL, DedupKey: dedup,
	}
}
