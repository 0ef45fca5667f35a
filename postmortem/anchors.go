package postmortem

import (
	"fmt"
	"strings"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// Anchor names, as POSTMORTEM.md spells them.
const (
	ImpactStarted = "impact_started_at"
	FirstAlert    = "first_alert_at"
	FirstAck      = "first_ack_at"
	Declared      = "declared_at"
	Mitigated     = "mitigated_at"
	ImpactEnded   = "impact_ended_at"
	Resolved      = "resolved_at"
)

// Anchor is one recorded (or defaulted) point in time the metrics are
// measured between.
type Anchor struct {
	Name  string    // ImpactStarted, FirstAlert, ...
	At    time.Time // zero: not recorded
	Basis string    // where the time comes from, for the reader
	// Default is set when the time stands in for one nobody recorded (the
	// first alert as the impact start, mitigation as the impact end).
	Default bool
}

// Set reports whether the anchor has a time.
func (a Anchor) Set() bool { return !a.At.IsZero() }

// Metric is one duration between two anchors.
type Metric struct {
	Name     string // "impact duration"
	From, To Anchor
	Duration time.Duration // To.At - From.At; meaningful only when Known
	Known    bool          // both anchors are set
	Flag     string        // why the reader should look twice, "" when nothing
}

// Facts are the anchors, the metrics between them and the validation flags,
// computed from the record exactly per POSTMORTEM.md.
type Facts struct {
	Anchors []Anchor // in POSTMORTEM.md's order
	Metrics []Metric // in POSTMORTEM.md's order
	// AckFromResponderAction is set when no acknowledgement was recorded
	// and the first responder action stands in for it.
	AckFromResponderAction bool
	Flags                  []string // inconsistent anchors and stand-ins, never "fixed"
}

// Anchor returns the anchor called name (zero when unknown).
func (f Facts) Anchor(name string) Anchor {
	for _, a := range f.Anchors {
		if a.Name == name {
			return a
		}
	}
	return Anchor{Name: name}
}

// Metric returns the metric called name (zero when unknown).
func (f Facts) Metric(name string) Metric {
	for _, m := range f.Metrics {
		if m.Name == name {
			return m
		}
	}
	return Metric{Name: name}
}

// metricDefs is POSTMORTEM.md's table: each metric and its two anchors.
var metricDefs = []struct{ name, from, to string }{
	{"impact duration", ImpactStarted, ImpactEnded},
	{"time to detect", ImpactStarted, FirstAlert},
	{"time to acknowledge", FirstAlert, FirstAck},
	{"time to declare", FirstAlert, Declared},
	{"time to mitigate", ImpactStarted, Mitigated},
	{"time to resolve", ImpactStarted, Resolved},
	{"response duration", FirstAlert, Resolved},
	{"incident duration", Declared, Resolved},
}

// ComputeFacts finds the anchors in the record, measures the metrics and
// flags anchors that disagree.
func ComputeFacts(in Input) Facts {
	in = in.normalized()
	n := namer(in.Names)
	var f Facts
	alert := firstAlert(in)
	ack, fromAction := firstAck(in, n)
	f.AckFromResponderAction = fromAction
	declared := Anchor{Name: Declared, At: in.Incident.DeclaredAt, Basis: "when the incident was declared"}
	if ev, ok := firstOf(in.Events, bot.KindDeclared); ok {
		declared.Basis = "declared by " + n.actor(ev.Actor)
	}
	mitigated := Anchor{Name: Mitigated, At: in.Incident.MitigatedAt, Basis: "first move to monitoring or beyond"}
	resolved := Anchor{Name: Resolved, At: in.Incident.ResolvedAt, Basis: "resolution"}
	if !resolved.Set() {
		resolved.Basis = "not resolved yet"
	}
	start := impactStart(in, alert, n)
	end := impactEnd(in, mitigated, resolved, n)
	f.Anchors = []Anchor{start, alert, ack, declared, mitigated, end, resolved}
	for _, d := range metricDefs {
		f.Metrics = append(f.Metrics, measure(d.name, f.Anchor(d.from), f.Anchor(d.to)))
	}
	if fromAction {
		msg := fmt.Sprintf("time to acknowledge uses the first responder action as the acknowledgement (%s): no explicit acknowledgement was recorded", ack.Basis)
		for i := range f.Metrics {
			if f.Metrics[i].Name == "time to acknowledge" {
				f.Metrics[i].Flag = "a responder action stands in for the acknowledgement"
			}
		}
		f.Flags = append(f.Flags, msg)
	}
	f.Flags = append(f.Flags, validate(f)...)
	return f
}

func measure(name string, from, to Anchor) Metric {
	m := Metric{Name: name, From: from, To: to, Known: from.Set() && to.Set()}
	if m.Known {
		m.Duration = to.At.Sub(from.At)
		if m.Duration < 0 {
			m.Flag = fmt.Sprintf("negative: %s is before %s", to.Name, from.Name)
		}
	}
	return m
}

// validate checks POSTMORTEM.md's rules: first_alert ≤ first_ack ≤
// resolved, and every anchor at or after the impact start. Violations are
// reported, never corrected.
func validate(f Facts) []string {
	var flags []string
	order := func(a, b Anchor) {
		if a.Set() && b.Set() && b.At.Before(a.At) {
			flags = append(flags, fmt.Sprintf("inconsistent anchors: %s (%s) is before %s (%s); the draft keeps both as recorded",
				b.Name, rfc(b.At), a.Name, rfc(a.At)))
		}
	}
	order(f.Anchor(FirstAlert), f.Anchor(FirstAck))
	order(f.Anchor(FirstAck), f.Anchor(Resolved))
	start := f.Anchor(ImpactStarted)
	for _, a := range f.Anchors {
		if a.Name != ImpactStarted {
			order(start, a)
		}
	}
	return flags
}

func firstAlert(in Input) Anchor {
	if ev, ok := firstOf(in.Events, bot.KindAlertFired); ok {
		return Anchor{Name: FirstAlert, At: ev.OccurredAt, Basis: "first alert: " + quote(alertTitle(ev))}
	}
	return Anchor{Name: FirstAlert, At: in.Incident.DetectedAt, Default: true,
		Basis: "no alert was recorded; the detection time of the declaration stands in"}
}

// firstAck is the first recorded acknowledgement, or else the first thing a
// responder did (flagged by the caller).
func firstAck(in Input, n namer) (Anchor, bool) {
	if ev, ok := firstOf(in.Events, bot.KindAcknowledged); ok {
		return Anchor{Name: FirstAck, At: ev.OccurredAt, Basis: "acknowledged by " + n.actor(ev.Actor)}, false
	}
	for _, ev := range in.Events {
		if isResponderAction(ev) {
			return Anchor{Name: FirstAck, At: ev.OccurredAt, Default: true,
				Basis: fmt.Sprintf("first responder action: %s by %s", strings.ToLower(kindLabel(ev.Kind)), n.actor(ev.Actor))}, true
		}
	}
	if !in.Incident.AcknowledgedAt.IsZero() {
		return Anchor{Name: FirstAck, At: in.Incident.AcknowledgedAt, Default: true,
			Basis: "first status change past triggered"}, true
	}
	return Anchor{Name: FirstAck, Basis: "no acknowledgement was recorded"}, false
}

// isResponderAction reports whether ev is something a person did in the
// response. Impact anchors sit at the impact's time, not the action's, and
// the postmortem's own events come after the fact.
func isResponderAction(ev bot.Event) bool {
	if !isPerson(ev.Actor) {
		return false
	}
	switch ev.Kind {
	case bot.KindImpactSet, bot.KindPostmortemDrafted, bot.KindPostmortemExported, bot.KindResponderJoined, bot.KindMessagePinned:
		return false
	}
	return true
}

func impactStart(in Input, alert Anchor, n namer) Anchor {
	if !in.Impact.StartedAt.IsZero() {
		return Anchor{Name: ImpactStarted, At: in.Impact.StartedAt, Basis: "set by " + n.actor(in.Impact.StartedBy) + " with `/incident impact start`"}
	}
	return Anchor{Name: ImpactStarted, At: alert.At, Default: true,
		Basis: "lower bound: the first alert (impact may have started earlier); set it with `/incident impact start <time>`"}
}

func impactEnd(in Input, mitigated, resolved Anchor, n namer) Anchor {
	switch {
	case !in.Impact.EndedAt.IsZero():
		return Anchor{Name: ImpactEnded, At: in.Impact.EndedAt, Basis: "set by " + n.actor(in.Impact.EndedBy) + " with `/incident impact end`"}
	case mitigated.Set():
		return Anchor{Name: ImpactEnded, At: mitigated.At, Default: true,
			Basis: "defaults to mitigated_at; set it with `/incident impact end <time>`"}
	case resolved.Set():
		return Anchor{Name: ImpactEnded, At: resolved.At, Default: true,
			Basis: "defaults to resolved_at (no mitigation recorded); set it with `/incident impact end <time>`"}
	}
	return Anchor{Name: ImpactEnded, Basis: "impact has not ended in the record"}
}

func firstOf(events []bot.Event, kind bot.EventKind) (bot.Event, bool) {
	for _, ev := range events {
		if ev.Kind == kind {
			return ev, true
		}
	}
	return bot.Event{}, false
}

func alertTitle(ev bot.Event) string {
	for _, p := range []string{"alert fired: ", "alert resolved: "} {
		if t, ok := strings.CutPrefix(ev.Text, p); ok {
			return t
		}
	}
	return ev.Text
}

// isPerson reports whether an actor is a person: not sitrep itself, not an
// alert source ("alert:grafana").
func isPerson(actor string) bool {
	return actor != "" && actor != bot.SystemActor && !strings.Contains(actor, ":")
}
