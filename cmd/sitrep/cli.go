package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/store"
	"github.com/sitrep-io/sitrep/store/postgres"
)

// database is what the commands need of either store.
type database interface {
	bot.Store
	bot.SessionStore // the web view's sign-ins
	Ping(ctx context.Context) error
	SchemaVersion(ctx context.Context) (int, error)
	Close() error
}

// onPostgres reports whether the configured database is PostgreSQL's.
func (c Config) onPostgres() bool { return postgres.IsURL(c.DB) }

// openStore opens the configured database, SQLite's file or a PostgreSQL
// URL, applying migrations (PostgreSQL's under its advisory lock, so that
// replicas starting together migrate once).
func openStore(ctx context.Context, cfg Config) (database, error) {
	if cfg.onPostgres() {
		db, err := postgres.Open(ctx, cfg.DB)
		if err != nil {
			return nil, fmt.Errorf("open database %s: %w", postgres.Redact(cfg.DB), err)
		}
		return db, nil
	}
	db, err := store.Open(ctx, cfg.DB)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", cfg.DB, err)
	}
	return db, nil
}

// recentlyResolved is how far back `sitrep incidents` shows resolved ones.
const recentlyResolved = 7 * 24 * time.Hour

func listIncidents(ctx context.Context, cfg Config, out io.Writer, all bool) error {
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	f := bot.IncidentFilter{ResolvedSince: time.Now().Add(-recentlyResolved), All: all}
	incs, err := db.Incidents(ctx, f)
	if err != nil {
		return err
	}
	if len(incs) == 0 {
		fmt.Fprintln(out, "No incidents.")
		return nil
	}
	tw := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSEV\tSTATUS\tTITLE\tCHANNEL\tOPENED (UTC)")
	for _, inc := range incs {
		channel := "-"
		if inc.ChannelName != "" {
			channel = "#" + inc.ChannelName
		}
		// Titles are cut and made safe when they arrive; a row stored
		// before that still gets one line, no terminal escapes, bounded.
		title := bot.CutText(bot.SafeText(inc.Title, false), bot.MaxTitleLen)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", inc.Key(), inc.Severity, inc.Status, title, channel,
			inc.DeclaredAt.UTC().Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

const timelineUsage = "usage: sitrep timeline INC-<n> [--collapse]"

// printTimeline prints every event by default: the command line is where
// the whole record is read; --collapse gives the chat's reading of it
// (repeated alerts as one line), without the chat's length limit.
func printTimeline(ctx context.Context, cfg Config, out io.Writer, args []string, collapse bool) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return &usageError{msg: timelineUsage}
	}
	fs := flag.NewFlagSet("sitrep timeline", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.BoolVar(&collapse, "collapse", collapse, "repeated alerts as one line")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return &usageError{msg: timelineUsage}
	}
	id, err := bot.ParseIncidentKey(args[0])
	if err != nil {
		return &usageError{msg: bot.PlainText(bot.ErrorMessage(err))}
	}
	db, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	inc, err := db.Incident(ctx, id)
	if err != nil {
		return fmt.Errorf("%s", bot.PlainText(bot.ErrorMessage(err)))
	}
	events, err := db.Timeline(ctx, id)
	if err != nil {
		return err
	}
	// SafeText: no stored text can send escape sequences to the terminal.
	if collapse {
		fmt.Fprintln(out, bot.SafeText(bot.FormatTimelineCollapsed(inc, events, 0), true))
		return nil
	}
	fmt.Fprintln(out, bot.SafeText(bot.FormatTimeline(inc, events), true))
	return nil
}

func migrate(ctx context.Context, cfg Config, out io.Writer) error {
	db, err := openStore(ctx, cfg) // Open applies pending migrations
	if err != nil {
		return err
	}
	defer db.Close()
	v, err := db.SchemaVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "%s is at schema version %d\n", postgres.Redact(cfg.DB), v)
	return nil
}

// probeHealth asks the server listening on the configured address whether
// it is ready; a distroless image has no curl for its health check.
func probeHealth(ctx context.Context, cfg Config, out io.Writer) error {
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return err
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	url := "http://" + net.JoinHostPort(host, port) + "/readyz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("health: %s answered %d", url, resp.StatusCode)
	}
	fmt.Fprintln(out, "ready")
	return nil
}
