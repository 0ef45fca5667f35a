package bot

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"
)

// EventRun is one entry of a collapsed timeline: a single event, or a run
// of consecutive repeats of the same alert (same kind, source and title)
// with nothing else recorded in between. The events stay in the store;
// only the reading is shorter.
type EventRun struct {
	First  Event     // the run's first event, shown for all of it
	Count  int       // events in the run; 1 for an event that repeats nothing
	LastAt time.Time // when the run's last event happened
	// Changes are the labels whose values differ within the run (a new
	// instance, a new pod), in key order.
	Changes []LabelChange
}

// LabelChange is a label that took more than one value within a run.
type LabelChange struct {
	Key string
	// Values are the values the run's first event did not have, in the
	// order they first appeared, at most maxChangeValues of them.
	Values []string
	New    int // how many values the first event did not have
}

// maxChangeValues is how many new values of a label a collapsed row names.
const maxChangeValues = 3

// CollapseTimeline groups runs of repeated alert events; events must be in
// time order (Store.Timeline's). Every other event is a run of one.
func CollapseTimeline(events []Event) []EventRun {
	var runs []EventRun
	var seen []map[string][]string // per run: label key → values in first-seen order
	for _, ev := range events {
		if n := len(runs); n > 0 && repeats(runs[n-1].First, ev) {
			r := &runs[n-1]
			r.Count++
			r.LastAt = ev.OccurredAt
			addLabels(seen[n-1], ev)
			continue
		}
		runs = append(runs, EventRun{First: ev, Count: 1, LastAt: ev.OccurredAt})
		vals := map[string][]string{}
		if isAlertKind(ev.Kind) {
			addLabels(vals, ev)
		}
		seen = append(seen, vals)
	}
	for i := range runs {
		if runs[i].Count > 1 {
			runs[i].Changes = labelChanges(seen[i])
		}
	}
	return runs
}

func isAlertKind(k EventKind) bool { return k == KindAlertFired || k == KindAlertResolved }

// repeats reports whether ev repeats the alert event first.
func repeats(first, ev Event) bool {
	return isAlertKind(ev.Kind) && ev.Kind == first.Kind && ev.Actor == first.Actor && ev.Text == first.Text && ev.Hidden == first.Hidden
}

// EventLabels returns an alert event's labels, whether the event was just
// built (map[string]string) or read back from the store (JSON: map[string]any).
func EventLabels(ev Event) map[string]string {
	switch m := ev.Data["labels"].(type) {
	case map[string]string:
		return m
	case map[string]any:
		out := make(map[string]string, len(m))
		for k, v := range m {
			out[k] = fmt.Sprint(v)
		}
		return out
	}
	return nil
}

func addLabels(vals map[string][]string, ev Event) {
	for k, v := range EventLabels(ev) {
		if !slices.Contains(vals[k], v) {
			vals[k] = append(vals[k], v)
		}
	}
}

// labelChanges lists the labels with more than one value; a label the
// first event lacked counts all its values as new.
func labelChanges(vals map[string][]string) []LabelChange {
	var out []LabelChange
	for k, vs := range vals {
		if len(vs) < 2 {
			continue
		}
		news := vs[1:]
		out = append(out, LabelChange{Key: k, Values: slices.Clone(news[:min(len(news), maxChangeValues)]), New: len(news)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// ChangesText words a run's label changes: "new instance: api-2, api-3 and
// 7 more; new pod: p-9".
func (r EventRun) ChangesText() string {
	parts := make([]string, 0, len(r.Changes))
	for _, c := range r.Changes {
		s := "new " + c.Key + ": " + strings.Join(c.Values, ", ")
		if more := c.New - len(c.Values); more > 0 {
			s += fmt.Sprintf(" and %d more", more)
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, "; ")
}

// FormatRun renders one collapsed timeline entry on one line, as
// FormatEvent does for an event; a run adds its count, its last time and
// what changed.
func FormatRun(r EventRun) string {
	line := FormatEvent(r.First)
	if r.Count == 1 {
		return line
	}
	line += fmt.Sprintf(" (×%d, last %s", r.Count, r.LastAt.UTC().Format(time.DateTime))
	if c := r.ChangesText(); c != "" {
		line += "; " + PlainText(oneLine(c))
	}
	return line + ")"
}

// FormatTimelineCollapsed renders a timeline with repeated alerts
// collapsed, in at most budget bytes (0: no limit). When it does not fit,
// the newest entries are kept and a line says how many earlier ones are
// left out and how to read them all.
func FormatTimelineCollapsed(inc Incident, events []Event, budget int) string {
	runs := CollapseTimeline(events)
	head := fmt.Sprintf("Timeline of %s %s: %s", inc.Key(), inc.Severity, inc.Title)
	lines := make([]string, len(runs))
	for i, r := range runs {
		lines[i] = truncateLine(FormatRun(r), maxTimelineLine)
	}
	total := len(head)
	for _, l := range lines {
		total += 1 + len(l)
	}
	from := 0
	if budget > 0 && total > budget {
		from, total = len(lines), len(head)+omittedLineMax
		for from > 0 && total+1+len(lines[from-1]) <= budget {
			from--
			total += 1 + len(lines[from])
		}
	}
	var b strings.Builder
	b.WriteString(head)
	if from > 0 {
		omitted := 0
		for _, r := range runs[:from] {
			omitted += r.Count
		}
		fmt.Fprintf(&b, "\n… %d earlier entries (%d events) not shown; `sitrep timeline %s` prints the full timeline.", from, omitted, inc.Key())
	}
	for _, l := range lines[from:] {
		b.WriteByte('\n')
		b.WriteString(l)
	}
	return b.String()
}

// maxTimelineLine caps one entry, so a long note cannot take the whole
// budget; omittedLineMax is room kept for the "not shown" line.
const (
	maxTimelineLine = 500
	omittedLineMax  = 160
)

func truncateLine(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
