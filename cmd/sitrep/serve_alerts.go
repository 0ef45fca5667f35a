package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/handlers"
	"github.com/sitrep-io/sitrep/metrics"
	"github.com/sitrep-io/sitrep/pager"
)

// wireAlerts turns on alerting (triage, alert summaries), mounts the
// PagerDuty and Alertmanager webhooks on routes and, with a PagerDuty API
// token, the PagerDuty adapter: on-call responders found in chat through
// dir, and write-back of acknowledgements, resolutions and notes.
func wireAlerts(cfg Config, svc *bot.Service, disp *bot.Dispatcher, chat bot.Chat, dir bot.Directory, log *slog.Logger, routes *handlers.Routes, mx *metrics.Metrics) error {
	ac := cfg.Alerts
	svc.EnableAlerting(bot.AlertingConfig{TriageChannel: ac.TriageChannel, Triage: ac.Triage, SummaryEvery: ac.SummaryInterval, AttachByLabel: ac.AttachByLabel})
	disp.Handle(svc.AlertHandlers(chat))
	if ac.PagerDutyAPI() {
		client, err := pager.New(pager.Config{Token: ac.PagerDutyToken, From: ac.PagerDutyFrom, APIURL: ac.PagerDutyAPIURL,
			HTTPClient: mx.Client(metrics.VendorPagerDuty, &http.Client{Timeout: 10 * time.Second})})
		if err != nil {
			return fmt.Errorf("PagerDuty: %w", err)
		}
		svc.EnablePager()
		disp.Handle(svc.PagerHandlers(client, dir))
	}
	if routes.Extra == nil {
		routes.Extra = map[string]http.Handler{}
	}
	routes.Extra["/webhooks/pagerduty"] = &handlers.PagerDutyWebhook{Events: svc, Secrets: ac.PagerDutyWebhookSecrets, Log: log,
		Severity: handlers.PagerDutySeverity{ByPriority: ac.PagerDutyPriority, ByUrgency: ac.PagerDutyUrgency}}
	routes.Extra["/webhooks/alertmanager"] = &handlers.AlertmanagerWebhook{Alerts: svc, Token: cfg.WebhookToken,
		Severity: ac.AlertmanagerSeverity, Log: log}
	log.Info("alert webhooks ready", "pagerduty_webhook", len(ac.PagerDutyWebhookSecrets) > 0, "pagerduty_api", ac.PagerDutyAPI(),
		"triage_channel", ac.TriageChannel)
	return nil
}
