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
)

// The status-update form and the repeated-update guard through the real
// Slack path: signed commands, clicks and submissions → the service →
// what Slack shows (the form with its prefilled fields, the author's
// ephemerals with their buttons, the channel's posts).

// formField is one input of a modal as Slack received it.
type formField struct {
	Initial, Hint string
	Optional      bool
}

// formFields reads a modal's inputs by block id.
func formFields(t *testing.T, v slackfake.View) map[string]formField {
	t.Helper()
	var view struct {
		Blocks []struct {
			Type     string `json:"type"`
			BlockID  string `json:"block_id"`
			Optional bool   `json:"optional"`
			Hint     struct {
				Text string `json:"text"`
			} `json:"hint"`
			Element struct {
				InitialValue string `json:"initial_value"`
			} `json:"element"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(v.Raw, &view); err != nil {
		t.Fatal(err)
	}
	out := map[string]formField{}
	for _, b := range view.Blocks {
		if b.Type == "input" {
			out[b.BlockID] = formField{Initial: b.Element.InitialValue, Hint: b.Hint.Text, Optional: b.Optional}
		}
	}
	return out
}

// newestView is the modal opened last.
func (h *featureHarness) newestView() slackfake.View {
	h.t.Helper()
	views := h.fake.Views()
	if len(views) == 0 {
		h.t.Fatal("no modal was opened")
	}
	return views[len(views)-1]
}

func (h *featureHarness) sev1(title string) bot.Incident {
	h.t.Helper()
	if status, out := h.command("U1", "CGENERAL", "declare --sev1 "+title); status != http.StatusOK {
		h.t.Fatalf("declare: %v", out)
	}
	h.drain()
	incs, _ := h.db.Incidents(context.Background(), bot.IncidentFilter{})
	return h.incident(incs[0].ID)
}

// TestSlackUpdates_FormPrefilledWithDraft: the card's Post update button,
// the reminder's, and /incident update without text open the form with
// the draft of what the timeline recorded since the previous update.
func TestSlackUpdates_FormPrefilledWithDraft(t *testing.T) {
	h := newFeatureHarness(t)
	inc := h.sev1("Checkout failing")
	h.command("U1", inc.ChannelID, "note --update rolled back the 14:02 deploy")
	h.command("U1", inc.ChannelID, "note not for the update")
	h.command("U1", inc.ChannelID, "note --next watching the error rate")

	// The card's button.
	h.click("U1", inc, bot.ActionPostUpdate)
	v := h.newestView()
	fields := formFields(t, v)
	if v.CallbackID != "sitrep.post_update" || v.PrivateMetadata != fmt.Sprint(inc.ID) {
		t.Fatalf("update form: %+v", v)
	}
	draft := fields["text"].Initial
	if !strings.Contains(draft, "rolled back the 14:02 deploy.") || !strings.Contains(draft, "Next: watching the error rate.") ||
		strings.Contains(draft, "not for the update") {
		t.Errorf("the form's draft:\n%s", draft)
	}
	if next := fields["next"]; !next.Optional || next.Initial != "" || !strings.Contains(next.Hint, "Empty: in 30m (the SEV1 reminder interval)") {
		t.Errorf("next field: %+v", next)
	}

	// The slash command without text: acknowledged empty, the form opens
	// with the command's trigger, preset with --next.
	status, out := h.command("U1", inc.ChannelID, "update --next 45m")
	if status != http.StatusOK || len(out) != 0 {
		t.Fatalf("/incident update without text: %d %v", status, out)
	}
	h.app.Wait()
	v = h.newestView()
	if v.TriggerID != "1.2.trigger" || formFields(t, v)["text"].Initial != draft || formFields(t, v)["next"].Initial != "45m" {
		t.Errorf("form from the command: %+v %+v", v, formFields(t, v))
	}

	// Submitting posts it, with the next update time; the next draft
	// starts from it.
	h.submitForm("U1", v, map[string]string{"text": draft, "next": "45m"})
	ups := eventsOf(h.timeline(inc.ID), bot.KindStatusUpdate)
	if len(ups) != 1 || ups[0].Text != draft || ups[0].Data["next_update_by"] == nil {
		t.Fatalf("status updates: %+v", ups)
	}
	h.drain()
	if post := h.messageWith(inc.ChannelID, "Status update (SEV1"); !strings.Contains(post.Text, "Next update by ") {
		t.Errorf("posted update %q lacks the next update time", post.Text)
	}

	// The reminder's button (after the promised 45 min) drafts "no change".
	h.skew.Store(int64(46 * time.Minute))
	h.drain()
	reminder := h.messageWith(inc.ChannelID, "has had no status update")
	h.press("U1", inc.ChannelID, reminder.TS, false, buttonNamed(t, buttonsOf(t, reminder.Blocks), bot.ActionPostUpdate, fmt.Sprint(inc.ID)), "reminder-trigger")
	v = h.newestView()
	if v.TriggerID != "reminder-trigger" || !strings.HasPrefix(formFields(t, v)["text"].Initial, "No change since ") {
		t.Errorf("form from the reminder: %+v %q", v, formFields(t, v)["text"].Initial)
	}
}

// TestSlackUpdates_NextFieldErrors: a next-update time that cannot be read
// is named under its field, and nothing is posted.
func TestSlackUpdates_NextFieldErrors(t *testing.T) {
	h := newFeatureHarness(t)
	inc := h.sev1("Checkout failing")
	h.click("U1", inc, bot.ActionPostUpdate)
	out := h.submitForm("U1", h.newestView(), map[string]string{"text": "Rolling back", "next": "soonish"})
	if errs := fieldErrors(t, out); !strings.Contains(errs["next"], `"soonish" is not a time`) {
		t.Errorf("errors: %v", errs)
	}
	if ups := eventsOf(h.timeline(inc.ID), bot.KindStatusUpdate); len(ups) != 0 {
		t.Errorf("posted despite the error: %+v", ups)
	}
}

// TestSlackUpdates_RepeatedFromTheCommand: the author alone is told the
// update repeats the one of HH:MM, with Post anyway and Edit, which both
// work.
func TestSlackUpdates_RepeatedFromTheCommand(t *testing.T) {
	h := newFeatureHarness(t)
	inc := h.sev1("Checkout failing")
	h.command("U2", inc.ChannelID, "update Our engineers are investigating the root cause.")
	first := eventsOf(h.timeline(inc.ID), bot.KindStatusUpdate)[0]

	status, out := h.command("U1", inc.ChannelID, "update our engineers are investigating the root cause")
	if status != http.StatusOK || out["response_type"] != "ephemeral" {
		t.Fatalf("repeat: %d %v", status, out)
	}
	text, _ := out["text"].(string)
	if want := "repeats the status update of " + first.RecordedAt.Format("15:04"); !strings.Contains(text, want) {
		t.Errorf("answer %q lacks %q", text, want)
	}
	if n := len(eventsOf(h.timeline(inc.ID), bot.KindStatusUpdate)); n != 1 {
		t.Fatalf("%d updates after the repeat, want 1", n)
	}
	raw, _ := json.Marshal(out["blocks"])
	buttons := buttonsOf(t, raw)
	anyway := buttonNamed(t, buttons, bot.ActionPostUpdateAnyway, "")
	edit := buttonNamed(t, buttons, bot.ActionEditUpdate, "")

	// Edit opens the form with what they typed.
	h.press("U1", inc.ChannelID, "", true, edit, "edit-trigger")
	v := h.newestView()
	if v.TriggerID != "edit-trigger" || formFields(t, v)["text"].Initial != "our engineers are investigating the root cause" {
		t.Errorf("edit form: %+v %+v", v, formFields(t, v))
	}
	// Post anyway posts it.
	h.press("U1", inc.ChannelID, "", true, anyway, "")
	ups := eventsOf(h.timeline(inc.ID), bot.KindStatusUpdate)
	if len(ups) != 2 || ups[1].Actor != "U1" || ups[1].Text != "our engineers are investigating the root cause" {
		t.Fatalf("after Post anyway: %+v", ups)
	}
	if eph := h.lastEphemeral(inc.ChannelID, "U1"); !strings.Contains(eph.Text, "status update posted") {
		t.Errorf("Post anyway told the clicker %q", eph.Text)
	}
}

// TestSlackUpdates_RepeatedFromTheForm: a repeated update submitted in the
// form closes it and shows its author, alone, the same choice; Edit
// brings the text back into the form.
func TestSlackUpdates_RepeatedFromTheForm(t *testing.T) {
	h := newFeatureHarness(t)
	inc := h.sev1("Checkout failing")
	h.command("U2", inc.ChannelID, "update Rolling back the gateway config.")
	h.click("U1", inc, bot.ActionPostUpdate)
	out := h.submitForm("U1", h.newestView(), map[string]string{"text": "ROLLING BACK the gateway config", "next": "20m"})
	if len(out) != 0 {
		t.Fatalf("a repeat closes the form: %v", out)
	}
	if n := len(eventsOf(h.timeline(inc.ID), bot.KindStatusUpdate)); n != 1 {
		t.Fatalf("%d updates after the repeat, want 1", n)
	}
	eph := h.lastEphemeral(inc.ChannelID, "U1")
	if !strings.Contains(eph.Text, "repeats the status update of") {
		t.Fatalf("the author was told %q", eph.Text)
	}
	for _, e := range h.fake.Ephemerals(inc.ChannelID) {
		if strings.Contains(e.Text, "repeats") && e.User != "U1" {
			t.Errorf("someone else (%s) was shown the repeat", e.User)
		}
	}
	buttons := buttonsOf(t, eph.Blocks)
	h.press("U1", inc.ChannelID, eph.TS, true, buttonNamed(t, buttons, bot.ActionEditUpdate, ""), "edit-trigger")
	if f := formFields(t, h.newestView()); f["text"].Initial != "ROLLING BACK the gateway config" || f["next"].Initial == "" {
		t.Errorf("edit form: %+v", f)
	}
	h.press("U1", inc.ChannelID, eph.TS, true, buttonNamed(t, buttons, bot.ActionPostUpdateAnyway, ""), "")
	ups := eventsOf(h.timeline(inc.ID), bot.KindStatusUpdate)
	if len(ups) != 2 || ups[1].Text != "ROLLING BACK the gateway config" || ups[1].Data["next_update_by"] == nil {
		t.Fatalf("after Post anyway: %+v", ups)
	}
	if got := h.incident(inc.ID).NextUpdateBy; got.Sub(ups[1].RecordedAt) > 20*time.Minute || got.Sub(ups[1].RecordedAt) < 19*time.Minute {
		t.Errorf("the stated 20 min did not survive the detour: next update by %v, posted %v", got, ups[1].RecordedAt)
	}
}
