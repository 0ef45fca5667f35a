package pdfake

import "time"

// reference is PagerDuty's *_reference object. Field order follows the
// webhook payloads (alphabetical), which lets Event reproduce them byte for
// byte.
type reference struct {
	HTMLURL string `json:"html_url,omitempty"`
	ID      string `json:"id"`
	Self    string `json:"self,omitempty"`
	Summary string `json:"summary,omitempty"`
	Type    string `json:"type"`
}

// ref is the reference to the object id of the collection at path (the
// same on the web and in the API), of type typ.
func ref(path, typ, id, name string) reference {
	return reference{HTMLURL: WebBase + "/" + path + "/" + id, ID: id, Self: APIBase + "/" + path + "/" + id, Summary: name, Type: typ}
}

func userRef(id, name string) reference { return ref("users", "user_reference", id, name) }

func serviceRef(id, name string) reference { return ref("services", "service_reference", id, name) }

func policyRef(id, name string) reference {
	return ref("escalation_policies", "escalation_policy_reference", id, name)
}

func scheduleRef(id, name string) reference { return ref("schedules", "schedule_reference", id, name) }

func teamRef(id, name string) reference { return ref("teams", "team_reference", id, name) }

func priorityRef(id, name string) reference {
	return reference{HTMLURL: WebBase + "/account/incident_priorities", ID: id, Self: APIBase + "/priorities/" + id, Summary: name, Type: "priority_reference"}
}

func incidentRef(id, title string) reference {
	return ref("incidents", "incident_reference", id, title)
}

// userJSON is the full user object (GET /users/{id}, include[]=users).
type userJSON struct {
	ID        string   `json:"id"`
	Type      string   `json:"type"`
	Summary   string   `json:"summary"`
	Self      string   `json:"self"`
	HTMLURL   string   `json:"html_url"`
	Name      string   `json:"name"`
	Email     string   `json:"email"`
	TimeZone  string   `json:"time_zone"`
	Color     string   `json:"color"`
	Role      string   `json:"role"`
	AvatarURL string   `json:"avatar_url"`
	Teams     []string `json:"teams"`
}

func fullUser(u User) userJSON {
	return userJSON{
		ID: u.ID, Type: "user", Summary: u.Name, Self: APIBase + "/users/" + u.ID,
		HTMLURL: WebBase + "/users/" + u.ID, Name: u.Name, Email: u.Email,
		TimeZone: "Etc/UTC", Color: "purple", Role: "user",
		AvatarURL: "https://secure.gravatar.com/avatar/" + u.ID, Teams: []string{},
	}
}

type onCallJSON struct {
	User             any        `json:"user"`
	Schedule         *reference `json:"schedule"`
	EscalationPolicy reference  `json:"escalation_policy"`
	EscalationLevel  int        `json:"escalation_level"`
	Start            *string    `json:"start"`
	End              *string    `json:"end"`
}

func renderOnCall(oc onCall, includeUsers bool) onCallJSON {
	out := onCallJSON{
		User:             userRef(oc.user.ID, oc.user.Name),
		EscalationPolicy: policyRef(oc.policyID, "Escalation Policy "+oc.policyID),
		EscalationLevel:  oc.level,
		Start:            timePtr(oc.start),
		End:              timePtr(oc.end),
	}
	if includeUsers {
		out.User = fullUser(oc.user)
	}
	if oc.scheduleID != "" {
		ref := scheduleRef(oc.scheduleID, oc.scheduleName)
		out.Schedule = &ref
	}
	return out
}

func timePtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.Format(time.RFC3339)
	return &s
}

type assignmentJSON struct {
	At       string    `json:"at"`
	Assignee reference `json:"assignee"`
}

type ackJSON struct {
	At           string    `json:"at"`
	Acknowledger reference `json:"acknowledger"`
}

// incidentJSON is the REST v2 incident object.
type incidentJSON struct {
	ID                 string           `json:"id"`
	Type               string           `json:"type"`
	Summary            string           `json:"summary"`
	Self               string           `json:"self"`
	HTMLURL            string           `json:"html_url"`
	IncidentNumber     int              `json:"incident_number"`
	Title              string           `json:"title"`
	CreatedAt          string           `json:"created_at"`
	UpdatedAt          string           `json:"updated_at"`
	Status             string           `json:"status"`
	IncidentKey        *string          `json:"incident_key"`
	Service            reference        `json:"service"`
	Assignments        []assignmentJSON `json:"assignments"`
	AssignedVia        string           `json:"assigned_via"`
	Acknowledgements   []ackJSON        `json:"acknowledgements"`
	LastStatusChangeAt string           `json:"last_status_change_at"`
	LastStatusChangeBy reference        `json:"last_status_change_by"`
	EscalationPolicy   reference        `json:"escalation_policy"`
	Teams              []reference      `json:"teams"`
	Priority           *reference       `json:"priority"`
	Urgency            string           `json:"urgency"`
	ResolveReason      *string          `json:"resolve_reason"`
	ResolvedAt         *string          `json:"resolved_at"`
}

// renderIncident must be called with s.mu held.
func (s *Server) renderIncident(inc *incident) incidentJSON {
	out := incidentJSON{
		ID: inc.ID, Type: "incident", Summary: "[#" + itoa(inc.Number) + "] " + inc.Title,
		Self: APIBase + "/incidents/" + inc.ID, HTMLURL: WebBase + "/incidents/" + inc.ID,
		IncidentNumber: inc.Number, Title: inc.Title,
		CreatedAt: inc.CreatedAt.Format(time.RFC3339), UpdatedAt: inc.lastChangeAt.Format(time.RFC3339),
		Status: inc.Status, Service: serviceRef(inc.ServiceID, inc.ServiceName),
		Assignments: []assignmentJSON{}, AssignedVia: "escalation_policy", Acknowledgements: []ackJSON{},
		LastStatusChangeAt: inc.lastChangeAt.Format(time.RFC3339),
		LastStatusChangeBy: serviceRef(inc.ServiceID, inc.ServiceName),
		EscalationPolicy:   policyRef(inc.EscalationPolicyID, "Escalation Policy "+inc.EscalationPolicyID),
		Teams:              []reference{}, Urgency: inc.Urgency,
		ResolvedAt: timePtr(inc.resolvedAt),
	}
	if inc.IncidentKey != "" {
		out.IncidentKey = &inc.IncidentKey
	}
	if inc.lastChangeBy != "" {
		out.LastStatusChangeBy = s.userRefByID(inc.lastChangeBy)
	}
	if inc.Status != StatusResolved {
		for _, oc := range s.oncalls {
			if oc.policyID == inc.EscalationPolicyID && oc.level == 1 {
				out.Assignments = append(out.Assignments, assignmentJSON{
					At: inc.CreatedAt.Format(time.RFC3339), Assignee: userRef(oc.user.ID, oc.user.Name),
				})
			}
		}
	}
	if inc.Status == StatusAcknowledged {
		for _, a := range inc.ackBy {
			out.Acknowledgements = append(out.Acknowledgements, ackJSON{At: a.at.Format(time.RFC3339), Acknowledger: s.userRefByID(a.userID)})
		}
	}
	return out
}

// userRefByID must be called with s.mu held.
func (s *Server) userRefByID(id string) reference {
	if u, ok := s.users[id]; ok {
		return userRef(u.ID, u.Name)
	}
	return userRef(id, id)
}

type noteJSON struct {
	ID        string            `json:"id"`
	User      reference         `json:"user"`
	Channel   map[string]string `json:"channel"`
	Content   string            `json:"content"`
	CreatedAt string            `json:"created_at"`
	UpdatedAt string            `json:"updated_at"`
}
