package slackchat

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// rate is a token bucket: one call per every, with up to burst calls at once
// after a quiet spell.
type rate struct {
	every time.Duration
	burst int
}

// Slack's documented limits (WIRE.md §1e). Tiers are per method and
// workspace; chat.postMessage is limited per channel. The rates sit at the
// documented minimum ("20+ per minute") with small bursts, so a storm of
// incidents queues in the outbox instead of drawing 429s.
var (
	perChannelPost = rate{every: time.Second, burst: 2}
	tier2          = rate{every: 3 * time.Second, burst: 3}         // 20/min
	tier3          = rate{every: 1200 * time.Millisecond, burst: 5} // 50/min
	tier4          = rate{every: 600 * time.Millisecond, burst: 10} // 100/min
)

// methodRates maps the Web API methods the adapter calls to their tier.
var methodRates = map[string]rate{
	"conversations.create":         tier2,
	"conversations.setTopic":       tier2,
	"conversations.archive":        tier2,
	"pins.add":                     tier2,
	"usergroups.users.list":        tier2,
	"conversations.invite":         tier3,
	"chat.update":                  tier3,
	"conversations.history":        tier3,
	"users.lookupByEmail":          tier3,
	"users.info":                   tier4,
	"conversations.members":        tier4,
	"files.completeUploadExternal": tier4,
	"files.getUploadURLExternal":   tier4,
}

// errPaced is the cause of the Temporary error returned when waiting for a
// slot would outlast the caller's deadline.
var errPaced = errors.New("holding back to stay within Slack's rate limits")

// pacer hands out call slots per key (a method, or a channel for posts),
// waiting when a key's bucket is empty. Time comes from now and waiting goes
// through sleep, so tests run on a fake clock.
//
// Slots go by priority (bot.DeliveryPriorityOf the call's context): a call
// waiting for a slot gives it up to a higher-priority call that arrives
// later, and returns a rate-limit error (the outbox defers its entry, not
// counted as an attempt), so fifty alert channels waiting for Tier 2 slots
// do not hold the next slot when a person declares an incident. Priority
// is within this process; the outbox's claims order across processes.
type pacer struct {
	mu      sync.Mutex
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error
	buckets map[string]*bucket
	share   int // the replicas sharing the app's budget: this pacer spends 1/share of it
}

// bucket is a token bucket kept as a theoretical arrival time (GCRA): a call
// is allowed once now >= tat - burst*every, and each call moves tat on by
// every. blocked holds calls back after Slack answered 429. waiting are the
// calls holding a future slot.
type bucket struct {
	tat     time.Time
	blocked time.Time
	waiting []*waiter
}

// waiter is a call holding the slot at at; yield ends its wait when a
// higher-priority call takes the slot.
type waiter struct {
	priority int
	at       time.Time
	yield    context.CancelFunc
	yielded  bool
}

func newPacer(now func() time.Time, sleep func(ctx context.Context, d time.Duration) error, share int) *pacer {
	return &pacer{now: now, sleep: sleep, buckets: map[string]*bucket{}, share: max(share, 1)}
}

// divided is this pacer's part of r: one call per share*every, and the
// burst divided likewise (at least one call).
func (p *pacer) divided(r rate) rate {
	return rate{every: r.every * time.Duration(p.share), burst: max(1, r.burst/p.share)}
}

// wait blocks until key may make one call at r. When the wait would outlast
// ctx's deadline it reserves nothing and returns a *bot.TemporaryError whose
// RetryAfter is the wait, so the outbox retries the entry later instead of
// holding a worker; when ctx ends during the wait it returns a Temporary
// error too; when a higher-priority call takes its slot it returns a
// rate-limit error whose RetryAfter is the next free slot.
func (p *pacer) wait(ctx context.Context, key string, r rate) error {
	r = p.divided(r) // this replica's part, before anything uses it
	w, d, err := p.reserve(ctx, key, r, callPriority(ctx))
	if err != nil || d <= 0 {
		return err
	}
	sctx, yield := context.WithCancel(ctx)
	defer yield()
	p.mu.Lock()
	w.yield = yield
	yielded := w.yielded
	p.mu.Unlock()
	if yielded {
		return p.yielded(key, r)
	}
	// The slot stays taken if ctx ends now: erring on the slow side keeps
	// later calls within the limit.
	err = p.sleep(sctx, d)
	p.mu.Lock()
	yielded = w.yielded
	p.bucket(key).remove(w)
	p.mu.Unlock()
	if yielded {
		return p.yielded(key, r)
	}
	if err != nil {
		return bot.Temporary(fmt.Errorf("wait for a %s slot: %w", key, err), 0)
	}
	return nil
}

// callPriority is the priority of the outbox entry a call delivers; a call
// made outside the outbox (a slash command's form, a click's lookup) has
// someone waiting on the HTTP request for it, so it comes first and is
// never asked to give its slot up.
func callPriority(ctx context.Context) int {
	if p, ok := bot.DeliveryPriorityOf(ctx); ok {
		return p
	}
	return math.MaxInt
}

// yielded is the error of a call whose slot a higher-priority call took.
func (p *pacer) yielded(key string, r rate) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.bucket(key)
	next := b.tat.Add(-time.Duration(r.burst-1) * r.every).Sub(p.now())
	return bot.RateLimited(fmt.Errorf("%s: %w (a higher-priority call took the slot)", key, errPaced), max(next, r.every))
}

// reserve takes the next slot of key for a call of priority prio, or the
// slot of a lower-priority waiter when that comes sooner, and returns the
// waiter (nil when the call may go now) and how long to wait.
func (p *pacer) reserve(ctx context.Context, key string, r rate, prio int) (*waiter, time.Duration, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.bucket(key)
	now := p.now()
	tat := b.tat
	if tat.Before(now) {
		tat = now
	}
	tat = tat.Add(r.every)
	at := tat.Add(-time.Duration(r.burst) * r.every)
	if at.Before(b.blocked) {
		at = b.blocked
	}
	d := at.Sub(now)
	if d > 0 {
		if victim := b.lowerWaiter(prio, at); victim != nil {
			// Take its slot; the bucket's tat stays, the victim comes
			// back through the outbox for a later one.
			victim.yielded = true
			if victim.yield != nil {
				victim.yield()
			}
			b.remove(victim)
			w := &waiter{priority: prio, at: victim.at}
			b.waiting = append(b.waiting, w)
			return w, victim.at.Sub(now), nil
		}
	}
	// The deadline is wall-clock time; compare durations so a fake clock
	// works too.
	if deadline, ok := ctx.Deadline(); ok && d > 0 && d >= time.Until(deadline) {
		return nil, 0, bot.RateLimited(fmt.Errorf("%s: %w", key, errPaced), d)
	}
	b.tat = tat
	if d <= 0 {
		return nil, 0, nil
	}
	w := &waiter{priority: prio, at: at}
	b.waiting = append(b.waiting, w)
	return w, d, nil
}

// lowerWaiter is the waiter of lower priority than prio holding the
// earliest slot before at (the lowest priority among equals), or nil.
// Caller holds p.mu.
func (b *bucket) lowerWaiter(prio int, at time.Time) *waiter {
	var best *waiter
	for _, w := range b.waiting {
		if w.priority >= prio || w.yielded || !w.at.Before(at) {
			continue
		}
		if best == nil || w.at.Before(best.at) || (w.at.Equal(best.at) && w.priority < best.priority) {
			best = w
		}
	}
	return best
}

// remove drops w from the waiters. Caller holds p.mu.
func (b *bucket) remove(w *waiter) {
	for i, x := range b.waiting {
		if x == w {
			b.waiting = append(b.waiting[:i], b.waiting[i+1:]...)
			return
		}
	}
}

// block holds every call of key back for d (Slack answered 429 with
// Retry-After d).
func (p *pacer) block(key string, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	b := p.bucket(key)
	if until := p.now().Add(d); until.After(b.blocked) {
		b.blocked = until
	}
}

// bucket returns key's bucket, created empty. Caller holds p.mu.
func (p *pacer) bucket(key string) *bucket {
	b := p.buckets[key]
	if b == nil {
		b = &bucket{}
		p.buckets[key] = b
	}
	return b
}

// sleepCtx waits d or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
