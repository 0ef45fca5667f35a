// Package fakehttp holds what the wire-level vendor fakes (pdfake, ghfake,
// and for Wait slackfake) share: recording every request with the status it
// got, a queue of faults armed per route, and waiting out a slow fault.
package fakehttp

import (
	"bytes"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// AnyRoute arms a fault on every route.
const AnyRoute = "*"

// Call is one request a fake received.
type Call struct {
	Route  string // matched route pattern, or "" if none matched
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   []byte
	Status int // status the fake answered
}

// Recorder records requests. The zero value is ready to use.
type Recorder struct {
	mu    sync.Mutex
	calls []Call
}

// Calls returns a copy of every request received so far, in order.
func (r *Recorder) Calls() []Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Call(nil), r.calls...)
}

// CallsTo returns the recorded requests whose matched route is route.
func (r *Recorder) CallsTo(route string) []Call {
	var out []Call
	for _, c := range r.Calls() {
		if c.Route == route {
			out = append(out, c)
		}
	}
	return out
}

// Wrap returns a handler that runs h and then records the request under
// route with the status h answered. h sees the body intact.
func (r *Recorder) Wrap(route string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
		rec := &statusRecorder{ResponseWriter: w}
		h(rec, req)
		r.mu.Lock()
		r.calls = append(r.calls, Call{
			Route: route, Method: req.Method, Path: req.URL.Path, Query: req.URL.Query(),
			Header: req.Header.Clone(), Body: body, Status: rec.status,
		})
		r.mu.Unlock()
	}
}

// Handle registers pattern on mux, recorded (see Wrap) under its route:
// the pattern itself, or "" for the catch-all "/". serve answers with the
// route, so faults armed for it can fire.
func (r *Recorder) Handle(mux *http.ServeMux, pattern string, serve func(w http.ResponseWriter, req *http.Request, route string)) {
	route := pattern
	if pattern == "/" {
		route = ""
	}
	mux.HandleFunc(pattern, r.Wrap(route, func(w http.ResponseWriter, req *http.Request) {
		serve(w, req, route)
	}))
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Faults is a queue of faults of type F armed per route. The zero value is
// ready to use.
type Faults[F any] struct {
	mu      sync.Mutex
	entries []*faultEntry[F]
}

type faultEntry[F any] struct {
	route string
	fault F
	left  int // remaining uses; < 0: unlimited
}

// Arm adds a fault on route (or AnyRoute) for times requests (0 means 1,
// a negative number means every request). Faults fire in arming order.
func (q *Faults[F]) Arm(route string, f F, times int) {
	if times == 0 {
		times = 1
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	q.entries = append(q.entries, &faultEntry[F]{route: route, fault: f, left: times})
}

// Clear removes every armed fault.
func (q *Faults[F]) Clear() {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.entries = nil
}

// Take returns the next fault armed for route, using it up.
func (q *Faults[F]) Take(route string) (F, bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, fe := range q.entries {
		if fe.route != route && fe.route != AnyRoute {
			continue
		}
		if fe.left > 0 {
			fe.left--
			if fe.left == 0 {
				q.entries = append(q.entries[:i:i], q.entries[i+1:]...)
			}
		}
		return fe.fault, true
	}
	var zero F
	return zero, false
}

// Next is Take for a handler: the next fault armed for route, used up, or
// nil when there is none.
func (q *Faults[F]) Next(route string) *F {
	if f, ok := q.Take(route); ok {
		return &f
	}
	return nil
}

// Wait waits d before a fake answers r, or less if r is cancelled or done
// closes (the fake is shutting down); it reports whether the full delay
// elapsed.
func Wait(r *http.Request, done <-chan struct{}, d time.Duration) bool {
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return true
	case <-r.Context().Done():
		return false
	case <-done:
		return false
	}
}
