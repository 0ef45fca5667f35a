package slackchat_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/slackchat"
)

// TestUserTextNeverNotifies: a title and a status update a user typed with
// "<!channel>", "<!here>" and a raw mention notify no one in Slack; the
// mentions sitrep builds itself (the author of the update) stay live. A
// "<@U9>" typed raw (a modal's field, the API, where Slack does not escape)
// is text too.
func TestUserTextNeverNotifies(t *testing.T) {
	w := newWorld(t)
	inc := w.declare("DB <!here> down & out, ask <@U9>")
	w.settle()
	inc = w.incident(inc.ID)
	if _, err := w.svc.PostUpdate(t.Context(), "U1", inc.ID, "<!channel> look <!everyone> <http://evil|x> <@U9> <!subteam^S9>"); err != nil {
		t.Fatal(err)
	}
	w.settle()
	w.requireNoFailures()
	var live []string
	for _, m := range w.srv.AllMessages() {
		for _, n := range m.Notifies() {
			if n != "@U1" {
				t.Errorf("message %q notifies %s; user text must be escaped", m.Text, n)
			}
			live = append(live, n)
		}
	}
	if !slices.Contains(live, "@U1") {
		t.Errorf("the update's author mention built by sitrep should stay live; notified %v", live)
	}
}

// TestBlocksEscapeUserText: text Slack already escaped (slash commands) is
// not escaped twice, a mention Slack wrote into typed text (or "<@U3>"
// typed raw) shows as its label or id, a bare "<" or "&" becomes an
// entity, and only the domain's mentions become Slack's live markup.
func TestBlocksEscapeUserText(t *testing.T) {
	msg := bot.Message{Text: "a &lt;b&gt; & c < d <@U2|ana> <!subteam^S1|@oncall> <@U3> <#C1|inc-1> " + bot.Mention("U4") + " " + bot.GroupMention("S2") + " " + bot.ChannelLink("C2") + " " + bot.Mention("ana lima")}
	bs, err := json.Marshal(slackchat.Blocks(msg))
	if err != nil {
		t.Fatal(err)
	}
	var got []struct {
		Text struct{ Text string } `json:"text"`
	}
	if err := json.Unmarshal(bs, &got); err != nil {
		t.Fatal(err)
	}
	want := "a &lt;b&gt; &amp; c &lt; d @ana @oncall @U3 #inc-1 <@U4> <!subteam^S2> <#C2> @ana lima"
	if len(got) != 1 || got[0].Text.Text != want {
		t.Errorf("blocks %s\nwant the text %s", bs, want)
	}
}
