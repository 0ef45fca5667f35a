package app_test

import (
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/console"
	"github.com/sitrep-io/sitrep/internal/app"
	"github.com/sitrep-io/sitrep/internal/pdfake"
	"github.com/sitrep-io/sitrep/internal/slackfake"
	"github.com/sitrep-io/sitrep/pager"
	"github.com/sitrep-io/sitrep/runbooks"
	"github.com/sitrep-io/sitrep/slackchat"
	"github.com/sitrep-io/sitrep/store"
)

// pagerDuty is the PagerDuty client against the fake.
func pagerDuty(t *testing.T) *pager.Client {
	t.Helper()
	pd := pdfake.New(t)
	c, err := pager.New(pager.Config{Token: pd.Token(), From: "sitrep@example.com", APIURL: pd.URL()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func openStore(t *testing.T) *store.DB {
	t.Helper()
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "sitrep.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// TestNewWiresEveryFeature: with every feature configured, New wires
// them all (the start-up check passes) and their commands are there.
func TestNewWiresEveryFeature(t *testing.T) {
	chat := slackchat.New(slackchat.Options{Token: slackfake.BotToken, APIURL: slackfake.New(t).URL()})
	sitrep, err := app.New(app.Config{Store: openStore(t), Chat: chat, Directory: chat, Pins: chat,
		Alerting: &bot.AlertingConfig{}, Pager: pagerDuty(t), Reminders: bot.DefaultReminderConfig(),
		Runbooks: &runbooks.RunsConfig{}, Postmortem: &bot.PostmortemConfig{}, StatusPage: &bot.StatusPageConfig{}})
	if err != nil {
		t.Fatal(err)
	}
	if sitrep.Runs == nil || sitrep.Postmortems == nil || sitrep.StatusPages == nil {
		t.Fatalf("features missing: %+v", sitrep)
	}
	usage := sitrep.Service.Usage()
	for _, cmd := range []string{"accept", "runbooks", "postmortem", "statuspage"} {
		if !strings.Contains(usage, cmd) {
			t.Errorf("usage does not list %q:\n%s", cmd, usage)
		}
	}
}

// TestNewRefusesPagerWithoutAlerting: the pager write-back follows
// alert incidents; without alerting it is a configuration mistake.
func TestNewRefusesPagerWithoutAlerting(t *testing.T) {
	_, err := app.New(app.Config{Store: openStore(t), Chat: console.NewChat(io.Discard, nil), Pager: pagerDuty(t)})
	if err == nil || !strings.Contains(err.Error(), "alerting") {
		t.Fatalf("New = %v, want a refusal naming alerting", err)
	}
}
