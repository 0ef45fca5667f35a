package slackchat

import (
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/slack-go/slack"
)

// A bot.Form in Slack is a modal: callback_id "sitrep.<form id>",
// private_metadata the form's metadata, one input block per field
// (block_id: the field id; action_id: inputValue), the form's intro as a
// section above them. A submission's view state is read back into
// bot.FormValues, and bot.FormErrors go back as response_action "errors",
// which Slack shows under each field at fault.

// callbackPrefix makes a form id a callback_id of sitrep's own.
const callbackPrefix = "sitrep."

// Slack's limits on a modal: title and submit label 24 characters, a
// plain_text_input's max_length 3,000, 100 options in a static select.
const (
	maxModalLabel   = 24
	maxInputLength  = 3000
	maxSelectOption = 100
	maxOptionText   = 75
)

// ModalView renders a form as a modal.
func ModalView(f bot.Form) slack.ModalViewRequest {
	var blocks []slack.Block
	if f.Intro != "" {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(truncateMrkdwn(mrkdwnText(f.Intro), maxSectionText)), nil, nil))
	}
	for _, fl := range f.Fields {
		blocks = append(blocks, inputBlock(fl))
	}
	return slack.ModalViewRequest{
		Type: slack.VTModal, CallbackID: callbackPrefix + f.ID, PrivateMetadata: f.Metadata,
		Title: plain(cutRunes(f.Title, maxModalLabel)), Submit: plain(cutRunes(f.Submit, maxModalLabel)), Close: plain("Cancel"),
		Blocks: slack.Blocks{BlockSet: blocks},
	}
}

// FormID is the form a submitted view is ("" when not one of sitrep's).
func FormID(view slack.View) string {
	id, ok := strings.CutPrefix(view.CallbackID, callbackPrefix)
	if !ok {
		return ""
	}
	return id
}

// inputBlock is one field: an input block whose element fits its kind.
func inputBlock(fl bot.FormField) *slack.InputBlock {
	var el slack.BlockElement
	switch fl.Kind {
	case bot.FieldSelect:
		opts := options(fl.Options)
		sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, optionalPlain(fl.Placeholder), inputValue, opts...)
		for i, o := range fl.Options[:len(opts)] {
			if o.Value == fl.Default && fl.Default != "" {
				sel.InitialOption = opts[i]
			}
		}
		el = sel
	case bot.FieldMultiSelect:
		opts := options(fl.Options)
		sel := slack.NewOptionsMultiSelectBlockElement(slack.MultiOptTypeStatic, optionalPlain(fl.Placeholder), inputValue, opts...)
		sel.InitialOptions = chosen(fl, opts)
		el = sel
	case bot.FieldCheckbox:
		opts := options(fl.Options)
		box := slack.NewCheckboxGroupsBlockElement(inputValue, opts...)
		box.InitialOptions = chosen(fl, opts)
		el = box
	default: // text, multiline
		in := slack.NewPlainTextInputBlockElement(optionalPlain(fl.Placeholder), inputValue)
		in.Multiline = fl.Kind == bot.FieldMultiline
		in.InitialValue = fl.Default
		// Slack's own check, shown as the person types.
		if fl.MaxLength > 0 && fl.MaxLength <= maxInputLength {
			in.MaxLength = fl.MaxLength
		}
		el = in
	}
	block := slack.NewInputBlock(fl.ID, plain(bot.PlainText(fl.Label)), optionalPlain(bot.PlainText(fl.Hint)), el)
	block.Optional = !fl.Required
	return block
}

// options renders a field's choices, as many as Slack takes.
func options(in []bot.Option) []*slack.OptionBlockObject {
	var out []*slack.OptionBlockObject
	for _, o := range in[:min(len(in), maxSelectOption)] {
		out = append(out, slack.NewOptionBlockObject(o.Value, plain(cutRunes(o.Label, maxOptionText)), nil))
	}
	return out
}

// chosen are the rendered options a field's default names.
func chosen(fl bot.FormField, opts []*slack.OptionBlockObject) []*slack.OptionBlockObject {
	if fl.Default == "" {
		return nil
	}
	defaults := strings.Split(fl.Default, ",")
	var out []*slack.OptionBlockObject
	for _, o := range opts {
		if slices.Contains(defaults, o.Value) {
			out = append(out, o)
		}
	}
	return out
}

// optionalPlain is a plain_text object, nil for "" (Slack refuses an
// empty one).
func optionalPlain(s string) *slack.TextBlockObject {
	if s == "" {
		return nil
	}
	return plain(s)
}

func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n-1]) + "…"
}

// SubmittedValues reads a submitted view's state as the domain reads a
// form: by field (block id), a text trimmed, the chosen option's value,
// several chosen values joined by ",". A field Slack sent nothing for
// (left empty) is "".
func SubmittedValues(st *slack.ViewState) bot.FormValues {
	values := bot.FormValues{}
	if st == nil {
		return values
	}
	for block, actions := range st.Values {
		a := actions[inputValue]
		switch {
		case a.SelectedOption.Value != "":
			values[block] = a.SelectedOption.Value
		case len(a.SelectedOptions) > 0:
			var chosen []string
			for _, o := range a.SelectedOptions {
				chosen = append(chosen, o.Value)
			}
			values[block] = strings.Join(chosen, ",")
		default:
			values[block] = strings.TrimSpace(a.Value)
		}
	}
	return values
}

// formErrors is the acknowledgement that shows errs under their fields
// and keeps the modal open with everything the person typed.
func formErrors(errs bot.FormErrors) *slack.ViewSubmissionResponse {
	shown := make(map[string]string, len(errs))
	for field, msg := range errs {
		shown[field] = bot.PlainText(msg) // Slack shows an error as plain text
	}
	return slack.NewErrorsViewSubmissionResponse(shown)
}
