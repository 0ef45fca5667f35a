package slackchat

import (
	"context"
	"errors"
	"fmt"
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
type pacer struct {
	mu      sync.Mutex
	now     func() time.Time
	sleep   func(ctx context.Context, d time.Duration) error
	buckets map[string]*bucket
	share   int // the replicas sharing the app's budget: this pacer spends 1/share of it
}

// bucket is a token bucket kept as a theoretical arrival time (GCRA): a call
// is allowed once now >= tat - burst*every, and each call moves tat on by
// every. blocked holds calls back after Slack answered 429.
type bucket struct {
	tat     time.Time
	blocked time.Time
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
// error too.
func (p *pacer) wait(ctx context.Context, key string, r rate) error {
	r = p.divided(r) // this replica's part, before anything uses it
	d, err := p.reserve(ctx, key, r)
	if err != nil || d <= 0 {
		return err
	}
	// The slot stays taken if ctx ends now: erring on the slow side keeps
	// later calls within the limit.
	if err := p.sleep(ctx, d); err != nil {
		return bot.Temporary(fmt.Errorf("wait for a %s slot: %w", key, err), 0)
	}
	return nil
}

// reserve takes the next slot of key and returns how long to wait for it.
func (p *pacer) reserve(ctx context.Context, key string, r rate) (time.Duration, error) {
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
	// The deadline is wall-clock time; compare durations so a fake clock
	// works too.
	if deadline, ok := ctx.Deadline(); ok && d > 0 && d >= time.Until(deadline) {
		return 0, bot.RateLimited(fmt.Errorf("%s: %w", key, errPaced), d)
	}
	b.tat = tat
	return d, nil
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
