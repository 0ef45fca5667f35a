package main

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/sitrep-io/sitrep/internal/slackfake"
)

// transcript prints what happens in Slack as the replay goes: every new
// message, edit, ephemeral answer, upload and invitation the Slack stand-in
// received since the last flush, stamped with the replay's clock in the
// team's time zone.
type transcript struct {
	w     io.Writer
	slack *slackfake.Server
	now   func() time.Time
	loc   *time.Location
	names map[string]string // Slack user id → name

	versions   map[string]int      // channel/ts → versions printed
	ephemerals map[string]int      // channel → ephemerals printed
	members    map[string][]string // channel → members printed
	uploads    int
}

func newTranscript(w io.Writer, slack *slackfake.Server, now func() time.Time, loc *time.Location, people []demoPerson) *transcript {
	t := &transcript{w: w, slack: slack, now: now, loc: loc, names: map[string]string{slackfake.BotUserID: "sitrep"},
		versions: map[string]int{}, ephemerals: map[string]int{}, members: map[string][]string{}}
	for _, p := range people {
		t.names[p.ID] = p.Name
	}
	return t
}

// transcriptMaxLines caps one message in the transcript; the postmortem
// and the channel keep everything.
const transcriptMaxLines = 12

// stamp is the replay's time as the team read it.
func (t *transcript) stamp() string { return "[" + t.now().In(t.loc).Format("15:04 MST") + "]" }

// say prints one line (continuation lines indented under it).
func (t *transcript) say(where, who, text string) {
	head := fmt.Sprintf("%s %s  %s", t.stamp(), where, who)
	lines := strings.Split(strings.TrimRight(text, "\n"), "\n")
	if len(lines) > transcriptMaxLines {
		more := len(lines) - transcriptMaxLines + 1
		lines = append(lines[:transcriptMaxLines-1], fmt.Sprintf("… (%d more lines)", more))
	}
	fmt.Fprintf(t.w, "%s: %s\n", head, lines[0])
	for _, l := range lines[1:] {
		fmt.Fprintf(t.w, "%s  %s\n", strings.Repeat(" ", 14), l)
	}
}

// narrate prints what happens outside Slack (the gateway, the pager).
func (t *transcript) narrate(format string, args ...any) {
	fmt.Fprintf(t.w, "%s ── %s\n", t.stamp(), fmt.Sprintf(format, args...))
}

// typed prints what a person typed or clicked, and what only they were
// answered.
func (t *transcript) typed(channel string, p demoPerson, what, answer string) {
	t.say(t.channelName(channel), p.Name, t.plain(what))
	if answer = strings.TrimSpace(t.plain(answer)); answer != "" {
		t.say(strings.Repeat(" ", len(t.channelName(channel))), "↳ only "+p.Name+" sees", answer)
	}
}

// flush prints everything new in Slack, in the order Slack holds it.
func (t *transcript) flush() {
	// Answers only one person sees come first: they answer the click that
	// caused everything else.
	for _, ch := range t.slack.Channels() {
		t.flushMembers(ch)
		eph := t.slack.Ephemerals(ch.ID)
		for _, e := range eph[min(t.ephemerals[ch.ID], len(eph)):] {
			t.say(t.channelName(ch.ID), "sitrep → only "+t.name(e.User)+" sees", t.plain(e.Text))
		}
		t.ephemerals[ch.ID] = len(eph)
	}
	for _, m := range t.slack.AllMessages() {
		key := m.Channel + "/" + m.TS
		seen, n := t.versions[key], max(len(m.Versions), 1)
		if seen >= n {
			continue
		}
		t.versions[key] = n
		where, who := t.channelName(m.Channel), t.name(m.User)
		if seen == 0 {
			t.say(where, who, t.plain(m.Text))
			continue
		}
		t.say(where, who+" ✎ updated its message", firstLine(t.plain(m.Text)))
	}
	ups := t.slack.Uploads()
	for _, u := range ups[min(t.uploads, len(ups)):] {
		where := "(no channel)"
		if len(u.Channels) > 0 {
			where = t.channelName(u.Channels[0])
		}
		t.say(where, "sitrep", fmt.Sprintf("📎 %s (%d bytes) %s", u.Filename, len(u.Content), firstLine(t.plain(u.InitialComment))))
	}
	t.uploads = len(ups)
}

// flushMembers prints who joined a channel since the last flush.
func (t *transcript) flushMembers(ch slackfake.Channel) {
	var joined []string
	for _, m := range ch.Members {
		if !slices.Contains(t.members[ch.ID], m) && m != slackfake.BotUserID {
			joined = append(joined, t.name(m))
		}
	}
	t.members[ch.ID] = ch.Members
	if len(joined) > 0 {
		fmt.Fprintf(t.w, "%s %s  ➕ %s joined\n", t.stamp(), t.channelName(ch.ID), strings.Join(joined, ", "))
	}
}

func (t *transcript) channelName(id string) string {
	if ch, ok := t.slack.ChannelByID(id); ok && ch.Name != "" {
		return "#" + ch.Name
	}
	return id
}

func (t *transcript) name(id string) string {
	if n, ok := t.names[id]; ok {
		return n
	}
	return id
}

var (
	slackUserRef    = regexp.MustCompile(`<@([UW][A-Z0-9]+)(?:\|[^>]*)?>`)
	slackGroupRef   = regexp.MustCompile(`<!subteam\^([A-Z0-9]+)(?:\|([^>]*))?>`)
	slackChannelRef = regexp.MustCompile(`<#([A-Z0-9]+)(?:\|([^>]*))?>`)
	slackLinkRef    = regexp.MustCompile(`<(https?://[^>|]+)\|([^>]*)>`)
)

// plain turns Slack markup into what a person reads: names for mentions,
// link texts with their addresses.
func (t *transcript) plain(s string) string {
	s = slackUserRef.ReplaceAllStringFunc(s, func(m string) string {
		return "@" + t.name(slackUserRef.FindStringSubmatch(m)[1])
	})
	s = slackGroupRef.ReplaceAllStringFunc(s, func(m string) string {
		if sub := slackGroupRef.FindStringSubmatch(m); sub[2] != "" {
			return sub[2]
		}
		return "@sre-oncall"
	})
	s = slackChannelRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := slackChannelRef.FindStringSubmatch(m)
		if sub[2] != "" {
			return "#" + sub[2]
		}
		return t.channelName(sub[1])
	})
	s = slackLinkRef.ReplaceAllString(s, "$2 ($1)")
	r := strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&")
	return r.Replace(s)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i] + " …"
	}
	return s
}
