package handlers

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/slackchat"
	"github.com/slack-go/slack"
)

// Buttons and modals. slackchat renders the buttons (action_id: the neutral
// action id; value: the incident id) and the severity select (option values
// "<incident id>:SEV<n>"); slackchat.ParseAction maps a click back.

// Modal callback ids (callback_id) and the ids of their inputs
// (block_id / action_id).
const (
	CallbackPostUpdate = "sitrep.post_update" // private_metadata: the incident id
	CallbackDeclare    = "sitrep.declare"     // private_metadata: the channel typed in

	inputValue       = "value" // the action_id of every input
	blockUpdateText  = "text"
	blockTitle       = "title"
	blockSeverity    = "severity"
	blockDescription = "description"
	blockPrivate     = "private"
)

// serveInteractions serves POST /slack/interactions: a signed button click
// or modal submission.
func (s *Slack) serveInteractions(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r)
	if !ok || !s.verifiedBody(w, r, body) {
		return
	}
	ic, err := slack.InteractionCallbackParse(r)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, errorBody{Error: "malformed interaction payload"})
		return
	}
	ackBody, work := s.interaction(r.Context(), ic)
	s.ack(w, r, ackBody, work)
}

// interaction applies a button click or a modal submission (from HTTP or
// Socket Mode) and returns the acknowledgement and the work after it.
func (s *Slack) interaction(ctx context.Context, ic slack.InteractionCallback) (any, afterAck) {
	switch ic.Type {
	case slack.InteractionTypeBlockActions:
		return nil, s.blockActions(ctx, ic)
	case slack.InteractionTypeViewSubmission:
		return s.viewSubmission(ctx, ic)
	}
	return nil, nil // shortcuts, closed views: nothing to do
}

// blockActions applies the clicks (a database transaction each) and returns
// what to do after the acknowledgement: open a modal, or tell the person why
// a click was refused.
func (s *Slack) blockActions(ctx context.Context, ic slack.InteractionCallback) afterAck {
	channel := ic.Channel.ID
	if channel == "" {
		channel = ic.Container.ChannelID
	}
	var refusals []string
	var work []afterAck
	for _, a := range ic.ActionCallback.BlockActions {
		if a.ActionID == bot.ActionPostUpdate {
			work = append(work, s.updateModalOpener(ic.TriggerID, ic.User.ID, channel, a.Value))
			continue
		}
		inv, err := s.actionInvocation(ctx, ic.User.ID, channel, a)
		if err == nil {
			_, err = s.Service.HandleAction(ctx, inv)
		}
		if err != nil {
			refusals = append(refusals, s.userMessage(err, "action "+a.ActionID))
		}
	}
	if len(refusals) > 0 {
		text := strings.Join(refusals, "\n")
		work = append(work, func(ctx context.Context) { s.tellUser(ctx, channel, ic.User.ID, text) })
	}
	return func(ctx context.Context) {
		for _, w := range work {
			w(ctx)
		}
	}
}

// actionInvocation maps a Slack block action to a neutral one, with the
// adapter's own mapping (slackchat renders the buttons and the select). A
// severity option without an incident id applies to the channel's incident.
func (s *Slack) actionInvocation(ctx context.Context, user, channel string, a *slack.BlockAction) (bot.ActionInvocation, error) {
	inv := slackchat.ParseAction(a.ActionID, a.Value, a.SelectedOption.Value)
	inv.Actor, inv.ChannelID = user, channel
	if inv.ActionID != bot.ActionSetSeverity || inv.Value != "" {
		return inv, nil
	}
	inc, err := s.Service.IncidentByChannel(ctx, channel)
	if err != nil {
		return inv, bot.Errorf(bot.EINVALID, "this severity menu is not in an incident channel: use /incident sev <1-4> there")
	}
	inv.Value = strconv.FormatInt(inc.ID, 10)
	return inv, nil
}

// viewSubmission applies a submitted modal. Refusals go back into the modal
// (response_action "errors", shown under the field at fault), so nothing
// is lost that the person typed.
func (s *Slack) viewSubmission(ctx context.Context, ic slack.InteractionCallback) (any, afterAck) {
	switch ic.View.CallbackID {
	case CallbackPostUpdate:
		inv := bot.ActionInvocation{Actor: ic.User.ID, ActionID: bot.ActionPostUpdate, Value: ic.View.PrivateMetadata,
			Input: map[string]string{"text": stateValue(ic.View.State, blockUpdateText)}}
		if _, err := s.Service.HandleAction(ctx, inv); err != nil {
			return slack.NewErrorsViewSubmissionResponse(map[string]string{blockUpdateText: s.userMessage(err, "status update")}), nil
		}
		return nil, nil
	case CallbackDeclare:
		return s.submitDeclare(ctx, ic)
	}
	return nil, nil
}

func (s *Slack) submitDeclare(ctx context.Context, ic slack.InteractionCallback) (any, afterAck) {
	req := bot.DeclareRequest{Actor: ic.User.ID, Title: stateValue(ic.View.State, blockTitle),
		Description: stateValue(ic.View.State, blockDescription)}
	if v := stateValue(ic.View.State, blockSeverity); v != "" {
		sev, err := bot.ParseSeverity(v)
		if err != nil {
			return slack.NewErrorsViewSubmissionResponse(map[string]string{blockSeverity: "choose SEV1 to SEV4"}), nil
		}
		req.Severity = sev
	}
	if st := ic.View.State; st != nil {
		req.Private = len(st.Values[blockPrivate][inputValue].SelectedOptions) > 0
	}
	inc, err := s.Service.Declare(ctx, req)
	if err != nil {
		block := blockTitle
		if be := (*bot.Error)(nil); errors.As(err, &be) && be.Field == "severity" {
			block = blockSeverity
		}
		return slack.NewErrorsViewSubmissionResponse(map[string]string{block: s.userMessage(err, "declare")}), nil
	}
	channel, user := ic.View.PrivateMetadata, ic.User.ID
	text := fmt.Sprintf("Declared %s %s: %s. Its channel is being created; you will be invited.", inc.Key(), inc.Severity, inc.Title)
	return nil, func(ctx context.Context) { s.tellUser(ctx, channel, user, text) }
}

// stateValue is the text or chosen option of a modal input.
func stateValue(st *slack.ViewState, block string) string {
	if st == nil {
		return ""
	}
	a := st.Values[block][inputValue]
	if a.SelectedOption.Value != "" {
		return a.SelectedOption.Value
	}
	return strings.TrimSpace(a.Value)
}

// updateModalOpener returns the work that opens the status update form for
// the incident a "Post update" button names.
func (s *Slack) updateModalOpener(triggerID, user, channel, incident string) afterAck {
	return func(ctx context.Context) {
		if s.API == nil {
			return
		}
		if _, err := s.API.OpenViewContext(ctx, triggerID, updateModal(incident)); err != nil {
			s.log().Warn("could not open the status update form", "err", err)
			s.tellUser(ctx, channel, user, fmt.Sprintf("Could not open the update form (%v). Use /incident update <text> instead.", err))
		}
	}
}

func plain(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, text, false, false)
}

// updateModal is the "Post update" form.
func updateModal(incident string) slack.ModalViewRequest {
	input := slack.NewPlainTextInputBlockElement(plain("What is happening, what is next, when the next update comes"), inputValue)
	input.Multiline = true
	return slack.ModalViewRequest{
		Type: slack.VTModal, CallbackID: CallbackPostUpdate, PrivateMetadata: incident,
		Title: plain("Post a status update"), Submit: plain("Post"), Close: plain("Cancel"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock(blockUpdateText, plain("Update"), plain("Posted in the channel and mirrored to the broadcast channel."), input),
		}},
	}
}

// declareModal is the declare form, preset with what the command said.
func declareModal(f declareForm) slack.ModalViewRequest {
	var options []*slack.OptionBlockObject
	for sev := bot.SEV1; sev <= bot.SEV4; sev++ {
		options = append(options, slack.NewOptionBlockObject(sev.String(), plain(sev.String()), nil))
	}
	sevSelect := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("Default severity"), inputValue, options...)
	if f.Severity.Valid() {
		sevSelect.InitialOption = options[f.Severity-1]
	}
	sevBlock := slack.NewInputBlock(blockSeverity, plain("Severity"), plain("SEV1 is the most severe."), sevSelect)
	sevBlock.Optional = true
	desc := slack.NewPlainTextInputBlockElement(plain("What is known so far"), inputValue)
	desc.Multiline = true
	descBlock := slack.NewInputBlock(blockDescription, plain("Description"), nil, desc)
	descBlock.Optional = true
	privateOpt := slack.NewOptionBlockObject("private", plain("Private incident (security, HR)"), nil)
	box := slack.NewCheckboxGroupsBlockElement(inputValue, privateOpt)
	if f.Private {
		box.InitialOptions = []*slack.OptionBlockObject{privateOpt}
	}
	privateBlock := slack.NewInputBlock(blockPrivate, plain("Visibility"),
		plain("A private channel; the broadcast says only that a private incident exists."), box)
	privateBlock.Optional = true
	return slack.ModalViewRequest{
		Type: slack.VTModal, CallbackID: CallbackDeclare, PrivateMetadata: f.Channel,
		Title: plain("Declare an incident"), Submit: plain("Declare"), Close: plain("Cancel"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock(blockTitle, plain("Title"), nil, slack.NewPlainTextInputBlockElement(plain("Platform API returning 500"), inputValue)),
			sevBlock, descBlock, privateBlock,
		}},
	}
}
