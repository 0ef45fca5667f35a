package postmortem

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// View is what the template renders: every fact already worded, so a
// custom template only arranges it.
type View struct {
	Key, Title    string
	Severity      string
	Services      string
	Owner         string // the commander, by name
	CommsLead     string
	Participants  []string
	ReviewDue     string
	Zone          string // the display zone's IANA name
	ShowLocal     bool   // the display zone is not UTC
	DraftedAt     string
	Status        string // "draft" while prompts remain
	Prompts       int    // counted while rendering
	LanguageCheck string
	Flags         []string

	Impact   string // what the record proves about impact
	Anchors  []AnchorRow
	Metrics  []MetricRow
	Timeline []Row

	Detection []string
	Runbooks  []RunbookAction
	Comms     Comms
	Evidence  []string
	Actions   []ActionItem
	Links     []string

	Facts Facts // the computed numbers, for templates that want them raw
}

// AnchorRow is one anchor in the key-times table.
type AnchorRow struct{ Name, UTC, Local, Basis string }

// MetricRow is one metric in the key-times table.
type MetricRow struct{ Name, Value, From, To string }

// ActionItem is one follow-up in the action-item table.
type ActionItem struct {
	N       int
	Text    string
	Owner   string // "⚠ missing owner" when nobody owns it
	Tracker string
	Due     string
	Source  string
}

func newView(in Input) *View {
	n := namer(in.Names)
	inc := in.Incident
	facts := ComputeFacts(in)
	v := &View{
		Key: inc.Key(), Title: inc.Title, Severity: inc.Severity.String(), Services: services(in),
		Owner: nameOr(n, inc.Commander, "no commander recorded"), CommsLead: nameOr(n, inc.CommsLead, "none assigned"),
		Participants: participants(in, n), ReviewDue: reviewDue(in), Zone: in.Location.String(),
		ShowLocal: in.Location != time.UTC, DraftedAt: clock(in.DraftedAt, in.Location),
		LanguageCheck: "passed", Facts: facts, Flags: slices.Clone(facts.Flags),
	}
	v.Impact = impactSummary(facts, in.Location)
	v.Anchors, v.Metrics = anchorRows(facts, in.Location), metricRows(facts)
	v.Timeline = timelineRows(in, n)
	v.Detection = detection(in, facts, n)
	v.Runbooks = runbookActions(in, n)
	v.Comms = communications(in, n)
	if v.Comms.Flag != "" {
		v.Flags = append(v.Flags, v.Comms.Flag)
	}
	v.Evidence = evidence(in, n)
	v.Actions = actionItems(in, n, v)
	v.Links = links(in)
	return v
}

func nameOr(n namer, id, none string) string {
	if id == "" {
		return none
	}
	return n.name(id)
}

// services lists the services the alert labels name (PagerDuty's service
// included).
func services(in Input) string {
	seen := map[string]bool{}
	add := func(labels map[string]string) {
		for _, k := range []string{"service", "services", "app", "component", "pagerduty.service"} {
			for _, s := range strings.Split(labels[k], ",") {
				if s = strings.TrimSpace(s); s != "" {
					seen[s] = true
				}
			}
		}
	}
	add(in.Incident.Labels)
	for _, ev := range in.Events {
		if m, ok := ev.Data["labels"].(map[string]any); ok {
			labels := map[string]string{}
			for k, v := range m {
				labels[k] = fmt.Sprint(v)
			}
			add(labels)
		}
	}
	if len(seen) == 0 {
		return "none recorded in the alert labels"
	}
	out := make([]string, 0, len(seen))
	for s := range seen {
		out = append(out, s)
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// participants are the people in the record, by display name, in the order
// they first appear, with their roles.
func participants(in Input, n namer) []string {
	var ids []string
	add := func(id string) {
		if isPerson(id) && !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	add(in.Incident.Commander)
	add(in.Incident.CommsLead)
	for _, ev := range in.Events {
		add(ev.Actor)
		if u, ok := ev.Data["user"].(string); ok {
			add(u)
		}
	}
	for _, f := range in.FollowUps {
		add(f.Owner)
	}
	out := make([]string, 0, len(ids))
	for _, id := range ids {
		s := n.name(id)
		switch id {
		case in.Incident.Commander:
			s += " (commander)"
		case in.Incident.CommsLead:
			s += " (comms lead)"
		}
		out = append(out, s)
	}
	return out
}

func reviewDue(in Input) string {
	from, basis := in.Incident.ResolvedAt, "resolution"
	if from.IsZero() {
		from, basis = in.DraftedAt, "this draft (the incident is not resolved)"
	}
	days := ReviewDays(in.Incident.Severity)
	return fmt.Sprintf("%s (%s: %d days after %s)", from.In(in.Location).AddDate(0, 0, days).Format("2006-01-02"),
		in.Incident.Severity, days, basis)
}

func impactSummary(f Facts, loc *time.Location) string {
	start, end, m := f.Anchor(ImpactStarted), f.Anchor(ImpactEnded), f.Metric("impact duration")
	if !m.Known {
		return fmt.Sprintf("User impact began at %s (%s); its end is not recorded.", clockOr(start.At, loc), start.Basis)
	}
	return fmt.Sprintf("User impact lasted %s, from %s (%s) to %s (%s).",
		FormatDuration(m.Duration), clock(start.At, loc), start.Basis, clock(end.At, loc), end.Basis)
}

func clockOr(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "an unrecorded time"
	}
	return clock(t, loc)
}

func anchorRows(f Facts, loc *time.Location) []AnchorRow {
	rows := make([]AnchorRow, 0, len(f.Anchors))
	for _, a := range f.Anchors {
		basis := a.Basis
		if a.Default {
			basis = "⚠ " + basis
		}
		rows = append(rows, AnchorRow{Name: "`" + a.Name + "`", UTC: rfc(a.At), Local: localText(a.At, loc), Basis: cell(basis)})
	}
	return rows
}

func metricRows(f Facts) []MetricRow {
	rows := make([]MetricRow, 0, len(f.Metrics))
	for _, m := range f.Metrics {
		value := "not available"
		if m.Known {
			value = FormatDuration(m.Duration)
		}
		if m.Flag != "" {
			value += " ⚠ " + m.Flag
		}
		rows = append(rows, MetricRow{Name: m.Name, Value: cell(value),
			From: fmt.Sprintf("`%s` %s", m.From.Name, rfc(m.From.At)), To: fmt.Sprintf("`%s` %s", m.To.Name, rfc(m.To.At))})
	}
	return rows
}

// detection lists the facts of how the incident was found and taken on.
func detection(in Input, f Facts, n namer) []string {
	alert, ack, declared := f.Anchor(FirstAlert), f.Anchor(FirstAck), f.Anchor(Declared)
	out := []string{
		fmt.Sprintf("Detected: %s, %s.", clockOr(alert.At, in.Location), alert.Basis),
		fmt.Sprintf("Acknowledged: %s, %s.", clockOr(ack.At, in.Location), ack.Basis),
		fmt.Sprintf("Declared: %s, %s.", clockOr(declared.At, in.Location), declared.Basis),
		fmt.Sprintf("Commander: %s. Comms lead: %s.", nameOr(n, in.Incident.Commander, "none recorded"), nameOr(n, in.Incident.CommsLead, "none assigned")),
	}
	if in.Incident.SourceURL != "" {
		out = append(out, fmt.Sprintf("Source: %s (%s).", in.Incident.Source, link("alert", in.Incident.SourceURL)))
	}
	for _, ev := range in.Events {
		switch ev.Kind {
		case bot.KindSeverityChanged, bot.KindRoleAssigned:
			out = append(out, fmt.Sprintf("%s: %s (set by %s).", clock(ev.OccurredAt, in.Location), describe(ev, n, in.Location), n.actor(ev.Actor)))
		}
	}
	return out
}

// evidence lists what responders wrote down about causes as they worked:
// candidates for the people writing the analysis, never a conclusion.
func evidence(in Input, n namer) []string {
	var out []string
	for _, ev := range in.Events {
		msg := ""
		switch ev.Kind {
		case bot.KindNote:
			msg = ev.Text
		case bot.KindStatusChanged:
			msg, _ = ev.Data["message"].(string)
		case kindRunbookFailed, kindRunbookSucceeded:
			msg = ev.Text
		}
		if strings.TrimSpace(msg) == "" {
			continue
		}
		out = append(out, fmt.Sprintf("%s, %s: %s", clock(ev.OccurredAt, in.Location), n.actor(ev.Actor), quote(n.text(msg))))
	}
	return out
}

func actionItems(in Input, n namer, v *View) []ActionItem {
	var out []ActionItem
	for i, f := range in.FollowUps {
		item := ActionItem{N: i + 1, Text: cell(quote(n.text(f.Text))), Due: "none set",
			Tracker: "not exported yet", Source: cell(fmt.Sprintf("`/incident followup` by %s, %s", n.actor(f.CreatedBy), clock(f.CreatedAt, in.Location)))}
		if f.Owner == "" {
			item.Owner = "⚠ **missing owner**"
			v.Flags = append(v.Flags, fmt.Sprintf("action item %d has no owner", i+1))
		} else {
			item.Owner = cell(n.name(f.Owner))
		}
		if f.IssueURL != "" {
			item.Tracker = link(fmt.Sprintf("#%d", f.IssueNumber), f.IssueURL)
		}
		out = append(out, item)
	}
	return out
}

func links(in Input) []string {
	var out []string
	inc := in.Incident
	if inc.SourceURL != "" {
		out = append(out, "Alert source ("+inc.Source+"): "+link(inc.SourceURL, inc.SourceURL))
	}
	if inc.ChannelName != "" {
		out = append(out, "Incident channel: #"+inc.ChannelName)
	}
	if u := in.Export.URL(); u != "" {
		out = append(out, "This postmortem at the tracker: "+link(u, u))
	}
	for i, f := range in.FollowUps {
		if f.IssueURL != "" {
			out = append(out, fmt.Sprintf("Action item %d: %s", i+1, link(f.IssueURL, f.IssueURL)))
		}
	}
	return out
}
