package slackchat

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"
)

// SocketClient returns a Socket Mode connection for RunSocket: the app-level
// token appToken (xapp-…, scope connections:write) opens it, at c's Web API
// base URL; the bot token answers over it. It logs through log.
func (c *Client) SocketClient(appToken string, log *slog.Logger) *socketmode.Client {
	api := slack.New(c.opt.Token, slack.OptionAppLevelToken(appToken), slack.OptionAPIURL(c.opt.APIURL))
	return socketmode.New(api, socketmode.OptionLog(slog.NewLogLogger(log.Handler(), slog.LevelDebug)))
}

// RunSocket receives Slack's traffic over Socket Mode until ctx ends: slash
// commands, interactions and events go through the same functions as over
// HTTP. Every envelope is acknowledged once it is applied, except an event
// that failed to apply: left unacknowledged, Slack redelivers it (with
// retry_attempt), and the event_id mark makes any redelivery of an applied
// one a no-op. It returns an error when the connection cannot be kept (a
// bad token, Slack unreachable on reconnect).
//
// Envelopes are handled concurrently, at most SocketConcurrency at a time
// (default 16): each must be acknowledged within Slack's 3 s, and a command
// waiting on a slow Slack call must not hold the ones behind it (whose
// trigger ids, for modals, expire 3 s after they were issued).
func (s *Inbound) RunSocket(ctx context.Context, client *socketmode.Client) error {
	runErr := make(chan error, 1)
	go func() { runErr <- client.RunContext(ctx) }()
	slots := make(chan struct{}, s.socketConcurrency())
	var handling sync.WaitGroup
	defer handling.Wait()
	for {
		select {
		case <-ctx.Done():
			<-runErr
			return nil
		case err := <-runErr:
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("slack socket mode: %w", err)
		case evt := <-client.Events:
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				continue
			}
			handling.Go(func() {
				defer func() { <-slots }()
				s.socketEvent(ctx, client, evt)
			})
		}
	}
}

// defaultSocketConcurrency bounds the envelopes handled at once.
const defaultSocketConcurrency = 16

func (s *Inbound) socketConcurrency() int {
	if s.SocketConcurrency > 0 {
		return s.SocketConcurrency
	}
	return defaultSocketConcurrency
}

func (s *Inbound) socketEvent(ctx context.Context, client *socketmode.Client, evt socketmode.Event) {
	var body any
	var work afterAck
	switch evt.Type {
	case socketmode.EventTypeSlashCommand:
		cmd, ok := evt.Data.(slack.SlashCommand)
		if !ok {
			return
		}
		ctx = s.withResponseURL(ctx, cmd.ResponseURL)
		body, work = s.command(ctx, cmd)
		if msg, ok := body.(slackMessage); ok && !socketAckFits(evt.Request, body) {
			// Too large for an acknowledgement: acknowledge empty, and
			// send the reply as a message.
			body, work = nil, chain(s.sendReply(cmd.ChannelID, cmd.UserID, msg), work)
		}
	case socketmode.EventTypeInteractive:
		ic, ok := evt.Data.(slack.InteractionCallback)
		if !ok {
			return
		}
		ctx = s.withResponseURL(ctx, interactionResponseURL(ic))
		body, work = s.interaction(ctx, ic)
	case socketmode.EventTypeEventsAPI:
		ev, ok := evt.Data.(slackevents.EventsAPIEvent)
		if !ok {
			return
		}
		if err := s.event(ctx, ev); err != nil {
			s.log().Error("Slack event failed; leaving it unacknowledged so Slack retries", "err", err)
			return
		}
	case socketmode.EventTypeInvalidAuth:
		s.log().Error("Slack refused the app-level token (SLACK_APP_TOKEN)")
		return
	case socketmode.EventTypeConnectionError, socketmode.EventTypeIncomingError, socketmode.EventTypeErrorBadMessage:
		s.log().Warn("Slack socket mode trouble", "type", evt.Type, "data", fmt.Sprint(evt.Data))
		return
	case socketmode.EventTypeConnected:
		s.log().Info("connected to Slack over Socket Mode")
		return
	default:
		return
	}
	s.socketAck(client, evt.Request, body)
	s.later(ctx, work)
}

// socketAck acknowledges an envelope, with body as its payload when there
// is one (a slash command's reply, a modal's errors).
func (s *Inbound) socketAck(client *socketmode.Client, req *socketmode.Request, body any) {
	if req == nil {
		return
	}
	var err error
	if body == nil {
		err = client.Ack(*req)
	} else {
		err = client.Ack(*req, body)
	}
	if err != nil {
		s.log().Warn("could not acknowledge a Slack envelope", "envelope", req.EnvelopeID, "err", err)
	}
}

// maxSocketAck is Slack's limit on a Socket Mode response: one of 20 KB or
// more (marshalled) is dropped by Slack and refused by slack-go's Ack.
const maxSocketAck = 20 * 1024

// socketAckFits reports whether body fits in the acknowledgement of req.
func socketAckFits(req *socketmode.Request, body any) bool {
	if req == nil {
		return true
	}
	raw, err := json.Marshal(socketmode.Response{EnvelopeID: req.EnvelopeID, Payload: body})
	return err == nil && len(raw) < maxSocketAck
}

// sendReply is the work that sends a slash-command reply as a message
// instead of in the acknowledgement: in the channel when it is public, to
// its author alone otherwise.
func (s *Inbound) sendReply(channel, user string, msg slackMessage) afterAck {
	return func(ctx context.Context) {
		if msg.ResponseType != slack.ResponseTypeInChannel {
			s.showUserMrkdwn(ctx, channel, user, msg.Text, msg.Blocks)
			return
		}
		opts := []slack.MsgOption{slack.MsgOptionText(msg.Text, false)}
		if len(msg.Blocks) > 0 {
			opts = append(opts, slack.MsgOptionBlocks(msg.Blocks...))
		}
		if s.API == nil {
			return
		}
		if _, _, err := s.API.PostMessageContext(ctx, channel, opts...); err != nil {
			s.log().Warn("could not post a command's reply", "channel", channel, "err", err)
			s.tellUser(ctx, channel, user, "Your command was applied, but its answer could not be posted here: "+bot.ErrorMessage(err))
		}
	}
}

// chain runs first, then then (either may be nil).
func chain(first, then afterAck) afterAck {
	return func(ctx context.Context) {
		if first != nil {
			first(ctx)
		}
		if then != nil {
			then(ctx)
		}
	}
}
