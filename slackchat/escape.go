package slackchat

import (
	"regexp"
	"strings"

	"github.com/sitrep-io/sitrep/bot"
)

// slackID is an id Slack would render live in a mention (U…, W…, S…,
// C…): anything else in a domain mention (a console user's name) is shown
// as plain text.
var slackID = regexp.MustCompile(`^[A-Z0-9]+$`)

// typedMention is chat markup in text that came from outside: a mention
// Slack wrote into a user's text ("<@U1|ana>", "<!subteam^S1|@oncall>"),
// or "<@U1>" typed (in a modal, through the API) or stored by an older
// version. It is shown as its label or id, never as a mention: the only
// live mentions are the domain's own (bot.Mention).
var typedMention = regexp.MustCompile(`^<(@|#|!subteam\^)([A-Za-z0-9]+)(?:\|@?([^>]*))?>`)

// mrkdwnText renders s for a mrkdwn text object or a message's text: the
// domain's mentions (bot.Mention, bot.GroupMention, bot.ChannelLink)
// become Slack's live "<@U1>", "<!subteam^S1>" and "<#C1>"; in the rest,
// "&", "<" and ">" become entities, so that "<!channel>", "<!here>" or
// "<@U1>" a user typed never notifies anyone. Entities already there
// (Slack escapes slash-command text) are kept as they are, so nothing is
// escaped twice.
func mrkdwnText(s string) string {
	return bot.ReplaceMentions(s, escapeTyped, slackMention)
}

// slackMention is a domain mention in Slack's markup.
func slackMention(kind bot.MentionKind, id string) string {
	if !slackID.MatchString(id) {
		return escapeTyped(string(kind) + id)
	}
	switch kind {
	case bot.MentionGroup:
		return "<!subteam^" + id + ">"
	case bot.MentionChannel:
		return "<#" + id + ">"
	}
	return "<@" + id + ">"
}

// escapeTyped escapes text that is not the domain's markup.
func escapeTyped(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		rest := s[i:]
		switch rest[0] {
		case '<':
			if m := typedMention.FindStringSubmatch(rest); m != nil {
				sigil, label := "@", m[2]
				if m[1] == "#" {
					sigil = "#"
				}
				if m[3] != "" {
					label = m[3]
				}
				b.WriteString(sigil + escapeTyped(label))
				i += len(m[0])
				continue
			}
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			if strings.HasPrefix(rest, "&amp;") || strings.HasPrefix(rest, "&lt;") || strings.HasPrefix(rest, "&gt;") {
				b.WriteByte('&')
			} else {
				b.WriteString("&amp;")
			}
		default:
			b.WriteByte(rest[0])
		}
		i++
	}
	return b.String()
}
