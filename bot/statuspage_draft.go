package bot

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The public update: the draft that prefills the form, what a person
// confirmed turned into what customers read, and its preview.

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
	// NextBy, when set, is when the next update comes: the public text
	// ends "Next update by HH:MM <zone>." (an internal update's promise,
	// published with it).
	NextBy time.Time
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
	case len(u.Title) > maxPublicTitle:
		return PublicUpdate{}, FieldErrorf("title", "the public title is %d characters: keep it within %d", len(u.Title), maxPublicTitle)
	}
	if !req.NextBy.IsZero() && u.Status != StatusResolved {
		u.Body += "\n\nNext update by " + req.NextBy.In(p.cfg.Location).Format("15:04 MST") + "."
	}
	if len(u.Body) > maxPublicBody {
		return PublicUpdate{}, FieldErrorf("body", "the public text is %d characters: keep it within %d", len(u.Body), maxPublicBody)
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
