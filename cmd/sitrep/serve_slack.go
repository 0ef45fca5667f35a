package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/console"
	"github.com/sitrep-io/sitrep/handlers"
	"github.com/sitrep-io/sitrep/metrics"
	"github.com/sitrep-io/sitrep/slackchat"
)

// chatDirectory is a chat that can also look people up: the console, or
// Slack.
type chatDirectory interface {
	bot.Chat
	bot.Directory
}

// slackEdge is sitrep's connection to Slack, when Slack is configured: the
// adapter that speaks (through the outbox) and the edge that listens (HTTP
// endpoints or Socket Mode).
type slackEdge struct {
	cfg  SlackConfig
	pin  string
	chat *slackchat.Client
	app  *slackchat.Inbound
	log  *slog.Logger
}

// newChat returns the chat: Slack's adapter when a bot token is configured
// (with the edge to wire), the console otherwise (edge nil). pacing is the
// adapter's clock for Slack's rate limits (zero: the wall clock).
func newChat(cfg Config, e env, log *slog.Logger, pacing chatPacing, mx *metrics.Metrics) (chatDirectory, *slackEdge) {
	if !cfg.Slack.Enabled() {
		return console.NewChat(e.stdout, nil), nil
	}
	chat := slackchat.New(slackchat.Options{Token: cfg.Slack.BotToken, APIURL: cfg.Slack.APIURL, Logger: log,
		Now: pacing.now, Sleep: pacing.sleep, Replicas: cfg.Slack.Replicas,
		HTTPClient: mx.Client(metrics.VendorSlack, &http.Client{Timeout: 30 * time.Second}),
		OnPaced:    func(method string) { mx.RateLimited(metrics.VendorSlack, method) }})
	return chat, &slackEdge{cfg: cfg.Slack, pin: cfg.SlackEvents.PinReaction, chat: chat, log: log}
}

// pins is what reads pinned messages: the adapter, paced like its other
// calls. Without Slack (s nil) there are no pin events, and it is nil.
func (s *slackEdge) pins() bot.MessageFetcher {
	if s == nil {
		return nil
	}
	return s.chat
}

// wire builds the edge that listens and, in HTTP mode, mounts POST
// /slack/commands, /slack/interactions and /slack/events. Without Slack
// (s nil) it does nothing.
func (s *slackEdge) wire(svc *bot.Service, routes *handlers.Routes) {
	if s == nil {
		return
	}
	s.app = &slackchat.Inbound{Service: svc, API: s.chat.API(), SigningSecret: s.cfg.SigningSecret, PinReaction: s.pin, Log: s.log,
		Workspace: s.workspace, Requests: svc}
	if s.cfg.SocketMode() {
		return
	}
	if routes.Extra == nil {
		routes.Extra = map[string]http.Handler{}
	}
	for pattern, h := range s.app.Routes() {
		routes.Extra[pattern] = h
	}
}

// workspace is the workspace whose requests the edge accepts: the
// configured one, else the bot token's own.
func (s *slackEdge) workspace(ctx context.Context) (slackchat.Workspace, error) {
	return slackchat.OwnWorkspace(s.chat, s.cfg.WorkspaceID)(ctx)
}

// run keeps the Socket Mode connection until ctx ends; in HTTP mode, and
// without Slack, it returns at once.
func (s *slackEdge) run(ctx context.Context) {
	if s == nil || s.app == nil {
		return
	}
	if !s.cfg.SocketMode() {
		s.app.LearnWorkspace(ctx) // so that requests do not wait on auth.test
		return
	}
	s.log.Info("connecting to Slack over Socket Mode")
	if err := s.app.RunSocket(ctx, s.chat.SocketClient(s.cfg.AppToken, s.log)); err != nil {
		s.log.Error("Slack Socket Mode stopped: commands, buttons and events are not received", "err", err)
	}
}

// wait lets the work started after acknowledgements (modals, refusals)
// finish at shutdown.
func (s *slackEdge) wait() {
	if s != nil && s.app != nil {
		s.app.Wait()
	}
}

// name is the chat's name for the start-up log line.
func (s *slackEdge) name() string {
	switch {
	case s == nil:
		return "console"
	case s.cfg.SocketMode():
		return "slack (socket mode)"
	}
	return "slack (http)"
}

// useRunbooks lets the Slack edge build a runbook's parameter form when its
// button is clicked. Without Slack (s nil) it does nothing.
func (s *slackEdge) useRunbooks(c slackchat.RunbookCatalog) {
	if s != nil && s.app != nil {
		s.app.Runbooks = c
	}
}

// useStatusPage lets the Slack edge open the publish form. Without Slack
// (s nil), or without a status page (f nil), it does nothing.
func (s *slackEdge) useStatusPage(f slackchat.StatusPageForms) {
	if s != nil && s.app != nil && f != nil {
		s.app.StatusPage = f
	}
}

// accessConfig is who may see and do what: with Slack, a private
// incident's channel members as Slack says (the console has one local user
// and checks no membership), and the configured permission policy, whose
// user groups the chat's directory resolves.
func accessConfig(cfg Config, chat chatDirectory) bot.AccessConfig {
	ac := bot.AccessConfig{Directory: chat, Policy: cfg.Permissions}
	if members, ok := chat.(bot.ChannelMembers); ok {
		ac.Members = members
	}
	return ac
}
