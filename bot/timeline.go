package bot

import "time"

// EventKind names what a timeline event records.
type EventKind string

const (
	KindAlertFired      EventKind = "alert_fired"
	KindAlertResolved   EventKind = "alert_resolved"
	KindDeclared        EventKind = "declared"
	KindAcknowledged    EventKind = "acknowledged"
	KindStatusChanged   EventKind = "status_changed"
	KindSeverityChanged EventKind = "severity_changed"
	KindRoleAssigned    EventKind = "role_assigned"
	KindNote            EventKind = "note"
	KindStatusUpdate    EventKind = "status_update"
	KindResponderJoined EventKind = "responder_joined"
	KindMessagePinned   EventKind = "message_pinned"
	KindChannelCreated  EventKind = "channel_created"
	KindDeliveryFailed  EventKind = "delivery_failed"
	KindEventCorrected  EventKind = "event_corrected" // corrections.go: the audit of a correction
	KindOffChat         EventKind = "off_chat"        // something that happened elsewhere, added with its real time
)

// SystemActor is the actor of events the bot itself causes.
const SystemActor = "system"

// Event is one append-only timeline entry.
type Event struct {
	ID         int64
	IncidentID int64
	OccurredAt time.Time // when it happened, from the source where known
	RecordedAt time.Time // when sitrep stored it
	Kind       EventKind
	Actor      string // a chat user id, SystemActor, or the alert source
	Text       string
	Data       map[string]any // structured detail, JSON-encodable
	SourceURL  string         // a link to where it happened (permalink, alert URL)
	// DedupKey, when set, makes the event idempotent: a second event with the
	// same key on the same incident is not stored.
	DedupKey string
	// Hidden marks an event a person has hidden as a mistake (corrections.go):
	// it stays in the record, shown struck through, and the postmortem leaves
	// it out.
	Hidden bool
}
