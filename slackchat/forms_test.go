package slackchat_test

import (
	"encoding/json"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/slackfake"
	"github.com/sitrep-io/sitrep/slackchat"
	"github.com/slack-go/slack"
)

// everyKind is a form with a field of each kind, preset.
func everyKind() bot.Form {
	return bot.Form{ID: "probe", Title: "A form title longer than Slack takes", Submit: "Send", Intro: "Read <!channel> first", Metadata: `{"value":"7"}`,
		Fields: []bot.FormField{
			{ID: "line", Kind: bot.FieldText, Label: "Line", Default: "preset", Required: true, MaxLength: 250},
			{ID: "block", Kind: bot.FieldMultiline, Label: "Block", Hint: "Several lines", Placeholder: "Type here", MaxLength: bot.MaxUpdateField},
			{ID: "huge", Kind: bot.FieldMultiline, Label: "Huge", MaxLength: bot.MaxDescriptionLen},
			{ID: "pick", Kind: bot.FieldSelect, Label: "Pick", Default: "b", Options: []bot.Option{{Value: "a", Label: "A"}, {Value: "b", Label: "B"}}},
			{ID: "many", Kind: bot.FieldMultiSelect, Label: "Many", Default: "x,z", Options: []bot.Option{{Value: "x", Label: "X"}, {Value: "y", Label: "Y"}, {Value: "z", Label: "Z"}}},
			{ID: "box", Kind: bot.FieldCheckbox, Label: "Box", Options: []bot.Option{{Value: "yes", Label: "Yes"}}},
		}}
}

func TestModalView_RendersEveryFieldKind(t *testing.T) {
	view := slackchat.ModalView(everyKind())
	raw, err := json.Marshal(view)
	if err != nil {
		t.Fatal(err)
	}
	// What Slack reads: decode the JSON sent, not the Go value.
	var got struct {
		Type            string
		CallbackID      string `json:"callback_id"`
		PrivateMetadata string `json:"private_metadata"`
		Title           struct{ Text string }
		Blocks          []struct {
			Type     string
			BlockID  string `json:"block_id"`
			Optional bool
			Text     struct{ Type, Text string }
			Hint     *struct{ Text string }
			Element  struct {
				Type           string
				ActionID       string `json:"action_id"`
				Multiline      bool
				MaxLength      int                      `json:"max_length"`
				InitialValue   string                   `json:"initial_value"`
				InitialOption  *struct{ Value string }  `json:"initial_option"`
				InitialOptions []struct{ Value string } `json:"initial_options"`
				Options        []struct{ Value string }
			}
		}
	}
	if err := json.Unmarshal(raw, &got); err != nil {
		t.Fatal(err)
	}
	if got.CallbackID != "sitrep.probe" || got.PrivateMetadata != `{"value":"7"}` || len([]rune(got.Title.Text)) > 24 {
		t.Fatalf("modal: callback %q metadata %q title %q", got.CallbackID, got.PrivateMetadata, got.Title.Text)
	}
	if len(got.Blocks) != 7 || got.Blocks[0].Type != "section" || got.Blocks[0].Text.Text != "Read &lt;!channel&gt; first" {
		t.Fatalf("intro (escaped for mrkdwn) then six inputs: %s", raw)
	}
	in := got.Blocks[1:]
	for i, want := range []struct {
		id, elem string
		optional bool
	}{{"line", "plain_text_input", false}, {"block", "plain_text_input", true}, {"huge", "plain_text_input", true},
		{"pick", "static_select", true}, {"many", "multi_static_select", true}, {"box", "checkboxes", true}} {
		if in[i].BlockID != want.id || in[i].Element.Type != want.elem || in[i].Optional != want.optional || in[i].Element.ActionID != "value" {
			t.Errorf("field %d: %+v, want %+v", i, in[i], want)
		}
	}
	if in[0].Element.InitialValue != "preset" || in[0].Element.MaxLength != 250 || in[0].Element.Multiline {
		t.Errorf("line: %+v", in[0].Element)
	}
	if !in[1].Element.Multiline || in[1].Element.MaxLength != 3000 || in[1].Hint == nil || in[1].Hint.Text != "Several lines" {
		t.Errorf("block: %+v", in[1])
	}
	if in[2].Element.MaxLength != 0 {
		t.Errorf("a maximum over Slack's 3,000 is left to the domain, not sent (Slack refuses it): %d", in[2].Element.MaxLength)
	}
	if in[3].Element.InitialOption == nil || in[3].Element.InitialOption.Value != "b" || len(in[3].Element.Options) != 2 {
		t.Errorf("pick: %+v", in[3].Element)
	}
	if len(in[4].Element.InitialOptions) != 2 || in[4].Element.InitialOptions[1].Value != "z" {
		t.Errorf("many: %+v", in[4].Element)
	}
	if len(in[5].Element.InitialOptions) != 0 {
		t.Errorf("box: %+v", in[5].Element)
	}
}

func TestSubmittedValues_RoundTripThroughSlackJSON(t *testing.T) {
	// A view_submission as Slack sends it for the modal above, decoded by
	// slack-go as the edge decodes it.
	payload := `{"type":"view_submission","user":{"id":"U1"},"view":{"callback_id":"sitrep.probe","private_metadata":"{\"value\":\"7\"}",
	"state":{"values":{
	 "line":{"value":{"type":"plain_text_input","value":"  typed  "}},
	 "block":{"value":{"type":"plain_text_input","value":null}},
	 "pick":{"value":{"type":"static_select","selected_option":{"text":{"type":"plain_text","text":"A"},"value":"a"}}},
	 "many":{"value":{"type":"multi_static_select","selected_options":[{"value":"x"},{"value":"y"}]}},
	 "box":{"value":{"type":"checkboxes","selected_options":[{"value":"yes"}]}}}}}}`
	var ic slack.InteractionCallback
	if err := json.Unmarshal([]byte(payload), &ic); err != nil {
		t.Fatal(err)
	}
	if slackchat.FormID(ic.View) != "probe" || ic.View.PrivateMetadata != everyKind().Metadata {
		t.Fatalf("form %q metadata %q", slackchat.FormID(ic.View), ic.View.PrivateMetadata)
	}
	values := slackchat.SubmittedValues(ic.View.State)
	want := bot.FormValues{"line": "typed", "block": "", "pick": "a", "many": "x,y", "box": "yes"}
	if !reflect.DeepEqual(values, want) {
		t.Fatalf("values %v, want %v", values, want)
	}
	if errs := everyKind().Validate(values); errs != nil {
		t.Errorf("valid answers refused: %v", errs)
	}
	if errs := everyKind().Validate(bot.FormValues{"pick": "c", "line": strings.Repeat("x", 251)}); errs["pick"] == "" || errs["line"] == "" {
		t.Errorf("a choice not offered and a line over its maximum: %v", errs)
	}
	if slackchat.FormID(slack.View{CallbackID: "someone.else"}) != "" {
		t.Error("a view of another app is not a sitrep form")
	}
}

func TestSlackInteractions_DeclareFormErrorsUnderTheirFields(t *testing.T) {
	h := newSlackHarness(t)
	submit := func(title, sev, description string) map[string]any {
		values := map[string]map[string]slackfake.InputValue{"title": {"value": slackfake.PlainTextInput(title)},
			"description": {"value": slackfake.PlainTextInput(description)}}
		if sev != "" {
			values["severity"] = map[string]slackfake.InputValue{"value": slackfake.StaticSelect(sev, sev)}
		}
		status, body := h.interact(slackfake.ViewSubmission(slackfake.Submission{UserID: "U1", CallbackID: slackchat.CallbackDeclare,
			PrivateMetadata: "CGENERAL", Values: values}, time.Now()))
		if status != http.StatusOK {
			t.Fatalf("submit: %d %s", status, body)
		}
		return jsonAnswer(t, "declare", body)
	}
	if errs := fieldErrors(t, submit("Checkout failing", "SEV9", "")); !strings.Contains(errs["severity"], "SEV1, SEV2, SEV3, SEV4") || len(errs) != 1 {
		t.Errorf("bad severity: %v", errs)
	}
	if errs := fieldErrors(t, submit(strings.Repeat("t", bot.MaxTitleLen+1), "SEV2", "")); !strings.Contains(errs["title"], "At most 250 characters") || len(errs) != 1 {
		t.Errorf("too long a title: %v", errs)
	}
	// Over what a Slack max_length can say (3,000): the form's own check.
	if errs := fieldErrors(t, submit("Checkout failing", "SEV2", strings.Repeat("d", bot.MaxDescriptionLen+1))); !strings.Contains(errs["description"], "At most 4000 characters") || len(errs) != 1 {
		t.Errorf("too long a description: %v", errs)
	}
	h.assertNothingStored()
}
