package bot

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"time"
)

// Customer communications: publishing to a status page. A publication is
// always the explicit act of a person who saw exactly what customers will
// read (the publish form, or a preview with Publish and Cancel buttons).
// What reaches the status page is built only from what that person typed or
// confirmed (the public title and text), the public status words, and the
// components of the configuration: never the internal title, notes, runbook
// output or people's names.
//
// The public incident's state lives on the incident's timeline: every
// publication queued, published, delayed or refused is an event there, and
// the postmortem lists the published ones.

// Timeline event kinds of the status page feature.
const (
	KindPublicProposed  EventKind = "public_update_proposed"  // a preview shown, not published
	KindPublicCancelled EventKind = "public_update_cancelled" // a preview cancelled
	KindPublicQueued    EventKind = "public_update_queued"    // a person confirmed a publication
	KindPublicPublished EventKind = "public_update_published" // the status page took it
	KindPublicDelayed   EventKind = "public_update_delayed"   // the status page is down or slow; retrying
	KindPublicRefused   EventKind = "public_update_refused"   // the status page said no for good
)

// Outbox operations of the status page feature.
const (
	// OpPublishStatusPage creates or updates the public incident at the
	// status page. Its key is per incident, so publications of one incident
	// reach the page in the order people confirmed them.
	OpPublishStatusPage = "statuspage.publish"
	// OpAskPublicResolve asks in the channel, after an incident is resolved,
	// whether to resolve its public incident too (when one is open).
	OpAskPublicResolve = "statuspage.ask_resolve"
)

// Neutral action ids of the status page buttons and forms.
const (
	// ActionOpenStatusPage is the card's "Publish to status page": the chat
	// opens the publish form, prefilled with PublicDraft.
	ActionOpenStatusPage = "statuspage-open"
	// ActionPublishStatusPage publishes: the form's fields in Input, or a
	// preview (Value "<incident id>:<proposal event id>").
	ActionPublishStatusPage = "statuspage-publish"
	// ActionCancelStatusPage cancels a preview (same value).
	ActionCancelStatusPage = "statuspage-cancel"
	// ActionResolvePublicly resolves the public incident (value: the
	// incident id); ActionKeepPublicOpen leaves it open.
	ActionResolvePublicly = "statuspage-resolve"
	ActionKeepPublicOpen  = "statuspage-keep-open"
)

// ComponentStatus is a status page component's status.
type ComponentStatus string

const (
	ComponentOperational         ComponentStatus = "operational"
	ComponentDegradedPerformance ComponentStatus = "degraded_performance"
	ComponentPartialOutage       ComponentStatus = "partial_outage"
	ComponentMajorOutage         ComponentStatus = "major_outage"
	ComponentUnderMaintenance    ComponentStatus = "under_maintenance"
)

// ComponentStatuses lists the component statuses, worst last.
var ComponentStatuses = []ComponentStatus{ComponentOperational, ComponentUnderMaintenance, ComponentDegradedPerformance, ComponentPartialOutage, ComponentMajorOutage}

// ParseComponentStatus accepts a component status in any case, with spaces
// or underscores ("partial outage", "partial_outage").
func ParseComponentStatus(s string) (ComponentStatus, error) {
	t := ComponentStatus(strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), " ", "_"))
	if !slices.Contains(ComponentStatuses, t) {
		return "", FieldErrorf("component_status", "%q is not a component status: use operational, degraded_performance, partial_outage or major_outage", s)
	}
	return t, nil
}

// Words is the status as customers read it ("Partial outage").
func (c ComponentStatus) Words() string {
	w := strings.ReplaceAll(string(c), "_", " ")
	if w == "" {
		return ""
	}
	return strings.ToUpper(w[:1]) + w[1:]
}

// Worse reports whether c is worse than o.
func (c ComponentStatus) Worse(o ComponentStatus) bool {
	return slices.Index(ComponentStatuses, c) > slices.Index(ComponentStatuses, o)
}

// DefaultComponentStatus is the component status a severity suggests: SEV1
// a major outage, SEV2 a partial one, SEV3 and SEV4 degraded performance.
func DefaultComponentStatus(sev Severity) ComponentStatus {
	switch sev {
	case SEV1:
		return ComponentMajorOutage
	case SEV2:
		return ComponentPartialOutage
	}
	return ComponentDegradedPerformance
}

// PublicStatus is the status page status of an incident status: the same
// word, except that a triggered incident (not public) is investigating.
func PublicStatus(s Status) Status {
	if s == StatusTriggered {
		return StatusInvestigating
	}
	return s
}

// PublicComponent is one component of a public update: its name on the
// page (the configuration's key), its id at the status page, its status.
type PublicComponent struct {
	Name   string          `json:"name"`
	ID     string          `json:"id"`
	Status ComponentStatus `json:"status"`
}

// PublicUpdate is exactly what customers read: the public title, the text
// of this update, the public status and the affected components.
type PublicUpdate struct {
	Title      string            `json:"title"`
	Body       string            `json:"body"`
	Status     Status            `json:"status"`
	Components []PublicComponent `json:"components"`
}

// Public update limits: Statuspage takes names up to 255 characters.
const (
	maxPublicTitle = 255
	maxPublicBody  = 10000
)

// PublicPrompt is the part of a drafted public text a person must replace
// before it can be published.
const PublicPrompt = "[Describe what customers notice and what is being done]"

// StatusPage is a status page sitrep publishes to (Atlassian Statuspage,
// the built-in page). Calls carry only a PublicUpdate. Errors worth
// retrying are *TemporaryError (RateLimited for the page's rate limit);
// others are permanent, with a message saying what the page refused and
// why (a bad key, an unknown page or incident, an invalid status).
type StatusPage interface {
	// Name names the page in messages ("Atlassian Statuspage").
	Name() string
	// CreateIncident opens a public incident and returns its id at the page.
	CreateIncident(ctx context.Context, u PublicUpdate) (string, error)
	// UpdateIncident posts an update to the public incident ref (and
	// resolves it when u.Status is resolved).
	UpdateIncident(ctx context.Context, ref string, u PublicUpdate) error
}

// PublicIncidentFinder is an optional StatusPage capability: find the open
// public incident titled u.Title created at or after since. Publishing
// uses it before creating again an incident whose first attempt was in
// flight when the process died, so customers do not see it twice.
type PublicIncidentFinder interface {
	FindIncident(ctx context.Context, u PublicUpdate, since time.Time) (ref string, found bool, err error)
}

// StatusPageConfig configures publishing.
type StatusPageConfig struct {
	Page StatusPage // required
	// Components maps a label value of the incident (the Label label,
	// "service" by default) to a component id at the page
	// ("api-gateway" → "8kbf7d35c070").
	Components map[string]string
	Label      string
	// OnPublished is called with the incident after each publication is
	// recorded (the built-in page refreshes itself).
	OnPublished func(ctx context.Context, incidentID int64)
	// Location is the display time zone of drafts (UTC when nil).
	Location *time.Location
}

// StatusPages carries out publishing. Create it with NewStatusPages and Wire it.
type StatusPages struct {
	svc *Service
	cfg StatusPageConfig
}

// NewStatusPages returns the status page feature: the statuspage command,
// "update --public", the status page buttons, the card's Publish button,
// the resolve question and the outbox handlers that publish.
func NewStatusPages(cfg StatusPageConfig) *StatusPages {
	if cfg.Label == "" {
		cfg.Label = "service"
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	return &StatusPages{cfg: cfg}
}

// Name implements Feature.
func (p *StatusPages) Name() string { return "status page" }

// Register implements Feature.
func (p *StatusPages) Register(r *Registry) {
	svc := r.svc
	p.svc = svc
	for _, c := range p.commands() {
		r.Command(c)
	}
	if core, ok := svc.actions[ActionPostUpdate]; ok {
		r.ActionOn(ActionPostUpdate, core.target, p.postUpdateAction(core.run))
	}
	// A preview's buttons carry "<incident>:<preview>", the form the incident.
	r.ActionOn(ActionPublishStatusPage, IncidentPrefixValue, p.publishAction)
	r.ActionOn(ActionCancelStatusPage, IncidentPrefixValue, p.cancelAction)
	r.Action(ActionResolvePublicly, p.resolveAction)
	r.Action(ActionKeepPublicOpen, p.keepOpenAction)
	r.CardButtons(func(inc Incident) []Action {
		return []Action{{ID: ActionOpenStatusPage, Label: "Publish to status page", Value: fmt.Sprint(inc.ID)}}
	})
	r.Hook(p.onEvent)
	r.Enqueues(OpPublishStatusPage, OpAskPublicResolve)
	r.Deliver(OpPublishStatusPage, p.deliver)
	r.Deliver(OpAskPublicResolve, p.askResolve)
}

// PageName names the status page in messages.
func (p *StatusPages) PageName() string { return p.cfg.Page.Name() }

// ComponentNames are the configured components' names, sorted.
func (p *StatusPages) ComponentNames() []string { return slices.Sorted(maps.Keys(p.cfg.Components)) }

// PublishedUpdate is one update the status page took.
type PublishedUpdate struct {
	At     time.Time
	Actor  string
	Status Status
	Body   string
}

// PublicIncident is the incident's public state, as its timeline recorded
// it.
type PublicIncident struct {
	Ref        string // its id at the status page; "" until created
	Title      string
	Status     Status
	Components []PublicComponent
	// Open: a publication was confirmed and the last one confirmed is not
	// resolved.
	Open bool
	// Published: the status page took at least one update.
	Published bool
	// Updates are those the page took, oldest first, since the public
	// incident was last opened.
	Updates []PublishedUpdate
	// StartedAt is when the current public incident was first published;
	// ResolvedAt when it was published resolved.
	StartedAt, ResolvedAt time.Time
}

// PublicState reads an incident's public state from its timeline: what
// the status page took, and over it what people confirmed that is still on
// its way (publications of one incident reach the page in order, each
// ending in one published or refused event, so they pair up first in,
// first out; a refused one changes nothing).
func PublicState(events []Event) PublicIncident {
	var st PublicIncident
	var published PublicUpdate
	publishedOpen := false
	var pending []PublicUpdate
	for _, ev := range events {
		switch ev.Kind {
		case KindPublicQueued:
			pending = append(pending, publicUpdateOf(ev.Data))
		case KindPublicRefused:
			if len(pending) > 0 {
				pending = pending[1:]
			}
		case KindPublicPublished:
			if len(pending) > 0 {
				pending = pending[1:]
			}
			published = publicUpdateOf(ev.Data)
			if !publishedOpen { // a new public incident
				st.Updates, st.StartedAt, st.ResolvedAt = nil, ev.OccurredAt, time.Time{}
			}
			st.Ref, _ = ev.Data["ref"].(string)
			st.Published = true
			st.Updates = append(st.Updates, PublishedUpdate{At: ev.OccurredAt, Actor: ev.Actor, Status: published.Status, Body: published.Body})
			publishedOpen = published.Status != StatusResolved
			if !publishedOpen {
				st.ResolvedAt = ev.OccurredAt
			}
		}
	}
	if !publishedOpen {
		st.Ref = "" // the next publication opens a new public incident
	}
	intended, open := published, publishedOpen
	if n := len(pending); n > 0 {
		intended, open = pending[n-1], pending[n-1].Status != StatusResolved
	}
	st.Title, st.Status, st.Components, st.Open = intended.Title, intended.Status, intended.Components, open
	return st
}

// publicUpdateOf reads a PublicUpdate back from an event's data.
func publicUpdateOf(data map[string]any) PublicUpdate {
	u := PublicUpdate{}
	u.Title, _ = data["title"].(string)
	u.Body, _ = data["body"].(string)
	if s, ok := data["status"].(string); ok {
		u.Status = Status(s)
	}
	list, _ := data["components"].([]any)
	for _, item := range list {
		m, _ := item.(map[string]any)
		c := PublicComponent{}
		c.Name, _ = m["name"].(string)
		c.ID, _ = m["id"].(string)
		if s, ok := m["status"].(string); ok {
			c.Status = ComponentStatus(s)
		}
		u.Components = append(u.Components, c)
	}
	// Events stored in this process (not read back) keep the typed value.
	if cs, ok := data["components"].([]PublicComponent); ok {
		u.Components = slices.Clone(cs)
	}
	return u
}

func (u PublicUpdate) data() map[string]any {
	return map[string]any{"title": u.Title, "body": u.Body, "status": string(u.Status), "components": u.Components}
}

// PublicText is text a person typed, as customers will read it: plain
// text, chat markup undone (mentions as "@name", "<!here>" as "@here", a
// link as its label and address), Slack's entities decoded last, so that
// what a person typed as "<b>" reads as "<b>".
func PublicText(s string) string {
	s = PlainText(s)
	s = specialMention.ReplaceAllString(s, "@$1")
	s = chatLink.ReplaceAllStringFunc(s, func(m string) string {
		parts := chatLink.FindStringSubmatch(m)
		if parts[2] == "" || parts[2] == parts[1] {
			return parts[1]
		}
		return parts[2] + " (" + parts[1] + ")"
	})
	s = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
	return strings.TrimSpace(s)
}

var (
	specialMention = regexp.MustCompile(`<!(here|channel|everyone)(?:\|[^>]*)?>`)
	chatLink       = regexp.MustCompile(`<((?:https?|mailto):[^|>\s]+)(?:\|([^>]*))?>`)
)

// PublishedIncident is one public incident as the status page took it.
type PublishedIncident struct {
	Ref        string
	Page       string
	Title      string
	Status     Status
	Components []PublicComponent // as the last update set them
	StartedAt  time.Time
	UpdatedAt  time.Time
	ResolvedAt time.Time         // zero while open
	Updates    []PublishedUpdate // oldest first
}

// Open reports whether the public incident is not resolved.
func (p PublishedIncident) Open() bool { return p.Status != StatusResolved }

// PublicHistory is every public incident an incident's timeline records as
// published, oldest first: only what a status page took, as it took it.
func PublicHistory(events []Event) []PublishedIncident {
	var out []PublishedIncident
	for _, ev := range events {
		if ev.Kind != KindPublicPublished {
			continue
		}
		u := publicUpdateOf(ev.Data)
		ref, _ := ev.Data["ref"].(string)
		page, _ := ev.Data["page"].(string)
		if n := len(out); n == 0 || !out[n-1].Open() || out[n-1].Ref != ref {
			out = append(out, PublishedIncident{Ref: ref, Page: page, StartedAt: ev.OccurredAt})
		}
		cur := &out[len(out)-1]
		cur.Title, cur.Status, cur.Components, cur.UpdatedAt = u.Title, u.Status, u.Components, ev.OccurredAt
		cur.Updates = append(cur.Updates, PublishedUpdate{At: ev.OccurredAt, Actor: ev.Actor, Status: u.Status, Body: u.Body})
		if u.Status == StatusResolved {
			cur.ResolvedAt = ev.OccurredAt
		}
	}
	return out
}
