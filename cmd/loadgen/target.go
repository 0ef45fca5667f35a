package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/console"
	"github.com/sitrep-io/sitrep/handlers"
	"github.com/sitrep-io/sitrep/internal/app"
	"github.com/sitrep-io/sitrep/store"
	"github.com/sitrep-io/sitrep/store/postgres"
)

// database is what loadgen needs of a store: sitrep's port, the readiness
// check, the outbox listing and Close. SQLite's and PostgreSQL's stores both are one.
type database interface {
	bot.Store
	Ping(ctx context.Context) error
	Deliveries(ctx context.Context, states ...bot.DeliveryState) ([]bot.Delivery, error) // the outbox, for the report
	Close() error
}

// openDatabase opens a SQLite file or a postgres:// URL (applying
// migrations), as `sitrep serve` does with SITREP_DB.
func openDatabase(ctx context.Context, db string) (database, error) {
	if postgres.IsURL(db) {
		pg, err := postgres.Open(ctx, db)
		if err != nil {
			return nil, fmt.Errorf("open database %s: %w", postgres.Redact(db), err)
		}
		return pg, nil
	}
	lite, err := store.Open(ctx, db)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", db, err)
	}
	return lite, nil
}

// startTarget returns the base URLs to load (one per replica) and, when it
// can read it, the target's database. Without -target it starts sitrep's
// webhook handlers, service, reminders and outbox dispatcher (chat: the
// console, discarded; no PagerDuty API) on 127.0.0.1 with a fresh database,
// as `sitrep serve` wires them: a SQLite file in a temporary directory, or
// with -db postgres://… a database created on that server for this round
// (dropped by stop), shared by -replicas servers, each with its own store
// handle (its own pool and outbox claimer name), as separate processes
// would be.
func startTarget(ctx context.Context, o options) ([]string, database, *inProcess, func(), error) {
	if o.target != "" {
		if err := loopbackOnly(o.target); err != nil {
			return nil, nil, nil, nil, err
		}
		if o.db == "" {
			return []string{o.target}, nil, nil, func() {}, nil
		}
		db, err := openDatabase(ctx, o.db)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		return []string{o.target}, db, nil, func() { db.Close() }, nil
	}
	var cleanups []func() // run in reverse
	stop := func() {
		for i := len(cleanups) - 1; i >= 0; i-- {
			cleanups[i]()
		}
	}
	var dbLocation string
	if postgres.IsURL(o.db) {
		dbURL, drop, err := createDatabase(ctx, o.db)
		if err != nil {
			return nil, nil, nil, nil, err
		}
		cleanups = append(cleanups, drop)
		dbLocation = dbURL
	} else {
		dir, err := os.MkdirTemp("", "sitrep-loadgen-")
		if err != nil {
			return nil, nil, nil, nil, err
		}
		cleanups = append(cleanups, func() { os.RemoveAll(dir) })
		dbLocation = filepath.Join(dir, "sitrep.db")
	}
	var urls []string
	var first *inProcess
	var firstDB database
	for range o.replicas {
		db, err := openDatabase(ctx, dbLocation)
		if err != nil {
			stop()
			return nil, nil, nil, nil, err
		}
		cleanups = append(cleanups, func() { db.Close() })
		proc, stopServer, err := serveInProcess(db, o)
		if err != nil {
			stop()
			return nil, nil, nil, nil, err
		}
		cleanups = append(cleanups, func() {
			stopServer()
			if proc.slack != nil {
				proc.slack.fake.Close()
			}
		})
		urls = append(urls, proc.url)
		if first == nil {
			first, firstDB = proc, db
		}
	}
	return urls, firstDB, first, stop, nil
}

// inProcess is sitrep started by loadgen.
type inProcess struct {
	url   string
	svc   *bot.Service
	slack *slackChat // -chat slack
}

func serveInProcess(db database, o options) (*inProcess, func(), error) {
	// Logged as `sitrep serve` logs by default (text, info), into nothing:
	// what logging costs the server is measured too.
	log := slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	proc := &inProcess{}
	var chat bot.Chat
	broadcast := "incidents"
	if o.chat == "slack" {
		proc.slack = newSlackChat()
		chat, broadcast = proc.slack.client, proc.slack.broadcast
	} else {
		chat = console.NewChat(io.Discard, nil)
	}
	// Wired as `sitrep serve` wires: reminders are always on there, and
	// their event hook runs in every webhook's transaction, so it is part
	// of what is measured.
	sitrep, err := app.New(app.Config{Store: db, Chat: chat, Service: bot.ServiceConfig{BroadcastChannel: broadcast},
		Dispatcher: bot.DispatcherOptions{Logger: log}, Alerting: &bot.AlertingConfig{}, Reminders: bot.DefaultReminderConfig()})
	if err != nil {
		if proc.slack != nil {
			proc.slack.fake.Close()
		}
		return nil, nil, err
	}
	svc, disp := sitrep.Service, sitrep.Dispatcher
	proc.svc = svc
	routes := handlers.Routes{DB: db, Log: log, AlertWebhook: &handlers.AlertWebhook{Alerts: svc, Token: o.token, Log: log},
		Extra: map[string]http.Handler{
			"/webhooks/pagerduty": &handlers.PagerDutyWebhook{Events: svc, Secrets: []string{o.secret}, Log: log,
				Severity: handlers.DefaultPagerDutySeverity()},
			"/webhooks/alertmanager": &handlers.AlertmanagerWebhook{Alerts: svc, Token: o.token, Log: log},
		}}
	url, stop, err := listen(routes.Handler(), func(ctx context.Context) { _ = disp.Run(ctx) })
	proc.url = url
	return proc, stop, err
}

// listen serves h on 127.0.0.1 (and runs bg beside it) until the returned
// stop is called.
func listen(h http.Handler, bg func(ctx context.Context)) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintln(os.Stderr, "loadgen: server:", err)
		}
	})
	if bg != nil {
		wg.Go(func() { bg(ctx) })
	}
	return "http://" + ln.Addr().String(), func() {
		sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer scancel()
		_ = srv.Shutdown(sctx)
		cancel()
		wg.Wait()
	}, nil
}

// verify checks the storm's result in the target's database: one incident
// per group and every accepted alert recorded exactly once.
func verify(ctx context.Context, out io.Writer, db database, o options, accepted, sent int) error {
	incs, err := db.Incidents(ctx, bot.IncidentFilter{All: true})
	if err != nil {
		return err
	}
	fired := 0
	for _, inc := range incs {
		c, err := db.AlertCounts(ctx, inc.ID)
		if err != nil {
			return err
		}
		fired += c.Fired
	}
	deliveries, err := db.Deliveries(ctx)
	if err != nil {
		return err
	}
	states := map[bot.DeliveryState]int{}
	for _, d := range deliveries {
		states[d.State]++
	}
	fmt.Fprintf(out, "result: %d incidents (want %d), %d alert events (want %d), %d of %d requests accepted; outbox %d entries %v\n",
		len(incs), o.groups, fired, o.n, accepted, sent, len(deliveries), states)
	if len(incs) != o.groups || fired != o.n || accepted != sent {
		return errors.New("storm result is wrong: incidents or alerts lost or doubled")
	}
	fmt.Fprintln(out, "result: OK — exactly one incident per group, every alert once, none lost or doubled")
	return nil
}
