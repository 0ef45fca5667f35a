package main

import (
	"strings"
	"testing"

	"github.com/sitrep-io/sitrep/internal/ghfake"
	"github.com/sitrep-io/sitrep/internal/pdfake"
	"github.com/sitrep-io/sitrep/internal/slackfake"
	"github.com/sitrep-io/sitrep/internal/spfake"
)

// TestServeWithEveryFeatureStarts: `sitrep serve` with every feature on
// (Slack with pinned messages, triage, the PagerDuty write-back, runbooks,
// postmortems with the GitHub export, Statuspage and the built-in page)
// passes the start-up check that every outbox operation has a handler, and
// /incident help lists every feature's commands.
func TestServeWithEveryFeatureStarts(t *testing.T) {
	fake := slackfake.New(t)
	pd := pdfake.New(t)
	gh := ghfake.New(t, "acme", "postmortems")
	sp := spfake.New("sp-key", "pg1", map[string]string{"cmp-api": "API"}, nil)
	defer sp.Close()
	addr, _, logs := startServeOutput(t, map[string]string{
		"SLACK_BOT_TOKEN": slackfake.BotToken, "SLACK_SIGNING_SECRET": "test-secret", "SLACK_API_URL": fake.URL(),
		"SITREP_TRIAGE_CHANNEL": "CTRIAGE",
		"PAGERDUTY_TOKEN":       pd.Token(), "PAGERDUTY_FROM": "sitrep@example.com", "PAGERDUTY_API_URL": pd.URL(),
		"SITREP_RUNBOOKS": "../../runbooks",
		"GITHUB_TOKEN":    gh.Token(), "GITHUB_REPO": "acme/postmortems", "GITHUB_API_URL": gh.URL(),
		"STATUSPAGE_API_KEY": "sp-key", "STATUSPAGE_PAGE_ID": "pg1", "STATUSPAGE_API_URL": sp.BaseURL(),
		"STATUSPAGE_COMPONENTS": "api-gateway=cmp-api", "SITREP_STATUS_ADDR": "127.0.0.1:0",
	})
	if addr == "" {
		t.Fatalf("serve did not start:\n%s", logs)
	}
	for _, want := range []string{"pagerduty_api=true", "runbooks loaded", "acme/postmortems", "status page enabled"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("the start-up log does not say %q:\n%s", want, logs)
		}
	}
	status, body := postSlash(t, addr, "test-secret", "help")
	if status != 200 {
		t.Fatalf("help: %d %s", status, body)
	}
	for _, cmd := range []string{"accept", "run ", "approve", "postmortem", "export", "statuspage"} {
		if !strings.Contains(body, cmd) {
			t.Errorf("/incident help does not list %q:\n%s", cmd, body)
		}
	}
}
