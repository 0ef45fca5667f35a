package main

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// AlertsConfig connects sitrep to PagerDuty and Alertmanager and sets how
// alerts reach chat (triage, summaries).
type AlertsConfig struct {
	// PagerDutyWebhookSecrets verify inbound v3 webhooks (several while
	// rotating); none disables POST /webhooks/pagerduty.
	PagerDutyWebhookSecrets []string
	PagerDutyToken          string // REST API key; unset: no responders lookup, no write-back
	PagerDutyFrom           string // email of the PagerDuty user write-backs are made as
	PagerDutyAPIURL         string // no trailing slash
	PagerDutyPriority       map[string]bot.Severity
	PagerDutyUrgency        map[string]bot.Severity
	AlertmanagerSeverity    map[string]bot.Severity
	Triage                  bot.TriagePolicy
	TriageChannel           string
	SummaryInterval         time.Duration
	AttachByLabel           string // label name of the attach-by-label policy; "": off
}

// PagerDutyAPI reports whether the PagerDuty REST API is configured.
func (c AlertsConfig) PagerDutyAPI() bool { return c.PagerDutyToken != "" }

func alertsSettings() []setting {
	return []setting{
		{Key: "pagerduty.webhook_secret", Env: "PAGERDUTY_WEBHOOK_SECRET", Secret: true,
			Help: "v3 webhook subscription secret(s), comma-separated while rotating; unset: `POST /webhooks/pagerduty` answers 503",
			apply: func(c *Config, v string) error {
				c.Alerts.PagerDutyWebhookSecrets = splitList(v)
				return nil
			}},
		{Key: "pagerduty.token", Env: "PAGERDUTY_TOKEN", Secret: true,
			Help:  "REST API key: on-call responders and write-back of acks, resolves, notes; unset: neither",
			apply: func(c *Config, v string) error { c.Alerts.PagerDutyToken = v; return nil }},
		{Key: "pagerduty.from", Env: "PAGERDUTY_FROM",
			Help: "email of the PagerDuty user write-backs are made as; required with `PAGERDUTY_TOKEN`",
			apply: func(c *Config, v string) error {
				if v != "" && !strings.Contains(v, "@") {
					return fmt.Errorf("%q is not an email address", v)
				}
				c.Alerts.PagerDutyFrom = v
				return nil
			}},
		{Key: "pagerduty.api_url", Env: "PAGERDUTY_API_URL", Default: "https://api.pagerduty.com",
			Help: "PagerDuty REST API base URL (tests and proxies point it elsewhere)",
			apply: func(c *Config, v string) error {
				u, err := url.Parse(v)
				if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					return fmt.Errorf("%q is not an http(s) URL", v)
				}
				c.Alerts.PagerDutyAPIURL = strings.TrimSuffix(v, "/") // go-pagerduty wants none
				return nil
			}},
		{Key: "pagerduty.priority_severity", Env: "PAGERDUTY_PRIORITY_SEVERITY", Default: "P1=SEV1,P2=SEV2,P3=SEV3,P4=SEV4,P5=SEV4",
			Help:  "severity of a PagerDuty incident by its priority name",
			apply: func(c *Config, v string) error { return severityMap(&c.Alerts.PagerDutyPriority, v, strings.ToUpper) }},
		{Key: "pagerduty.urgency_severity", Env: "PAGERDUTY_URGENCY_SEVERITY", Default: "high=SEV2,low=SEV3",
			Help:  "severity of a PagerDuty incident without a listed priority, by urgency",
			apply: func(c *Config, v string) error { return severityMap(&c.Alerts.PagerDutyUrgency, v, strings.ToLower) }},
		{Key: "alertmanager.severity", Env: "SITREP_ALERTMANAGER_SEVERITY", Default: "critical=SEV1,error=SEV2,high=SEV2,warning=SEV3,info=SEV4",
			Help: "severity of an Alertmanager alert by its `severity` label",
			apply: func(c *Config, v string) error {
				return severityMap(&c.Alerts.AlertmanagerSeverity, v, strings.ToLower)
			}},
		{Key: "triage.policy", Env: "SITREP_TRIAGE_POLICY", Default: "SEV2",
			Help:  "least severe alert that opens a channel at once, then per-source overrides (`SEV2,alertmanager=SEV1`); others go to triage; `SEV4`: no triage",
			apply: func(c *Config, v string) error { return triagePolicy(&c.Alerts.Triage, v) }},
		{Key: "triage.channel", Env: "SITREP_TRIAGE_CHANNEL",
			Help:  "channel id where triaged alerts wait for Accept/Decline; unset: every alert opens its channel at once",
			apply: func(c *Config, v string) error { c.Alerts.TriageChannel = v; return nil }},
		{Key: "alerts.attach_by_label", Env: "SITREP_ALERTS_ATTACH_BY_LABEL",
			Help: "a label name (e.g. `service`): a firing alert with a new dedup key that shares this label's value with an open incident is recorded on that incident instead of opening another; unset: every new key opens its own",
			apply: func(c *Config, v string) error {
				if v != "" && !bot.ValidLabelName(v) {
					return fmt.Errorf("%q is not a label name (letters, digits, `_`, `.`, `-`)", v)
				}
				c.Alerts.AttachByLabel = v
				return nil
			}},
		{Key: "alerts.summary_interval", Env: "SITREP_ALERT_SUMMARY_INTERVAL", Default: "1m",
			Help: "how often, at most, repeated alerts of an incident are summarised in chat",
			apply: func(c *Config, v string) error {
				if err := duration(&c.Alerts.SummaryInterval, v); err != nil {
					return err
				}
				if c.Alerts.SummaryInterval < time.Second {
					return fmt.Errorf("%q: use at least 1s", v)
				}
				return nil
			}},
	}
}

// alertsCrossCheck finds alert settings that cannot work together.
func (c *Config) alertsCrossCheck() []string {
	if c.Alerts.PagerDutyToken != "" && c.Alerts.PagerDutyFrom == "" {
		return []string{"PAGERDUTY_FROM (pagerduty.from): required when PAGERDUTY_TOKEN is set (PagerDuty requires a From email on writes)"}
	}
	return nil
}

func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// severityMap parses "name=SEVn,..." into dst, keys normalised by norm.
func severityMap(dst *map[string]bot.Severity, v string, norm func(string) string) error {
	m := map[string]bot.Severity{}
	for _, item := range splitList(v) {
		name, sevText, ok := strings.Cut(item, "=")
		name = norm(strings.TrimSpace(name))
		if !ok || name == "" {
			return fmt.Errorf("%q: write name=SEVn pairs separated by commas", item)
		}
		sev, err := bot.ParseSeverity(sevText)
		if err != nil {
			return fmt.Errorf("%q: use SEV1 to SEV4", item)
		}
		m[name] = sev
	}
	*dst = m
	return nil
}

// triagePolicy parses "SEVn[,source=SEVn...]".
func triagePolicy(dst *bot.TriagePolicy, v string) error {
	p := bot.TriagePolicy{Default: bot.SEV2, BySource: map[string]bot.Severity{}}
	items := splitList(v)
	if len(items) > 0 && !strings.Contains(items[0], "=") {
		sev, err := bot.ParseSeverity(items[0])
		if err != nil {
			return fmt.Errorf("%q: start with the default threshold, SEV1 to SEV4", items[0])
		}
		p.Default, items = sev, items[1:]
	}
	if err := severityMap(&p.BySource, strings.Join(items, ","), strings.ToLower); err != nil {
		return err
	}
	*dst = p
	return nil
}
