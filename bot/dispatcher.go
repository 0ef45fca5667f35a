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
	Workers        int           // entries delivered at once (default 8)
	Poll           time.Duration // how often to look for due entries when not woken (default 1s)
	AttemptTimeout time.Duration // how long one attempt may take (default 30s)
	BaseBackoff    time.Duration // first retry delay (default 1s), doubled each attempt
	MaxBackoff     time.Duration // retry delay cap (default 30s)
	Now            func() time.Time
	Logger         *slog.Logger
	// OnFailure is told about entries given up on, to record them where
	// people will see them.
	OnFailure func(ctx context.Context, d Delivery, err error) error
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

// Handle registers the handlers of ops, keyed by op.
func (d *Dispatcher) Handle(handlers map[string]DeliveryHandler) {
	for op, h := range handlers {
		d.handlers[op] = h
	}
}

// Wake tells the dispatcher there may be new entries; it never blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run recovers entries left in flight by a dead process, then delivers until
// ctx is done. Attempts in flight when ctx ends are allowed to finish (each
// within AttemptTimeout), so a shutdown does not leave their outcome unknown.
func (d *Dispatcher) Run(ctx context.Context) error {
	if n, err := d.store.RecoverDeliveries(ctx); err != nil {
		return fmt.Errorf("recover outbox: %w", err)
	} else if n > 0 {
		d.opt.Logger.Warn("outbox entries were in flight when sitrep stopped; retrying them", "count", n)
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
					d.deliver(context.WithoutCancel(ctx), del)
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

// deliver makes one attempt at one entry and records its outcome.
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
		actx, cancel := context.WithTimeout(WithDeliveryPriority(ctx, del.Priority), d.opt.AttemptTimeout)
		result, err = h(actx, del)
		cancel()
		if err != nil && errors.Is(err, context.DeadlineExceeded) {
			err = Temporary(err, 0)
		}
	}
	now := d.opt.Now()
	if err == nil {
		var raw []byte
		if result != nil {
			raw, _ = json.Marshal(result)
		}
		if err := d.store.CompleteDelivery(ctx, del.ID, raw, now); err != nil {
			log.Error("record delivery", "err", err)
		}
		return
	}
	var temp *TemporaryError
	if errors.As(err, &temp) && temp.RateLimited {
		next := now.Add(temp.RetryAfter + rateLimitJitter(temp.RetryAfter))
		log.Info("delivery held back by a rate limit; will retry", "err", err, "next_attempt", next)
		if err := d.store.DeferDelivery(ctx, del.ID, next, err.Error()); err != nil {
			log.Error("record delivery deferral", "err", err)
		}
		return
	}
	if temp, after := IsTemporary(err); temp {
		next := now.Add(max(after, d.backoff(del.Attempts)))
		log.Warn("delivery failed; will retry", "err", err, "next_attempt", next)
		if err := d.store.RetryDelivery(ctx, del.ID, next, err.Error()); err != nil {
			log.Error("record delivery retry", "err", err)
		}
		return
	}
	log.Error("delivery failed for good", "err", err)
	if err := d.store.FailDelivery(ctx, del.ID, err.Error(), now); err != nil {
		log.Error("record delivery failure", "err", err)
	}
	if d.opt.OnFailure != nil {
		if err := d.opt.OnFailure(ctx, del, err); err != nil {
			log.Error("record delivery failure on the timeline", "err", err)
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
// is visible rather than silently missing.
func (s *Service) RecordDeliveryFailure(ctx context.Context, d Delivery, cause error) error {
	ctx = automated(ctx) // what it queues goes after what people do
	if d.IncidentID == 0 {
		return nil
	}
	return s.store.Update(ctx, func(tx Tx) error {
		now := s.now()
		return appendAll(tx, d.IncidentID, now, Event{Kind: KindDeliveryFailed, Actor: SystemActor,
			Text: fmt.Sprintf("could not deliver %s: %v", d.Op, cause),
			Data: map[string]any{"delivery": d.ID, "op": d.Op}})
	})
}
