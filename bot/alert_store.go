package bot

import (
	"context"
	"time"
)

// AlertTx is the write side of what the alert sources (PagerDuty,
// Alertmanager), triage and alert summaries keep beside the core tables.
// Webhook delivery ids are marked with ChatEventTx.MarkChatEvent, whose
// table keeps any source's delivery ids.
type AlertTx interface {
	// LatestIncidentByDedupKey finds the newest incident, open or resolved,
	// opened for a source's key; ENOTFOUND when there is none.
	LatestIncidentByDedupKey(source, key string) (Incident, error)
	// OpenIncidentByLabel finds the oldest open incident whose labels have
	// name = value (any source); ENOTFOUND when there is none. name is a
	// label name (ValidLabelName). Callers asking for the same name and
	// value are serialized until their transactions end, in every process
	// on the database, so two concurrent transactions never both miss and
	// both open an incident for it (the attach-by-label policy relies on
	// this).
	OpenIncidentByLabel(name, value string) (Incident, error)
	// AlertTriage returns an incident's triage record; ENOTFOUND when the
	// incident never went to triage.
	AlertTriage(incidentID int64) (Triage, error)
	// SaveAlertTriage creates or replaces an incident's triage record.
	SaveAlertTriage(t Triage) error
	// SetAlertSummaryRef records where an incident's alert summary message is.
	SetAlertSummaryRef(incidentID int64, ref MessageRef) error
	// PendingCoalesced reports whether an outbox entry with this Coalesce
	// value is waiting to be delivered.
	PendingCoalesced(coalesce string) (bool, error)
}

// AlertStore is the read side of AlertTx, for outbox handlers.
type AlertStore interface {
	AlertTriage(ctx context.Context, incidentID int64) (Triage, error)
	// AlertSummaryRef returns the incident's alert summary message; a zero
	// ref when none is posted yet.
	AlertSummaryRef(ctx context.Context, incidentID int64) (MessageRef, error)
	// AlertCounts counts the alert events on an incident's timeline.
	AlertCounts(ctx context.Context, incidentID int64) (AlertCounts, error)
}

// AlertCounts sums up the alerts recorded on an incident.
type AlertCounts struct {
	Fired     int       // alert_fired events
	Resolved  int       // alert_resolved events
	FirstAt   time.Time // the earliest alert event (occurred time)
	LastAt    time.Time // the latest alert event (occurred time)
	LastTitle string    // the text of the latest alert event
}
