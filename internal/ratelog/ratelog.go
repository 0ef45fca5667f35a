// Package ratelog bounds how fast warnings and errors reach the log. When
// something fails over and over (a full disk fails every webhook, every
// claim, every outcome record), one line per kind of failure and interval is
// enough: the rest are counted, and the next line of that kind says how
// many were left out. Lines below Warn pass untouched.
package ratelog

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// DefaultInterval is how often a repeated warning or error is logged.
const DefaultInterval = 10 * time.Second

// maxKinds bounds the kinds remembered; past it the memory starts afresh
// (at worst a few repeated lines more).
const maxKinds = 1024

// Handler wraps another slog.Handler. A record's kind is its level and
// message (messages are constant; what varies is in the attributes).
type Handler struct {
	next     slog.Handler
	interval time.Duration
	now      func() time.Time
	state    *state // shared by the handlers WithAttrs and WithGroup derive
}

type state struct {
	mu    sync.Mutex
	kinds map[string]*kind
}

type kind struct {
	logged     time.Time // when a line of this kind last went out
	suppressed int       // lines left out since
}

// New returns a Handler that lets at most one warning or error of each kind
// through per interval (DefaultInterval when zero) to next.
func New(next slog.Handler, interval time.Duration, now func() time.Time) *Handler {
	if interval <= 0 {
		interval = DefaultInterval
	}
	if now == nil {
		now = time.Now
	}
	return &Handler{next: next, interval: interval, now: now, state: &state{kinds: map[string]*kind{}}}
}

func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return h.next.Handle(ctx, r)
	}
	key := r.Level.String() + "\x00" + r.Message
	now := h.now()
	s := h.state
	s.mu.Lock()
	k := s.kinds[key]
	if k == nil {
		if len(s.kinds) >= maxKinds {
			clear(s.kinds)
		}
		k = &kind{}
		s.kinds[key] = k
	} else if now.Sub(k.logged) < h.interval {
		k.suppressed++
		s.mu.Unlock()
		return nil
	}
	left := k.suppressed
	k.logged, k.suppressed = now, 0
	s.mu.Unlock()
	if left > 0 {
		r = r.Clone()
		r.AddAttrs(slog.Int("repeated", left), slog.Duration("within", h.interval))
	}
	return h.next.Handle(ctx, r)
}

func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.next = h.next.WithAttrs(attrs)
	return &c
}

func (h *Handler) WithGroup(name string) slog.Handler {
	c := *h
	c.next = h.next.WithGroup(name)
	return &c
}
