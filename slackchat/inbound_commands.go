package slackchat

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/handlers"
	"github.com/slack-go/slack"
)

// serveCommands serves POST /slack/commands: a signed /incident slash
// command, answered with an ephemeral reply within Slack's 3 seconds (the
// command itself is one database transaction; what it says in channels goes
// through the outbox).
func (s *Inbound) serveCommands(w http.ResponseWriter, r *http.Request) {
	body, ok := handlers.ReadBody(w, r)
	if !ok {
		return
	}
	if isSSLCheck(body) {
		w.WriteHeader(http.StatusOK)
		return
	}
	if !s.verifiedBody(w, r, body) {
		return
	}
	cmd, err := slack.SlashCommandParse(r)
	if err != nil {
		handlers.WriteJSON(w, http.StatusBadRequest, handlers.ErrorBody{Error: "malformed slash command"})
		return
	}
	r = r.WithContext(s.withResponseURL(r.Context(), cmd.ResponseURL))
	ackBody, work := s.command(r.Context(), cmd)
	s.ack(w, r, ackBody, work)
}

// MaxCommandTextLen bounds a slash command's text, in characters: room
// for the longest note or update (bot.MaxTextLen) and its command words.
const MaxCommandTextLen = bot.MaxTextLen + 200

// command applies a slash command (from HTTP or Socket Mode) and returns
// its acknowledgement and the work to do after it. It never fails: every
// error becomes an ephemeral answer, as Slack shows a 500 as a failure.
func (s *Inbound) command(ctx context.Context, cmd slack.SlashCommand) (any, afterAck) {
	text := strings.TrimSpace(cmd.Text)
	if n := utf8.RuneCountInString(text); n > MaxCommandTextLen {
		return ephemeral(fmt.Sprintf("That command is %d characters; /incident takes at most %d. Shorten it (a note or update is at most %d).",
			n, MaxCommandTextLen, bot.MaxTextLen)), nil
	}
	if form, ok := declareFormRequest(text); ok {
		form.Channel = cmd.ChannelID
		return nil, func(ctx context.Context) { s.openDeclareModal(ctx, cmd.TriggerID, cmd.UserID, form) }
	}
	inv, err := slashInvocation(cmd.UserID, cmd.ChannelID, text)
	if err != nil {
		return ephemeral(s.userMessage(err, "command")), nil
	}
	if s.StatusPage != nil && statusPageFormRequest(text) {
		return s.statusPageCommand(ctx, cmd, inv)
	}
	if preset, ok := updateFormRequest(inv.Text, s.StatusPage != nil); ok {
		if open := s.openUpdateFormFor(ctx, inv, cmd.TriggerID, preset); open != nil {
			return nil, open // inbound_updates.go: the form, prefilled with the draft
		}
	}
	done := make(chan actionResult, 1)
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), actionTimeout)
	go func() {
		defer cancel()
		reply, err := s.Service.Execute(cctx, inv)
		done <- actionResult{reply: reply, err: err}
	}()
	var res actionResult
	select {
	case res = <-done:
	case <-time.After(s.ackBudget()):
		// Still busy (an approval asking Slack who is in a user group, a
		// postmortem asking for names, with Slack slow): acknowledge now
		// (Slack wants it within 3 s) and answer when it is done.
		return ephemeral("Working on it…"), func(ctx context.Context) {
			res := <-done
			if res.err != nil {
				s.tellUser(ctx, cmd.ChannelID, cmd.UserID, s.userMessage(res.err, "command"))
				return
			}
			if answer := s.replier(cmd.ChannelID, cmd.UserID, res.reply); answer != nil {
				answer(ctx)
			}
		}
	}
	reply, err := res.reply, res.err
	if err != nil {
		return ephemeral(s.userMessage(err, "command")), nil
	}
	msg := ephemeral(reply.Text)
	msg.Blocks = replyBlocks(reply)
	if reply.Public {
		msg.ResponseType = slack.ResponseTypeInChannel
	}
	return msg, nil
}

// slashInvocation is the command typed in channel; "INC-<n>" before the
// command picks the incident, as in the console (needed where the channel
// is no incident's, such as the triage channel: /incident INC-3 accept).
func slashInvocation(user, channel, text string) (bot.Invocation, error) {
	inv := bot.Invocation{Actor: user, ChannelID: channel, Text: text}
	if word, rest, _ := strings.Cut(text, " "); strings.HasPrefix(strings.ToUpper(word), "INC-") {
		id, err := bot.ParseIncidentKey(word)
		if err != nil {
			return inv, err
		}
		inv.IncidentID, inv.Text = id, strings.TrimSpace(rest)
	}
	return inv, nil
}

// declareForm is what "/incident declare" without a title already said,
// to preset in the modal.
type declareForm struct {
	Private  bool
	Severity bot.Severity
	Channel  string // where the command was typed, told the outcome
}

// declareFormRequest reports whether text asks for the declare modal
// (bot.DeclareFormRequest).
func declareFormRequest(text string) (declareForm, bool) {
	p, ok := bot.DeclareFormRequest(text)
	return declareForm{Private: p.Private, Severity: p.Severity}, ok
}

// openDeclareModal opens the declare form with the command's trigger id
// (valid for 3 seconds, once). When Slack refuses, the person is told to
// declare with a title instead.
func (s *Inbound) openDeclareModal(ctx context.Context, triggerID, user string, f declareForm) {
	if s.API == nil {
		return
	}
	if _, err := s.API.OpenViewContext(ctx, triggerID, ModalView(bot.DeclareForm(bot.DeclarePreset{Severity: f.Severity, Private: f.Private}, f.Channel))); err != nil {
		s.log().Warn("could not open the declare form", "err", err)
		s.tellUser(ctx, f.Channel, user, fmt.Sprintf("Could not open the declare form (%v). Use /incident declare <title> instead.", err))
	}
}
