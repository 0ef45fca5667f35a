package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"
)

// DeliveryHandler carries out one outbox entry at a vendor. It returns a
// JSON-encodable result to keep, a *TemporaryError to be retried later, or
// any other error to give up on the entry.
type DeliveryHandler func(ctx context.Context, d Delivery) (any, error)

// DispatcherOptions tunes the Dispatcher; zero values take the defaults.
type DispatcherOptions struct {
	Workers int           // entries delivered at once (default 8)
	Poll    time.Duration // how often to look for due entries when not woken (default 1s)
	// AttemptTimeout is how long one attempt may take (default 30s, at
	// most half of DeliveryLease, so that a live claimer's lease never
	// lapses mid-attempt).
	AttemptTimeout time.Duration
	// Shared says other processes deliver from the same database (replicas
	// on PostgreSQL). Run then does not recover entries left sending at
	// start, as they may be a live replica's: a dead one's come back when
	// their lease lapses (DeliveryStore).
	Shared      bool
	BaseBackoff time.Duration // first retry delay (default 1s), doubled each attempt
	MaxBackoff  time.Duration // retry delay cap (default 30s)
	Now         func() time.Time
	Logger      *slog.Logger
	// OnFailure is told about entries given up on, to record them where
	// people will see them.
	OnFailure func(ctx context.Context, d Delivery, err error) error
	// Observe, when set, is told the outcome of each attempt once it is
	// recorded (sitrep_deliveries_total).
	Observe DeliveryObserver
}

// Dispatcher delivers the outbox: it claims due entries, hands each to the
// handler of its op, and records the outcome. Temporary failures are
// retried for as long as it takes; nothing is dropped. Entries of one key go
// one at a time, in order. The retry policy (README, "Delivery and
// retries"):
//   - held back by a rate limit (the vendor's 429, or the adapter's own
//     pacing): wait what it asked plus a little jitter; not a failed
//     attempt, so the backoff does not grow and recovery is not delayed;
//   - other temporary failures (5xx, timeouts): exponential backoff with
//     jitter from BaseBackoff, capped at MaxBackoff, or the vendor's
//     Retry-After when longer.
type Dispatcher struct {
	store    DeliveryStore
	opt      DispatcherOptions
	handlers map[string]DeliveryHandler
	wiring   wiring // who delivers and who enqueues each op (feature.go)
	wake     chan struct{}
}

// NewDispatcher returns a Dispatcher over store.
func NewDispatcher(store DeliveryStore, opt DispatcherOptions) *Dispatcher {
	if opt.Workers <= 0 {
		opt.Workers = 8
	}
	if opt.Poll <= 0 {
		opt.Poll = time.Second
	}
	if opt.AttemptTimeout <= 0 {
		opt.AttemptTimeout = 30 * time.Second
	}
	opt.AttemptTimeout = min(opt.AttemptTimeout, DeliveryLease/2)
	if opt.BaseBackoff <= 0 {
		opt.BaseBackoff = time.Second
	}
	if opt.MaxBackoff <= 0 {
		opt.MaxBackoff = 30 * time.Second
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return &Dispatcher{store: store, opt: opt, handlers: map[string]DeliveryHandler{}, wake: make(chan struct{}, 1)}
}

// Wake tells the dispatcher there may be new entries; it never blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run recovers entries left in flight by a dead process (unless Shared:
// with replicas, leases bring a dead one's entries back), then delivers
// until ctx is done. Attempts in flight when ctx ends are allowed to finish
// (each within AttemptTimeout), so a shutdown does not leave their outcome
// unknown.
//
// Storage failing does not stop it: recovering, claiming and recording an
// outcome are retried (with the backoff) until the store answers again, so
// it carries on by itself once the storage is fixed. It returns only when
// ctx is done.
func (d *Dispatcher) Run(ctx context.Context) error {
	var recovered int
	if !d.opt.Shared && !d.untilStored(ctx, "recover outbox entries left in flight", func() (err error) {
		recovered, err = d.store.RecoverDeliveries(ctx)
		return err
	}) {
		return nil
	}
	if recovered > 0 {
		d.opt.Logger.Warn("outbox entries were in flight when sitrep stopped; retrying them", "count", recovered)
	}
	slots := make(chan struct{}, d.opt.Workers)
	var inflight sync.WaitGroup
	defer inflight.Wait()
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		free := d.opt.Workers - len(slots)
		claimed := 0
		if free > 0 {
			batch, err := d.store.ClaimDeliveries(ctx, d.opt.Now(), free)
			if err != nil && ctx.Err() == nil {
				d.opt.Logger.Error("claim outbox entries", "err", err)
			}
			claimed = len(batch)
			for _, del := range batch {
				slots <- struct{}{}
				inflight.Add(1)
				go func() {
					defer inflight.Done()
					d.deliver(ctx, del)
					<-slots
					d.Wake()
				}()
			}
		}
		if claimed == free && free > 0 {
			continue // there may be more due right now
		}
		timer.Reset(d.opt.Poll)
		select {
		case <-ctx.Done():
			return nil
		case <-d.wake:
		case <-timer.C:
		}
	}
}

// Drain delivers, one round after another, everything due until nothing is
// due. It is for tests and command-line use, not alongside Run.
func (d *Dispatcher) Drain(ctx context.Context) error {
	for {
		batch, err := d.store.ClaimDeliveries(ctx, d.opt.Now(), d.opt.Workers)
		if err != nil {
			return fmt.Errorf("claim outbox entries: %w", err)
		}
		if len(batch) == 0 {
			return nil
		}
		var wg sync.WaitGroup
		for _, del := range batch {
			wg.Go(func() { d.deliver(ctx, del) })
		}
		wg.Wait()
	}
}

// deliver makes one attempt at one entry and records its outcome. The
// attempt runs to its end even when ctx ends (a shutdown must not leave its
// outcome unknown); recording the outcome is retried while the store fails,
// until ctx ends (then the entry stays sending and comes back, uncertain, at
// the next start).
func (d *Dispatcher) deliver(ctx context.Context, del Delivery) {
	log := d.opt.Logger.With("delivery", del.ID, "op", del.Op, "key", del.Key, "attempt", del.Attempts+1)
	h, ok := d.handlers[del.Op]
	var result any
	var err error
	if !ok {
		err = fmt.Errorf("no handler for outbox op %q", del.Op)
	} else {
		// The priority travels with the attempt: the adapter's pacing hands
		// out slots by it, and what the handler queues keeps it.
		actx, cancel := context.WithTimeout(WithDeliveryPriority(context.WithoutCancel(ctx), del.Priority), d.opt.AttemptTimeout)
		result, err = h(actx, del)
		cancel()
		if err != nil && errors.Is(err, context.DeadlineExceeded) {
			err = Temporary(err, 0)
		}
	}
	rctx := context.WithoutCancel(ctx)
	now := d.opt.Now()
	if err == nil {
		var raw []byte
		if result != nil {
			raw, _ = json.Marshal(result)
		}
		if d.untilStored(ctx, "record a delivery", func() error { return d.store.CompleteDelivery(rctx, del.ID, raw, now) }) {
			d.observe(del.Op, DeliveryDone)
		}
		return
	}
	var temp *TemporaryError
	if errors.As(err, &temp) && temp.RateLimited {
		next := now.Add(temp.RetryAfter + rateLimitJitter(temp.RetryAfter))
		log.Info("delivery held back by a rate limit; will retry", "err", err, "next_attempt", next)
		if d.untilStored(ctx, "record a delivery deferral", func() error { return d.store.DeferDelivery(rctx, del.ID, next, err.Error()) }) {
			d.observe(del.Op, DeliveryHeldBack)
		}
		return
	}
	if temp, after := IsTemporary(err); temp {
		next := now.Add(max(after, d.backoff(del.Attempts)))
		log.Warn("delivery failed; will retry", "err", err, "next_attempt", next)
		if d.untilStored(ctx, "record a delivery retry", func() error { return d.store.RetryDelivery(rctx, del.ID, next, err.Error()) }) {
			d.observe(del.Op, DeliveryRetried)
		}
		return
	}
	log.Error("delivery failed for good", "err", err)
	if !d.untilStored(ctx, "record a delivery failure", func() error { return d.store.FailDelivery(rctx, del.ID, err.Error(), now) }) {
		return
	}
	d.observe(del.Op, DeliveryGivenUp)
	if d.opt.OnFailure != nil {
		d.untilStored(ctx, "record a delivery failure on the timeline", func() error { return d.opt.OnFailure(rctx, del, err) })
	}
}

// observe tells the observer, if any, an attempt's recorded outcome.
func (d *Dispatcher) observe(op string, outcome DeliveryOutcome) {
	if d.opt.Observe != nil {
		d.opt.Observe(op, outcome)
	}
}

// storageRetryMax caps the wait between attempts at a store operation: the
// database is local and cheap to ask, recovery should show within seconds,
// and each failure keeps the store reporting not ready.
const storageRetryMax = 2 * time.Second

// untilStored runs a store operation until it succeeds, waiting the backoff
// between attempts while it fails with a temporary (storage) error; other
// errors are logged and given up on. It reports whether the operation
// succeeded; false also when ctx ended first.
func (d *Dispatcher) untilStored(ctx context.Context, what string, op func() error) bool {
	for attempt := 0; ; attempt++ {
		err := op()
		if err == nil {
			return true
		}
		if temp, _ := IsTemporary(err); !temp {
			d.opt.Logger.Error("outbox: "+what+" failed", "err", err)
			return false
		}
		d.opt.Logger.Warn("outbox: "+what+" failed; the storage is failing, retrying", "err", err)
		t := time.NewTimer(min(d.backoff(attempt), storageRetryMax))
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
	}
}

// backoff is the delay after the given number of earlier attempts:
// exponential with jitter, capped.
func (d *Dispatcher) backoff(attempts int) time.Duration {
	delay := d.opt.MaxBackoff
	if attempts < 20 {
		delay = min(d.opt.BaseBackoff<<attempts, d.opt.MaxBackoff)
	}
	return delay/2 + rand.N(delay/2+1)
}

// rateLimitJitter spreads the entries a rate limit held back over a tenth
// of the wait (at most a second), so they do not all return at once.
func rateLimitJitter(wait time.Duration) time.Duration {
	return rand.N(min(wait/10, time.Second) + 1)
}

// RecordDeliveryFailure is a Dispatcher OnFailure hook that puts a failed
// delivery on its incident's timeline, so a message that could not be sent
// is visible rather than silently missing, and tells the incident's channel
// once what could not be delivered and why. The notice is queued behind
// everything already queued; the entries of the key go on (a failed entry
// never blocks them). Nothing is noticed about a notice, nor where there is
// no channel to tell.
func (s *Service) RecordDeliveryFailure(ctx context.Context, d Delivery, cause error) error {
	ctx = automated(ctx) // what it queues goes after what people do
	if d.IncidentID == 0 {
		return nil
	}
	return s.store.Update(ctx, func(tx Tx) error {
		now := s.now()
		if err := appendAll(tx, d.IncidentID, now, Event{Kind: KindDeliveryFailed, Actor: SystemActor,
			Text: fmt.Sprintf("could not deliver %s: %v", d.Op, cause),
			Data: map[string]any{"delivery": d.ID, "op": d.Op}}); err != nil {
			return err
		}
		if d.Op == OpFailureNotice || d.Op == OpCreateChannel || errors.Is(cause, ErrNoChannel) {
			return nil
		}
		return tx.Enqueue(mustDelivery(incidentKey(d.IncidentID), OpFailureNotice, d.IncidentID,
			postPayload{Target: TargetIncident, Message: failureNotice(d, cause)}))
	})
}

// failureNotice is what the channel is told about an entry given up on.
func failureNotice(d Delivery, cause error) Message {
	why := cause.Error()
	if r := []rune(why); len(r) > maxNoticeCause {
		why = string(r[:maxNoticeCause]) + "…(cut)"
	}
	return Message{Text: fmt.Sprintf(":warning: sitrep could not deliver %s here and gave up on it: %s. "+
		"Everything after it is delivered as usual; the incident timeline records the failure.", describeOp(d.Op), why)}
}

// maxNoticeCause bounds the error quoted in a failure notice.
const maxNoticeCause = 500

// describeOp names what an outbox op delivers, for people.
func describeOp(op string) string {
	switch op {
	case OpPostCard:
		return "the incident card"
	case OpRefreshCard:
		return "a redraw of the incident card"
	case OpPin:
		return "the pin of the incident card"
	case OpSetTopic:
		return "the channel topic"
	case OpInvite:
		return "an invitation"
	case OpPost:
		return "a message"
	case OpAnnounce:
		return "the incident's announcement"
	}
	return "an outbox entry (" + op + ")"
}
