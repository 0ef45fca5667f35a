package postmortem

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// FormatDuration renders d as "Hh MMm", floored to whole minutes ("4h 31m",
// "0h 01m"); a negative duration gets a leading minus sign.
func FormatDuration(d time.Duration) string {
	sign := ""
	if d < 0 {
		sign, d = "−", -d
	}
	d = d.Truncate(time.Minute)
	return fmt.Sprintf("%s%dh %02dm", sign, int(d/time.Hour), int(d%time.Hour/time.Minute))
}

// rfc is an anchor's raw timestamp: UTC, RFC 3339, to the second.
func rfc(t time.Time) string {
	if t.IsZero() {
		return "not recorded"
	}
	return t.UTC().Format(time.RFC3339)
}

// localText is t in loc with the zone's abbreviation, which tells PDT from
// PST on the day the clocks change.
func localText(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "—"
	}
	return t.In(loc).Format("2006-01-02 15:04:05 MST")
}

// clock renders t in UTC and, when loc is not UTC, in loc too:
// "00:06 UTC (17:06 PDT, Oct 7)". The local date is named when it differs
// from the UTC date.
func clock(t time.Time, loc *time.Location) string {
	u := t.UTC()
	s := u.Format("2006-01-02 15:04 UTC")
	if loc == time.UTC {
		return s
	}
	l := t.In(loc)
	if l.YearDay() != u.YearDay() || l.Year() != u.Year() {
		return s + l.Format(" (Jan 2 15:04 MST)")
	}
	return s + l.Format(" (15:04 MST)")
}

// stamper formats a column of times, showing the date only on the first row
// and whenever the day changes in its zone.
type stamper struct {
	loc  *time.Location
	last string // the date of the previous row
	zone bool   // append the zone abbreviation
}

func (s *stamper) stamp(t time.Time) string {
	l := t.In(s.loc)
	layout := "15:04:05"
	if s.zone {
		layout += " MST"
	}
	day := l.Format("2006-01-02")
	if day != s.last {
		s.last = day
		return l.Format("2006-01-02 " + layout)
	}
	return l.Format(layout)
}

// namer turns actors and mentions into display names. Raw chat ids never
// reach the document.
type namer map[string]string

func (n namer) name(id string) string {
	if v := n[id]; v != "" {
		return v
	}
	return "an unnamed participant"
}

// actor names a timeline actor: a person, sitrep itself or an alert source.
func (n namer) actor(actor string) string {
	switch {
	case actor == "":
		return "—"
	case actor == bot.SystemActor:
		return "sitrep"
	case strings.HasPrefix(actor, "alert:"):
		return "alert (" + strings.TrimPrefix(actor, "alert:") + ")"
	case strings.Contains(actor, ":"):
		return actor // another system ("pagerduty:…") names itself
	}
	return n.name(actor)
}

var mention = regexp.MustCompile(`<([@#!])([^>|]+)(?:\|([^>]*))?>`)

// text replaces the domain's mentions (bot.Mention) with display names
// (→ "@Ana Lima", a channel → "#channel"), and so does it chat mention
// markup in typed or older text ("<@U1>" → "@Ana Lima", "<#C1|inc-1>" →
// "#inc-1").
func (n namer) text(s string) string {
	return bot.ReplaceMentions(s, n.chatMarkup, func(kind bot.MentionKind, id string) string {
		switch kind {
		case bot.MentionUser:
			return "@" + n.name(id)
		case bot.MentionChannel:
			return "#channel"
		}
		return "@" + id
	})
}

// chatMarkup replaces chat mention markup with display names.
func (n namer) chatMarkup(s string) string {
	return mention.ReplaceAllStringFunc(s, func(m string) string {
		p := mention.FindStringSubmatch(m)
		switch {
		case p[1] == "@" && n[p[2]] != "":
			return "@" + n[p[2]]
		case p[3] != "":
			return p[1] + p[3]
		case p[1] == "#":
			return "#channel"
		case p[1] == "@":
			return "@" + n.name(p[2])
		}
		return "@" + p[2]
	})
}

// quote marks text that people or machines wrote (chat messages, alert
// titles) as a quotation, so it is read as theirs and left as written.
// Curly quotes inside become straight ones, so the quotation ends where it
// should.
func quote(s string) string {
	s = strings.NewReplacer("“", `"`, "”", `"`).Replace(oneLine(s))
	return "“" + s + "”"
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// cell makes text safe in a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(oneLine(s), "|", `\|`)
}

// link renders a Markdown link, or "" without a URL.
func link(label, url string) string {
	if url == "" {
		return ""
	}
	return "[" + label + "](" + url + ")"
}
