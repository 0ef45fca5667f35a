package slackchat

import (
	"context"
	"errors"
	"strings"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/slack-go/slack"
)

// The status-update form: opened by the card's and the reminder's *Post
// update* button and by "/incident update" without text, prefilled with
// the draft of what the timeline recorded since the previous update; and
// by the repeated-update message's *Edit*, prefilled with the text that
// was refused.
//
// A submitted update that repeats the previous one closes the form and is
// shown to its author alone with *Post anyway* and *Edit*, as the slash
// command does: one way to answer a repeat, wherever it was typed, and
// nothing typed is lost (Edit brings it back in the form).

// updateFormRequest reports whether text is "update" without the update's
// text, which opens the form: "--next <when>" presets it, and "--public"
// (when public is accepted: a status page is configured) ticks its
// publish box.
func updateFormRequest(text string, acceptPublic bool) (f updateFormPreset, ok bool) {
	words := strings.Fields(text)
	if len(words) == 0 || !strings.EqualFold(words[0], "update") {
		return f, false
	}
	rest := words[1:]
	for len(rest) > 0 {
		switch w := strings.ToLower(rest[0]); {
		case w == "--public" && acceptPublic:
			f.public, rest = true, rest[1:]
		case w == "--next" && len(rest) >= 2:
			f.next, rest = rest[1], rest[2:]
		case strings.HasPrefix(w, "--next="):
			f.next, rest = rest[0][len("--next="):], rest[1:]
		default:
			return f, false
		}
	}
	return f, true
}

// updateFormPreset is what "/incident update" without text presets in
// the form.
type updateFormPreset struct {
	next   string // "next update by" as typed
	public bool   // the publish box ticked
}

// openUpdateFormFor is the work that opens the update form for the
// incident inv names (INC-<n>, or the channel's), prefilled with the draft.
// Outside an incident it returns nil: the command then answers as usual.
func (s *Inbound) openUpdateFormFor(ctx context.Context, inv bot.Invocation, triggerID string, preset updateFormPreset) afterAck {
	id := inv.IncidentID
	if id == 0 {
		inc, err := s.Service.IncidentByChannel(ctx, inv.ChannelID)
		if err != nil {
			return nil
		}
		id = inc.ID
	}
	return s.draftFormOpener(triggerID, inv.Actor, inv.ChannelID, id, preset)
}

// draftFormOpener returns the work that drafts the update of incident id
// and opens the form with it.
func (s *Inbound) draftFormOpener(triggerID, user, channel string, id int64, preset updateFormPreset) afterAck {
	return func(ctx context.Context) {
		f, err := s.Service.UpdateForm(ctx, id)
		if err != nil {
			s.tellUser(ctx, channel, user, s.userMessage(err, "update form"))
			return
		}
		f.Next = preset.next
		s.modalOpener(triggerID, user, channel, ModalView(s.withPublishBox(f, preset.public).Form()), "the update form", "/incident update <text>")(ctx)
	}
}

// editFormOpener opens the form with the update a repeated-update message
// carries.
func (s *Inbound) editFormOpener(triggerID string, inv bot.ActionInvocation) afterAck {
	return func(ctx context.Context) {
		f, err := s.Service.EditUpdateForm(ctx, inv.Value)
		if err != nil {
			s.tellUser(ctx, inv.ChannelID, inv.Actor, s.userMessage(err, "update form"))
			return
		}
		s.modalOpener(triggerID, inv.Actor, inv.ChannelID, ModalView(s.withPublishBox(f, false).Form()), "the update form", "/incident update <text>")(ctx)
	}
}

// submitUpdate posts a submitted update form. A field at fault is named
// under its field; a repeat closes the form and asks its author (see
// above).
func (s *Inbound) submitUpdate(ctx context.Context, ic slack.InteractionCallback) (any, afterAck) {
	values := SubmittedValues(ic.View.State)
	public := ""
	if values[bot.UpdateAlsoPublish] != "" {
		public = "true"
	}
	inv := bot.ActionInvocation{Actor: ic.User.ID, ActionID: bot.ActionPostUpdate, Value: ic.View.PrivateMetadata,
		Input: map[string]string{"text": values[bot.UpdateText], "next": values[bot.UpdateNext], "public": public}}
	_, err := s.Service.HandleAction(ctx, inv)
	var rep *bot.RepeatedUpdateError
	switch {
	case err == nil:
		return nil, nil
	case errors.As(err, &rep):
		return nil, s.replier(rep.Incident.ChannelID, ic.User.ID, rep.Reply)
	}
	field := bot.UpdateText
	if be := (*bot.Error)(nil); errors.As(err, &be) && be.Field == bot.UpdateNext {
		field = bot.UpdateNext
	}
	return formErrors(bot.FormErrors{field: s.userMessage(err, "status update")}), nil
}
