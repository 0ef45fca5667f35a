package slackchat

import (
	"context"
	"errors"
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
const CallbackPublishStatusPage = callbackPrefix + bot.FormPublishStatusPage

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
	origin := formOrigin{Value: strconv.FormatInt(id, 10), Channel: channel}
	return ModalView(bot.PublishForm(draft, s.StatusPage.PageName(), s.StatusPage.ComponentNames(), origin.encode())), nil
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
	values := SubmittedValues(ic.View.State)
	input := map[string]string{}
	for _, field := range []string{bot.PublishTitle, bot.PublishBody, bot.PublishStatus, bot.PublishNext} {
		input[field] = values[field]
	}
	if _, ok := values[bot.PublishComponents]; ok {
		input[bot.PublishComponents] = values[bot.PublishComponents]
		input[bot.PublishComponentStatus] = values[bot.PublishComponentStatus]
	}
	inv := bot.ActionInvocation{Actor: ic.User.ID, ChannelID: origin.Channel, ActionID: bot.ActionPublishStatusPage,
		Value: origin.Value, Input: input}
	reply, err := s.Service.HandleAction(ctx, inv)
	if err != nil {
		// Shown under the field at fault when the submitted form has it.
		field := bot.PublishBody
		var be *bot.Error
		if errors.As(err, &be) && be.Field != "" {
			if _, shown := values[be.Field]; shown {
				field = be.Field
			}
		}
		return formErrors(bot.FormErrors{field: s.userMessage(err, "publication")}), nil
	}
	return nil, s.replier(origin.Channel, ic.User.ID, reply)
}

// withPublishBox adds to the update form, when a status page is
// configured, a box that publishes the update too (ticked: from
// "/incident update --public").
func (s *Inbound) withPublishBox(f bot.UpdateForm, ticked bool) bot.UpdateForm {
	if s.StatusPage != nil {
		f.PublishPage, f.Public = s.StatusPage.PageName(), ticked
	}
	return f
}
