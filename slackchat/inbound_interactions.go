package slackchat

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/handlers"
	"github.com/sitrep-io/sitrep/runbooks"
	"github.com/slack-go/slack"
)

// Buttons and modals. slackchat renders the buttons (action_id: the neutral
// action id; value: the incident id) and the severity select (option values
// "<incident id>:SEV<n>"); slackchat.ParseAction maps a click back.

// Modal callback ids (callback_id) and the ids of their inputs
// (block_id / action_id).
const (
	CallbackPostUpdate    = callbackPrefix + bot.FormPostUpdate      // private_metadata: the incident id
	CallbackDeclare       = callbackPrefix + bot.FormDeclare         // private_metadata: the channel typed in
	CallbackRunRunbook    = callbackPrefix + runbooks.FormRunRunbook // private_metadata: a formOrigin (JSON)
	CallbackTriageDecline = callbackPrefix + bot.FormTriageDecline   // private_metadata: a formOrigin (JSON)

	inputValue = "value" // the action_id of every input (forms.go)
)

// RunbookCatalog finds a runbook by name (*runbooks.Catalog does), so that
// a runbook button can ask for the runbook's parameters first.
type RunbookCatalog interface {
	Get(name string) (*runbooks.Runbook, bool)
}

// formOrigin is the private_metadata of a modal a button opened: the
// button's value, and the channel it was clicked in, where the clicker is
// told the outcome.
type formOrigin struct {
	Value   string `json:"value"`
	Channel string `json:"channel"`
}

func (o formOrigin) encode() string {
	raw, _ := json.Marshal(o) // two strings: cannot fail
	return string(raw)
}

// decodeOrigin reads a modal's private_metadata; Slack returns it as it
// was sent, so a malformed one only comes from a modal of another version,
// and gives an empty origin (the action then refuses the missing value).
func decodeOrigin(meta string) formOrigin {
	var o formOrigin
	_ = json.Unmarshal([]byte(meta), &o)
	return o
}

// answeredInPlace are the actions whose outcome shows on the very message
// that was clicked (the incident card, the triage message, redrawn through
// the outbox): their reply, the incident's status line, is not repeated to
// the clicker. Every other action's reply is shown to the clicker alone.
var answeredInPlace = map[string]bool{
	bot.ActionAcknowledge: true, bot.ActionTakeCommand: true, bot.ActionSetSeverity: true,
	bot.ActionResolve: true, bot.ActionPostUpdate: true,
	bot.ActionTriageAccept: true, bot.ActionTriageDecline: true,
}

// serveInteractions serves POST /slack/interactions: a signed button click
// or modal submission.
func (s *Inbound) serveInteractions(w http.ResponseWriter, r *http.Request) {
	body, ok := handlers.ReadBody(w, r)
	if !ok || !s.verifiedBody(w, r, body) {
		return
	}
	ic, err := slack.InteractionCallbackParse(r)
	if err != nil {
		handlers.WriteJSON(w, http.StatusBadRequest, handlers.ErrorBody{Error: "malformed interaction payload"})
		return
	}
	r = r.WithContext(s.withResponseURL(r.Context(), interactionResponseURL(ic)))
	ackBody, work := s.interaction(r.Context(), ic)
	s.ack(w, r, ackBody, work)
}

// interaction applies a button click or a modal submission (from HTTP or
// Socket Mode) and returns the acknowledgement and the work after it.
func (s *Inbound) interaction(ctx context.Context, ic slack.InteractionCallback) (any, afterAck) {
	switch ic.Type {
	case slack.InteractionTypeBlockActions:
		return nil, s.blockActions(ctx, ic)
	case slack.InteractionTypeViewSubmission:
		return s.viewSubmission(ctx, ic)
	}
	return nil, nil // shortcuts, closed views: nothing to do
}

// blockActions applies the clicks (a database transaction each) and returns
// what to do after the acknowledgement: open the form an action needs
// first, show the clicker the reply (a menu of buttons, a confirmation), or
// tell them why a click was refused.
func (s *Inbound) blockActions(ctx context.Context, ic slack.InteractionCallback) afterAck {
	channel := ic.Channel.ID
	if channel == "" {
		channel = ic.Container.ChannelID
	}
	user := ic.User.ID
	var refusals []string
	var work []afterAck
	for _, a := range ic.ActionCallback.BlockActions {
		inv, err := s.actionInvocation(ctx, user, channel, a)
		if err == nil && inv.ActionID == bot.ActionOpenStatusPage {
			work = append(work, s.statusPageFormFirst(ctx, ic.TriggerID, inv))
			continue
		}
		if err == nil {
			if form := s.formFirst(ic.TriggerID, inv); form != nil {
				// Checked before the form shows anything of the incident.
				if err := s.Service.AuthorizeAction(ctx, inv); err != nil {
					refusals = append(refusals, s.userMessage(err, "action "+a.ActionID))
				} else {
					work = append(work, form)
				}
				continue
			}
			done := s.applyAction(ctx, inv)
			select {
			case res := <-done:
				if err = res.err; err == nil && !answeredInPlace[inv.ActionID] {
					work = append(work, s.replier(channel, user, res.reply))
				}
				if err == nil && res.reply.Redraw != nil {
					work = append(work, s.redrawer(channel, clickedMessage(ic), *res.reply.Redraw))
				}
			case <-time.After(s.ackBudget()):
				// Still busy (an approval asking Slack who is in a user
				// group, with Slack slow): acknowledge now, answer the
				// clicker when it is done.
				work = append(work, s.lateAnswer(done, channel, user, clickedMessage(ic), inv.ActionID))
				continue
			}
		}
		if err != nil {
			refusals = append(refusals, s.userMessage(err, "action "+a.ActionID))
		}
	}
	if len(refusals) > 0 {
		text := strings.Join(refusals, "\n")
		work = append(work, func(ctx context.Context) { s.tellUser(ctx, channel, user, text) })
	}
	return func(ctx context.Context) {
		for _, w := range work {
			w(ctx)
		}
	}
}

// defaultAckBudget is how long a click's action may run before the
// acknowledgement goes out without it: Slack wants the answer within 3 s.
// Most actions are one database transaction and finish in milliseconds.
const defaultAckBudget = 2 * time.Second

func (s *Inbound) ackBudget() time.Duration {
	if s.AckBudget > 0 {
		return s.AckBudget
	}
	return defaultAckBudget
}

// actionTimeout bounds an action that finishes after the acknowledgement.
const actionTimeout = 30 * time.Second

type actionResult struct {
	reply bot.Reply
	err   error
}

// applyAction applies a click in its own goroutine, detached from the
// request (whose context ends with the acknowledgement).
func (s *Inbound) applyAction(ctx context.Context, inv bot.ActionInvocation) <-chan actionResult {
	done := make(chan actionResult, 1)
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), actionTimeout)
	go func() {
		defer cancel()
		reply, err := s.Service.HandleAction(actx, inv)
		done <- actionResult{reply: reply, err: err}
	}()
	return done
}

// lateAnswer is the after-ack work for an action that outlasted the
// budget: wait for it, then show the clicker its reply or refusal.
func (s *Inbound) lateAnswer(done <-chan actionResult, channel, user, messageTS, actionID string) afterAck {
	return func(ctx context.Context) {
		res := <-done
		if res.err != nil {
			s.tellUser(ctx, channel, user, s.userMessage(res.err, "action "+actionID))
			return
		}
		if !answeredInPlace[actionID] {
			if w := s.replier(channel, user, res.reply); w != nil {
				w(ctx)
			}
		}
		if res.reply.Redraw != nil {
			s.redrawer(channel, messageTS, *res.reply.Redraw)(ctx)
		}
	}
}

// clickedMessage is the ts of the message whose button was clicked.
func clickedMessage(ic slack.InteractionCallback) string {
	if ic.Container.MessageTs != "" {
		return ic.Container.MessageTs
	}
	return ic.Message.Timestamp
}

// redrawer returns the work that redraws the clicked message as msg (a
// question answered loses its buttons). Like tellUser it runs after the
// acknowledgement and only logs a failure.
func (s *Inbound) redrawer(channel, ts string, msg bot.Message) afterAck {
	return func(ctx context.Context) {
		if s.API == nil || channel == "" || ts == "" {
			return
		}
		opts := []slack.MsgOption{slack.MsgOptionText(mrkdwnText(msg.Text), false), slack.MsgOptionBlocks(Blocks(msg)...)}
		if _, _, _, err := s.API.UpdateMessageContext(ctx, channel, ts, opts...); err != nil {
			s.log().Warn("could not redraw a message", "channel", channel, "ts", ts, "err", err)
		}
	}
}

// formFirst returns the work that opens the form an action asks for before
// it is applied (nil when it needs none): the status update's text, the
// reason of a triage decline, a runbook's parameters.
func (s *Inbound) formFirst(triggerID string, inv bot.ActionInvocation) afterAck {
	origin := formOrigin{Value: inv.Value, Channel: inv.ChannelID}
	switch inv.ActionID {
	case bot.ActionPostUpdate:
		id, err := bot.ActionIncident(inv)
		if err != nil {
			return nil // refused by the action itself
		}
		return s.draftFormOpener(triggerID, inv.Actor, inv.ChannelID, id, updateFormPreset{})
	case bot.ActionEditUpdate:
		return s.editFormOpener(triggerID, inv)
	case bot.ActionTriageDecline:
		id, err := bot.ActionIncident(inv)
		if err != nil {
			return nil // refused by the action itself
		}
		return s.modalOpener(triggerID, inv.Actor, inv.ChannelID, ModalView(bot.DeclineForm(bot.IncidentKey(id), origin.encode())),
			"the decline form", fmt.Sprintf("/incident %s decline <reason>", bot.IncidentKey(id)))
	case runbooks.ActionRunRunbook:
		rb := s.runbookWithParams(inv.Value)
		if rb == nil {
			return nil // nothing to ask: requested at once
		}
		return s.modalOpener(triggerID, inv.Actor, inv.ChannelID, ModalView(runbooks.ParamsForm(rb, origin.encode())),
			"the runbook form", "/incident run "+runbooks.Syntax(rb))
	}
	return nil
}

// runbookWithParams is the runbook a run button ("<incident id>:<name>")
// names, when it has parameters to ask for; nil otherwise, and without a
// catalog (the action then applies the parameters' defaults).
func (s *Inbound) runbookWithParams(value string) *runbooks.Runbook {
	_, name, ok := strings.Cut(value, ":")
	if !ok || s.Runbooks == nil {
		return nil
	}
	rb, found := s.Runbooks.Get(name)
	if !found || len(rb.Params) == 0 {
		return nil
	}
	return rb
}

// replyBlocks renders a reply's message with slackchat, as the bot's
// posts are, when it carries buttons (a runbook menu); nil otherwise: the
// reply's text says it all, and blocks would hide the lines a message
// keeps only in its fallback text.
func replyBlocks(reply bot.Reply) []slack.Block {
	if reply.Message == nil || len(reply.Message.Actions) == 0 {
		return nil
	}
	return Blocks(*reply.Message)
}

// replier returns the work that shows reply to user alone in channel: its
// text, with its buttons when it has some.
func (s *Inbound) replier(channel, user string, reply bot.Reply) afterAck {
	blocks := replyBlocks(reply)
	if reply.Text == "" && blocks == nil {
		return nil
	}
	return func(ctx context.Context) { s.showUser(ctx, channel, user, reply.Text, blocks) }
}

// showUser sends text (with blocks, the notification fallback) to user as
// an ephemeral message in channel; where Slack cannot show one (a DM, a
// private channel the bot is not in) it goes to the person's DM with the
// bot, saying why. Like tellUser it runs after an
// acknowledgement and only logs a failure.
func (s *Inbound) showUser(ctx context.Context, channel, user, text string, blocks []slack.Block) {
	s.showUserMrkdwn(ctx, channel, user, mrkdwnText(text), blocks)
}

// showUserMrkdwn is showUser with text already in Slack's markup.
func (s *Inbound) showUserMrkdwn(ctx context.Context, channel, user, text string, blocks []slack.Block) {
	if s.API == nil || channel == "" || user == "" {
		return
	}
	opts := []slack.MsgOption{slack.MsgOptionText(text, false)}
	if len(blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(blocks...))
	}
	_, err := s.API.PostEphemeralContext(ctx, channel, user, opts...)
	if err == nil {
		return
	}
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) || !noEphemeralThere[se.Err] {
		s.log().Warn("could not send an ephemeral message", "channel", channel, "user", user, "err", err)
		return
	}
	// A DM, or a private channel the bot is not in: Slack cannot show the
	// person an ephemeral there. Answer through the request's response_url,
	// which reaches them where they are; with none left, tell them in the
	// bot's DM instead, and why.
	if err = s.respond(ctx, text, blocks); err == nil {
		return
	}
	s.log().Debug("could not answer through the response_url; answering in a DM", "channel", channel, "user", user, "err", err)
	dm := []slack.MsgOption{slack.MsgOptionText(text+"\n_(sitrep cannot answer in <#"+channel+">: it is not a member. /invite @sitrep there to get answers in place.)_", false)}
	if len(blocks) > 0 {
		dm = append(dm, slack.MsgOptionBlocks(blocks...))
	}
	if _, _, err := s.API.PostMessageContext(ctx, user, dm...); err != nil {
		s.log().Warn("could not answer a person, neither in the channel nor in a DM", "channel", channel, "user", user, "err", err)
	}
}

// noEphemeralThere are chat.postEphemeral's answers for a channel where
// Slack cannot show the person an ephemeral from the bot: a DM or private
// channel it is not in, or a channel the person is not in (a click on a
// message they can still see).
var noEphemeralThere = map[string]bool{"channel_not_found": true, "not_in_channel": true, "user_not_in_channel": true}

// actionInvocation maps a Slack block action to a neutral one, with the
// adapter's own mapping (slackchat renders the buttons and the select). A
// severity option without an incident id applies to the channel's incident.
func (s *Inbound) actionInvocation(ctx context.Context, user, channel string, a *slack.BlockAction) (bot.ActionInvocation, error) {
	inv := ParseAction(a.ActionID, a.Value, a.SelectedOption.Value)
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
func (s *Inbound) viewSubmission(ctx context.Context, ic slack.InteractionCallback) (any, afterAck) {
	switch FormID(ic.View) {
	case bot.FormPostUpdate:
		return s.submitUpdate(ctx, ic) // inbound_updates.go
	case bot.FormDeclare:
		return s.submitDeclare(ctx, ic)
	case bot.FormTriageDecline:
		return s.submitDecline(ctx, ic)
	case runbooks.FormRunRunbook:
		return s.submitRunbook(ctx, ic)
	case bot.FormPublishStatusPage:
		return s.submitPublish(ctx, ic)
	}
	return nil, nil
}

// submitDecline declines a triaged alert with the reason the form gave
// (empty: the domain's default reason). The triage message is redrawn to
// show it; a refusal (someone decided first) goes back into the form.
func (s *Inbound) submitDecline(ctx context.Context, ic slack.InteractionCallback) (any, afterAck) {
	origin := decodeOrigin(ic.View.PrivateMetadata)
	inv := bot.ActionInvocation{Actor: ic.User.ID, ChannelID: origin.Channel, ActionID: bot.ActionTriageDecline,
		Value: origin.Value, Input: map[string]string{"reason": SubmittedValues(ic.View.State)[bot.DeclineReason]}}
	if _, err := s.Service.HandleAction(ctx, inv); err != nil {
		return formErrors(bot.FormErrors{bot.DeclineReason: s.userMessage(err, "triage decline")}), nil
	}
	return nil, nil
}

// submitRunbook requests the run with the parameters the form gave, as
// "/incident run" does: every value is checked against its parameter's
// pattern, and each one at fault is named under its field. An empty field
// takes the parameter's default. The requester is told the outcome; the
// approval card is posted in the incident channel through the outbox.
func (s *Inbound) submitRunbook(ctx context.Context, ic slack.InteractionCallback) (any, afterAck) {
	origin := decodeOrigin(ic.View.PrivateMetadata)
	values := runbooks.ParamValues(SubmittedValues(ic.View.State))
	rb := s.runbookWithParams(origin.Value)
	if rb != nil {
		if errs := paramFieldErrors(rb, values); len(errs) > 0 {
			return formErrors(errs), nil
		}
	}
	inv := bot.ActionInvocation{Actor: ic.User.ID, ChannelID: origin.Channel, ActionID: runbooks.ActionRunRunbook,
		Value: origin.Value, Input: values}
	reply, err := s.Service.HandleAction(ctx, inv)
	if err != nil {
		return formErrors(bot.FormErrors{runErrorBlock(rb, ic.View.State, err): s.userMessage(err, "runbook run")}), nil
	}
	return nil, s.replier(origin.Channel, ic.User.ID, reply)
}

// paramFieldErrors checks values as the run request will (runbooks'
// Bind) and returns, by field, what is wrong with each parameter at fault.
func paramFieldErrors(rb *runbooks.Runbook, values map[string]string) bot.FormErrors {
	_, err := rb.Bind(values)
	if err == nil {
		return nil
	}
	errs := []error{err}
	if joined, ok := err.(interface{ Unwrap() []error }); ok {
		errs = joined.Unwrap()
	}
	out := bot.FormErrors{}
	for _, e := range errs {
		var pe *runbooks.ParamError
		if !errors.As(e, &pe) || rb.Param(pe.Param) == nil {
			continue // not a field of the form: the run request reports it
		}
		msg := pe.Msg
		if pe.Pattern != "" {
			msg += " " + pe.Pattern
		}
		out[runbooks.ParamField(pe.Param)] = msg
	}
	return out
}

// runErrorBlock is the field a refused run request is shown under: the
// parameter it names, else the form's first one.
func runErrorBlock(rb *runbooks.Runbook, st *slack.ViewState, err error) string {
	var fields []string
	if rb != nil {
		for _, p := range rb.Params {
			fields = append(fields, runbooks.ParamField(p.Name))
		}
	} else if st != nil { // a form opened before a restart without runbooks
		for block := range st.Values {
			fields = append(fields, block)
		}
		slices.Sort(fields)
	}
	var be *bot.Error
	if errors.As(err, &be) && be.Field != "" && slices.Contains(fields, runbooks.ParamField(be.Field)) {
		return runbooks.ParamField(be.Field)
	}
	if len(fields) == 0 {
		return runbooks.ParamField("")
	}
	return fields[0]
}

func (s *Inbound) submitDeclare(ctx context.Context, ic slack.InteractionCallback) (any, afterAck) {
	form, values := bot.DeclareForm(bot.DeclarePreset{}, ""), SubmittedValues(ic.View.State)
	if errs := form.Validate(values); errs != nil { // what Slack's own checks of the modal do not cover
		return formErrors(errs), nil
	}
	req, errs := bot.DeclareRequestFrom(ic.User.ID, values)
	if errs != nil {
		return formErrors(errs), nil
	}
	inc, err := s.Service.Declare(ctx, req)
	if err != nil {
		field := form.ErrorField(err, bot.DeclareTitle)
		return formErrors(bot.FormErrors{field: s.userMessage(err, "declare")}), nil
	}
	channel, user := ic.View.PrivateMetadata, ic.User.ID
	text := fmt.Sprintf("Declared %s %s: %s. Its channel is being created; you will be invited.", inc.Key(), inc.Severity, inc.Title)
	return nil, func(ctx context.Context) { s.tellUser(ctx, channel, user, text) }
}

// modalOpener returns the work that opens view with the click's trigger id
// (valid for 3 seconds, once). When Slack refuses, the clicker is told to
// use the command instead.
func (s *Inbound) modalOpener(triggerID, user, channel string, view slack.ModalViewRequest, what, command string) afterAck {
	return func(ctx context.Context) {
		if s.API == nil {
			return
		}
		if _, err := s.API.OpenViewContext(ctx, triggerID, view); err != nil {
			s.log().Warn("could not open "+what, "err", err)
			s.tellUser(ctx, channel, user, fmt.Sprintf("Could not open %s (%v). Use %s instead.", what, err, command))
		}
	}
}
