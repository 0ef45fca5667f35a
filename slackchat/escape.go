package slackchat

import (
	"regexp"
	"strings"
)

// liveMarkup is the markup in a bot.Message that sitrep builds itself and
// that stays live in Slack: a user mention without a label ("<@U1>", what
// the bot's actorMention writes) and a channel link ("<#C1>"). A labelled
// mention ("<@U1|ana>", "<!subteam^S1|@oncall>") is what Slack puts in
// the text a user typed, and anything else in angle brackets ("<!channel>",
// "<!here>", links) came from a user too.
var liveMarkup = regexp.MustCompile(`^<(?:[@#][UWCGD][A-Z0-9]+)>`)

// typedMention is a mention Slack wrote into a user's text: it is shown as
// its label, not as a mention.
var typedMention = regexp.MustCompile(`^<(?:@|#|!subteam\^)[A-Za-z0-9]+\|@?([^>]*)>`)

// mrkdwnText escapes s for a mrkdwn text object or a message's text: "&",
// "<" and ">" become entities, so that "<!channel>" or "<!here>" a user
// typed never notifies anyone; only the mentions sitrep builds (liveMarkup)
// stay live. Entities already there (Slack escapes slash-command text) are
// kept as they are, so nothing is escaped twice.
func mrkdwnText(s string) string {
	if !strings.ContainsAny(s, "&<>") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		rest := s[i:]
		switch rest[0] {
		case '<':
			if m := liveMarkup.FindString(rest); m != "" {
				b.WriteString(m)
				i += len(m)
				continue
			}
			if m := typedMention.FindStringSubmatch(rest); m != nil {
				b.WriteString("@" + mrkdwnText(m[1]))
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
