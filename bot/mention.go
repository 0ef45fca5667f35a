package bot

import (
	"regexp"
	"strings"
)

// Mentions are the domain's own markup, written only by Mention,
// GroupMention and ChannelLink: a sigil and an id between the control
// characters STX (U+0002) and ETX (U+0003). Nothing a person or a machine
// sent can contain those: every text from outside goes through SafeText
// (typed text, alerts, chat events), which shows a control character as a
// visible "[U+0002]". So a mention in a message is one sitrep built, never
// one a user typed ("<@U1>" typed in a title is just text), and each chat
// renders it its own way: Slack as a live "<@U1>", the console, the web
// view, postmortems and status pages as plain "@U1" (PlainText) or a name.
const (
	mentionOpen  = "\x02"
	mentionClose = "\x03"
)

// MentionKind is what a mention names.
type MentionKind byte

const (
	MentionUser    MentionKind = '@'
	MentionGroup   MentionKind = '!' // a user group ("on call")
	MentionChannel MentionKind = '#'
)

// Mention is the markup that mentions user (a chat user id).
func Mention(user string) string { return mentionMarkupOf(MentionUser, user) }

// GroupMention is the markup that mentions a user group.
func GroupMention(group string) string { return mentionMarkupOf(MentionGroup, group) }

// ChannelLink is the markup that links a channel.
func ChannelLink(channel string) string { return mentionMarkupOf(MentionChannel, channel) }

func mentionMarkupOf(kind MentionKind, id string) string {
	id = strings.NewReplacer(mentionOpen, "", mentionClose, "").Replace(id)
	if id == "" {
		return ""
	}
	return mentionOpen + string(kind) + id + mentionClose
}

var domainMention = regexp.MustCompile("\x02([@!#])([^\x02\x03]+)\x03")

// ReplaceMentions returns s with each mention replaced by render(kind, id):
// how a chat shows the domain's mentions. The text between mentions is
// passed through between (a chat's escaping), mentions are not.
func ReplaceMentions(s string, between func(string) string, render func(kind MentionKind, id string) string) string {
	if !strings.Contains(s, mentionOpen) {
		return between(s)
	}
	var b strings.Builder
	last := 0
	for _, m := range domainMention.FindAllStringSubmatchIndex(s, -1) {
		b.WriteString(between(s[last:m[0]]))
		b.WriteString(render(MentionKind(s[m[2]]), s[m[4]:m[5]]))
		last = m[1]
	}
	b.WriteString(between(s[last:]))
	return b.String()
}

// plainMention is a mention as plain text: "@U1", "@S1", "#C1".
func plainMention(kind MentionKind, id string) string {
	if kind == MentionChannel {
		return "#" + id
	}
	return "@" + id
}
