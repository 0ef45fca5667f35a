package bot

import (
	"context"
	"time"
)

// Store keeps incidents, their timelines and the outbox. Implementations
// return *Error with ENOTFOUND for missing things and ECONFLICT for
// uniqueness violations.
type Store interface {
	// Update runs fn in one write transaction: everything fn does through tx
	// commits together or not at all. fn must not call vendors.
	Update(ctx context.Context, fn func(tx Tx) error) error

	Incident(ctx context.Context, id int64) (Incident, error)
	IncidentByChannel(ctx context.Context, channelID string) (Incident, error)
	Incidents(ctx context.Context, f IncidentFilter) ([]Incident, error)
	Timeline(ctx context.Context, incidentID int64) ([]Event, error)

	DeliveryStore
	RunbookStore
	PostmortemStore // postmortem.go: follow-ups, impact anchors, export records
	AlertStore      // alert_store.go: triage, alert summaries
}

// IncidentFilter selects incidents. The zero value selects open incidents.
type IncidentFilter struct {
	// ResolvedSince also includes incidents resolved at or after this time;
	// the zero time includes no resolved ones, unless All is set.
	ResolvedSince time.Time
	All           bool
	Limit         int
}

// Tx is the write side of the store inside one transaction.
type Tx interface {
	Incident(id int64) (Incident, error)
	// OpenIncidentByDedupKey finds the open incident for a source's key.
	OpenIncidentByDedupKey(source, key string) (Incident, error)
	// CreateIncident stores a new incident and sets its ID. It returns
	// ECONFLICT when an open incident has the same (source, dedup key).
	CreateIncident(inc *Incident) error
	UpdateIncident(inc Incident) error
	// AppendEvent stores ev and sets its ID. It reports false, and stores
	// nothing, when ev.DedupKey is already on the incident's timeline.
	AppendEvent(ev *Event) (bool, error)
	// Enqueue adds an outbox entry.
	Enqueue(d Delivery) error

	RunbookTx
	ChatEventTx // chat_events.go: delivery dedup, pinned-message updates
	PostmortemTx
	AlertTx // alert_store.go: webhook delivery dedup, triage, alert summaries
}

// DeliveryStore is the outbox side of the store, used by the Dispatcher.
type DeliveryStore interface {
	// ClaimDeliveries marks as sending, and returns, up to limit pending
	// entries that are due at now and are the oldest unfinished entry of
	// their key.
	ClaimDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error)
	CompleteDelivery(ctx context.Context, id int64, result []byte, at time.Time) error
	RetryDelivery(ctx context.Context, id int64, next time.Time, lastErr string) error
	// DeferDelivery puts an entry back to wait until next without counting
	// an attempt (it was held back by a rate limit, not failed).
	DeferDelivery(ctx context.Context, id int64, next time.Time, lastErr string) error
	FailDelivery(ctx context.Context, id int64, lastErr string, at time.Time) error
	// RecoverDeliveries returns entries left sending by a process that died
	// to pending, marked Uncertain. It returns how many it recovered.
	RecoverDeliveries(ctx context.Context) (int, error)
}

// ChannelSpec describes a channel to create.
type ChannelSpec struct {
	Name    string
	Private bool
}

// ChannelRef identifies a created channel.
type ChannelRef struct {
	ID   string
	Name string
}

// MessageRef identifies a posted message.
type MessageRef struct {
	ChannelID string
	TS        string
}

// Chat is what the bot needs from a chat system. Adapters return
// ECONFLICT from CreateChannel when the name is taken, and a
// *TemporaryError for failures worth retrying.
type Chat interface {
	CreateChannel(ctx context.Context, spec ChannelSpec) (ChannelRef, error)
	Post(ctx context.Context, channelID string, msg Message) (MessageRef, error)
	Update(ctx context.Context, ref MessageRef, msg Message) error
	SetTopic(ctx context.Context, channelID, topic string) error
	Invite(ctx context.Context, channelID string, userIDs []string) error
	Pin(ctx context.Context, ref MessageRef) error
	Archive(ctx context.Context, channelID string) error
	// Upload posts a file (a drafted postmortem) in a channel.
	Upload(ctx context.Context, channelID string, f File) (MessageRef, error)
}

// MessageFinder is an optional Chat capability: find a message the bot
// posted with the given Message.Tag. The outbox uses it before repeating a
// post whose earlier attempt was in flight when the process died, so the
// message is not posted twice.
type MessageFinder interface {
	FindTagged(ctx context.Context, channelID, tag string) (MessageRef, bool, error)
}

// File is a document the bot shares in chat.
type File struct {
	Name    string // e.g. "INC-3-postmortem.md"
	Title   string
	Content []byte
}

// ChatUser is a person in the chat system.
type ChatUser struct {
	ID       string
	Name     string // handle
	RealName string // display name, for documents people read
	Email    string
}

// Directory looks people up in the chat system. Implementations cache what
// they look up, by id: listing users or channels is slow and rate-limited in
// big workspaces, so it is never done on a hot path. Lookups that find no one
// return ENOTFOUND.
type Directory interface {
	User(ctx context.Context, id string) (ChatUser, error)
	UserByEmail(ctx context.Context, email string) (ChatUser, error)
	// GroupMembers returns the user ids in a user group (Slack's S… ids).
	GroupMembers(ctx context.Context, groupID string) ([]string, error)
}

// Message is what the bot says, in chat-neutral form: adapters render it
// (Block Kit in Slack, plain lines in the console).
type Message struct {
	Text    string   // the whole message as plain text; also the fallback
	Title   string   // an optional heading
	Fields  []Field  // labelled facts, shown as a grid
	Actions []Action // buttons
	// Tag identifies the delivery that posted it, so an adapter can find its
	// own message after a crash instead of posting twice.
	Tag string
}

// Field is one labelled fact on a message.
type Field struct {
	Label string
	Value string
}

// Action is a button. ID is a neutral action name ("acknowledge",
// "resolve"); Value carries its argument (the incident id).
type Action struct {
	ID      string
	Label   string
	Value   string
	Style   string // "", "primary" or "danger"
	Confirm string // when set, ask this question before acting
}
