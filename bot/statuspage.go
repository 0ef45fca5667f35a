package bot

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
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

// StatusPageConfig configures publishing.
type StatusPageConfig struct {
	Page StatusPage // required
	// Components maps a label value of the incident (the Label label,
	// "service" by default) to a component id at the page
	// ("api-gateway" → "8kbf7d35c070").
	Components map[string]string
	Label      string
	// OnPublished is called after each publication is recorded (the
	// built-in page rebuilds itself).
	OnPublished func(ctx context.Context)
	// Location is the display time zone of drafts (UTC when nil).
	Location *time.Location
}

// StatusPages carries out publishing. Create it with EnableStatusPage.
type StatusPages struct {
	svc *Service
	cfg StatusPageConfig
}

// EnableStatusPage registers the statuspage command, "update --public", the
// status page buttons, the card's Publish button and the resolve question
// on svc. Register the returned value's Handlers on the dispatcher.
func EnableStatusPage(svc *Service, cfg StatusPageConfig) *StatusPages {
	if cfg.Label == "" {
		cfg.Label = "service"
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	p := &StatusPages{svc: svc, cfg: cfg}
	for _, c := range p.commands() {
		svc.RegisterCommand(c)
	}
	if core, ok := svc.actions[ActionPostUpdate]; ok {
		svc.RegisterAction(ActionPostUpdate, p.postUpdateAction(core))
	}
	svc.RegisterAction(ActionPublishStatusPage, p.publishAction)
	svc.RegisterAction(ActionCancelStatusPage, p.cancelAction)
	svc.RegisterAction(ActionResolvePublicly, p.resolveAction)
	svc.RegisterAction(ActionKeepPublicOpen, p.keepOpenAction)
	svc.RegisterCardButtons(func(inc Incident) []Action {
		return []Action{{ID: ActionOpenStatusPage, Label: "Publish to status page", Value: fmt.Sprint(inc.ID)}}
	})
	svc.RegisterHook(p.onEvent)
	return p
}

// PageName names the status page in messages.
func (p *StatusPages) PageName() string { return p.cfg.Page.Name() }

// ComponentNames are the configured components' names, sorted.
func (p *StatusPages) ComponentNames() []string { return slices.Sorted(maps.Keys(p.cfg.Components)) }

// Handlers returns the outbox handlers of the status page ops.
func (p *StatusPages) Handlers() map[string]DeliveryHandler {
	return map[string]DeliveryHandler{OpPublishStatusPage: p.deliver, OpAskPublicResolve: p.askResolve}
}

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
// text, chat mention markup as "@name", Slack's entities decoded.
func PublicText(s string) string {
	s = PlainText(s)
	s = strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
	return strings.TrimSpace(s)
}

// PublicRequest is what a person confirms: the public title and text, the
// public status, the components (by name) and their status. Empty fields
// take the draft's values, except Body.
type PublicRequest struct {
	Title           string
	Body            string
	Status          string
	ComponentStatus string
	// Components names the affected components; nil takes the draft's,
	// an empty non-nil list means none.
	Components []string
}

// PublicDraft is the prefilled publish form: public-safe facts only (the
// public status, the components, the public title and text so far) and a
// prompt for the person to fill.
func (p *StatusPages) PublicDraft(ctx context.Context, id int64) (Incident, PublicUpdate, error) {
	inc, err := p.svc.Incident(ctx, id)
	if err != nil {
		return Incident{}, PublicUpdate{}, err
	}
	events, err := p.svc.store.Timeline(ctx, id)
	if err != nil {
		return Incident{}, PublicUpdate{}, fmt.Errorf("read the timeline of %s: %w", inc.Key(), err)
	}
	return inc, p.draft(inc, PublicState(events)), nil
}

func (p *StatusPages) draft(inc Incident, st PublicIncident) PublicUpdate {
	u := PublicUpdate{Status: PublicStatus(inc.Status)}
	if st.Open {
		u.Components = slices.Clone(st.Components)
		u.Title = st.Title
		last := ""
		if n := len(st.Updates); n > 0 {
			last = fmt.Sprintf("Our last update (%s): %s\n", st.Updates[n-1].At.In(p.cfg.Location).Format("15:04 MST"), clip(st.Updates[n-1].Body, maxQuoted))
		}
		u.Body = last + PublicPrompt
		return u
	}
	status := DefaultComponentStatus(inc.Severity)
	if name := inc.Labels[p.cfg.Label]; name != "" {
		if id, ok := p.cfg.Components[name]; ok {
			u.Components = []PublicComponent{{Name: name, ID: id, Status: status}}
		}
	}
	u.Title = "Service disruption"
	if len(u.Components) > 0 {
		u.Title = fmt.Sprintf("%s of %s", status.Words(), u.Components[0].Name)
	}
	what := "a service disruption"
	if len(u.Components) > 0 {
		what = fmt.Sprintf("%s of %s", strings.ToLower(status.Words()), u.Components[0].Name)
	}
	u.Body = fmt.Sprintf("We are %s %s. %s", statusVerb(u.Status), what, PublicPrompt)
	return u
}

// maxQuoted bounds the last public text a draft quotes, so that the form
// stays within a chat's field limits (Slack: 3,000 characters).
const maxQuoted = 1000

// clip cuts s to at most n runes, marking the cut.
func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

func statusVerb(s Status) string {
	switch s {
	case StatusIdentified:
		return "fixing the cause of"
	case StatusMonitoring:
		return "monitoring a fix for"
	case StatusResolved:
		return "past"
	}
	return "investigating"
}

// build turns what a person confirmed into the public update, over the
// draft, and checks it. Every field is the person's or the configuration's.
func (p *StatusPages) build(inc Incident, st PublicIncident, req PublicRequest) (PublicUpdate, error) {
	d := p.draft(inc, st)
	u := PublicUpdate{Title: PublicText(req.Title), Body: PublicText(req.Body), Status: d.Status}
	if u.Title == "" {
		u.Title = d.Title
	}
	if req.Status != "" {
		s, err := ParseStatus(req.Status)
		if err != nil || s == StatusTriggered {
			return PublicUpdate{}, FieldErrorf("status", "%q is not a public status: use investigating, identified, monitoring or resolved", req.Status)
		}
		u.Status = s
	}
	compStatus := ComponentStatus("")
	if req.ComponentStatus != "" {
		cs, err := ParseComponentStatus(req.ComponentStatus)
		if err != nil {
			return PublicUpdate{}, err
		}
		compStatus = cs
	}
	if req.Components == nil {
		u.Components = slices.Clone(d.Components)
	} else {
		for _, name := range req.Components {
			name = strings.TrimSpace(name)
			if name == "" {
				continue
			}
			id, ok := p.cfg.Components[name]
			if !ok {
				return PublicUpdate{}, FieldErrorf("components", "%q is not a configured component: use one of %s (STATUSPAGE_COMPONENTS)", name, strings.Join(p.ComponentNames(), ", "))
			}
			u.Components = append(u.Components, PublicComponent{Name: name, ID: id, Status: DefaultComponentStatus(inc.Severity)})
		}
	}
	for i := range u.Components {
		switch {
		case u.Status == StatusResolved:
			u.Components[i].Status = ComponentOperational
		case compStatus != "":
			u.Components[i].Status = compStatus
		}
	}
	switch {
	case u.Body == "":
		return PublicUpdate{}, FieldErrorf("body", "the public text is empty: write what customers should read")
	case strings.Contains(u.Body, PublicPrompt):
		return PublicUpdate{}, FieldErrorf("body", "replace %s with what customers should read", PublicPrompt)
	case len(u.Body) > maxPublicBody:
		return PublicUpdate{}, FieldErrorf("body", "the public text is %d characters: keep it within %d", len(u.Body), maxPublicBody)
	case len(u.Title) > maxPublicTitle:
		return PublicUpdate{}, FieldErrorf("title", "the public title is %d characters: keep it within %d", len(u.Title), maxPublicTitle)
	}
	if u.Status == StatusResolved && !st.Open {
		return PublicUpdate{}, Errorf(EINVALID, "%s has no open public incident to resolve", inc.Key())
	}
	return u, nil
}

// Preview renders exactly what customers will read.
func (p *StatusPages) Preview(u PublicUpdate) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\nStatus: %s\n", u.Title, Status(u.Status).Words())
	if len(u.Components) == 0 {
		b.WriteString("Components: none\n")
	}
	for _, c := range u.Components {
		fmt.Fprintf(&b, "Component %s: %s\n", c.Name, c.Status.Words())
	}
	b.WriteString(u.Body)
	return b.String()
}

// Words is the status as customers read it ("Investigating").
func (s Status) Words() string {
	if s == "" {
		return ""
	}
	return strings.ToUpper(string(s[:1])) + string(s[1:])
}

// Publish queues a publication a person confirmed (the form, "update
// --public", "statuspage resolve") and records it on the timeline.
func (p *StatusPages) Publish(ctx context.Context, actor string, id int64, req PublicRequest) (Incident, PublicUpdate, error) {
	var u PublicUpdate
	inc, err := p.svc.change(ctx, id, func(tx Tx, inc *Incident, now time.Time) error {
		st, err := p.state(ctx, id)
		if err != nil {
			return err
		}
		if u, err = p.build(*inc, st, req); err != nil {
			return err
		}
		return p.queue(tx, *inc, now, actor, u, "")
	})
	return inc, u, err
}

func (p *StatusPages) state(ctx context.Context, id int64) (PublicIncident, error) {
	events, err := p.svc.store.Timeline(ctx, id)
	if err != nil {
		return PublicIncident{}, fmt.Errorf("read the timeline of %s: %w", IncidentKey(id), err)
	}
	return PublicState(events), nil
}

// queue records a confirmed publication and queues it; dedup, when set,
// makes it happen once (a preview's Publish button).
func (p *StatusPages) queue(tx Tx, inc Incident, now time.Time, actor string, u PublicUpdate, dedup string) error {
	ev := Event{IncidentID: inc.ID, Kind: KindPublicQueued, Actor: actor, OccurredAt: now, RecordedAt: now, DedupKey: dedup,
		Text: fmt.Sprintf("publishing to %s (%s): %s", p.PageName(), u.Status, u.Body), Data: u.data()}
	ok, err := tx.AppendEvent(&ev)
	if err != nil {
		return fmt.Errorf("record the publication of %s: %w", inc.Key(), err)
	}
	if !ok {
		return Errorf(ECONFLICT, "this preview was already published or cancelled: open /incident statuspage for a new one")
	}
	if err := tx.Enqueue(mustDelivery(statusPageKey(inc.ID), OpPublishStatusPage, inc.ID, publishPayload{Update: u, Actor: actor, QueuedAt: now})); err != nil {
		return err
	}
	return p.svc.say(tx, inc, fmt.Sprintf("%s is publishing to %s (%s)…", actorMention(actor), p.PageName(), u.Status))
}

type publishPayload struct {
	Update   PublicUpdate `json:"update"`
	Actor    string       `json:"actor"`
	QueuedAt time.Time    `json:"queued_at"` // when the person confirmed it (the service's clock)
}

func statusPageKey(id int64) string { return fmt.Sprintf("statuspage:%d", id) }

// Propose records a preview and returns the reply showing it, with Publish
// and Cancel buttons (and the commands doing the same, for the console).
func (p *StatusPages) Propose(ctx context.Context, actor string, id int64, req PublicRequest) (Reply, error) {
	var u PublicUpdate
	var evID int64
	inc, err := p.svc.change(ctx, id, func(tx Tx, inc *Incident, now time.Time) error {
		st, err := p.state(ctx, id)
		if err != nil {
			return err
		}
		if u, err = p.build(*inc, st, req); err != nil {
			return err
		}
		ev := Event{IncidentID: id, Kind: KindPublicProposed, Actor: actor, OccurredAt: now, RecordedAt: now,
			Text: "public update previewed (not published): " + u.Body, Data: u.data()}
		if _, err := tx.AppendEvent(&ev); err != nil {
			return err
		}
		evID = ev.ID
		return nil
	})
	if err != nil {
		return Reply{}, err
	}
	value := fmt.Sprintf("%d:%d", id, evID)
	preview := fmt.Sprintf("Preview: customers will read exactly this on %s.\n\n%s", p.PageName(), p.Preview(u))
	return Reply{
		Text: fmt.Sprintf("%s\n\nPublish: /incident statuspage publish %d · Cancel: /incident statuspage cancel %d", preview, evID, evID),
		Message: &Message{Text: preview, Actions: []Action{
			{ID: ActionPublishStatusPage, Label: "Publish", Value: value, Style: "primary"},
			{ID: ActionCancelStatusPage, Label: "Cancel", Value: value},
		}},
		Incident: inc,
	}, nil
}

// PublishProposal publishes a preview exactly as it was shown, once.
func (p *StatusPages) PublishProposal(ctx context.Context, actor string, id, proposal int64) (Incident, error) {
	return p.svc.change(ctx, id, func(tx Tx, inc *Incident, now time.Time) error {
		ev, err := p.proposal(ctx, id, proposal)
		if err != nil {
			return err
		}
		u := publicUpdateOf(ev.Data)
		if u.Status == StatusResolved {
			st, err := p.state(ctx, id)
			if err != nil {
				return err
			}
			if !st.Open {
				return Errorf(EINVALID, "%s has no open public incident to resolve", inc.Key())
			}
		}
		return p.queue(tx, *inc, now, actor, u, proposalKey(proposal))
	})
}

// CancelProposal cancels a preview; it can no longer be published.
func (p *StatusPages) CancelProposal(ctx context.Context, actor string, id, proposal int64) (Incident, error) {
	return p.svc.change(ctx, id, func(tx Tx, inc *Incident, now time.Time) error {
		if _, err := p.proposal(ctx, id, proposal); err != nil {
			return err
		}
		ev := Event{IncidentID: id, Kind: KindPublicCancelled, Actor: actor, OccurredAt: now, RecordedAt: now,
			DedupKey: proposalKey(proposal), Text: "public update preview cancelled", Data: map[string]any{"proposal": proposal}}
		ok, err := tx.AppendEvent(&ev)
		if err != nil {
			return err
		}
		if !ok {
			return Errorf(ECONFLICT, "this preview was already published or cancelled")
		}
		return nil
	})
}

func proposalKey(proposal int64) string { return fmt.Sprintf("statuspage-proposal:%d", proposal) }

func (p *StatusPages) proposal(ctx context.Context, id, proposal int64) (Event, error) {
	events, err := p.svc.store.Timeline(ctx, id)
	if err != nil {
		return Event{}, err
	}
	for _, ev := range events {
		if ev.ID == proposal && ev.Kind == KindPublicProposed {
			return ev, nil
		}
	}
	return Event{}, Errorf(ENOTFOUND, "%s has no preview %d: make one with /incident statuspage <public text>", IncidentKey(id), proposal)
}

// deliver carries out one publication at the status page and records the
// outcome on the timeline and in the channel.
func (p *StatusPages) deliver(ctx context.Context, d Delivery) (any, error) {
	var pl publishPayload
	if err := json.Unmarshal(d.Payload, &pl); err != nil {
		return nil, fmt.Errorf("decode publication: %w", err)
	}
	st, err := p.state(ctx, d.IncidentID)
	if err != nil {
		return nil, err
	}
	ref := st.Ref
	if ref != "" {
		err = p.cfg.Page.UpdateIncident(ctx, ref, pl.Update)
	} else {
		ref, err = p.cfg.Page.CreateIncident(ctx, pl.Update)
	}
	if err != nil {
		return nil, p.failed(ctx, d, pl, err)
	}
	err = p.svc.update(ctx, func(tx Tx) error {
		inc, err := tx.Incident(d.IncidentID)
		if err != nil {
			return err
		}
		data := pl.Update.data()
		data["ref"], data["page"], data["delivery"] = ref, p.PageName(), d.ID
		now := p.svc.now()
		ev := Event{IncidentID: inc.ID, Kind: KindPublicPublished, Actor: pl.Actor, OccurredAt: now, RecordedAt: now,
			DedupKey: fmt.Sprintf("statuspage-published:%d", d.ID),
			Text:     fmt.Sprintf("published to %s (%s): %s", p.PageName(), pl.Update.Status, pl.Update.Body), Data: data}
		if _, err := tx.AppendEvent(&ev); err != nil {
			return err
		}
		return p.svc.say(tx, inc, fmt.Sprintf("Published to %s: %s, %s", p.PageName(), pl.Update.Status, pl.Update.Title))
	})
	if err != nil {
		// The page took it: retrying would post it twice. The result keeps
		// the ref; the log has the error.
		return map[string]string{"ref": ref, "record_error": err.Error()}, nil
	}
	if p.cfg.OnPublished != nil {
		p.cfg.OnPublished(ctx)
	}
	return map[string]string{"ref": ref}, nil
}

// lateAfter is how long a publication may be held back by the page's rate
// limit before the channel is told it is late.
const lateAfter = time.Minute

// failed records a failed attempt: a refusal for good on the timeline and
// in the channel with the page's reason; a delay (the page is down, or
// slow) once per publication. A rate limit is a short wait, not news.
func (p *StatusPages) failed(ctx context.Context, d Delivery, pl publishPayload, cause error) error {
	u := pl.Update
	var temp *TemporaryError
	isTemp := errors.As(cause, &temp)
	if isTemp && temp.RateLimited && p.svc.now().Sub(pl.QueuedAt) < lateAfter {
		return cause // a wait of a second or so: not news yet
	}
	kind, dedup := KindPublicRefused, fmt.Sprintf("statuspage-refused:%d", d.ID)
	text := fmt.Sprintf("%s refused the public update (%s): %v. Nothing was published; fix it and publish again with /incident statuspage.", p.PageName(), u.Status, cause)
	if isTemp {
		kind, dedup = KindPublicDelayed, fmt.Sprintf("statuspage-delayed:%d", d.ID)
		text = fmt.Sprintf("The public update (%s) is late: %s did not take it (%v). sitrep keeps trying; nothing is lost.", u.Status, p.PageName(), cause)
	}
	err := p.svc.update(ctx, func(tx Tx) error {
		inc, err := tx.Incident(d.IncidentID)
		if err != nil {
			return err
		}
		now := p.svc.now()
		ev := Event{IncidentID: inc.ID, Kind: kind, Actor: SystemActor, OccurredAt: now, RecordedAt: now, DedupKey: dedup,
			Text: text, Data: map[string]any{"reason": cause.Error(), "status": string(u.Status), "delivery": d.ID}}
		ok, err := tx.AppendEvent(&ev)
		if err != nil || !ok {
			return err
		}
		return p.svc.say(tx, inc, text)
	})
	if err != nil {
		return Temporary(fmt.Errorf("%w (and recording it failed: %v)", cause, err), 0)
	}
	return cause
}

// onEvent asks, after an incident is resolved, whether to resolve its
// public incident: through the outbox, whose handler reads the committed
// timeline.
func (p *StatusPages) onEvent(tx Tx, inc Incident, ev Event) error {
	if ev.Kind != KindStatusChanged || inc.Status != StatusResolved {
		return nil
	}
	return tx.Enqueue(mustDelivery(statusPageKey(inc.ID), OpAskPublicResolve, inc.ID, nil))
}

func (p *StatusPages) askResolve(ctx context.Context, d Delivery) (any, error) {
	st, err := p.state(ctx, d.IncidentID)
	if err != nil {
		return nil, err
	}
	if !st.Open {
		return nil, nil
	}
	err = p.svc.update(ctx, func(tx Tx) error {
		inc, err := tx.Incident(d.IncidentID)
		if err != nil {
			return err
		}
		if inc.Status != StatusResolved {
			return nil // re-opened since
		}
		id := fmt.Sprint(inc.ID)
		msg := Message{
			Text: fmt.Sprintf("%s is resolved, but its public incident on %s (%q) is still %s. Resolve it publicly? Nothing is published until someone chooses.", inc.Key(), p.PageName(), st.Title, st.Status),
			Actions: []Action{
				{ID: ActionResolvePublicly, Label: "Resolve publicly", Value: id, Style: "primary"},
				{ID: ActionKeepPublicOpen, Label: "Keep it open", Value: id},
			},
		}
		return tx.Enqueue(mustDelivery(incidentKey(inc.ID), OpPost, inc.ID, postPayload{Target: TargetIncident, Message: msg}))
	})
	return nil, err
}

// Resolve resolves the public incident, with text or a plain default, and
// sets its components operational.
func (p *StatusPages) Resolve(ctx context.Context, actor string, id int64, text string) (Incident, PublicUpdate, error) {
	if strings.TrimSpace(text) == "" {
		text = "This incident has been resolved."
	}
	return p.Publish(ctx, actor, id, PublicRequest{Body: text, Status: string(StatusResolved)})
}

func (p *StatusPages) commands() []Command {
	cmds := []Command{{Name: "statuspage", Syntax: "[<public text> | resolve [text] | publish <n> | cancel <n>]",
		Help: "publish to the status page: a form, or a preview of <public text> with Publish/Cancel",
		Run:  p.execStatusPage}}
	if core, ok := p.svc.command("update"); ok {
		run := core.Run
		core.Syntax = "[--public] " + core.Syntax
		core.Help += "; --public also publishes it to the status page"
		core.Run = func(ctx context.Context, inv Invocation, inc Incident, args string) (Reply, error) {
			rest, public := strings.CutPrefix(args, "--public")
			if !public || (rest != "" && rest[0] != ' ' && rest[0] != '\t' && rest[0] != '\n') {
				return run(ctx, inv, inc, args)
			}
			return p.execPublicUpdate(ctx, inv, inc, strings.TrimSpace(rest), run)
		}
		cmds = append(cmds, core)
	}
	return cmds
}

func (p *StatusPages) execStatusPage(ctx context.Context, inv Invocation, inc Incident, args string) (Reply, error) {
	word, rest := splitWord(args)
	switch strings.ToLower(word) {
	case "":
		_, u, err := p.PublicDraft(ctx, inc.ID)
		if err != nil {
			return Reply{}, err
		}
		return Reply{Text: fmt.Sprintf("Draft for %s (the form opens in Slack):\n\n%s\n\nPublish with /incident statuspage <public text>, which shows a preview first.", p.PageName(), p.Preview(u)), Incident: inc}, nil
	case "resolve":
		inc, u, err := p.Resolve(ctx, inv.Actor, inc.ID, rest)
		if err != nil {
			return Reply{}, err
		}
		return Reply{Text: fmt.Sprintf("Resolving %q on %s; its components go back to operational.", u.Title, p.PageName()), Incident: inc}, nil
	case "publish", "cancel":
		n, err := parseProposal(rest)
		if err != nil {
			return Reply{}, p.svc.UsageError("statuspage", "%s", ErrorMessage(err))
		}
		if strings.EqualFold(word, "cancel") {
			inc, err := p.CancelProposal(ctx, inv.Actor, inc.ID, n)
			return Reply{Text: "Cancelled: nothing was published.", Incident: inc}, err
		}
		inc, err := p.PublishProposal(ctx, inv.Actor, inc.ID, n)
		return Reply{Text: fmt.Sprintf("Publishing to %s; the channel is told when it is done.", p.PageName()), Incident: inc}, err
	}
	return p.Propose(ctx, inv.Actor, inc.ID, PublicRequest{Body: args})
}

func (p *StatusPages) execPublicUpdate(ctx context.Context, inv Invocation, inc Incident, text string, internal func(context.Context, Invocation, Incident, string) (Reply, error)) (Reply, error) {
	if text == "" {
		return Reply{}, p.svc.UsageError("update", "a public update needs text")
	}
	st, err := p.state(ctx, inc.ID)
	if err != nil {
		return Reply{}, err
	}
	if _, err := p.build(inc, st, PublicRequest{Body: text}); err != nil {
		return Reply{}, err // refused before anything is posted
	}
	reply, err := internal(ctx, inv, inc, text)
	if err != nil {
		return Reply{}, err
	}
	if _, _, err := p.Publish(ctx, inv.Actor, inc.ID, PublicRequest{Body: text}); err != nil {
		return Reply{}, fmt.Errorf("the update was posted in the channel, but not published: %w", err)
	}
	reply.Text += fmt.Sprintf("; publishing it to %s", p.PageName())
	return reply, nil
}

// postUpdateAction is the update form's action with its "also publish"
// box: checked (Input "public" = "true"), the update is published too,
// after the same checks as update --public.
func (p *StatusPages) postUpdateAction(core ActionHandler) ActionHandler {
	return func(ctx context.Context, a ActionInvocation) (Reply, error) {
		if a.Input["public"] != "true" {
			return core(ctx, a)
		}
		id, err := ActionIncident(a)
		if err != nil {
			return Reply{}, err
		}
		inc, err := p.svc.Incident(ctx, id)
		if err != nil {
			return Reply{}, err
		}
		return p.execPublicUpdate(ctx, Invocation{Actor: a.Actor, ChannelID: a.ChannelID}, inc, strings.TrimSpace(a.Input["text"]),
			func(ctx context.Context, _ Invocation, _ Incident, _ string) (Reply, error) { return core(ctx, a) })
	}
}

func parseProposal(s string) (int64, error) {
	var n int64
	if _, err := fmt.Sscan(strings.TrimSpace(s), &n); err != nil || n < 1 {
		return 0, FieldErrorf("preview", "%q is not a preview number", s)
	}
	return n, nil
}

// proposalValue reads a preview button's value, "<incident id>:<event id>".
func proposalValue(v string) (int64, int64, error) {
	a, b, ok := strings.Cut(v, ":")
	inc, err1 := ParseIncidentKey(a)
	n, err2 := parseProposal(b)
	if !ok || err1 != nil || err2 != nil {
		return 0, 0, Errorf(EINVALID, "this button does not name a preview")
	}
	return inc, n, nil
}

func (p *StatusPages) publishAction(ctx context.Context, a ActionInvocation) (Reply, error) {
	if a.Input != nil { // the publish form
		id, err := ActionIncident(a)
		if err != nil {
			return Reply{}, err
		}
		req := PublicRequest{Title: a.Input["title"], Body: a.Input["body"], Status: a.Input["status"], ComponentStatus: a.Input["component_status"]}
		if names, ok := a.Input["components"]; ok {
			req.Components = []string{}
			for n := range strings.SplitSeq(names, ",") {
				if n = strings.TrimSpace(n); n != "" {
					req.Components = append(req.Components, n)
				}
			}
		}
		inc, u, err := p.Publish(ctx, a.Actor, id, req)
		if err != nil {
			return Reply{}, err
		}
		return Reply{Text: fmt.Sprintf("Publishing %q to %s", u.Title, p.PageName()), Incident: inc}, nil
	}
	id, n, err := proposalValue(a.Value)
	if err != nil {
		return Reply{}, err
	}
	inc, err := p.PublishProposal(ctx, a.Actor, id, n)
	if err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("Publishing to %s; the channel is told when it is done.", p.PageName()), Incident: inc}, nil
}

func (p *StatusPages) cancelAction(ctx context.Context, a ActionInvocation) (Reply, error) {
	id, n, err := proposalValue(a.Value)
	if err != nil {
		return Reply{}, err
	}
	inc, err := p.CancelProposal(ctx, a.Actor, id, n)
	if err != nil {
		return Reply{}, err
	}
	return Reply{Text: "Cancelled: nothing was published.", Incident: inc}, nil
}

func (p *StatusPages) resolveAction(ctx context.Context, a ActionInvocation) (Reply, error) {
	id, err := ActionIncident(a)
	if err != nil {
		return Reply{}, err
	}
	inc, u, err := p.Resolve(ctx, a.Actor, id, a.Input["text"])
	if err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("Resolving %q on %s", u.Title, p.PageName()), Incident: inc}, nil
}

func (p *StatusPages) keepOpenAction(ctx context.Context, a ActionInvocation) (Reply, error) {
	id, err := ActionIncident(a)
	if err != nil {
		return Reply{}, err
	}
	inc, err := p.svc.Incident(ctx, id)
	if err != nil {
		return Reply{}, err
	}
	return Reply{Text: fmt.Sprintf("The public incident stays open on %s. Resolve it later with /incident statuspage resolve [text].", p.PageName()), Incident: inc}, nil
}

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
