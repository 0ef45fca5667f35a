package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/console"
	"github.com/sitrep-io/sitrep/handlers"
)

// consoleBroadcast is the console's broadcast channel when none is set.
const consoleBroadcast = "incidents"

// serve runs the bot until ctx ends: the HTTP server, the outbox
// dispatcher and, with the console chat, the command reader. On the way out
// it stops accepting requests, lets in-flight ones and deliveries finish, and
// closes the database.
func serve(ctx context.Context, cfg Config, e env, hooks *serveHooks) error {
	if hooks == nil {
		hooks = &serveHooks{}
	}
	log := newLogger(cfg, e)
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()

	chat, slackEdge := newChat(cfg, e, log) // serve_slack.go: Slack when configured, else the console
	if cfg.BroadcastChannel == "" && slackEdge == nil {
		cfg.BroadcastChannel = consoleBroadcast
	}
	svc := bot.NewService(db, bot.ServiceConfig{BroadcastChannel: cfg.BroadcastChannel, DefaultSeverity: cfg.DefaultSeverity})
	disp := bot.NewDispatcher(db, bot.DispatcherOptions{Logger: log, OnFailure: svc.RecordDeliveryFailure})
	disp.Handle(svc.ChatHandlers(chat))
	svc.OnCommit(disp.Wake)
	bot.EnableReminders(svc, disp, cfg.Reminders.Bot()) // status-update reminders, archiving

	routes := handlers.Routes{DB: db, Log: log,
		AlertWebhook: &handlers.AlertWebhook{Alerts: svc, Token: cfg.WebhookToken, Log: log}}
	slackEdge.wire(svc, disp, &routes)
	if err := wireAlerts(cfg, svc, disp, chat, chat, log, &routes); err != nil {
		return err
	}
	stopRunbooks, err := wireRunbooks(ctx, cfg, svc, disp, chat, chat, log)
	if err != nil {
		return err
	}
	defer stopRunbooks()
	if err := wirePostmortems(cfg, svc, disp, chat, chat, log); err != nil { // serve_postmortem.go
		return err
	}
	srv := &http.Server{Handler: routes.Handler(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn), ConnState: hooks.connState}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	log.Info("sitrep serving", "addr", ln.Addr().String(), "db", cfg.DB, "chat", slackEdge.name(), "webhook_token_set", cfg.WebhookToken != "")
	if hooks.onListen != nil {
		hooks.onListen(ln.Addr())
	}

	var wg sync.WaitGroup
	dispCtx, stopDispatch := context.WithCancel(context.WithoutCancel(ctx))
	wg.Go(func() {
		if err := disp.Run(dispCtx); err != nil {
			log.Error("outbox dispatcher stopped", "err", err)
		}
	})
	wg.Go(func() { slackEdge.run(dispCtx) }) // Socket Mode until shutdown; returns at once otherwise
	if con, ok := chat.(*console.Chat); ok && (cfg.Console == "on" || (cfg.Console == "auto" && e.interactive)) {
		repl := &console.REPL{Exec: svc, Out: con, User: cfg.ConsoleUser}
		go func() { _ = repl.Run(ctx, e.stdin) }()
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		stopDispatch()
		wg.Wait()
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutCtx)
	if errors.Is(err, context.DeadlineExceeded) {
		log.Warn("in-flight requests did not finish in time", "timeout", cfg.ShutdownTimeout)
	}
	stopDispatch()
	wg.Wait() // deliveries in flight finish (each within its attempt timeout)
	slackEdge.wait()
	log.Info("stopped")
	return nil
}

// serveHooks let tests observe the server.
type serveHooks struct {
	onListen  func(net.Addr)                 // told the bound address
	connState func(net.Conn, http.ConnState) // told connection state changes
}

func newLogger(cfg Config, e env) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(e.stderr, opts))
	}
	return slog.New(slog.NewTextHandler(e.stderr, opts))
}
