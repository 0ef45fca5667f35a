package slackchat_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/slackfake"
	"github.com/sitrep-io/sitrep/slackchat"
)

func (h *slackHarness) interact(payload any) (int, []byte) {
	h.t.Helper()
	status, _, body := h.do(slackfake.InteractionRequest(h.url("/slack/interactions"), signingSecret, time.Now(), payload))
	return status, body
}

// click sends a button click on the incident card and waits for the work
// done after the acknowledgement.
func (h *slackHarness) click(user string, inc bot.Incident, actionID string) {
	h.t.Helper()
	p := slackfake.BlockActions(slackfake.ButtonClick{UserID: user, UserName: "someone", ChannelID: inc.ChannelID,
		MessageTS: inc.CardTS, ActionID: actionID, BlockID: slackchat.BlockActions, Value: fmt.Sprint(inc.ID),
		TriggerID: "click-trigger", ResponseURL: h.fake.ResponseURL(inc.ChannelID, user)}, time.Now())
	if status, body := h.interact(p); status != http.StatusOK {
		h.t.Fatalf("click %s: %d %s", actionID, status, body)
	}
	h.app.Wait()
}

// selectSeverity sends a choice in the card's severity select.
func (h *slackHarness) selectSeverity(user string, inc bot.Incident, option string) {
	h.t.Helper()
	p := slackfake.BlockActions(slackfake.ButtonClick{UserID: user, ChannelID: inc.ChannelID, MessageTS: inc.CardTS,
		ActionID: bot.ActionSetSeverity, BlockID: slackchat.BlockActions}, time.Now())
	raw, _ := json.Marshal(p)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	m["actions"] = []any{map[string]any{
		"type": "static_select", "action_id": bot.ActionSetSeverity, "block_id": slackchat.BlockActions,
		"selected_option": map[string]any{"text": map[string]any{"type": "plain_text", "text": "SEV1"}, "value": option},
		"placeholder":     map[string]any{"type": "plain_text", "text": "Severity"}, "action_ts": "1700000000.000001",
	}}
	if status, body := h.interact(m); status != http.StatusOK {
		h.t.Fatalf("select: %d %s", status, body)
	}
	h.app.Wait()
}

func (h *slackHarness) alertIncident(title string) bot.Incident {
	h.t.Helper()
	out, err := h.svc.IngestAlert(context.Background(), bot.Alert{Source: "grafana", DedupKey: title, Title: title, Firing: true, Severity: bot.SEV3})
	if err != nil {
		h.t.Fatal(err)
	}
	h.drain()
	return h.incident(out.Incident.ID)
}

func TestSlackInteractions_Buttons(t *testing.T) {
	h := newSlackHarness(t)
	inc := h.alertIncident("Platform API returning 500")
	if inc.Status != bot.StatusTriggered || inc.ChannelID == "" || inc.CardTS == "" {
		t.Fatalf("setup: %+v", inc)
	}

	h.click("U1", inc, bot.ActionAcknowledge)
	if got := h.incident(inc.ID); got.Status != bot.StatusInvestigating {
		t.Errorf("after Acknowledge: %s", got.Status)
	}
	h.click("U2", inc, bot.ActionTakeCommand)
	if got := h.incident(inc.ID); got.Commander != "U2" {
		t.Errorf("after I'm the commander: commander %q", got.Commander)
	}
	h.selectSeverity("U2", inc, slackchat.SeverityOptionValue(fmt.Sprint(inc.ID), bot.SEV1))
	if got := h.incident(inc.ID); got.Severity != bot.SEV1 {
		t.Errorf("after the severity select: %s", got.Severity)
	}
	h.selectSeverity("U2", inc, "SEV2") // no incident id: the channel's incident
	if got := h.incident(inc.ID); got.Severity != bot.SEV2 {
		t.Errorf("after the severity select without an id: %s", got.Severity)
	}
	h.click("U2", inc, bot.ActionResolve)
	if got := h.incident(inc.ID); got.Status != bot.StatusResolved {
		t.Errorf("after Resolve: %s", got.Status)
	}
	if eph := h.fake.Ephemerals(inc.ChannelID); len(eph) != 0 {
		t.Errorf("accepted clicks sent refusals: %+v", eph)
	}

	// The card is redrawn in place after the changes.
	h.drain()
	card, ok := h.fake.Message(inc.ChannelID, inc.CardTS)
	if !ok || !card.Updated() || !strings.Contains(card.Text, "resolved") {
		t.Errorf("card after the clicks: updated=%v text=%q", card.Updated(), card.Text)
	}
}

func TestSlackInteractions_Refusals(t *testing.T) {
	h := newSlackHarness(t)
	inc := h.declared("U1", "Checkout failing") // already investigating
	events := len(h.timeline(inc.ID))

	h.click("U1", inc, bot.ActionAcknowledge)
	eph := h.fake.Ephemerals(inc.ChannelID)
	if len(eph) != 1 || eph[0].User != "U1" || !strings.Contains(eph[0].Text, "already acknowledged") {
		t.Fatalf("refusal: %+v", eph)
	}
	h.click("U1", inc, "no-such-action")
	if eph = h.fake.Ephemerals(inc.ChannelID); len(eph) != 2 || !strings.Contains(eph[1].Text, "unknown action") {
		t.Errorf("unknown action: %+v", eph)
	}
	if n := len(h.timeline(inc.ID)); n != events {
		t.Errorf("refused clicks changed the timeline: %d → %d events", events, n)
	}
}

func TestSlackInteractions_PostUpdateModal(t *testing.T) {
	h := newSlackHarness(t)
	inc := h.declared("U1", "Checkout failing")
	h.click("U1", inc, bot.ActionPostUpdate)
	views := h.fake.Views()
	if len(views) != 1 || views[0].CallbackID != "sitrep.post_update" || views[0].PrivateMetadata != fmt.Sprint(inc.ID) ||
		views[0].TriggerID != "click-trigger" {
		t.Fatalf("update modal: %+v", views)
	}

	// An empty update is refused inside the modal.
	status, body := h.interact(slackfake.ViewSubmission(slackfake.Submission{UserID: "U1", CallbackID: "sitrep.post_update",
		PrivateMetadata: views[0].PrivateMetadata, Values: map[string]map[string]slackfake.InputValue{
			"text": {"value": slackfake.PlainTextInput("  ")}}}, time.Now()))
	var out map[string]any
	_ = json.Unmarshal(body, &out)
	if status != http.StatusOK || out["response_action"] != "errors" {
		t.Fatalf("empty update: %d %s", status, body)
	}

	status, body = h.interact(slackfake.ViewSubmission(slackfake.Submission{UserID: "U1", CallbackID: "sitrep.post_update",
		PrivateMetadata: views[0].PrivateMetadata, Values: map[string]map[string]slackfake.InputValue{
			"text": {"value": slackfake.PlainTextInput("Rolling back the gateway config")}}}, time.Now()))
	if status != http.StatusOK || len(strings.TrimSpace(string(body))) != 0 {
		t.Fatalf("update submit: %d %s (an empty 200 closes the modal)", status, body)
	}
	updates := eventsOf(h.timeline(inc.ID), bot.KindStatusUpdate)
	if len(updates) != 1 || updates[0].Text != "Rolling back the gateway config" || updates[0].Actor != "U1" {
		t.Fatalf("status updates: %+v", updates)
	}
	h.drain()
	found := false
	for _, m := range h.fake.Messages(inc.ChannelID) {
		found = found || strings.Contains(m.Text, "Rolling back the gateway config")
	}
	if !found {
		t.Error("the update was not posted in the incident channel")
	}
}

func TestSlackInteractions_DeclareModalSubmit(t *testing.T) {
	h := newSlackHarness(t)
	submit := func(title, sev string, private bool) (int, map[string]any) {
		values := map[string]map[string]slackfake.InputValue{
			"title":       {"value": slackfake.PlainTextInput(title)},
			"description": {"value": slackfake.PlainTextInput("5xx from every store")},
		}
		if sev != "" {
			values["severity"] = map[string]slackfake.InputValue{"value": slackfake.StaticSelect(sev, sev)}
		}
		if private {
			values["private"] = map[string]slackfake.InputValue{"value": {Type: "checkboxes"}}
		}
		p := slackfake.ViewSubmission(slackfake.Submission{UserID: "U1", CallbackID: "sitrep.declare", PrivateMetadata: "CGENERAL", Values: values}, time.Now())
		raw, _ := json.Marshal(p)
		if private { // checkboxes carry selected_options, which InputValue does not model
			raw = []byte(strings.Replace(string(raw), `"type":"checkboxes"`, `"type":"checkboxes","selected_options":[{"text":{"type":"plain_text","text":"Private"},"value":"private"}]`, 1))
		}
		status, body := h.interact(json.RawMessage(raw))
		out := map[string]any{}
		_ = json.Unmarshal(body, &out)
		return status, out
	}
	if status, out := submit("  ", "SEV1", false); status != http.StatusOK || out["response_action"] != "errors" {
		t.Fatalf("blank title: %d %v", status, out)
	}
	h.assertNothingStored()
	if status, out := submit("Platform API returning 500", "SEV1", true); status != http.StatusOK || len(out) != 0 {
		t.Fatalf("declare: %d %v", status, out)
	}
	h.app.Wait()
	incs, _ := h.db.Incidents(context.Background(), bot.IncidentFilter{})
	if len(incs) != 1 || incs[0].Severity != bot.SEV1 || !incs[0].Private || incs[0].Description != "5xx from every store" || incs[0].Commander != "U1" {
		t.Fatalf("declared from the modal: %+v", incs)
	}
	if eph := h.fake.Ephemerals("CGENERAL"); len(eph) != 1 || !strings.Contains(eph[0].Text, "Declared INC-1") {
		t.Errorf("the declarer is told: %+v", eph)
	}
}

// TestSlackInteractions_LongStatusUpdateIsWhole: an update at its limit
// (bot.MaxTextLen), whose message is over a section's 3,000 characters
// with its heading, is shown whole in the channel and the broadcast, never
// cut without a word; a longer one is answered with the limit; the form's
// field says its limit.
func TestSlackInteractions_LongStatusUpdateIsWhole(t *testing.T) {
	h := newSlackHarness(t)
	inc := h.declared("U1", "Checkout failing")
	tooLong := strings.Repeat("x", bot.MaxTextLen+1)
	if _, out := h.command("U1", inc.ChannelID, "update "+tooLong); !strings.Contains(fmt.Sprint(out), "at most") {
		t.Errorf("an update over the limit: %v, want the limit named", out)
	}
	long := strings.Repeat("rolling back the gateway config, ", 90) + "END-OF-UPDATE"
	if status, out := h.command("U1", inc.ChannelID, "update "+long); status != http.StatusOK {
		t.Fatalf("update: %d %v", status, out)
	}
	h.drain()
	shownIn := func(channel string) bool {
		for _, m := range h.fake.Messages(channel) {
			if strings.Contains(string(m.Blocks), "END-OF-UPDATE") {
				return true
			}
		}
		return false
	}
	if !shownIn(inc.ChannelID) {
		t.Error("the end of a long update is not shown in the incident channel")
	}
	broadcast, _ := h.fake.Channel("incidents")
	if !shownIn(broadcast.ID) {
		t.Error("the end of a long update is not shown in the broadcast channel")
	}

	h.click("U1", inc, bot.ActionPostUpdate)
	views := h.fake.Views()
	if len(views) != 1 || !strings.Contains(string(views[0].Raw), `"max_length":3000`) {
		t.Errorf("the update field has no max_length: %s", views[0].Raw)
	}
}
