package pdfake

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// SignV3 returns the X-PagerDuty-Signature value for body: one
// "v1=<hex HMAC-SHA256(secret, body)>" per secret, comma-separated as
// PagerDuty sends them during secret rotation.
func SignV3(body []byte, secrets ...string) string {
	sigs := make([]string, 0, len(secrets))
	for _, secret := range secrets {
		mac := hmac.New(sha256.New, []byte(secret))
		mac.Write(body)
		sigs = append(sigs, "v1="+hex.EncodeToString(mac.Sum(nil)))
	}
	return strings.Join(sigs, ",")
}

// WebhookID returns the X-Webhook-Id WebhookRequest uses for body. It
// depends only on the body, so re-sending the same body imitates a
// redelivery, which PagerDuty sends with the same id.
func WebhookID(body []byte) string {
	sum := sha256.Sum256(body)
	return hex.EncodeToString(sum[:16])
}

// WebhookSubscriptionID is the X-Webhook-Subscription WebhookRequest sends.
const WebhookSubscriptionID = "PSUBFAK"

// WebhookRequest returns a POST of body to url carrying the headers of a
// PagerDuty v3 delivery, signed with every secret (none: no signature
// header). It works both with http.Client.Do and with a handler's
// ServeHTTP. It panics if url is invalid.
func WebhookRequest(url string, body []byte, secrets ...string) *http.Request {
	r, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		panic("pdfake: WebhookRequest: " + err.Error())
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "PagerDuty-Webhook/V3.0")
	r.Header.Set("X-Webhook-Id", WebhookID(body))
	r.Header.Set("X-Webhook-Subscription", WebhookSubscriptionID)
	if len(secrets) > 0 {
		r.Header.Set("X-PagerDuty-Signature", SignV3(body, secrets...))
	}
	return r
}

// Ref names a PagerDuty object (user, service, team, policy, priority) in
// Event; the type, self and html_url fields are derived from its role.
type Ref struct {
	ID      string
	Summary string
}

// ConferenceBridge is an incident's conference bridge.
type ConferenceBridge struct {
	Number string `json:"conference_number"`
	URL    string `json:"conference_url"`
}

// IncidentData is the incident carried by a v3 incident event. Empty
// optional fields are omitted (IncidentKey, CreatedAt, ReopenedAt,
// IncidentType) or null (Priority, ConferenceBridge), as in real deliveries.
type IncidentData struct {
	ID               string
	Number           int
	Status           string // default derived from the event type
	IncidentKey      string
	CreatedAt        time.Time
	ReopenedAt       time.Time
	Title            string
	IncidentType     string
	Service          Ref
	Assignees        []Ref
	EscalationPolicy Ref
	Teams            []Ref
	Priority         *Ref
	Urgency          string // default "high"
	ConferenceBridge *ConferenceBridge
}

// Incident event types Event knows the status for.
const (
	EventTriggered       = "incident.triggered"
	EventAcknowledged    = "incident.acknowledged"
	EventUnacknowledged  = "incident.unacknowledged"
	EventResolved        = "incident.resolved"
	EventReopened        = "incident.reopened"
	EventEscalated       = "incident.escalated"
	EventPriorityUpdated = "incident.priority_updated"
	EventAnnotated       = "incident.annotated"
)

var defaultStatus = map[string]string{
	EventTriggered: StatusTriggered, EventAcknowledged: StatusAcknowledged,
	EventUnacknowledged: StatusTriggered, EventResolved: StatusResolved,
	EventReopened: StatusTriggered, EventEscalated: StatusTriggered,
	EventPriorityUpdated: StatusTriggered,
}

// EventOption customises Event.
type EventOption func(*eventConfig)

type eventConfig struct {
	id          string
	agent       *reference
	client      *eventClient
	noteID      string
	noteContent string
}

type eventClient struct {
	Name string `json:"name"`
}

// EventID sets event.id (default: derived from type, incident and time).
func EventID(id string) EventOption { return func(c *eventConfig) { c.id = id } }

// Agent sets the user who caused the event (default: null).
func Agent(user Ref) EventOption {
	return func(c *eventConfig) {
		ref := userRef(user.ID, user.Summary)
		c.agent = &ref
	}
}

// Client sets event.client to {"name": name} (default: null).
func Client(name string) EventOption {
	return func(c *eventConfig) { c.client = &eventClient{Name: name} }
}

// Annotation sets the note of an incident.annotated event; it is required
// for that type and ignored otherwise.
func Annotation(noteID, content string) EventOption {
	return func(c *eventConfig) { c.noteID, c.noteContent = noteID, content }
}

type eventEnvelope struct {
	Event eventJSON `json:"event"`
}

type eventJSON struct {
	ID           string       `json:"id"`
	EventType    string       `json:"event_type"`
	ResourceType string       `json:"resource_type"`
	OccurredAt   string       `json:"occurred_at"`
	Agent        *reference   `json:"agent"`
	Client       *eventClient `json:"client"`
	Data         any          `json:"data"`
}

type incidentDataJSON struct {
	ID               string            `json:"id"`
	Type             string            `json:"type"`
	Self             string            `json:"self"`
	HTMLURL          string            `json:"html_url"`
	Number           int               `json:"number"`
	Status           string            `json:"status"`
	IncidentKey      string            `json:"incident_key,omitempty"`
	CreatedAt        string            `json:"created_at,omitempty"`
	ReopenedAt       string            `json:"reopened_at,omitempty"`
	Title            string            `json:"title"`
	IncidentType     *eventClient      `json:"incident_type,omitempty"`
	Service          reference         `json:"service"`
	Assignees        []reference       `json:"assignees"`
	EscalationPolicy reference         `json:"escalation_policy"`
	Teams            []reference       `json:"teams"`
	Priority         *reference        `json:"priority"`
	Urgency          string            `json:"urgency"`
	ConferenceBridge *ConferenceBridge `json:"conference_bridge"`
	ResolveReason    *string           `json:"resolve_reason"`
}

type noteDataJSON struct {
	Incident reference `json:"incident"`
	ID       string    `json:"id"`
	Content  string    `json:"content"`
	Trimmed  bool      `json:"trimmed"`
	Type     string    `json:"type"`
}

// Event builds the JSON body of a PagerDuty v3 webhook for an incident
// event: {"event":{id,event_type,resource_type:"incident",occurred_at,agent,
// client,data}}. For incident.annotated the data is an incident_note and the
// Annotation option is required (Event panics without it); for every other
// type the data is the incident. The output is indented with two spaces and
// ends in a newline, the layout of PagerDuty's documented examples.
func Event(eventType string, inc IncidentData, occurredAt time.Time, opts ...EventOption) []byte {
	var cfg eventConfig
	for _, o := range opts {
		o(&cfg)
	}
	occurred := occurredAt.UTC().Format("2006-01-02T15:04:05.000Z07:00")
	if cfg.id == "" {
		cfg.id = strings.ToUpper(WebhookID([]byte(eventType + "|" + inc.ID + "|" + occurred))[:26])
	}
	ev := eventJSON{
		ID: cfg.id, EventType: eventType, ResourceType: "incident", OccurredAt: occurred,
		Agent: cfg.agent, Client: cfg.client,
	}
	if eventType == EventAnnotated {
		if cfg.noteID == "" {
			panic("pdfake: Event(incident.annotated) needs the Annotation option")
		}
		ev.Data = noteDataJSON{Incident: incidentRef(inc.ID, inc.Title), ID: cfg.noteID, Content: cfg.noteContent, Type: "incident_note"}
	} else {
		ev.Data = incidentData(eventType, inc)
	}
	b, err := json.MarshalIndent(eventEnvelope{Event: ev}, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("pdfake: Event: %v", err))
	}
	return append(b, '\n')
}

func incidentData(eventType string, inc IncidentData) incidentDataJSON {
	d := incidentDataJSON{
		ID: inc.ID, Type: "incident", Self: APIBase + "/incidents/" + inc.ID,
		HTMLURL: WebBase + "/incidents/" + inc.ID, Number: inc.Number, Status: inc.Status,
		IncidentKey: inc.IncidentKey, Title: inc.Title,
		Service:          serviceRef(inc.Service.ID, inc.Service.Summary),
		Assignees:        []reference{},
		EscalationPolicy: policyRef(inc.EscalationPolicy.ID, inc.EscalationPolicy.Summary),
		Teams:            []reference{}, Urgency: inc.Urgency, ConferenceBridge: inc.ConferenceBridge,
	}
	if d.Status == "" {
		d.Status = defaultStatus[eventType]
	}
	if d.Urgency == "" {
		d.Urgency = "high"
	}
	if !inc.CreatedAt.IsZero() {
		d.CreatedAt = inc.CreatedAt.UTC().Format(time.RFC3339)
	}
	if !inc.ReopenedAt.IsZero() {
		d.ReopenedAt = inc.ReopenedAt.UTC().Format(time.RFC3339)
	}
	if inc.IncidentType != "" {
		d.IncidentType = &eventClient{Name: inc.IncidentType}
	}
	for _, a := range inc.Assignees {
		d.Assignees = append(d.Assignees, userRef(a.ID, a.Summary))
	}
	for _, t := range inc.Teams {
		d.Teams = append(d.Teams, teamRef(t.ID, t.Summary))
	}
	if inc.Priority != nil {
		p := priorityRef(inc.Priority.ID, inc.Priority.Summary)
		d.Priority = &p
	}
	return d
}
