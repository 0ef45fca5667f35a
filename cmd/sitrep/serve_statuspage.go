package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/app"
	"github.com/sitrep-io/sitrep/metrics"
	"github.com/sitrep-io/sitrep/publicpage"
	"github.com/sitrep-io/sitrep/slackchat"
	"github.com/sitrep-io/sitrep/statuspage"
)

// statusPages is the status page feature, built from the configuration:
// publishing (to Statuspage, else to the built-in page) and the built-in
// page's listener when an address is set.
type statusPages struct {
	pages *bot.StatusPages // nil when no status page is configured; set once assembled
	site  *publicpage.Site
	srv   *http.Server
	ln    net.Listener
	// stopRender stops the page's hourly render (nil until start).
	stopRender func()
}

// statusPageConfig turns on /incident statuspage, update --public, the
// publish form and the resolve question in ac, with the outbox handlers
// that publish; and, with status.addr, builds the built-in page from src
// and listens for it (served by start). now is the clock (nil: the wall
// clock).
func statusPageConfig(ctx context.Context, cfg Config, ac *app.Config, src publicpage.Source, now func() time.Time, log *slog.Logger, limits httpLimits, mx *metrics.Metrics) (*statusPages, error) {
	sc := cfg.StatusPage
	sp := &statusPages{}
	if !sc.Enabled() {
		log.Info("status page off (set STATUSPAGE_API_KEY and STATUSPAGE_PAGE_ID, or SITREP_STATUS_ADDR)")
		return sp, nil
	}
	if sc.Addr != "" {
		sp.site = publicpage.New(src, publicpage.Config{Title: sc.Title, Components: sc.Components, Now: now, Log: log})
		if err := sp.site.Rebuild(ctx); err != nil {
			return nil, err
		}
	}
	var page bot.StatusPage = publicpage.Local{}
	if sc.Atlassian() {
		page = &statuspage.Client{APIKey: sc.APIKey, PageID: sc.PageID, BaseURL: sc.APIURL,
			HTTP: mx.Client(metrics.VendorStatuspage, &http.Client{Timeout: 20 * time.Second}), Now: now}
	}
	spc := bot.StatusPageConfig{Page: page, Components: sc.Components, Label: sc.Label, Location: cfg.Postmortem.Location}
	if sp.site != nil {
		spc.OnPublished = sp.site.OnPublished
	}
	ac.StatusPage = &spc
	if sp.site != nil {
		ln, err := net.Listen("tcp", sc.Addr)
		if err != nil {
			return nil, fmt.Errorf("listen on %s (status.addr): %w", sc.Addr, err)
		}
		sp.ln = ln
		sp.srv = newHTTPServer(sp.site.Handler(), log, limits, nil)
	}
	log.Info("status page enabled", "publishes_to", page.Name(), "components", len(sc.Components), "built_in_addr", sp.addr())
	return sp, nil
}

func (sp *statusPages) addr() string {
	if sp.ln == nil {
		return ""
	}
	return sp.ln.Addr().String()
}

// forms is what the Slack edge needs to open the publish form (nil: no
// status page).
func (sp *statusPages) forms() slackchat.StatusPageForms {
	if sp.pages == nil {
		return nil
	}
	return sp.pages
}

// start serves the built-in page until stop; a serving error is logged.
func (sp *statusPages) start(log *slog.Logger) {
	if sp.srv == nil {
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	sp.stopRender = cancel
	go sp.site.Run(ctx, time.Hour) // incidents past 90 days drop off without a publication
	go func() {
		if err := sp.srv.Serve(sp.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("built-in status page stopped", "err", err)
		}
	}()
}

// stop closes the built-in page's listener, letting requests finish.
func (sp *statusPages) stop(ctx context.Context) {
	if sp.stopRender != nil {
		sp.stopRender()
	}
	if sp.srv != nil {
		_ = sp.srv.Shutdown(ctx)
		_ = sp.ln.Close() // when it never served (the main listener failed)
	}
}
