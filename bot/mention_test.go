package bot_test

import (
	"strings"
	"testing"

	"github.com/sitrep-io/sitrep/bot"
)

func TestMentionMarkupAndPlainText(t *testing.T) {
	s := bot.Mention("U1") + " asked " + bot.GroupMention("S1") + " in " + bot.ChannelLink("C1") + "; typed <@U2|ana> <@U3>"
	if got := bot.PlainText(s); got != "@U1 asked @S1 in #C1; typed @ana @U3" {
		t.Errorf("PlainText = %q", got)
	}
	if got := bot.PublicText("asked " + bot.Mention("U1") + " <!here> &amp; <@U2|ana>"); got != "asked @U1 @here & @ana" {
		t.Errorf("PublicText (status pages) = %q", got)
	}
	var kinds []string
	bot.ReplaceMentions(s, func(string) string { return "" }, func(k bot.MentionKind, id string) string {
		kinds = append(kinds, string(k)+id)
		return ""
	})
	if strings.Join(kinds, " ") != "@U1 !S1 #C1" {
		t.Errorf("mentions found: %v (only the domain's, not typed chat markup)", kinds)
	}
	if bot.Mention("") != "" || bot.Mention("\x02@U1\x03") != bot.Mention("@U1") {
		t.Error("a mention of nobody, or of an id carrying the markup's delimiters, must not form markup")
	}
}

// TestTypedTextNeverFormsAMention: the domain's mention markup typed into
// a title or a note (through an API, a modal) is made visible on the way
// in, so the only mentions on the timeline are the ones sitrep built.
func TestTypedTextNeverFormsAMention(t *testing.T) {
	e := newEnv(t, bot.ServiceConfig{})
	forged := "ping " + bot.Mention("U9") + " " + bot.GroupMention("S9")
	inc := e.declare("Checkout " + forged)
	if _, err := e.svc.AddNote(e.ctx(), "U1", inc.ID, forged); err != nil {
		t.Fatal(err)
	}
	var found []string
	for _, text := range append([]string{e.incident(inc.ID).Title}, eventTexts(e.timeline(inc.ID))...) {
		bot.ReplaceMentions(text, func(string) string { return "" }, func(k bot.MentionKind, id string) string {
			found = append(found, string(k)+id)
			return ""
		})
	}
	for _, m := range found {
		if m != "@U1" {
			t.Errorf("typed text formed the mention %s (found %v)", m, found)
		}
	}
	if !strings.Contains(e.incident(inc.ID).Title, "[U+0002]@U9[U+0003]") {
		t.Errorf("title %q: the forged markup should show as visible code points", e.incident(inc.ID).Title)
	}
}

func eventTexts(events []bot.Event) []string {
	out := make([]string, len(events))
	for i, ev := range events {
		out[i] = ev.Text
	}
	return out
}
