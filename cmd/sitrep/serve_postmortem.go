package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/ghexport"
	"github.com/sitrep-io/sitrep/metrics"
	"github.com/sitrep-io/sitrep/postmortem"
)

// postmortems is the postmortem feature, built from the configuration.
type postmortems struct {
	drafter   *postmortem.Drafter
	publisher bot.PostmortemPublisher // nil without GitHub
	cmds      *bot.Postmortems
}

// newPostmortems registers the postmortem commands and buttons on svc.
// dir gives people's display names (nil: none); github is the HTTP client
// of the GitHub export (nil: the exporter's own).
func newPostmortems(cfg Config, svc *bot.Service, dir bot.Directory, github *http.Client) (*postmortems, error) {
	r, err := postmortem.LoadRenderer(cfg.Postmortem.Template)
	if err != nil {
		return nil, err
	}
	p := &postmortems{drafter: &postmortem.Drafter{Store: svc.Store(), Directory: dir, Renderer: r,
		Location: cfg.Postmortem.Location, Now: svc.Now, ReminderInterval: reminderInterval(cfg)}}
	if gh := cfg.Postmortem.GitHub; gh.Enabled() {
		exp, err := ghexport.New(ghexport.Config{Token: gh.Token, Repo: gh.Repo, APIURL: gh.APIURL, Mode: gh.Mode,
			Labels: gh.Labels, FollowUpLabels: gh.FollowUpLabels, HTTPClient: github})
		if err != nil {
			return nil, fmt.Errorf("github export: %w", err)
		}
		p.publisher = exp
	}
	p.cmds = bot.EnablePostmortems(svc, bot.PostmortemConfig{Drafter: p.drafter, Publisher: p.publisher,
		Directory: dir, Location: cfg.Postmortem.Location})
	return p, nil
}

// wirePostmortems enables /incident followup, impact, postmortem and export
// and the outbox handlers that upload drafts and export them.
func wirePostmortems(cfg Config, svc *bot.Service, disp *bot.Dispatcher, chat bot.Chat, dir bot.Directory, log *slog.Logger, mx *metrics.Metrics) (*postmortems, error) {
	p, err := newPostmortems(cfg, svc, dir, mx.Client(metrics.VendorGitHub, &http.Client{Timeout: 30 * time.Second}))
	if err != nil {
		return nil, err
	}
	disp.Handle(p.cmds.Handlers(chat))
	target := "off (set GITHUB_TOKEN and GITHUB_REPO)"
	if p.publisher != nil {
		target = p.publisher.Target() + " (" + cfg.Postmortem.GitHub.Mode + ")"
	} else if cfg.Postmortem.GitHub.Token != "" {
		log.Warn("GITHUB_TOKEN is set but GITHUB_REPO is not: postmortem export is off")
	}
	log.Info("postmortems enabled", "timezone", cfg.Postmortem.Location.String(), "template", templateName(cfg), "github_export", target)
	return p, nil
}

// reminderInterval is the configured status-update reminder interval by
// severity (SITREP_REMINDER_SEV<n>), against which the postmortem flags the
// longest gap between updates; 0 ("off") flags nothing.
func reminderInterval(cfg Config) func(bot.Severity) time.Duration {
	return func(sev bot.Severity) time.Duration { return cfg.Reminders.Intervals[sev] }
}

func templateName(cfg Config) string {
	if cfg.Postmortem.Template == "" {
		return "shipped"
	}
	return cfg.Postmortem.Template
}
