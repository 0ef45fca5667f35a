package slackfake

import (
	"encoding/json"
	"regexp"
)

// notifyingMarkup is the mrkdwn Slack turns into a notification: a user
// mention ("<@U1>", "<@U1|ana>"), a user-group mention and the broadcasts
// "<!channel>", "<!here>" and "<!everyone>". Escaped text ("&lt;!here&gt;")
// notifies no one.
var notifyingMarkup = regexp.MustCompile(`<(@[UW][A-Z0-9]+|!subteam\^[A-Z0-9]+|!channel|!here|!everyone)(?:\|[^>]*)?>`)

// Notifies lists who a message notifies, as Slack renders its mrkdwn: the
// mentions and broadcasts ("@U1", "!subteam^S1", "!channel", "!here",
// "!everyone") in its text and in every mrkdwn text object of its blocks,
// in order, with repeats.
func (m Message) Notifies() []string {
	return notifies(m.Text, m.Blocks)
}

func notifies(text string, blocks json.RawMessage) []string {
	texts := []string{text}
	if len(blocks) > 0 {
		var v any
		if json.Unmarshal(blocks, &v) == nil {
			texts = append(texts, mrkdwnTexts(v)...)
		}
	}
	var out []string
	for _, t := range texts {
		for _, m := range notifyingMarkup.FindAllStringSubmatch(t, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// mrkdwnTexts collects the text of every {"type":"mrkdwn","text":...}
// object in a decoded JSON value.
func mrkdwnTexts(v any) []string {
	var out []string
	switch v := v.(type) {
	case map[string]any:
		if v["type"] == "mrkdwn" {
			if t, ok := v["text"].(string); ok {
				out = append(out, t)
			}
		}
		for _, c := range v {
			out = append(out, mrkdwnTexts(c)...)
		}
	case []any:
		for _, c := range v {
			out = append(out, mrkdwnTexts(c)...)
		}
	}
	return out
}
