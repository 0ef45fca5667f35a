package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// DeliveryState is where an outbox entry is in its delivery.
type DeliveryState string

const (
	DeliveryPending    DeliveryState = "pending"    // waiting for its turn or its next attempt
	DeliverySending    DeliveryState = "sending"    // handed to the adapter; outcome not yet known
	DeliveryDelivered  DeliveryState = "delivered"  // done
	DeliveryFailed     DeliveryState = "failed"     // gave up: the vendor said no for good
	DeliverySuperseded DeliveryState = "superseded" // a newer entry makes it pointless (a card refresh)
)

// Delivery is one outbox entry: something the bot will do at a vendor (post a
// message, create a channel, acknowledge a page) after the change that caused
// it has committed. Entries with the same Key are delivered one at a time in
// ID order; entries with different keys go in parallel, the higher Priority
// first (see DeliveryStore).
type Delivery struct {
	ID            int64
	Key           string // ordering key, e.g. "incident:3" or "channel:C123"
	Op            string // which handler delivers it
	IncidentID    int64  // 0 when not about an incident
	Payload       json.RawMessage
	State         DeliveryState
	Attempts      int
	NextAttemptAt time.Time
	LastError     string
	CreatedAt     time.Time
	DeliveredAt   time.Time
	Result        json.RawMessage
	// Uncertain is set when an earlier attempt was in flight when the process
	// died: the vendor may already have done it, so a handler that can check
	// (look for its own message) should do so before doing it again.
	Uncertain bool
	// Coalesce, when set, supersedes every older pending entry with the same
	// Coalesce value when this one is enqueued (only the newest card refresh
	// matters).
	Coalesce string
	// Priority orders entries of different keys: higher goes first (claims,
	// and the adapters' pacing). The Service sets it at enqueue from who
	// caused the change and the incident's severity (DeliveryPriority).
	Priority int
}

// DeliveryPriority is the priority of an entry caused by a person (human)
// or by automation (alerts, reminders, summaries) about an incident of
// severity sev (0: not about an incident). What a person does goes before
// anything automation does; within each, the more severe incident first:
// a person's SEV4 outranks an alert's SEV1, because the person is waiting
// for the answer and the alert's channel is not read yet.
func DeliveryPriority(human bool, sev Severity) int {
	p := 0
	if sev.Valid() {
		p = 5 - int(sev) // SEV1 4 … SEV4 1
	}
	if human {
		p += humanPriority
	}
	return p
}

// humanPriority lifts every entry a person caused above every entry
// automation caused (severities add at most 4).
const humanPriority = 10

// deliveryPriorityKey carries the priority of the entry an attempt
// delivers in the attempt's context.
type deliveryPriorityKey struct{}

// WithDeliveryPriority returns ctx carrying the priority of the entry being
// delivered, for adapters whose pacing hands out slots by priority.
func WithDeliveryPriority(ctx context.Context, priority int) context.Context {
	return context.WithValue(ctx, deliveryPriorityKey{}, priority)
}

// DeliveryPriorityOf is the priority WithDeliveryPriority put in ctx; ok is
// false for a call made outside the outbox.
func DeliveryPriorityOf(ctx context.Context) (priority int, ok bool) {
	priority, ok = ctx.Value(deliveryPriorityKey{}).(int)
	return priority, ok
}

// NewDelivery builds an outbox entry whose payload is v encoded as JSON.
func NewDelivery(key, op string, incidentID int64, v any) (Delivery, error) {
	payload, err := json.Marshal(v)
	if err != nil {
		return Delivery{}, fmt.Errorf("encode %s payload: %w", op, err)
	}
	return Delivery{Key: key, Op: op, IncidentID: incidentID, Payload: payload}, nil
}

// SkippedDelivery is the result a handler keeps for an entry it finished
// without doing anything, because what it depended on failed for good (a
// redraw of a card that was never posted): the entry is done, so the
// entries behind it on its key go on, and Reason says why nothing was done.
type SkippedDelivery struct {
	Reason string `json:"skipped"`
}

// TemporaryError marks a delivery failure worth retrying (a timeout, a 5xx, a
// rate limit). RetryAfter, when positive, is how long the vendor asked us to
// wait.
type TemporaryError struct {
	Err        error
	RetryAfter time.Duration
	// RateLimited is set when the call was held back by a rate limit (the
	// vendor's 429, or sitrep's own pacing) rather than failed: the entry
	// waits RetryAfter and its backoff does not grow.
	RateLimited bool
}

func (e *TemporaryError) Error() string {
	if e.RetryAfter > 0 {
		return fmt.Sprintf("%v (retry after %s)", e.Err, e.RetryAfter)
	}
	return e.Err.Error()
}

func (e *TemporaryError) Unwrap() error { return e.Err }

// Temporary wraps err as a *TemporaryError.
func Temporary(err error, retryAfter time.Duration) error {
	return &TemporaryError{Err: err, RetryAfter: retryAfter}
}

// RateLimited wraps err as a *TemporaryError for a call held back by a rate
// limit for retryAfter: a wait, not a failed attempt.
func RateLimited(err error, retryAfter time.Duration) error {
	return &TemporaryError{Err: err, RetryAfter: retryAfter, RateLimited: true}
}

// IsTemporary reports whether err is worth retrying and how long to wait at
// least (0: use the backoff). A storage failure (EUNAVAILABLE) is
// temporary: what failed to be recorded is tried again.
func IsTemporary(err error) (bool, time.Duration) {
	var t *TemporaryError
	if errors.As(err, &t) {
		return true, t.RetryAfter
	}
	return ErrorCode(err) == EUNAVAILABLE, 0
}
