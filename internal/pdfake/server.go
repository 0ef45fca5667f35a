package pdfake

import (
	"encoding/json"
	"github.com/sitrep-io/sitrep/internal/fakehttp"
	"net/http"
	"net/http/httptest"
	"sync"
	"time"
)

// Route patterns, usable with Fail and found in Call.Route.
const (
	RouteListOnCalls     = "GET /oncalls"
	RouteGetUser         = "GET /users/{id}"
	RouteGetIncident     = "GET /incidents/{id}"
	RouteManageIncidents = "PUT /incidents"
	RouteUpdateIncident  = "PUT /incidents/{id}"
	RouteCreateNote      = "POST /incidents/{id}/notes"
	// AnyRoute makes Fail apply to every route.
	AnyRoute = fakehttp.AnyRoute
)

// DefaultToken is the API key every new Server accepts.
const DefaultToken = "pdfake-api-key"

// Base URLs used in the self and html_url fields of generated objects, as
// real PagerDuty answers them (they do not point at the fake).
const (
	APIBase = "https://api.pagerduty.com"
	WebBase = "https://acme.pagerduty.com"
)

// Server is a fake PagerDuty REST API v2. Create it with New.
type Server struct {
	t         fakehttp.TB
	ts        *httptest.Server
	done      chan struct{}
	closeOnce sync.Once

	mu        sync.Mutex
	now       func() time.Time
	tokens    map[string]bool
	strict    bool // From must name a known user
	users     map[string]User
	oncalls   []onCall
	incidents map[string]*incident
	incSeq    int
	noteSeq   int
	faults    fakehttp.Faults[Fault]
	fakehttp.Recorder
}

// Call is one request the fake received.
// Call is one request the fake received.
type Call = fakehttp.Call

// New starts a fake PagerDuty server that is closed when the test ends.
func New(t fakehttp.TB) *Server {
	if t != nil {
		t.Helper()
	}
	s := &Server{
		t:         t,
		done:      make(chan struct{}),
		now:       time.Now,
		tokens:    map[string]bool{DefaultToken: true},
		users:     map[string]User{},
		incidents: map[string]*incident{},
	}
	mux := http.NewServeMux()
	s.handle(mux, RouteListOnCalls, s.listOnCalls)
	s.handle(mux, RouteGetUser, s.getUser)
	s.handle(mux, RouteGetIncident, s.getIncident)
	s.handle(mux, RouteManageIncidents, s.manageIncidents)
	s.handle(mux, RouteUpdateIncident, s.updateIncident)
	s.handle(mux, RouteCreateNote, s.createNote)
	s.handle(mux, "/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, 2100, "Not Found")
	})
	s.ts = httptest.NewServer(mux)
	if t != nil {
		t.Cleanup(s.Close)
	}
	return s
}

// URL returns the base URL without a trailing slash, for
// pagerduty.WithAPIEndpoint.
func (s *Server) URL() string { return s.ts.URL }

// Token returns an API key the server accepts.
func (s *Server) Token() string { return DefaultToken }

// AddToken makes the server accept another API key.
func (s *Server) AddToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = true
}

// SetNow replaces the clock used for created_at and other timestamps.
func (s *Server) SetNow(now func() time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = now
}

// RequireKnownFrom makes write routes answer 400 with code 1008 (Requester
// User Not Found) when From is not the email of a user added with AddUser or
// AddOnCall. By default any non-empty From is accepted.
func (s *Server) RequireKnownFrom() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.strict = true
}

func (s *Server) handle(mux *http.ServeMux, pattern string, h http.HandlerFunc) {
	s.Recorder.Handle(mux, pattern, func(w http.ResponseWriter, r *http.Request, route string) {
		s.serve(w, r, route, h)
	})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request, route string, h http.HandlerFunc) {
	if f := s.faults.Next(route); f != nil {
		if f.Delay > 0 && !fakehttp.Wait(r, s.done, f.Delay) {
			return
		}
		if f.Status != 0 {
			f.write(w)
			return
		}
	}
	if !s.authorized(r) {
		writeError(w, http.StatusUnauthorized, 2006, "Unauthorized")
		return
	}
	h(w, r)
}

func (s *Server) authorized(r *http.Request) bool {
	const prefix = "Token token="
	h := r.Header.Get("Authorization")
	if len(h) <= len(prefix) || h[:len(prefix)] != prefix {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokens[h[len(prefix):]]
}

// apiError is PagerDuty's documented error body.
type apiError struct {
	Error apiErrorObject `json:"error"`
}

type apiErrorObject struct {
	Message string   `json:"message"`
	Code    int      `json:"code"`
	Errors  []string `json:"errors,omitempty"`
}

func writeError(w http.ResponseWriter, status, code int, message string, details ...string) {
	writeJSON(w, status, apiError{Error: apiErrorObject{Message: message, Code: code, Errors: details}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":{"message":"pdfake: cannot encode response","code":2001}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// Close stops the server; safe to call more than once. With a nil
// fakehttp.TB (outside tests, e.g. the demo) the caller must call it.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		s.ts.Close()
	})
}
