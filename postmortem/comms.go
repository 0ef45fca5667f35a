package postmortem

import (
	"fmt"
	"strings"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// Update is one status update as it was posted.
type Update struct {
	When  string // UTC and display-zone time
	Who   string
	State string // the incident's status and severity when it was posted
	Quote string // the text as posted, as Markdown block-quote lines
}

// Comms is the communications section: the updates and the longest silence
// between two of them.
type Comms struct {
	Updates    []Update
	LongestGap time.Duration
	GapText    string // the longest gap in words
	Flag       string // set when the gap exceeds the reminder interval
	// Public are the updates a status page took, in order.
	Public []PublicUpdate
	// Refused are the public updates a status page refused for good (a
	// bad key, an unknown page, an invalid update), with its reason.
	Refused []PublicUpdate
}

// PublicUpdate is one update published to a status page.
type PublicUpdate struct {
	When  string // UTC and display-zone time it was published
	Who   string // who confirmed it
	Page  string // which status page
	State string // the public status
	Title string // the public title
	Quote string // the public text, as Markdown block-quote lines
	// Reason is why the page refused it (refused updates only).
	Reason string
}

func communications(in Input, n namer) Comms {
	var c Comms
	var prev time.Time
	var gapFrom, gapTo time.Time
	for _, ev := range in.Events {
		if ev.Kind == bot.KindPublicPublished {
			page, _ := ev.Data["page"].(string)
			status, _ := ev.Data["status"].(string)
			title, _ := ev.Data["title"].(string)
			body, _ := ev.Data["body"].(string)
			c.Public = append(c.Public, PublicUpdate{When: clock(ev.OccurredAt, in.Location), Who: n.actor(ev.Actor),
				Page: page, State: status, Title: title, Quote: blockQuote(body)})
			continue
		}
		if ev.Kind == bot.KindPublicRefused {
			page, _ := ev.Data["page"].(string)
			status, _ := ev.Data["status"].(string)
			title, _ := ev.Data["title"].(string)
			body, _ := ev.Data["body"].(string)
			reason, _ := ev.Data["reason"].(string)
			r := PublicUpdate{When: clock(ev.OccurredAt, in.Location), Page: page, State: status, Title: title, Reason: reason}
			if body != "" { // refusals recorded before they kept the text
				r.Quote = blockQuote(body)
			}
			c.Refused = append(c.Refused, r)
			continue
		}
		if ev.Kind != bot.KindStatusUpdate {
			continue
		}
		status, _ := ev.Data["status"].(string)
		sev, _ := ev.Data["severity"].(string)
		c.Updates = append(c.Updates, Update{When: clock(ev.OccurredAt, in.Location), Who: n.actor(ev.Actor),
			State: strings.TrimSpace(sev + " " + status), Quote: blockQuote(n.text(ev.Text))})
		if !prev.IsZero() && ev.OccurredAt.Sub(prev) > c.LongestGap {
			c.LongestGap, gapFrom, gapTo = ev.OccurredAt.Sub(prev), prev, ev.OccurredAt
		}
		prev = ev.OccurredAt
	}
	if len(c.Updates) < 2 {
		c.GapText = fmt.Sprintf("%d status updates were posted, so there is no gap between updates to measure.", len(c.Updates))
		return c
	}
	c.GapText = fmt.Sprintf("Longest gap between status updates: %s, from %s to %s.",
		FormatDuration(c.LongestGap), clock(gapFrom, in.Location), clock(gapTo, in.Location))
	if in.ReminderInterval > 0 && c.LongestGap > in.ReminderInterval {
		c.Flag = fmt.Sprintf("the longest gap between status updates (%s, from %s to %s) is longer than the %s reminder interval of %s",
			FormatDuration(c.LongestGap), clock(gapFrom, in.Location), clock(gapTo, in.Location),
			in.Incident.Severity, FormatDuration(in.ReminderInterval))
	}
	return c
}

// blockQuote renders text as Markdown block-quote lines, indented to sit
// under a list item.
func blockQuote(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight("  > "+l, " ")
	}
	return strings.Join(lines, "\n")
}
