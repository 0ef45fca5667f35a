// Package spfake is a fake Atlassian Statuspage REST API (v1) for tests: it
// speaks the documented JSON (POST /pages/{page}/incidents, PATCH
// /pages/{page}/incidents/{id}, GET of both, GET /pages/{page}/components),
// checks the "Authorization: OAuth <key>" header (401), knows its pages,
// incidents and components (404 for others), validates statuses and
// components (422 with {"error": …}), and enforces Statuspage's rate limit
// of about one request a second per key (420, or 429, with Retry-After).
// Faults (a 5xx, an outage) are armed per route.
package spfake

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sitrep-io/sitrep/internal/fakehttp"
)

// Routes, for arming faults and reading calls.
const (
	RouteCreate     = "POST /v1/pages/{page}/incidents"
	RouteUpdate     = "PATCH /v1/pages/{page}/incidents/{id}"
	RouteGet        = "GET /v1/pages/{page}/incidents/{id}"
	RouteComponents = "GET /v1/pages/{page}/components"
	RouteUnresolved = "GET /v1/pages/{page}/incidents/unresolved"
)

// Realtime incident statuses and component statuses Statuspage accepts.
var (
	incidentStatuses  = []string{"investigating", "identified", "monitoring", "resolved"}
	componentStatuses = []string{"operational", "under_maintenance", "degraded_performance", "partial_outage", "major_outage"}
)

// Fault is how the fake misbehaves once on a route: answer Status with
// Body, and a Retry-After of RetryAfter seconds when set.
type Fault struct {
	Status     int
	Body       string
	RetryAfter string
}

// Component is a component of the page.
type Component struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
}

// IncidentUpdate is one update of an incident, as Statuspage returns it.
type IncidentUpdate struct {
	ID                 string              `json:"id"`
	Status             string              `json:"status"`
	Body               string              `json:"body"`
	CreatedAt          time.Time           `json:"created_at"`
	AffectedComponents []map[string]string `json:"affected_components"`
}

// Incident is a public incident, as Statuspage returns it.
type Incident struct {
	ID              string           `json:"id"`
	PageID          string           `json:"page_id"`
	Name            string           `json:"name"`
	Status          string           `json:"status"`
	Shortlink       string           `json:"shortlink"`
	CreatedAt       time.Time        `json:"created_at"`
	ResolvedAt      *time.Time       `json:"resolved_at"`
	IncidentUpdates []IncidentUpdate `json:"incident_updates"`
	Components      []Component      `json:"components"`
}

// Server is the fake. Create it with New.
type Server struct {
	*httptest.Server
	fakehttp.Recorder
	faults fakehttp.Faults[Fault]

	mu         sync.Mutex
	key        string
	page       string
	components map[string]*Component
	incidents  map[string]*Incident
	order      []string
	seq        int
	lastCall   map[string]time.Time // per key: when it was last let through
	now        func() time.Time
	// LimitStatus is what an over-limit request gets: 420 (the default,
	// Statuspage's usual answer) or 429.
	LimitStatus int
	// Interval is the rate limit: one request per Interval per key
	// (default 1 s).
	Interval time.Duration
}

// New starts a fake for page, accepting key, with components (id → name),
// all operational. now is its clock (time.Now when nil): tests share their
// fake clock with it, so the rate limit does not depend on how fast the
// machine is.
func New(key, page string, components map[string]string, now func() time.Time) *Server {
	if now == nil {
		now = time.Now
	}
	s := &Server{key: key, page: page, components: map[string]*Component{}, incidents: map[string]*Incident{},
		lastCall: map[string]time.Time{}, now: now, LimitStatus: 420, Interval: time.Second}
	for id, name := range components {
		s.components[id] = &Component{ID: id, Name: name, Status: "operational"}
	}
	mux := http.NewServeMux()
	s.Handle(mux, RouteCreate, s.serve(s.create))
	s.Handle(mux, RouteUpdate, s.serve(s.update))
	s.Handle(mux, RouteGet, s.serve(s.get))
	s.Handle(mux, RouteComponents, s.serve(s.listComponents))
	s.Handle(mux, RouteUnresolved, s.serve(s.unresolved))
	s.Handle(mux, "/", func(w http.ResponseWriter, r *http.Request, _ string) {
		writeError(w, http.StatusNotFound, "The requested resource could not be found.")
	})
	s.Server = httptest.NewServer(mux)
	return s
}

// URL is the base URL to configure (STATUSPAGE_API_URL).
func (s *Server) BaseURL() string { return s.Server.URL + "/v1" }

// Arm arms a fault on route for times requests (see fakehttp.Faults).
func (s *Server) Arm(route string, f Fault, times int) { s.faults.Arm(route, f, times) }

// Incidents returns copies of the page's incidents, oldest first.
func (s *Server) Incidents() []Incident {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Incident
	for _, id := range s.order {
		out = append(out, s.copyIncident(s.incidents[id]))
	}
	return out
}

// ComponentStatus is a component's current status.
func (s *Server) ComponentStatus(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.components[id]; ok {
		return c.Status
	}
	return ""
}

func (s *Server) copyIncident(inc *Incident) Incident {
	out := *inc
	out.IncidentUpdates = slices.Clone(inc.IncidentUpdates)
	out.Components = slices.Clone(inc.Components)
	return out
}

type handler func(w http.ResponseWriter, r *http.Request)

// serve checks, in Statuspage's order, the key (401), the rate limit
// (420/429), armed faults and the page (404), then runs h.
func (s *Server) serve(h handler) func(w http.ResponseWriter, r *http.Request, route string) {
	return func(w http.ResponseWriter, r *http.Request, route string) {
		key, ok := strings.CutPrefix(r.Header.Get("Authorization"), "OAuth ")
		if !ok || key != s.key {
			writeError(w, http.StatusUnauthorized, "Could not authenticate")
			return
		}
		if wait, limited := s.limited(key); limited {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
			writeError(w, s.LimitStatus, "Rate limit exceeded: about one request per second per API key")
			return
		}
		if f := s.faults.Next(route); f != nil {
			if f.RetryAfter != "" {
				w.Header().Set("Retry-After", f.RetryAfter)
			}
			writeError(w, f.Status, f.Body)
			return
		}
		if r.PathValue("page") != s.page {
			writeError(w, http.StatusNotFound, "The requested resource could not be found.")
			return
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		h(w, r)
	}
}

// limited reports whether key is over the limit now, and how long until it
// is not; a request let through counts.
func (s *Server) limited(key string) (time.Duration, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if last, ok := s.lastCall[key]; ok && now.Sub(last) < s.Interval {
		return s.Interval - now.Sub(last), true
	}
	s.lastCall[key] = now
	return 0, false
}

// incidentBody is the documented request body of create and update.
type incidentBody struct {
	Incident *struct {
		Name         *string           `json:"name"`
		Status       *string           `json:"status"`
		Body         *string           `json:"body"`
		ComponentIDs []string          `json:"component_ids"`
		Components   map[string]string `json:"components"`
	} `json:"incident"`
}

func (s *Server) decode(w http.ResponseWriter, r *http.Request) (*incidentBody, bool) {
	var b incidentBody
	if err := json.NewDecoder(r.Body).Decode(&b); err != nil || b.Incident == nil {
		writeError(w, http.StatusBadRequest, "The request body must be {\"incident\": {...}}")
		return nil, false
	}
	in := b.Incident
	if in.Status != nil && !slices.Contains(incidentStatuses, *in.Status) {
		writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("Status %q is not a valid incident status", *in.Status))
		return nil, false
	}
	for id, st := range in.Components {
		if _, ok := s.components[id]; !ok {
			writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("Component %q does not exist on this page", id))
			return nil, false
		}
		if !slices.Contains(componentStatuses, st) {
			writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("Component status %q is not valid", st))
			return nil, false
		}
	}
	for _, id := range in.ComponentIDs {
		if _, ok := s.components[id]; !ok {
			writeError(w, http.StatusUnprocessableEntity, fmt.Sprintf("Component %q does not exist on this page", id))
			return nil, false
		}
	}
	return &b, true
}

func (s *Server) create(w http.ResponseWriter, r *http.Request) {
	b, ok := s.decode(w, r)
	if !ok {
		return
	}
	in := b.Incident
	if in.Name == nil || strings.TrimSpace(*in.Name) == "" {
		writeError(w, http.StatusUnprocessableEntity, "Name can't be blank")
		return
	}
	if len(*in.Name) > 255 {
		writeError(w, http.StatusUnprocessableEntity, "Name is too long (maximum is 255 characters)")
		return
	}
	s.seq++
	id := fmt.Sprintf("inc%09d", s.seq)
	status := "investigating"
	if in.Status != nil {
		status = *in.Status
	}
	inc := &Incident{ID: id, PageID: s.page, Name: *in.Name, Status: status, Shortlink: "https://stspg.io/" + id, CreatedAt: s.now()}
	s.incidents[id] = inc
	s.order = append(s.order, id)
	s.apply(inc, b)
	writeJSON(w, http.StatusCreated, inc)
}

func (s *Server) update(w http.ResponseWriter, r *http.Request) {
	inc, ok := s.incidents[r.PathValue("id")]
	if !ok {
		writeError(w, http.StatusNotFound, "The requested resource could not be found.")
		return
	}
	b, ok := s.decode(w, r)
	if !ok {
		return
	}
	if b.Incident.Name != nil {
		inc.Name = *b.Incident.Name
	}
	if b.Incident.Status != nil {
		inc.Status = *b.Incident.Status
	}
	s.apply(inc, b)
	writeJSON(w, http.StatusOK, inc)
}

// apply records an update and sets the components' statuses.
func (s *Server) apply(inc *Incident, b *incidentBody) {
	now := s.now()
	for id, st := range b.Incident.Components {
		s.components[id].Status = st
	}
	ids := b.Incident.ComponentIDs
	if len(ids) > 0 {
		inc.Components = nil
		for _, id := range ids {
			inc.Components = append(inc.Components, *s.components[id])
		}
	}
	var affected []map[string]string
	for id, st := range b.Incident.Components {
		affected = append(affected, map[string]string{"code": id, "name": s.components[id].Name, "new_status": st})
	}
	body := ""
	if b.Incident.Body != nil {
		body = *b.Incident.Body
	}
	s.seq++
	inc.IncidentUpdates = append([]IncidentUpdate{{ID: fmt.Sprintf("upd%09d", s.seq), Status: inc.Status, Body: body,
		CreatedAt: now, AffectedComponents: affected}}, inc.IncidentUpdates...)
	if inc.Status == "resolved" && inc.ResolvedAt == nil {
		inc.ResolvedAt = &now
	}
}

func (s *Server) get(w http.ResponseWriter, r *http.Request) {
	inc, ok := s.incidents[r.PathValue("id")]
	if !ok {
		writeError(w, http.StatusNotFound, "The requested resource could not be found.")
		return
	}
	writeJSON(w, http.StatusOK, inc)
}

func (s *Server) unresolved(w http.ResponseWriter, _ *http.Request) {
	out := []Incident{}
	for _, id := range slices.Backward(s.order) { // newest first
		if inc := s.incidents[id]; inc.Status != "resolved" {
			out = append(out, s.copyIncident(inc))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) listComponents(w http.ResponseWriter, _ *http.Request) {
	var out []Component
	for _, c := range s.components {
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b Component) int { return strings.Compare(a.ID, b.ID) })
	writeJSON(w, http.StatusOK, out)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
