package slackchat

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/slack-go/slack"
)

// The publish form: "/incident statuspage" and the card's "Publish to
// status page" open it, prefilled with the public-safe draft; submitting it
// is the person's confirmation.

// CallbackPublishStatusPage is the publish form's callback id;
// private_metadata is a formOrigin whose value is the incident id.
const CallbackPublishStatusPage = "sitrep.statuspage_publish"

// Inputs of the publish form (block ids), named as the domain names the
// fields of its errors.
const (
	blockPublicTitle      = "title"
	blockPublicBody       = "body"
	blockPublicStatus     = "status"
	blockComponents       = "components"
	blockComponentsStatus = "component_status"
)

// StatusPageForms drafts the publish form (*bot.StatusPages does).
type StatusPageForms interface {
	PublicDraft(ctx context.Context, id int64) (bot.Incident, bot.PublicUpdate, error)
	ComponentNames() []string
	PageName() string
}

// statusPageFormRequest reports whether text asks for the publish form:
// "statuspage" alone (optionally after "INC-<n>").
func statusPageFormRequest(text string) bool {
	words := strings.Fields(text)
	if len(words) > 0 && strings.HasPrefix(strings.ToUpper(words[0]), "INC-") {
		words = words[1:]
	}
	return len(words) == 1 && strings.EqualFold(words[0], "statuspage")
}

// statusPageCommand opens the publish form for "/incident statuspage": the
// draft is read now (the incident must exist), the form opens after the
// acknowledgement.
func (s *Inbound) statusPageCommand(ctx context.Context, cmd slack.SlashCommand, inv bot.Invocation) (any, afterAck) {
	id := inv.IncidentID
	if id == 0 {
		inc, err := s.Service.IncidentByChannel(ctx, cmd.ChannelID)
		if err != nil {
			if bot.ErrorCode(err) == bot.ENOTFOUND {
				return ephemeral("This is not an incident channel: run /incident statuspage in the incident's channel."), nil
			}
			return ephemeral(s.userMessage(err, "command")), nil
		}
		id = inc.ID
	}
	view, err := s.publishModal(ctx, id, cmd.ChannelID)
	if err != nil {
		return ephemeral(s.userMessage(err, "command")), nil
	}
	return nil, s.modalOpener(cmd.TriggerID, cmd.UserID, cmd.ChannelID, view, "the publish form", "/incident statuspage <public text>")
}

// publishModal is the publish form, prefilled with the draft.
func (s *Inbound) publishModal(ctx context.Context, id int64, channel string) (slack.ModalViewRequest, error) {
	_, draft, err := s.StatusPage.PublicDraft(ctx, id)
	if err != nil {
		return slack.ModalViewRequest{}, err
	}
	title := slack.NewPlainTextInputBlockElement(nil, inputValue)
	title.InitialValue = draft.Title
	title.MaxLength = 255

	var statusOpts []*slack.OptionBlockObject
	var initialStatus *slack.OptionBlockObject
	for _, st := range bot.Statuses[1:] {
		o := slack.NewOptionBlockObject(string(st), plain(st.Words()), nil)
		statusOpts = append(statusOpts, o)
		if st == draft.Status {
			initialStatus = o
		}
	}
	status := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, nil, inputValue, statusOpts...)
	status.InitialOption = initialStatus

	body := slack.NewPlainTextInputBlockElement(nil, inputValue)
	body.Multiline = true
	body.InitialValue = draft.Body

	blocks := []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, fmt.Sprintf(
			"Customers will read exactly this on %s. Nothing from the channel is included unless you type it here.", s.StatusPage.PageName()), false, false), nil, nil),
		slack.NewInputBlock(blockPublicTitle, plain("Public title"), plain("Not the internal title: what customers see."), title),
		slack.NewInputBlock(blockPublicStatus, plain("Status"), nil, status),
	}
	if names := s.StatusPage.ComponentNames(); len(names) > 0 {
		var opts, initial []*slack.OptionBlockObject
		for _, n := range names {
			o := slack.NewOptionBlockObject(n, plain(n), nil)
			opts = append(opts, o)
			if slices.ContainsFunc(draft.Components, func(c bot.PublicComponent) bool { return c.Name == n }) {
				initial = append(initial, o)
			}
		}
		comps := slack.NewOptionsMultiSelectBlockElement(slack.MultiOptTypeStatic, nil, inputValue, opts...)
		comps.InitialOptions = initial
		compBlock := slack.NewInputBlock(blockComponents, plain("Affected components"), nil, comps)
		compBlock.Optional = true

		var csOpts []*slack.OptionBlockObject
		var csInitial *slack.OptionBlockObject
		current := bot.ComponentMajorOutage
		if len(draft.Components) > 0 {
			current = draft.Components[0].Status
		}
		for _, cs := range slices.Backward(bot.ComponentStatuses) {
			o := slack.NewOptionBlockObject(string(cs), plain(cs.Words()), nil)
			csOpts = append(csOpts, o)
			if cs == current {
				csInitial = o
			}
		}
		csSelect := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, nil, inputValue, csOpts...)
		csSelect.InitialOption = csInitial
		blocks = append(blocks, compBlock, slack.NewInputBlock(blockComponentsStatus, plain("Component status"),
			plain("From the severity by default; resolving sets them operational."), csSelect))
	}
	blocks = append(blocks, slack.NewInputBlock(blockPublicBody, plain("Public text"),
		plain("Replace the prompt in brackets; customers read this as written."), body))
	nextBlock := slack.NewInputBlock(blockNextUpdate, plain("Next update by"),
		plain("A duration (30m, 1h) or a time HH:MM: the public text ends \"Next update by HH:MM\". Empty: no promise."),
		slack.NewPlainTextInputBlockElement(plain("30m, 1h or HH:MM"), inputValue))
	nextBlock.Optional = true
	blocks = append(blocks, nextBlock)
	origin := formOrigin{Value: strconv.FormatInt(id, 10), Channel: channel}
	return slack.ModalViewRequest{
		Type: slack.VTModal, CallbackID: CallbackPublishStatusPage, PrivateMetadata: origin.encode(),
		Title: plain("Publish to status page"), Submit: plain("Publish"), Close: plain("Cancel"),
		Blocks: slack.Blocks{BlockSet: blocks},
	}, nil
}

// statusPageFormFirst opens the publish form for the card's button.
func (s *Inbound) statusPageFormFirst(ctx context.Context, triggerID string, inv bot.ActionInvocation) afterAck {
	if s.StatusPage == nil {
		return func(ctx context.Context) {
			s.tellUser(ctx, inv.ChannelID, inv.Actor, "No status page is configured: set STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID, or SITREP_STATUS_ADDR.")
		}
	}
	id, err := bot.ActionIncident(inv)
	if err == nil {
		var view slack.ModalViewRequest
		if view, err = s.publishModal(ctx, id, inv.ChannelID); err == nil {
			return s.modalOpener(triggerID, inv.Actor, inv.ChannelID, view, "the publish form", "/incident statuspage <public text>")
		}
	}
	msg := s.userMessage(err, "publish form")
	return func(ctx context.Context) { s.tellUser(ctx, inv.ChannelID, inv.Actor, msg) }
}

// submitPublish publishes what the form says; a refusal goes back under
// the field at fault.
func (s *Inbound) submitPublish(ctx context.Context, ic slack.InteractionCallback) (any, afterAck) {
	origin := decodeOrigin(ic.View.PrivateMetadata)
	input := map[string]string{
		"title":  stateValue(ic.View.State, blockPublicTitle),
		"body":   stateValue(ic.View.State, blockPublicBody),
		"status": stateValue(ic.View.State, blockPublicStatus),
		"next":   stateValue(ic.View.State, blockNextUpdate),
	}
	if st := ic.View.State; st != nil {
		if _, ok := st.Values[blockComponents]; ok {
			var names []string
			for _, o := range st.Values[blockComponents][inputValue].SelectedOptions {
				names = append(names, o.Value)
			}
			input["components"] = strings.Join(names, ",")
			input["component_status"] = stateValue(st, blockComponentsStatus)
		}
	}
	inv := bot.ActionInvocation{Actor: ic.User.ID, ChannelID: origin.Channel, ActionID: bot.ActionPublishStatusPage,
		Value: origin.Value, Input: input}
	reply, err := s.Service.HandleAction(ctx, inv)
	if err != nil {
		block := blockPublicBody
		var be *bot.Error
		if errors.As(err, &be) && slices.Contains([]string{blockPublicTitle, blockPublicStatus, blockComponents, blockComponentsStatus, blockNextUpdate}, be.Field) {
			block = be.Field
			if ic.View.State == nil || ic.View.State.Values[block] == nil {
				block = blockPublicBody
			}
		}
		return slack.NewErrorsViewSubmissionResponse(map[string]string{block: s.userMessage(err, "publication")}), nil
	}
	return nil, s.replier(origin.Channel, ic.User.ID, reply)
}

// blockAlsoPublish is the update form's "also publish" box.
const blockAlsoPublish = "also_publish"

// withPublishBox adds to the update form, when a status page is
// configured, a box that publishes the update too (ticked: from
// "/incident update --public").
func (s *Inbound) withPublishBox(view slack.ModalViewRequest, ticked bool) slack.ModalViewRequest {
	if s.StatusPage == nil {
		return view
	}
	opt := slack.NewOptionBlockObject("public", plain("Also publish this text to "+s.StatusPage.PageName()), nil)
	boxes := slack.NewCheckboxGroupsBlockElement(inputValue, opt)
	if ticked {
		boxes.InitialOptions = []*slack.OptionBlockObject{opt}
	}
	box := slack.NewInputBlock(blockAlsoPublish, plain("Customers"),
		plain("Customers read the text exactly as written, with the incident's public status and components."),
		boxes)
	box.Optional = true
	view.Blocks.BlockSet = append(view.Blocks.BlockSet, box)
	return view
}

// publishChecked is "true" when the update form's publish box is ticked.
func publishChecked(st *slack.ViewState) string {
	if st == nil || len(st.Values[blockAlsoPublish][inputValue].SelectedOptions) == 0 {
		return ""
	}
	return "true"
}
