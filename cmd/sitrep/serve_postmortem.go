package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/ghexport"
	"github.com/sitrep-io/sitrep/internal/app"
	"github.com/sitrep-io/sitrep/postmortem"
)

// postmortems is the postmortem feature, built from the configuration.
type postmortems struct {
	drafter   *postmortem.Drafter
	publisher bot.PostmortemPublisher // nil without GitHub
	cmds      *bot.Postmortems        // set once assembled (app.App.Postmortems)
}

// postmortemConfig turns on /incident followup, impact, postmortem and
// export in ac, with the outbox handlers that upload drafts and export
// them. store is what drafts are read from, dir gives people's display
// names (nil: none), now the clock (nil: the wall clock); github is the
// HTTP client of the GitHub export (nil: the exporter's own).
func postmortemConfig(cfg Config, ac *app.Config, store bot.Store, dir bot.Directory, now func() time.Time, github *http.Client) (*postmortems, error) {
	r, err := postmortem.LoadRenderer(cfg.Postmortem.Template)
	if err != nil {
		return nil, err
	}
	p := &postmortems{drafter: &postmortem.Drafter{Store: store, Directory: dir, Renderer: r,
		Location: cfg.Postmortem.Location, Now: now, ReminderInterval: reminderInterval(cfg)}}
	if gh := cfg.Postmortem.GitHub; gh.Enabled() {
		exp, err := ghexport.New(ghexport.Config{Token: gh.Token, Repo: gh.Repo, APIURL: gh.APIURL, Mode: gh.Mode,
			Labels: gh.Labels, FollowUpLabels: gh.FollowUpLabels, HTTPClient: github})
		if err != nil {
			return nil, fmt.Errorf("github export: %w", err)
		}
		p.publisher = exp
	}
	ac.Postmortem = &bot.PostmortemConfig{Drafter: p.drafter, Publisher: p.publisher, Directory: dir, Location: cfg.Postmortem.Location}
	return p, nil
}

// logPostmortems says at start where postmortems go.
func logPostmortems(cfg Config, p *postmortems, log *slog.Logger) {
	target := "off (set GITHUB_TOKEN and GITHUB_REPO)"
	if p.publisher != nil {
		target = p.publisher.Target() + " (" + cfg.Postmortem.GitHub.Mode + ")"
	} else if cfg.Postmortem.GitHub.Token != "" {
		log.Warn("GITHUB_TOKEN is set but GITHUB_REPO is not: postmortem export is off")
	}
	log.Info("postmortems enabled", "timezone", cfg.Postmortem.Location.String(), "template", templateName(cfg), "github_export", target)
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
