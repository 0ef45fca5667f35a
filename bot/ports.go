package bot

import (
	"context"
	"time"
)

// Store keeps incidents, their timelines and the outbox. Implementations
// return *Error with ENOTFOUND for missing things and ECONFLICT for
// uniqueness violations.
//
// The guarantees below hold for any number of handles on one database, in
// one process or in several (replicas; a process and its restart): the
// domain relies on nothing that holds only for one writer in one process.
// internal/storetest checks them on every implementation.
//
//   - Atomicity: a change, the timeline events it appends and the outbox
//     entries it enqueues commit together in one Update, or none of them do.
//     So a committed state change always has its announcement queued.
//   - Uniqueness is enforced by the database, also between concurrent
//     transactions of different processes: one open incident per (source,
//     dedup key) (CreateIncident), one timeline event per (incident, dedup
//     key) (AppendEvent), one mark per (source, delivery id)
//     (ChatEventTx.MarkChatEvent), and a run changes state once per
//     transition (RunbookTx.UpdateRunbookRun is a compare-and-set on the
//     committed state: one run per approval, one approval per click).
//   - Isolation of read-modify-write: what fn reads through tx and then
//     changes (an incident read with tx.Incident and saved with
//     UpdateIncident) was not changed by another transaction in between;
//     a concurrent change makes one of them wait, or run its fn again,
//     never overwrite what the other committed.
//   - Durability and visibility: once Update returns nil, every handle on
//     the database, in any process, reads the change, and it survives a
//     restart.
//   - The outbox: see DeliveryStore.
//
// Not guaranteed, so not relied on: that Updates of different processes run
// one after another (an empty Update waits for nothing but this handle's
// own work), that a read outside Update sees a change another process is
// committing, or anything a process remembers in memory about the outbox
// (another replica may have delivered an entry a moment ago: ask the store).
type Store interface {
	// Update runs fn in one write transaction: everything fn does through tx
	// commits together or not at all. fn must not call vendors and must
	// have no effect outside tx: an implementation may run it again after a
	// failed attempt (a conflict, a busy database), discarding what the
	// earlier attempt did.
	Update(ctx context.Context, fn func(tx Tx) error) error

	Incident(ctx context.Context, id int64) (Incident, error)
	IncidentByChannel(ctx context.Context, channelID string) (Incident, error)
	Incidents(ctx context.Context, f IncidentFilter) ([]Incident, error)
	Timeline(ctx context.Context, incidentID int64) ([]Event, error)

	DeliveryStore
	RunbookStore
	PostmortemStore // postmortem.go: follow-ups, impact anchors, export records
	AlertStore      // alert_store.go: triage, alert summaries
	MetricsStore    // observer.go: what a metrics scrape reads
}

// IncidentFilter selects incidents. The zero value selects open incidents.
type IncidentFilter struct {
	// ResolvedSince also includes incidents resolved at or after this time;
	// the zero time includes no resolved ones, unless All is set.
	ResolvedSince time.Time
	All           bool
	Limit         int
	// NewestFirst orders by id, newest first, instead of open incidents
	// first; with Before set, only incidents with a smaller id are listed
	// (a keyset cursor: pages stay stable while incidents are opened).
	NewestFirst bool
	Before      int64
}

// Tx is the write side of the store inside one transaction.
type Tx interface {
	Incident(id int64) (Incident, error)
	// OpenIncidentByDedupKey finds the open incident for a source's key.
	OpenIncidentByDedupKey(source, key string) (Incident, error)
	// CreateIncident stores a new incident and sets its ID. It returns
	// ECONFLICT when an open incident has the same (source, dedup key),
	// also when that incident was opened by a concurrent transaction of
	// another process (the database enforces it; callers retry and attach).
	CreateIncident(inc *Incident) error
	UpdateIncident(inc Incident) error
	// AppendEvent stores ev and sets its ID. It reports false, and stores
	// nothing, when ev.DedupKey is already on the incident's timeline,
	// whichever process put it there.
	AppendEvent(ev *Event) (bool, error)
	// Enqueue adds an outbox entry. With d.Coalesce set it first supersedes
	// the pending entries with the same Coalesce value, in the same
	// transaction. It stores d.Priority and raises the unfinished entries
	// of d.Key to it when theirs is lower (see DeliveryStore).
	Enqueue(d Delivery) error

	RunbookTx
	ChatEventTx // chat_events.go: delivery dedup, pinned-message updates
	PostmortemTx
	AlertTx      // alert_store.go: webhook delivery dedup, triage, alert summaries
	CorrectionTx // corrections.go: event times and hidden marks
}

// DeliveryStore is the outbox side of the store, used by the Dispatcher.
//
// Claims are exclusive and keep per-key order across every handle on the
// database, in any process: an entry is returned by one ClaimDeliveries
// call only (concurrent claimers, here or in other replicas, get other
// entries or none), and no entry is claimed while an older entry of its key
// is pending or sending, so one key (one channel) is delivered in order
// however many dispatchers claim. An entry is delivered once unless its
// claimer died mid-delivery; then it comes back Uncertain and the handler
// checks before repeating (MessageFinder).
//
// Claims go by priority (Delivery.Priority, higher first), then by how long
// the entry has been due (NextAttemptAt, then ID): among the entries that
// may be claimed, no lower-priority one is returned while a higher-priority
// one is left, whatever their due times (an entry deferred by a rate limit
// and due again does not overtake one of higher priority). Per-key order
// comes first: Enqueue raises every unfinished entry of the key to the new
// entry's priority when it is lower, so a high-priority entry never waits
// behind a low-priority head of its key. Priority orders claims only; it
// never makes an entry due earlier.
//
// A claim is a lease of DeliveryLease (a store may be set shorter for
// tests): it holds until the claimer completes, retries, defers or fails the
// entry, or until the lease lapses. A claim after an entry's lease ended
// takes the entry over (it is still sending, so its claimer died: a live one
// finishes each attempt within half a lease, see
// DispatcherOptions.AttemptTimeout): the entry is pending again, marked
// Uncertain, and claimed like any other, once. Before its lease ends nothing
// takes an entry, however many claimers ask. So an entry left sending by a
// replica that died comes back by itself; RecoverDeliveries is only the
// faster way back for a single process's restart. Leases go by real time on
// the store's clock (PostgreSQL's server clock; the process's for SQLite),
// never by the claim's now, which may be a fake or a skewed clock.
type DeliveryStore interface {
	// ClaimDeliveries marks as sending, each with a lease, and returns up to
	// limit pending entries that are due at now and are the oldest
	// unfinished entry of their key, exclusively (see above). Entries whose
	// lease has ended are made pending again, Uncertain, first.
	ClaimDeliveries(ctx context.Context, now time.Time, limit int) ([]Delivery, error)
	CompleteDelivery(ctx context.Context, id int64, result []byte, at time.Time) error
	RetryDelivery(ctx context.Context, id int64, next time.Time, lastErr string) error
	// DeferDelivery puts an entry back to wait until next without counting
	// an attempt (it was held back by a rate limit, not failed).
	DeferDelivery(ctx context.Context, id int64, next time.Time, lastErr string) error
	FailDelivery(ctx context.Context, id int64, lastErr string, at time.Time) error
	// RecoverDeliveries returns every entry left sending to pending, marked
	// Uncertain, and returns how many it recovered, leases or not. It cannot
	// tell an entry of a dead process from one a live process is
	// delivering, so it is only for a start while no other process delivers
	// from the database (one serve process, SQLite's); with live replicas it
	// would make their in-flight entries deliverable twice (replicas leave
	// it to the leases: DispatcherOptions.Shared).
	RecoverDeliveries(ctx context.Context) (int, error)
}

// DeliveryLease is how long a claim of an outbox entry holds (see
// DeliveryStore): long enough for any attempt (the Dispatcher keeps each
// within half of it), short enough that a dead replica's entries, and the
// keys waiting behind them, are delivered again within minutes.
const DeliveryLease = 2 * time.Minute

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

// ChannelFinder is an optional Chat capability: find a channel of the given
// name that the bot itself created and that is not archived. The outbox
// asks when creating an incident's channel finds its name taken: an earlier
// attempt may have created the channel while its answer (a timeout) or its
// record (a storage failure) was lost; that channel is adopted rather than
// a second one created under a suffix.
type ChannelFinder interface {
	FindOwnChannel(ctx context.Context, name string) (ChannelRef, bool, error)
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

// ChannelMembers answers who is in a chat channel, for private incidents.
// An answer may come from the adapter's cache, but only while it is fresh
// (under a minute old): a person removed from a channel loses access within
// that time. An error means the chat could not be asked, and the caller
// refuses (fails closed).
type ChannelMembers interface {
	IsChannelMember(ctx context.Context, channelID, userID string) (bool, error)
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
