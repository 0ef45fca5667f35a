package bot

import (
	"bytes"
	"cmp"
	_ "embed" // the default update template ships in the binary
	"fmt"
	"slices"
	"strings"
	"text/template"
	"time"
)

// Status-update drafts: when a person opens the update form, its text is
// prefilled with what the timeline recorded since the previous status
// update (status and severity changes, runbook runs and their results,
// pinned messages, notes marked for the update, what is being done next),
// rendered from a text/template. A draft only states recorded facts: no
// fact, no sentence; nothing at all since the previous update gives "No
// change since HH:MM.".

//go:embed update_draft.txt.tmpl
var defaultUpdateTemplate string

// Note marks (the Data of a note event): a note marked for the update is
// quoted in the next draft; a "next" note says what is being done next.
const (
	NoteForUpdate = "for_update"
	NoteNext      = "next"
)

// UpdateDraftData is what the update template renders. Times are "HH:MM"
// in the team's time zone; people are named "@handle" (or "@<id>" when the
// chat's directory does not know them), never as a live mention.
type UpdateDraftData struct {
	Key, Title, Status, Severity string
	// Since is when the previous status update was posted, or the incident
	// declared when there was none (SinceUpdate false).
	Since       string
	SinceUpdate bool
	// NoChange: nothing below was recorded since.
	NoChange bool
	Changes  []DraftChange // status and severity changes, in order
	Runs     []DraftRun    // runbook runs with something recorded since
	Pinned   []DraftNote   // messages pinned in the channel
	Notes    []DraftNote   // notes marked for the update
	Next     []DraftNote   // notes saying what is being done next
}

// DraftChange is one status or severity change. What is "status",
// "severity" or "acknowledged".
type DraftChange struct {
	What, At, Who, From, To, Message string
}

// DraftRun is the state of one runbook run: Outcome is a fragment such as
// "succeeded", "failed: step audit failed: exit 1", "is waiting for
// approval"; At is when it reached it.
type DraftRun struct {
	Key, Runbook, RequestedBy, ApprovedBy, Outcome, At string
}

// DraftNote is a pinned message or a note.
type DraftNote struct {
	At, Who, Text string
}

// UpdateTemplate renders drafts. Its methods are safe for concurrent use.
type UpdateTemplate struct {
	tmpl *template.Template
}

func updateTemplateFuncs() template.FuncMap {
	return template.FuncMap{
		// sentence ends text with a full stop unless it ends with one already.
		"sentence": func(s string) string {
			s = strings.TrimSpace(s)
			if s == "" || strings.ContainsAny(s[len(s)-1:], ".!?:") {
				return s
			}
			return s + "."
		},
		"join": strings.Join,
	}
}

// ParseUpdateTemplate parses a draft template (its data is
// UpdateDraftData) and checks it renders every kind of fact, so that a
// mistake shows at start, not when someone opens the form.
func ParseUpdateTemplate(text string) (*UpdateTemplate, error) {
	t, err := template.New("update").Option("missingkey=error").Funcs(updateTemplateFuncs()).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("parse update template: %w", err)
	}
	ut := &UpdateTemplate{tmpl: t}
	sample := UpdateDraftData{Key: "INC-1", Title: "t", Status: "investigating", Severity: "SEV1", Since: "00:00", SinceUpdate: true,
		Changes: []DraftChange{{What: "status", At: "00:01", Who: "@a", From: "investigating", To: "identified", Message: "m"}},
		Runs:    []DraftRun{{Key: "RUN-1", Runbook: "r", RequestedBy: "@a", ApprovedBy: "@b", Outcome: "succeeded", At: "00:02"}},
		Pinned:  []DraftNote{{At: "00:03", Who: "@a", Text: "p"}}, Notes: []DraftNote{{At: "00:04", Who: "@a", Text: "n"}},
		Next: []DraftNote{{At: "00:05", Who: "@a", Text: "x"}}}
	for _, d := range []UpdateDraftData{sample, {Key: "INC-1", Since: "00:00", NoChange: true}} {
		if _, err := ut.Render(d); err != nil {
			return nil, err
		}
	}
	return ut, nil
}

// DefaultUpdateTemplate is the shipped template.
func DefaultUpdateTemplate() *UpdateTemplate {
	t, err := ParseUpdateTemplate(defaultUpdateTemplate)
	if err != nil {
		panic(err) // the embedded template is tested
	}
	return t
}

// DefaultUpdateTemplateText is the shipped template's text, a starting
// point for a custom one.
func DefaultUpdateTemplateText() string { return defaultUpdateTemplate }

// Render renders one draft, trimmed, blank lines squeezed.
func (t *UpdateTemplate) Render(d UpdateDraftData) (string, error) {
	var b bytes.Buffer
	if err := t.tmpl.Execute(&b, d); err != nil {
		return "", fmt.Errorf("render update draft: %w", err)
	}
	var lines []string
	for _, l := range strings.Split(b.String(), "\n") {
		if l = strings.TrimRight(l, " \t"); l != "" || (len(lines) > 0 && lines[len(lines)-1] != "") {
			lines = append(lines, l)
		}
	}
	return strings.TrimSpace(strings.Join(lines, "\n")), nil
}

// DraftInput is what a draft is assembled from.
type DraftInput struct {
	Incident Incident
	Events   []Event // the incident's timeline, in any order it was read
	// Names maps chat user ids to handles; a missing one is shown as its id.
	Names    map[string]string
	Location *time.Location // UTC when nil
}

// AssembleUpdateDraft collects the facts recorded since the previous status
// update. It is pure: the same input gives the same draft.
func AssembleUpdateDraft(in DraftInput) UpdateDraftData {
	loc := in.Location
	if loc == nil {
		loc = time.UTC
	}
	clock := func(t time.Time) string { return t.In(loc).Format("15:04") }
	who := func(actor string) string { return draftActor(actor, in.Names) }
	inc := in.Incident
	d := UpdateDraftData{Key: inc.Key(), Title: inc.Title, Status: string(inc.Status), Severity: inc.Severity.String()}

	events := sortedEvents(in.Events)
	since, sinceID := inc.DeclaredAt, int64(0)
	// Who asked for and who approved each run, whenever it was recorded: a
	// run requested before the previous update is named by its requester
	// when its result comes after.
	requesters, approvers := map[int64]string{}, map[int64]string{}
	for _, ev := range events {
		switch ev.Kind {
		case KindStatusUpdate:
			since, sinceID = ev.RecordedAt, ev.ID
			d.SinceUpdate = true
		case KindRunbookRequested:
			requesters[dataInt(ev.Data, "run")] = who(ev.Actor)
		case KindRunbookApproved:
			id := dataInt(ev.Data, "run")
			approvers[id] = joinWho(approvers[id], who(ev.Actor))
		}
	}
	d.Since = clock(since)

	runs := map[int64]*DraftRun{}
	var runOrder []int64
	run := func(ev Event) *DraftRun {
		id := dataInt(ev.Data, "run")
		r, ok := runs[id]
		if !ok {
			r = &DraftRun{Key: RunKey(id), Runbook: dataString(ev.Data, "runbook"), RequestedBy: requesters[id], ApprovedBy: approvers[id]}
			runs[id] = r
			runOrder = append(runOrder, id)
		}
		return r
	}
	for _, ev := range events {
		if !laterEvent(ev, since, sinceID) {
			continue
		}
		switch ev.Kind {
		case KindStatusChanged, KindAcknowledged:
			c := DraftChange{What: "status", At: clock(ev.OccurredAt), Who: who(ev.Actor),
				From: dataString(ev.Data, "from"), To: dataString(ev.Data, "to"), Message: dataString(ev.Data, "message")}
			if ev.Kind == KindAcknowledged {
				c.What, c.Message = "acknowledged", ""
			}
			if c.From == "" && c.To == "" {
				continue // not a status move this draft can state
			}
			d.Changes = append(d.Changes, c)
		case KindSeverityChanged:
			d.Changes = append(d.Changes, DraftChange{What: "severity", At: clock(ev.OccurredAt), Who: who(ev.Actor),
				From: dataString(ev.Data, "from"), To: dataString(ev.Data, "to")})
		case KindRunbookRequested, KindRunbookApproved, KindRunbookStepStarted, KindRunbookDenied,
			KindRunbookExpired, KindRunbookSucceeded, KindRunbookFailed, KindRunbookInterrupted:
			r := run(ev)
			r.Outcome, r.At = runOutcome(ev, who(ev.Actor)), clock(ev.RecordedAt)
		case KindMessagePinned:
			if st := dataString(ev.Data, "state"); st != PinFetched && st != PinEdited {
				continue // its text is not known (yet), or was deleted
			}
			d.Pinned = append(d.Pinned, DraftNote{At: clock(ev.RecordedAt), Who: who(ev.Actor), Text: PlainText(oneLine(ev.Text))})
		case KindNote:
			n := DraftNote{At: clock(ev.OccurredAt), Who: who(ev.Actor), Text: PlainText(oneLine(ev.Text))}
			switch {
			case dataBool(ev.Data, NoteNext):
				d.Next = append(d.Next, n)
			case dataBool(ev.Data, NoteForUpdate):
				d.Notes = append(d.Notes, n)
			}
		}
	}
	for _, id := range runOrder {
		d.Runs = append(d.Runs, *runs[id])
	}
	d.NoChange = len(d.Changes)+len(d.Runs)+len(d.Pinned)+len(d.Notes)+len(d.Next) == 0
	return d
}

// runOutcome is where a runbook event leaves its run, as a fragment of
// the draft's sentence.
func runOutcome(ev Event, actor string) string {
	switch ev.Kind {
	case KindRunbookRequested:
		if dataBool(ev.Data, "needs_approval") {
			return "is waiting for approval"
		}
		return "was requested"
	case KindRunbookApproved:
		return "was approved"
	case KindRunbookDenied:
		return "was denied by " + actor
	case KindRunbookExpired:
		return "expired without approval"
	case KindRunbookSucceeded:
		return "succeeded"
	case KindRunbookFailed:
		if _, why, ok := strings.Cut(ev.Text, " failed: "); ok {
			return "failed: " + oneLine(why)
		}
		return "failed"
	case KindRunbookInterrupted:
		return "was interrupted"
	}
	return "is running"
}

// laterEvent reports whether ev was recorded after the mark (the previous
// update's RecordedAt and id): by time, and by id within the same instant.
func laterEvent(ev Event, at time.Time, id int64) bool {
	return ev.RecordedAt.After(at) || (ev.RecordedAt.Equal(at) && ev.ID > id)
}

// sortedEvents orders events as they were recorded: a source's clock
// (OccurredAt) may put an event before others that were known earlier.
func sortedEvents(events []Event) []Event {
	out := slices.Clone(events)
	slices.SortStableFunc(out, func(a, b Event) int {
		if c := a.RecordedAt.Compare(b.RecordedAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out
}

// recordedBefore reports whether a was recorded before b.
func recordedBefore(a, b Event) bool {
	if !a.RecordedAt.Equal(b.RecordedAt) {
		return a.RecordedAt.Before(b.RecordedAt)
	}
	return a.ID < b.ID
}

func joinWho(list, who string) string {
	if list == "" {
		return who
	}
	return list + " and " + who
}

// draftActor names an actor in a draft: people by handle ("@dev", or
// "@U0DEV" unknown), alert sources by name, the bot as "sitrep".
func draftActor(actor string, names map[string]string) string {
	switch {
	case actor == "" || actor == SystemActor:
		return "sitrep"
	case strings.HasPrefix(actor, "alert:"):
		return strings.TrimPrefix(actor, "alert:")
	case strings.Contains(actor, ":"):
		return actor
	}
	if n := names[actor]; n != "" {
		return "@" + strings.TrimPrefix(n, "@")
	}
	return "@" + actor
}

func dataString(data map[string]any, key string) string {
	s, _ := data[key].(string)
	return s
}

func dataBool(data map[string]any, key string) bool {
	b, _ := data[key].(bool)
	return b
}

// dataInt reads a number that is an int64 in memory and a float64 after a
// JSON round trip through the store.
func dataInt(data map[string]any, key string) int64 {
	switch v := data[key].(type) {
	case int64:
		return v
	case int:
		return int64(v)
	case float64:
		return int64(v)
	}
	return 0
}
