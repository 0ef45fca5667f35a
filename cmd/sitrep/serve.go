package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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
	"github.com/sitrep-io/sitrep/internal/app"
	"github.com/sitrep-io/sitrep/internal/ratelog"
	"github.com/sitrep-io/sitrep/metrics"
	"github.com/sitrep-io/sitrep/runbooks"
	"github.com/sitrep-io/sitrep/store"
	"github.com/sitrep-io/sitrep/store/postgres"
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
	if !cfg.onPostgres() { // on PostgreSQL several replicas serve one database
		lock, err := store.LockServer(cfg.DB) // before anything takes over a predecessor's work
		if err != nil {
			return err
		}
		defer lock.Release()
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	if lease, ok := db.(interface{ SetDeliveryLease(time.Duration) }); ok && hooks.deliveryLease > 0 {
		lease.SetDeliveryLease(hooks.deliveryLease)
	}

	// Every replica serves its own counters; the outbox and open-incident
	// gauges are read from the shared database at each scrape.
	mx := metrics.New(db, hooks.now, log)
	chat, slackEdge := newChat(cfg, e, log, hooks.chatPacing, mx) // serve_slack.go: Slack when configured, else the console
	if cfg.BroadcastChannel == "" && slackEdge == nil {
		cfg.BroadcastChannel = consoleBroadcast
	}
	// cmd/sitrep chooses the vendors from the configuration; internal/app
	// wires them and the features, and checks that every outbox operation
	// has a handler.
	ac := app.Config{Store: db, Chat: chat, Directory: chat, Pins: slackEdge.pins(),
		Service: bot.ServiceConfig{BroadcastChannel: cfg.BroadcastChannel, DefaultSeverity: cfg.DefaultSeverity, Now: hooks.now,
			Location: cfg.Postmortem.Location, UpdateTemplate: cfg.Reminders.UpdateTemplate, Directory: chat, Observer: mx},
		Dispatcher: bot.DispatcherOptions{Logger: log, Now: hooks.now,
			Shared:  cfg.onPostgres(), // replicas: leases, not a recovery at start, bring back a dead one's entries
			Observe: mx.Delivered},
		Reminders: cfg.Reminders.Bot(), // status-update reminders, archiving
	}
	access := accessConfig(cfg, chat) // private incidents, the permission policy
	ac.Access = &access
	if err := alertsConfig(cfg, &ac, mx); err != nil { // serve_alerts.go
		return err
	}
	catalog, err := runbooksConfig(cfg, &ac, log, hooks.runbookOptions()) // serve_runbooks.go
	if err != nil {
		return err
	}
	pms, err := postmortemConfig(cfg, &ac, db, chat, hooks.now, mx.Client(metrics.VendorGitHub, &http.Client{Timeout: 30 * time.Second})) // serve_postmortem.go
	if err != nil {
		return err
	}
	limits := hooks.httpLimits.orDefaults()
	status, err := statusPageConfig(ctx, cfg, &ac, db, hooks.now, log, limits, mx) // serve_statuspage.go
	if err != nil {
		return err
	}
	defer status.stop(context.Background())
	sitrep, err := app.New(ac)
	if err != nil {
		return err
	}
	svc, disp := sitrep.Service, sitrep.Dispatcher
	pms.cmds, status.pages = sitrep.Postmortems, sitrep.StatusPages
	logPostmortems(cfg, pms, log)
	if hooks.onDispatcher != nil {
		hooks.onDispatcher(disp.Wake)
	}
	stopRunbooks, err := startRunbooks(ctx, cfg, sitrep.Runs, log) // before the dispatcher runs
	if err != nil {
		return err
	}
	defer stopRunbooks()

	routes := handlers.Routes{DB: db, Log: log,
		AlertWebhook: &handlers.AlertWebhook{Alerts: svc, Token: cfg.WebhookToken, Log: log},
		Extra:        map[string]http.Handler{"GET /metrics": mx.Handler(cfg.Metrics.Token)}}
	slackEdge.wire(svc, &routes)
	alertRoutes(cfg, svc, log, &routes)
	slackEdge.useRunbooks(catalog)
	wireWeb(cfg, svc, db, pms, slackEdge, log, &routes) // serve_web.go: the web view and the REST API
	routes.BodyTimeout = limits.body
	slackEdge.useStatusPage(status.forms())
	srv := newHTTPServer(mx.Instrument(routes.Handler()), log, limits, hooks.connState)
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Addr, err)
	}
	log.Info("sitrep serving", "addr", ln.Addr().String(), "db", postgres.Redact(cfg.DB), "chat", slackEdge.name(), "webhook_token_set", cfg.WebhookToken != "")
	if slackEdge == nil { // no Slack to sign in with: the terminal gets a link
		if err := printLoginLink(ctx, cfg, db, cfg.ConsoleUser, e.stdout); err != nil {
			log.Warn("could not make a web sign-in link", "err", err)
		}
	}
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
	status.start(log)
	if hooks.onStatusListen != nil && status.ln != nil {
		hooks.onStatusListen(status.ln.Addr())
	}

	select {
	case err := <-serveErr:
		status.stop(context.Background())
		stopDispatch()
		wg.Wait()
		return fmt.Errorf("http server: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: finishing in-flight requests")
	shutCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	status.stop(shutCtx)
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

// httpLimits bound what one client can hold of the server. Every endpoint
// answers within seconds (Slack's within 3 s), so a connection that sends
// its headers or body slowly, or sits idle, is closed instead of kept.
type httpLimits struct {
	readHeader time.Duration // headers must arrive within this
	body       time.Duration // then the body within this (handlers.Routes.BodyTimeout)
	write      time.Duration // the whole answer must be written within this
	idle       time.Duration // an idle keep-alive connection is closed after this
}

func (l httpLimits) orDefaults() httpLimits {
	def := httpLimits{readHeader: 10 * time.Second, body: handlers.DefaultBodyTimeout, write: 60 * time.Second, idle: 60 * time.Second}
	if l.readHeader <= 0 {
		l.readHeader = def.readHeader
	}
	if l.body <= 0 {
		l.body = def.body
	}
	if l.write <= 0 {
		l.write = def.write
	}
	if l.idle <= 0 {
		l.idle = def.idle
	}
	return l
}

// maxHeaderBytes is far above any vendor's headers and far below Go's 1 MiB
// default.
const maxHeaderBytes = 64 << 10

// newHTTPServer is the server `sitrep serve` runs, with its limits.
func newHTTPServer(h http.Handler, log *slog.Logger, l httpLimits, connState func(net.Conn, http.ConnState)) *http.Server {
	return &http.Server{Handler: h, ReadHeaderTimeout: l.readHeader, WriteTimeout: l.write, IdleTimeout: l.idle,
		MaxHeaderBytes: maxHeaderBytes, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn), ConnState: connState}
}

// serveHooks let tests and `sitrep demo` observe and steer the server.
// Their zero values keep production behaviour.
type serveHooks struct {
	onListen func(net.Addr) // told the bound address
	// onStatusListen is told the built-in status page's bound address.
	onStatusListen func(net.Addr)
	// httpLimits replaces the HTTP server's timeouts (zero fields keep
	// the defaults).
	httpLimits httpLimits
	connState  func(net.Conn, http.ConnState) // told connection state changes
	// now replaces the wall clock of the service, the outbox dispatcher
	// (so scheduled entries fall due on it), reminders, runbook runs and
	// their executors. Slack signatures are still checked against the wall
	// clock: their timestamps are transport facts, not incident times.
	now func() time.Time
	// onDispatcher is given the dispatcher's Wake, to call after moving
	// the clock so that newly due entries go out at once.
	onDispatcher func(wake func())
	// runbookRoots, when set, replaces the system roots in runbook steps
	// (tls_check and the TLS of http and http_check).
	runbookRoots *x509.CertPool
	// chatPacing replaces the wall clock the Slack adapter paces its calls
	// to Slack's rate limits with (the demo runs it faster against the
	// Slack stand-in).
	chatPacing chatPacing
	// deliveryLease, when set, replaces bot.DeliveryLease for this
	// process's outbox claims, so that a replica test sees a dead
	// replica's entries taken over in seconds.
	deliveryLease time.Duration
}

// processHooks are the hooks of a `sitrep serve` that a test started as a
// real process (TestMain sets them from the test's environment); nil, the
// production behaviour, in the sitrep binary.
var processHooks *serveHooks

// chatPacing is a clock for pacing chat calls: zero values are the wall
// clock.
type chatPacing struct {
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// runbookOptions are the runbook executors' options: the production
// defaults unless the hooks set a clock or trusted roots.
func (h *serveHooks) runbookOptions() runbooks.Options {
	opts := runbooks.Options{Now: h.now, RootCAs: h.runbookRoots}
	if h.runbookRoots != nil {
		opts.HTTPClient = &http.Client{
			Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: h.runbookRoots, Time: h.now}},
			// As the default client: never follow a redirect, so headers
			// carrying secrets stay with the host they were meant for.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return opts
}

func newLogger(cfg Config, e env) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(e.stderr, opts)
	if cfg.LogFormat == "json" {
		h = slog.NewJSONHandler(e.stderr, opts)
	}
	// A failure that repeats (a full disk fails every request and every
	// outbox record) is logged once per kind and interval, with a count.
	return slog.New(ratelog.New(h, ratelog.DefaultInterval, nil))
}
