package main

import (
	"strings"
	"testing"

	"github.com/sitrep-io/sitrep/bot"
)

func TestAlertsConfig(t *testing.T) {
	load := func(vars map[string]string) (Config, error) {
		return LoadConfig("", false, func(k string) string { return vars[k] })
	}
	c, err := load(map[string]string{"PAGERDUTY_WEBHOOK_SECRET": "new, old", "SITREP_TRIAGE_POLICY": "SEV3, pagerduty=SEV1",
		"PAGERDUTY_PRIORITY_SEVERITY": "p1=SEV1,P2=2", "PAGERDUTY_API_URL": "http://127.0.0.1:9/"})
	if err != nil {
		t.Fatal(err)
	}
	a := c.Alerts
	if len(a.PagerDutyWebhookSecrets) != 2 || a.PagerDutyWebhookSecrets[1] != "old" {
		t.Errorf("secrets %v", a.PagerDutyWebhookSecrets)
	}
	if a.Triage.Default != bot.SEV3 || a.Triage.BySource["pagerduty"] != bot.SEV1 {
		t.Errorf("triage %+v", a.Triage)
	}
	if a.PagerDutyPriority["P1"] != bot.SEV1 || a.PagerDutyPriority["P2"] != bot.SEV2 || a.PagerDutyUrgency["low"] != bot.SEV3 {
		t.Errorf("severity maps %v %v", a.PagerDutyPriority, a.PagerDutyUrgency)
	}
	if a.PagerDutyAPIURL != "http://127.0.0.1:9" || a.SummaryInterval.String() != "1m0s" || a.AlertmanagerSeverity["critical"] != bot.SEV1 {
		t.Errorf("defaults: %+v", a)
	}
	for env, want := range map[string]string{
		"PAGERDUTY_TOKEN":               "PAGERDUTY_FROM",
		"PAGERDUTY_FROM":                "not an email address",
		"SITREP_TRIAGE_POLICY":          "SEV1 to SEV4",
		"SITREP_ALERTMANAGER_SEVERITY":  "name=SEVn",
		"SITREP_ALERT_SUMMARY_INTERVAL": "at least 1s",
	} {
		bad := map[string]string{"PAGERDUTY_TOKEN": "x", "PAGERDUTY_FROM": "x", "SITREP_TRIAGE_POLICY": "loud",
			"SITREP_ALERTMANAGER_SEVERITY": "critical", "SITREP_ALERT_SUMMARY_INTERVAL": "10ms"}
		_, err := load(map[string]string{env: bad[env]})
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s=%q: %v, want an error mentioning %q", env, bad[env], err, want)
		}
	}
}
