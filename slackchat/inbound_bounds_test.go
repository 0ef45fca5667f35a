package slackchat_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/sitrep-io/sitrep/bot"
)

// Notes and status updates a person types are limited, and a longer one is
// refused (to them only) rather than cut; a slash command's text is
// bounded before it is parsed.
func TestSlackTextLimits(t *testing.T) {
	h := newSlackHarness(t)
	inc := h.declared("U1", "Checkout failing")
	events := len(h.timeline(inc.ID))
	for _, tt := range []struct{ text, want string }{
		{"note " + strings.Repeat("n", bot.MaxTextLen+1), "a note is at most 3000 characters"},
		{"update " + strings.Repeat("u", bot.MaxTextLen+1), "a status update is at most 3000 characters"},
		{"note " + strings.Repeat("x", 500_000), "/incident takes at most"},
		{"declare " + strings.Repeat("t", bot.MaxTitleLen+1), "a title is at most 250 characters"},
		{"status identified " + strings.Repeat("m", bot.MaxTextLen+1), "a status message is at most 3000 characters"},
	} {
		status, out := h.command("U1", inc.ChannelID, tt.text)
		msg, _ := out["text"].(string)
		if status != http.StatusOK || out["response_type"] != "ephemeral" || !strings.Contains(msg, tt.want) {
			t.Errorf("%.30q…: %d %.200v, want an ephemeral %q", tt.text, status, out, tt.want)
		}
	}
	if n := len(h.timeline(inc.ID)); n != events {
		t.Errorf("refused texts were recorded: %d events, want %d", n, events)
	}
	if got := h.incident(inc.ID); got.Status != inc.Status {
		t.Errorf("status moved to %s", got.Status)
	}
	incs, _ := h.db.Incidents(context.Background(), bot.IncidentFilter{All: true})
	if len(incs) != 1 {
		t.Errorf("%d incidents, want 1 (the long declare was refused)", len(incs))
	}
	// At the limit, a note is kept whole.
	note := strings.Repeat("ok ", bot.MaxTextLen/3)
	if status, _ := h.command("U1", inc.ChannelID, "note "+note); status != http.StatusOK {
		t.Fatalf("note at the limit: %d", status)
	}
	tl := h.timeline(inc.ID)
	if last := tl[len(tl)-1]; last.Kind != bot.KindNote || last.Text != strings.TrimSpace(note) {
		t.Errorf("a note at the limit: %s %d characters", last.Kind, len(last.Text))
	}
}

// Follow-ups, runbook parameter values and deny reasons are bounded too,
// and the refusal is short: it never quotes the oversized text back (a
// reply Slack would refuse to show).
func TestSlackFeatureTextLimits(t *testing.T) {
	h := newFeatureHarness(t)
	inc := h.declared("U1", "Checkout failing")
	run := h.requestRun("UREQ", inc, "scale capacity=3")
	events := len(h.timeline(inc.ID))
	for _, tt := range []struct{ text, want string }{
		{"followup " + strings.Repeat("f", bot.MaxTextLen+1), "a follow-up is at most 3000 characters"},
		{"run scale capacity=" + strings.Repeat("9", 2000), `param "capacity": value is 2000 characters; at most 1024`},
		{"deny " + run.Key() + " " + strings.Repeat("r", bot.MaxTextLen+1), "a reason is at most 3000 characters"},
	} {
		status, out := h.command("UAPPROVER", inc.ChannelID, tt.text)
		msg, _ := out["text"].(string)
		if status != http.StatusOK || !strings.Contains(msg, tt.want) || len(msg) > 1000 {
			t.Errorf("%.30q…: %d %.300q (%d bytes), want a short reply with %q", tt.text, status, msg, len(msg), tt.want)
		}
	}
	if n := len(h.timeline(inc.ID)); n != events {
		t.Errorf("refused texts were recorded: %d events, want %d", n, events)
	}
	if got := h.run(run.ID); got.State != bot.RunRequested {
		t.Errorf("the run is %s after a refused deny, want still requested", got.State)
	}
}
