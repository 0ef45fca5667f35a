package pdfake

import (
	"crypto/sha1"
	"encoding/hex"
	"strings"
	"time"
)

// Incident statuses.
const (
	StatusTriggered    = "triggered"
	StatusAcknowledged = "acknowledged"
	StatusResolved     = "resolved"
)

// User is a PagerDuty user the fake knows.
type User struct {
	ID    string
	Name  string
	Email string
}

// Transition is one status change applied through the REST API.
type Transition struct {
	From string    // previous status
	To   string    // new status
	By   string    // value of the From header
	At   time.Time // server clock
}

// Note is an incident note created through the REST API.
type Note struct {
	ID        string
	Content   string
	From      string // value of the From header
	UserID    string // the matching user's id, or a synthetic one
	CreatedAt time.Time
}

// Incident is a snapshot of a seeded incident and what happened to it.
type Incident struct {
	ID                 string
	Number             int
	Title              string
	Status             string
	EscalationPolicyID string
	ServiceID          string
	ServiceName        string
	IncidentKey        string
	Urgency            string
	CreatedAt          time.Time
	Transitions        []Transition
	Notes              []Note
}

// IncidentOption customises AddIncident.
type IncidentOption func(*Incident)

// Title sets the incident title.
func Title(title string) IncidentOption { return func(i *Incident) { i.Title = title } }

// Service sets the incident's service.
func Service(id, name string) IncidentOption {
	return func(i *Incident) { i.ServiceID, i.ServiceName = id, name }
}

// Key sets the incident_key (the Events API dedup key).
func Key(key string) IncidentOption { return func(i *Incident) { i.IncidentKey = key } }

// Urgency sets "high" (the default) or "low".
func Urgency(u string) IncidentOption { return func(i *Incident) { i.Urgency = u } }

// Number sets the incident number (default: sequential from 1).
func Number(n int) IncidentOption { return func(i *Incident) { i.Number = n } }

type incident struct {
	Incident
	lastChangeBy string // user id
	lastChangeAt time.Time
	ackBy        []ack
	resolvedAt   time.Time
}

type ack struct {
	userID string
	at     time.Time
}

type onCall struct {
	policyID     string
	user         User
	level        int
	scheduleID   string
	scheduleName string
	start, end   time.Time
}

// OnCallOption customises AddOnCall.
type OnCallOption func(*onCall)

// OnSchedule says the on-call shift comes from a schedule (by default the
// user is on the policy directly and "schedule" is null).
func OnSchedule(id, name string) OnCallOption {
	return func(o *onCall) { o.scheduleID, o.scheduleName = id, name }
}

// Window sets the shift's start and end (by default both are null, as for a
// permanent assignment).
func Window(start, end time.Time) OnCallOption {
	return func(o *onCall) { o.start, o.end = start, end }
}

// AddUser adds or replaces a user, served by GET /users/{id} and used to
// resolve From headers.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
}

// AddOnCall puts u on call for the escalation policy at the given level, and
// adds u as a user.
func (s *Server) AddOnCall(policyID string, u User, level int, opts ...OnCallOption) {
	oc := onCall{policyID: policyID, user: u, level: level}
	for _, o := range opts {
		o(&oc)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
	s.oncalls = append(s.oncalls, oc)
}

// AddIncident seeds an incident with the given status (StatusTriggered,
// StatusAcknowledged or StatusResolved) on an escalation policy.
func (s *Server) AddIncident(id, status, escalationPolicyID string, opts ...IncidentOption) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.incSeq++
	inc := Incident{
		ID: id, Number: s.incSeq, Title: "Incident " + id, Status: status,
		EscalationPolicyID: escalationPolicyID, ServiceID: "PSVC001", ServiceName: "Fake Service",
		Urgency: "high", CreatedAt: s.now().UTC().Truncate(time.Second),
	}
	for _, o := range opts {
		o(&inc)
	}
	s.incidents[id] = &incident{Incident: inc, lastChangeAt: inc.CreatedAt}
}

// Incident returns a snapshot of the incident, with its transitions and
// notes, and whether it exists.
func (s *Server) Incident(id string) (Incident, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	inc, ok := s.incidents[id]
	if !ok {
		return Incident{}, false
	}
	out := inc.Incident
	out.Transitions = append([]Transition(nil), inc.Transitions...)
	out.Notes = append([]Note(nil), inc.Notes...)
	return out, true
}

// Notes returns the notes created on the incident, oldest first.
func (s *Server) Notes(id string) []Note {
	inc, _ := s.Incident(id)
	return inc.Notes
}

// userByEmail must be called with s.mu held.
func (s *Server) userByEmail(email string) (User, bool) {
	for _, u := range s.users {
		if u.Email == email {
			return u, true
		}
	}
	return User{}, false
}

// requester returns the user named by a From header, synthesising one for an
// unknown address. Must be called with s.mu held.
func (s *Server) requester(from string) User {
	if u, ok := s.userByEmail(from); ok {
		return u
	}
	sum := sha1.Sum([]byte(from))
	return User{ID: "P" + strings.ToUpper(hex.EncodeToString(sum[:3])), Name: from, Email: from}
}
