package pdfake

import (
	"net/http"
	"strconv"
	"time"
)

// Always, as Fault.Times, makes a fault apply to every matching request.
const Always = -1

// Fault describes how the fake misbehaves on a route. Build one with
// RateLimited, ServerError or Slow, or fill the fields directly.
type Fault struct {
	// Status is the HTTP status to answer. Zero means answer normally
	// (after Delay).
	Status int
	// Code and Message fill the PagerDuty error body for Status.
	Code    int
	Message string
	// Header holds extra response headers, such as ratelimit-reset.
	Header http.Header
	// Delay is waited before answering; a cancelled request context cuts it
	// short and nothing is answered.
	Delay time.Duration
	// Times is how many matching requests the fault affects: 0 or 1 means
	// once, Always means every one.
	Times int
}

// RateLimited returns a 429 fault with PagerDuty's body
// {"error":{"message":"Rate Limit Exceeded","code":2020}}. A resetSeconds
// above zero adds the ratelimit-limit/remaining/reset headers; zero omits
// them, which PagerDuty documents as possible.
func RateLimited(resetSeconds int) Fault {
	f := Fault{Status: http.StatusTooManyRequests, Code: 2020, Message: "Rate Limit Exceeded"}
	if resetSeconds > 0 {
		f.Header = http.Header{}
		f.Header.Set("ratelimit-limit", "960")
		f.Header.Set("ratelimit-remaining", "0")
		f.Header.Set("ratelimit-reset", strconv.Itoa(resetSeconds))
	}
	return f
}

// ServerError returns a fault answering status (such as 500 or 503) with a
// PagerDuty error body.
func ServerError(status int) Fault {
	return Fault{Status: status, Code: 2001, Message: http.StatusText(status)}
}

// Slow returns a fault that delays the normal answer by d.
func Slow(d time.Duration) Fault {
	return Fault{Delay: d}
}

// Repeat returns a copy of f affecting n requests (or Always).
func (f Fault) Repeat(n int) Fault {
	f.Times = n
	return f
}

// Fail arms a fault on route (a Route constant, or AnyRoute). Faults fire in
// the order they were armed, before the authentication check.
func (s *Server) Fail(route string, f Fault) {
	s.faults.Arm(route, f, f.Times)
}

// ClearFaults removes every armed fault.
func (s *Server) ClearFaults() {
	s.faults.Clear()
}

func (f *Fault) write(w http.ResponseWriter) {
	for k, vs := range f.Header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	msg := f.Message
	if msg == "" {
		msg = http.StatusText(f.Status)
	}
	writeError(w, f.Status, f.Code, msg)
}
