package slackchat_test

import (
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/slackfake"
)

// TestSlackReplayedRequestDoesNothing: the same signed bytes sent again
// within the signature window are answered without acting: one note, not
// three.
func TestSlackReplayedRequestDoesNothing(t *testing.T) {
	h := newSlackHarness(t)
	inc := h.declared("U1", "Checkout failing")
	req := slackfake.SlashCommandRequest(h.url("/slack/commands"), signingSecret, time.Now(), slashCommand("U1", inc.ChannelID, "note restarted the pool"))
	body, _ := io.ReadAll(req.Body)
	for i := 0; i < 3; i++ {
		replay, _ := http.NewRequest(http.MethodPost, req.URL.String(), bytes.NewReader(body))
		replay.Header = req.Header.Clone()
		if status, _, raw := h.do(replay); status != http.StatusOK {
			t.Fatalf("attempt %d: %d %s", i, status, raw)
		}
	}
	if notes := eventsOf(h.timeline(inc.ID), bot.KindNote); len(notes) != 1 {
		t.Fatalf("%d notes after one request and two replays, want 1", len(notes))
	}
	// The same command typed again (Slack gives it a new trigger) acts.
	again := slashCommand("U1", inc.ChannelID, "note restarted the pool")
	again.TriggerID = "3.4.trigger"
	if status, _, raw := h.do(slackfake.SlashCommandRequest(h.url("/slack/commands"), signingSecret, time.Now(), again)); status != http.StatusOK {
		t.Fatalf("typed again: %d %s", status, raw)
	}
	if notes := eventsOf(h.timeline(inc.ID), bot.KindNote); len(notes) != 2 {
		t.Fatalf("%d notes after a fresh request, want 2", len(notes))
	}
}

// TestSlackRequestFromAnotherWorkspaceIsRefused: a correctly signed request
// naming another team is refused before anything is stored; so is one with
// a content type Slack never sends to that endpoint.
func TestSlackRequestFromAnotherWorkspaceIsRefused(t *testing.T) {
	h := newSlackHarness(t)
	cmd := slashCommand("U1", "CGENERAL", "declare Platform API returning 500")
	cmd.TeamID = "TOTHER01"
	status, _, raw := h.do(slackfake.SlashCommandRequest(h.url("/slack/commands"), signingSecret, time.Now(), cmd))
	if status != http.StatusForbidden || !strings.Contains(string(raw), "another Slack workspace") {
		t.Fatalf("foreign workspace: %d %s", status, raw)
	}
	click := map[string]any{"type": "block_actions", "team": map[string]string{"id": "TOTHER01"},
		"user": map[string]string{"id": "U1", "team_id": "TOTHER01"}, "actions": []any{}}
	status, _, raw = h.do(slackfake.InteractionRequest(h.url("/slack/interactions"), signingSecret, time.Now(), click))
	if status != http.StatusForbidden {
		t.Fatalf("foreign workspace click: %d %s", status, raw)
	}
	ev := slackfake.NewEventCallback("EvX", map[string]any{"type": "some_event", "event_ts": "1.2"}, time.Now())
	ev.TeamID = "TOTHER01"
	status, _, raw = h.do(slackfake.EventRequest(h.url("/slack/events"), signingSecret, time.Now(), ev))
	if status != http.StatusForbidden {
		t.Fatalf("foreign workspace event: %d %s", status, raw)
	}
	h.assertNothingStored()

	own := slashCommand("U1", "CGENERAL", "declare Platform API returning 500")
	jsonReq := slackfake.SlashCommandRequest(h.url("/slack/commands"), signingSecret, time.Now(), own)
	jsonReq.Header.Set("Content-Type", "application/json")
	status, _, raw = h.do(jsonReq)
	if status != http.StatusUnsupportedMediaType || !strings.Contains(string(raw), "application/x-www-form-urlencoded") {
		t.Fatalf("JSON slash command: %d %s", status, raw)
	}
	h.assertNothingStored()
}
