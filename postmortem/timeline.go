package postmortem

import (
	"fmt"
	"strings"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// Row is one timeline entry as the template shows it.
type Row struct {
	UTC    string // time in UTC; the date only when the day changes
	Local  string // time in the display zone, with its abbreviation
	Who    string
	What   string // safe in a table cell
	Source string // a Markdown link to where it happened, or the record id
}

// hiddenKinds are events about the document itself; drafting it three times
// is not part of the incident.
var hiddenKinds = map[bot.EventKind]bool{bot.KindPostmortemDrafted: true, bot.KindPostmortemExported: true}

// timelineRows are the timeline's rows, a run of repeated alerts as one
// row (bot.CollapseTimeline): a storm of thousands of repeats must not bury
// what people did.
func timelineRows(in Input, n namer) []Row {
	utc := &stamper{loc: time.UTC}
	local := &stamper{loc: in.Location, zone: true}
	shown := make([]bot.Event, 0, len(in.Events))
	for _, ev := range in.Events {
		if !hiddenKinds[ev.Kind] {
			shown = append(shown, ev)
		}
	}
	var rows []Row
	for _, r := range bot.CollapseTimeline(shown) {
		ev := r.First
		what := describe(ev, n, in.Location)
		if r.Count > 1 {
			what = describeRun(r, n, in.Location)
		}
		rows = append(rows, Row{
			UTC: utc.stamp(ev.OccurredAt), Local: local.stamp(ev.OccurredAt),
			Who: cell(n.actor(ev.Actor)), What: cell(what), Source: source(ev),
		})
	}
	return rows
}

// describeRun words a run of repeated alerts: how many, until when, and
// what changed along the way.
func describeRun(r bot.EventRun, n namer, loc *time.Location) string {
	verb := "fired"
	if r.First.Kind == bot.KindAlertResolved {
		verb = "resolved"
	}
	last := r.LastAt.UTC().Format("15:04:05")
	if loc != time.UTC {
		last += r.LastAt.In(loc).Format(" (15:04:05 MST)")
	}
	s := fmt.Sprintf("Alert %s %s times: %s, the last at %s", verb, thousands(r.Count), quote(n.text(alertTitle(r.First))), last)
	if c := r.ChangesText(); c != "" {
		s += "; " + n.text(c)
	}
	return s
}

// thousands writes n with thousands separators: 9,968.
func thousands(n int) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func source(ev bot.Event) string {
	if ev.SourceURL != "" {
		return link("source", ev.SourceURL)
	}
	return fmt.Sprintf("sitrep event %d", ev.ID)
}

// describe says what an event records. sitrep's words are plain; what people
// or machines wrote is quoted, so it is read as theirs.
func describe(ev bot.Event, n namer, loc *time.Location) string {
	text := n.text(ev.Text)
	str := func(key string) string { s, _ := ev.Data[key].(string); return s }
	switch ev.Kind {
	case bot.KindAlertFired:
		return "Alert fired: " + quote(n.text(alertTitle(ev)))
	case bot.KindAlertResolved:
		return "Alert resolved: " + quote(n.text(alertTitle(ev)))
	case bot.KindAcknowledged:
		return "Acknowledged"
	case bot.KindStatusChanged:
		if str("to") == "" {
			return "Status changed: " + quote(text)
		}
		s := fmt.Sprintf("Status %s → %s", str("from"), str("to"))
		if reopened, _ := ev.Data["reopened"].(bool); reopened {
			s = "Re-opened: " + s
		}
		if msg := str("message"); msg != "" {
			s += ": " + quote(n.text(msg))
		}
		return s
	case bot.KindSeverityChanged:
		if str("to") != "" {
			return fmt.Sprintf("Severity %s → %s", str("from"), str("to"))
		}
	case bot.KindRoleAssigned:
		if str("user") != "" {
			return fmt.Sprintf("%s is %s", n.name(str("user")), roleName(str("role")))
		}
	case bot.KindNote:
		return "Note: " + quote(text)
	case bot.KindStatusUpdate:
		return "Status update posted: " + quote(text)
	case bot.KindResponderJoined:
		return "Joined the incident channel"
	case bot.KindMessagePinned:
		return pinned(ev, text, loc)
	case bot.KindChannelCreated:
		if str("name") != "" {
			return "Channel #" + str("name") + " created"
		}
	case bot.KindFollowUpAdded:
		return "Follow-up recorded: " + quote(strings.TrimPrefix(text, "follow-up: "))
	case bot.KindImpactSet:
		return impactText(ev, loc)
	}
	return kindLabel(ev.Kind) + ": " + quote(text)
}

func roleName(role string) string {
	if role == string(bot.RoleComms) {
		return "comms lead"
	}
	return role
}

// pinned quotes a pinned message; the row already sits at its original
// post time.
func pinned(ev bot.Event, text string, loc *time.Location) string {
	switch ev.Data["state"] {
	case pinDeleted:
		return "Pinned message (deleted in the chat since)"
	case pinFetching, pinUnreadable:
		return "Pinned message (its text could not be read from the chat)"
	}
	s := fmt.Sprintf("Pinned message, posted %s: %s", clock(ev.OccurredAt, loc), quote(text))
	if ev.Data["state"] == pinEdited {
		s += " (edited after it was pinned)"
	}
	return s
}

func impactText(ev bot.Event, loc *time.Location) string {
	which, _ := ev.Data["which"].(string)
	verb := "started"
	if which == "end" {
		verb = "ended"
	}
	return fmt.Sprintf("User impact %s (set with `/incident impact %s` at %s)", verb, which, clock(ev.RecordedAt, loc))
}

// kindLabel turns an event kind sitrep does not know ("runbook_step_finished")
// into words ("Runbook step finished").
func kindLabel(kind bot.EventKind) string {
	s := strings.ReplaceAll(string(kind), "_", " ")
	if s == "" {
		return "Event"
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
