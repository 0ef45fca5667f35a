package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/handlers"
	"github.com/sitrep-io/sitrep/internal/app"
	"github.com/sitrep-io/sitrep/metrics"
	"github.com/sitrep-io/sitrep/pager"
)

// alertsConfig turns on alerting (triage, alert summaries) in ac and, with
// a PagerDuty API token, the PagerDuty adapter: on-call responders found
// in chat, and write-back of acknowledgements, resolutions and notes.
func alertsConfig(cfg Config, ac *app.Config, mx *metrics.Metrics) error {
	al := cfg.Alerts
	ac.Alerting = &bot.AlertingConfig{TriageChannel: al.TriageChannel, Triage: al.Triage, SummaryEvery: al.SummaryInterval,
		AttachByLabel: al.AttachByLabel}
	if al.PagerDutyAPI() {
		client, err := pager.New(pager.Config{Token: al.PagerDutyToken, From: al.PagerDutyFrom, APIURL: al.PagerDutyAPIURL,
			HTTPClient: mx.Client(metrics.VendorPagerDuty, &http.Client{Timeout: 10 * time.Second})})
		if err != nil {
			return fmt.Errorf("PagerDuty: %w", err)
		}
		ac.Pager = client
	}
	return nil
}

// alertRoutes mounts the PagerDuty and Alertmanager webhooks on routes.
func alertRoutes(cfg Config, svc *bot.Service, log *slog.Logger, routes *handlers.Routes) {
	ac := cfg.Alerts
	if routes.Extra == nil {
		routes.Extra = map[string]http.Handler{}
	}
	routes.Extra["/webhooks/pagerduty"] = &handlers.PagerDutyWebhook{Events: svc, Secrets: ac.PagerDutyWebhookSecrets, Log: log,
		Severity: handlers.PagerDutySeverity{ByPriority: ac.PagerDutyPriority, ByUrgency: ac.PagerDutyUrgency}}
	routes.Extra["/webhooks/alertmanager"] = &handlers.AlertmanagerWebhook{Alerts: svc, Token: cfg.WebhookToken,
		Severity: ac.AlertmanagerSeverity, Log: log}
	log.Info("alert webhooks ready", "pagerduty_webhook", len(ac.PagerDutyWebhookSecrets) > 0, "pagerduty_api", ac.PagerDutyAPI(),
		"triage_channel", ac.TriageChannel)
}
