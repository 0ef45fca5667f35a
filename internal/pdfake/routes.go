package pdfake

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"time"
)

func itoa(n int) string { return strconv.Itoa(n) }

// listValues reads a PagerDuty array parameter, which clients send either as
// name[] or name.
func listValues(q url.Values, name string) []string {
	return append(q[name+"[]"], q[name]...)
}

func (s *Server) listOnCalls(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	policies := listValues(q, "escalation_policy_ids")
	users := listValues(q, "user_ids")
	schedules := listValues(q, "schedule_ids")
	includeUsers := slices.Contains(listValues(q, "include"), "users")
	limit, offset := 25, 0
	if v, err := strconv.Atoi(q.Get("limit")); err == nil && v > 0 {
		limit = min(v, 100)
	}
	if v, err := strconv.Atoi(q.Get("offset")); err == nil && v >= 0 {
		offset = v
	}

	s.mu.Lock()
	var matched []onCallJSON
	for _, oc := range s.oncalls {
		if (len(policies) > 0 && !slices.Contains(policies, oc.policyID)) ||
			(len(users) > 0 && !slices.Contains(users, oc.user.ID)) ||
			(len(schedules) > 0 && !slices.Contains(schedules, oc.scheduleID)) {
			continue
		}
		matched = append(matched, renderOnCall(oc, includeUsers))
	}
	s.mu.Unlock()

	page := []onCallJSON{}
	if offset < len(matched) {
		page = matched[offset:min(offset+limit, len(matched))]
	}
	var total *int
	if q.Get("total") == "true" {
		n := len(matched)
		total = &n
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"oncalls": page, "limit": limit, "offset": offset,
		"more": offset+len(page) < len(matched), "total": total,
	})
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	u, ok := s.users[r.PathValue("id")]
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, 2100, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": fullUser(u)})
}

func (s *Server) getIncident(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inc, ok := s.incidents[r.PathValue("id")]
	if !ok {
		writeError(w, http.StatusNotFound, 2100, "Not Found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"incident": s.renderIncident(inc)})
}

// incidentUpdate is one entry of a PUT /incidents body, or the body of
// PUT /incidents/{id}.
type incidentUpdate struct {
	ID     string `json:"id"`
	Type   string `json:"type"`
	Status string `json:"status"`
}

// failure is a PagerDuty error to answer.
type failure struct {
	status, code int
	message      string
	details      []string
}

func (f *failure) write(w http.ResponseWriter) {
	writeError(w, f.status, f.code, f.message, f.details...)
}

func invalid(details ...string) *failure {
	return &failure{status: http.StatusBadRequest, code: 2001, message: "Invalid Input Provided", details: details}
}

// checkFrom validates the From header. Must be called with s.mu held.
func (s *Server) checkFrom(r *http.Request) (string, *failure) {
	from := r.Header.Get("From")
	if from == "" {
		return "", &failure{status: http.StatusBadRequest, code: 2011, message: "You must specify a requester_id to perform this action"}
	}
	if _, ok := s.userByEmail(from); s.strict && !ok {
		return "", &failure{status: http.StatusBadRequest, code: 1008, message: "Requester User Not Found"}
	}
	return from, nil
}

func (s *Server) manageIncidents(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Incidents []incidentUpdate `json:"incidents"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || len(body.Incidents) == 0 {
		invalid("incidents must be a non-empty array").write(w)
		return
	}
	if len(body.Incidents) > 250 {
		writeError(w, http.StatusRequestEntityTooLarge, 2001, "Request Entity Too Large")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out, f := s.applyUpdates(r, body.Incidents)
	if f != nil {
		f.write(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"incidents": out})
}

func (s *Server) updateIncident(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Incident incidentUpdate `json:"incident"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		invalid("body must be {\"incident\":{...}}").write(w)
		return
	}
	u := body.Incident
	u.ID = r.PathValue("id")
	s.mu.Lock()
	defer s.mu.Unlock()
	out, f := s.applyUpdates(r, []incidentUpdate{u})
	if f != nil {
		f.write(w)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"incident": out[0]})
}

// applyUpdates checks the requester and every status change, then applies
// them all, or none when one fails its check. It returns the updated
// incidents, rendered. Must be called with s.mu held.
func (s *Server) applyUpdates(r *http.Request, updates []incidentUpdate) ([]incidentJSON, *failure) {
	from, f := s.checkFrom(r)
	if f != nil {
		return nil, f
	}
	for _, u := range updates {
		if f := s.checkUpdate(u); f != nil {
			return nil, f
		}
	}
	out := []incidentJSON{}
	for _, u := range updates {
		inc := s.incidents[u.ID]
		s.apply(inc, u.Status, from)
		out = append(out, s.renderIncident(inc))
	}
	return out, nil
}

// checkUpdate validates one status change. Must be called with s.mu held.
func (s *Server) checkUpdate(u incidentUpdate) *failure {
	if u.Type != "incident_reference" && u.Type != "incident" {
		return invalid("type must be incident_reference")
	}
	inc, ok := s.incidents[u.ID]
	if !ok {
		return &failure{status: http.StatusNotFound, code: 2100, message: "Not Found"}
	}
	switch u.Status {
	case "":
		return nil // other fields (priority, assignments...) are accepted and ignored
	case StatusAcknowledged, StatusResolved:
	default:
		return invalid("Status must be one of acknowledged, resolved")
	}
	switch {
	case inc.Status == StatusResolved:
		return &failure{status: http.StatusBadRequest, code: 1001, message: "Incident Already Resolved",
			details: []string{fmt.Sprintf("Incident %s is already resolved", inc.ID)}}
	case inc.Status == StatusAcknowledged && u.Status == StatusAcknowledged:
		return &failure{status: http.StatusBadRequest, code: 1002, message: "Incident Already Acknowledged",
			details: []string{fmt.Sprintf("Incident %s is already acknowledged", inc.ID)}}
	}
	return nil
}

// apply records a validated status change. Must be called with s.mu held.
func (s *Server) apply(inc *incident, status, from string) {
	if status == "" {
		return
	}
	now := s.now().UTC().Truncate(time.Second)
	user := s.requester(from)
	inc.Transitions = append(inc.Transitions, Transition{From: inc.Status, To: status, By: from, At: now})
	inc.Status = status
	inc.lastChangeAt, inc.lastChangeBy = now, user.ID
	switch status {
	case StatusAcknowledged:
		inc.ackBy = append(inc.ackBy, ack{userID: user.ID, at: now})
	case StatusResolved:
		inc.resolvedAt = now
	}
}

func (s *Server) createNote(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Note struct {
			Content string `json:"content"`
		} `json:"note"`
	}
	decodeErr := json.NewDecoder(r.Body).Decode(&body)
	s.mu.Lock()
	defer s.mu.Unlock()
	from, f := s.checkFrom(r)
	if f != nil {
		f.write(w)
		return
	}
	if decodeErr != nil || body.Note.Content == "" {
		invalid("Content cannot be empty.").write(w)
		return
	}
	inc, ok := s.incidents[r.PathValue("id")]
	if !ok {
		writeError(w, http.StatusNotFound, 2100, "Not Found")
		return
	}
	if len(inc.Notes) >= 2000 {
		invalid("An incident may have at most 2000 notes.").write(w)
		return
	}
	s.noteSeq++
	user := s.requester(from)
	n := Note{
		ID: fmt.Sprintf("PN%05d", s.noteSeq), Content: body.Note.Content, From: from,
		UserID: user.ID, CreatedAt: s.now().UTC().Truncate(time.Second),
	}
	inc.Notes = append(inc.Notes, n)
	ts := n.CreatedAt.Format(time.RFC3339)
	writeJSON(w, http.StatusCreated, map[string]any{"note": noteJSON{
		ID: n.ID, User: userRef(user.ID, user.Name),
		Channel: map[string]string{"summary": "The PagerDuty website or APIs"},
		Content: n.Content, CreatedAt: ts, UpdatedAt: ts,
	}})
}
