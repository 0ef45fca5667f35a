package slackfake

import (
	"math"
	"time"
)

// Tier is a Web API rate-limit tier as the fake enforces it: a token bucket
// of Burst calls refilled at PerMinute a minute. Slack documents the tiers
// as "N+ per minute" and tolerates short bursts; the fake holds a client to
// the documented minimum.
type Tier struct {
	PerMinute int
	Burst     int
}

// Slack's tiers (WIRE.md §1e), by the methods sitrep calls.
var (
	Tier2 = Tier{PerMinute: 20, Burst: 5}
	Tier3 = Tier{PerMinute: 50, Burst: 10}
	Tier4 = Tier{PerMinute: 100, Burst: 20}
)

// SlackTiers maps methods to their tier as Slack documents them.
var SlackTiers = map[string]Tier{
	"conversations.create":   Tier2,
	"conversations.setTopic": Tier2,
	"conversations.archive":  Tier2,
	"pins.add":               Tier2,
	"conversations.invite":   Tier3,
	"chat.update":            Tier3,
	"conversations.history":  Tier3,
}

// WithTiers makes the server answer a call beyond its method's tier with
// HTTP 429, Retry-After (whole seconds, rounded up, as Slack sends it) and
// {"ok":false,"error":"ratelimited"}, before doing anything. Time comes
// from now (a test's fake clock). Methods not in tiers are not limited.
func WithTiers(now func() time.Time, tiers map[string]Tier) Option {
	return func(s *Server) {
		s.tierNow = now
		s.tiers = tiers
		s.tierState = map[string]*tierBucket{}
	}
}

type tierBucket struct {
	tokens float64
	at     time.Time
}

// overTier reports whether a call to method now exceeds its tier, and how
// long until one is allowed. Caller holds s.mu.
func (s *Server) overTier(method string) (bool, time.Duration) {
	tier, ok := s.tiers[method]
	if !ok || s.tierNow == nil {
		return false, 0
	}
	now := s.tierNow()
	b := s.tierState[method]
	if b == nil {
		b = &tierBucket{tokens: float64(tier.Burst), at: now}
		s.tierState[method] = b
	}
	rate := float64(tier.PerMinute) / float64(time.Minute)
	if now.After(b.at) {
		b.tokens = math.Min(float64(tier.Burst), b.tokens+rate*float64(now.Sub(b.at)))
		b.at = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return false, 0
	}
	return true, time.Duration((1 - b.tokens) / rate)
}
