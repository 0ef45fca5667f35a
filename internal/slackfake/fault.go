package slackfake

import (
	"fmt"
	"time"
)

// AnyMethod makes a fault apply to every method. Method-specific faults are
// consulted first.
const AnyMethod = "*"

// Fault describes how the fake misbehaves for one call.
//
// The zero Status means HTTP 200. When Status is not 200, Error (if set) is
// sent as {"ok":false,"error":Error}. A Status of 200 (or 0) with Error set is
// a Slack application error. Delay postpones the answer; a Fault with only a
// Delay lets the call proceed normally afterwards.
type Fault struct {
	Status     int // HTTP status; 0 means 200
	RetryAfter int // seconds for the Retry-After header; 0 sends none
	// RetryAfterHeader, when set, is sent as the Retry-After header as it
	// is, instead of RetryAfter: the HTTP forms that are not whole seconds
	// ("1.5", an HTTP date) that proxies and Slack's edge may send.
	RetryAfterHeader string
	Error            string        // Slack error code for {"ok":false,"error":...}
	Delay            time.Duration // wait this long before answering
	// TakesEffect makes the call do what it asks (a channel is created, a
	// message posted) before the fault answers instead of Slack: the
	// answer was lost on its way back (a gateway timeout after the work was
	// done), so the client cannot know it happened.
	TakesEffect bool
}

// LostAnswer is f for a call that took effect at Slack before f answered
// it: the client sees f, Slack's state has the change.
func LostAnswer(f Fault) Fault { f.TakesEffect = true; return f }

// RateLimited is HTTP 429 with "Retry-After: seconds" and the body
// {"ok":false,"error":"ratelimited"}. slack-go turns it into
// *slack.RateLimitedError.
func RateLimited(seconds int) Fault {
	return Fault{Status: 429, RetryAfter: seconds, Error: "ratelimited"}
}

// ServerError is a bare HTTP status (e.g. 500, 502, 503) with an HTML body,
// as Slack's edge sends. slack-go turns it into slack.StatusCodeError.
func ServerError(status int) Fault { return Fault{Status: status} }

// SlackError is {"ok":false,"error":code} with HTTP 200.
func SlackError(code string) Fault { return Fault{Error: code} }

// Slow delays the answer by d and then handles the call normally. The wait
// ends early (and the call changes nothing) when the client cancels the
// request or the server closes.
func Slow(d time.Duration) Fault { return Fault{Delay: d} }

// WithDelay returns a copy of f that also waits d before answering.
func (f Fault) WithDelay(d time.Duration) Fault { f.Delay = d; return f }

// passThrough reports whether the call proceeds to the handler after the
// delay.
func (f Fault) passThrough() bool {
	return (f.Status == 0 || f.Status == 200) && f.Error == ""
}

func (f Fault) String() string {
	s := fmt.Sprintf("status=%d", f.Status)
	if f.RetryAfter > 0 {
		s += fmt.Sprintf(" retry-after=%d", f.RetryAfter)
	}
	if f.RetryAfterHeader != "" {
		s += fmt.Sprintf(" retry-after=%q", f.RetryAfterHeader)
	}
	if f.Error != "" {
		s += " error=" + f.Error
	}
	if f.Delay > 0 {
		s += " delay=" + f.Delay.String()
	}
	return s
}

type faultQueue struct {
	once  []queuedFault // consumed front to back
	every *Fault
}

type queuedFault struct {
	f Fault
	n int
}

// FailNext makes the next call to method fail with f.
func (s *Server) FailNext(method string, f Fault) { s.FailNextN(method, 1, f) }

// FailNextN makes the next n calls to method fail with f. Queued faults are
// used in the order they were added.
func (s *Server) FailNextN(method string, n int, f Fault) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.faultQueue(method)
	q.once = append(q.once, queuedFault{f: f, n: n})
}

// SetFault makes every call to method fail with f until ClearFault. Queued
// one-shot faults (FailNext) still take precedence.
func (s *Server) SetFault(method string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ff := f
	s.faultQueue(method).every = &ff
}

// ClearFault removes every fault scripted for method.
func (s *Server) ClearFault(method string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.faults, method)
}

// ClearFaults removes every scripted fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = map[string]*faultQueue{}
}

func (s *Server) faultQueue(method string) *faultQueue {
	q := s.faults[method]
	if q == nil {
		q = &faultQueue{}
		s.faults[method] = q
	}
	return q
}

// takeFault consumes the fault for one call. Caller holds s.mu.
func (s *Server) takeFault(method string) *Fault {
	for _, m := range []string{method, AnyMethod} {
		q := s.faults[m]
		if q == nil {
			continue
		}
		if len(q.once) > 0 {
			f := q.once[0].f
			q.once[0].n--
			if q.once[0].n == 0 {
				q.once = q.once[1:]
			}
			return &f
		}
		if q.every != nil {
			f := *q.every
			return &f
		}
	}
	return nil
}
