package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/ghfake"
	"github.com/sitrep-io/sitrep/internal/slackfake"
	"github.com/sitrep-io/sitrep/store"
)

func TestPostmortemCommand(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "sitrep.db")
	db, err := store.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	svc := bot.NewService(db, bot.ServiceConfig{})
	inc, err := svc.Declare(ctx, bot.DeclareRequest{Actor: "ana", Title: "Checkout latency"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Resolve(ctx, "ana", inc.ID, "fixed"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	gh := ghfake.New(t, "acme", "postmortems")
	vars := map[string]string{"SITREP_DB": dbPath, "SITREP_TIMEZONE": "America/Los_Angeles"}
	runCmd := func(extra map[string]string, args ...string) (int, string, string) {
		v := map[string]string{}
		for k, x := range vars {
			v[k] = x
		}
		for k, x := range extra {
			v[k] = x
		}
		var out, errOut bytes.Buffer
		code := run(ctx, args, testEnv(v, &out, &errOut))
		return code, out.String(), errOut.String()
	}

	code, out, errOut := runCmd(nil, "postmortem", "INC-1")
	if code != 0 || !strings.HasPrefix(out, "# Postmortem: INC-1 Checkout latency") || !strings.Contains(out, "PDT") && !strings.Contains(out, "PST") {
		t.Fatalf("stdout draft: %d %q %q", code, out[:min(len(out), 200)], errOut)
	}
	if !strings.Contains(errOut, "INC-1: draft, 11 prompts left") {
		t.Errorf("summary = %q", errOut)
	}
	file := filepath.Join(dir, "pm.md")
	if code, out, _ := runCmd(nil, "postmortem", "INC-1", "--out", file); code != 0 || !strings.Contains(out, "wrote "+file) {
		t.Fatalf("--out: %d %q", code, out)
	}
	if b, err := os.ReadFile(file); err != nil || !strings.Contains(string(b), "## Key times and metrics") {
		t.Errorf("file: %v", err)
	}

	for _, args := range [][]string{{"postmortem"}, {"postmortem", "nope"}, {"postmortem", "INC-1", "--bogus"}, {"postmortem", "INC-1", "extra"}} {
		if code, _, errOut := runCmd(nil, args...); code != 2 || !strings.Contains(errOut, "usage: sitrep postmortem") {
			t.Errorf("%v: exit %d, %q; want 2 with usage", args, code, errOut)
		}
	}
	if code, _, errOut := runCmd(nil, "postmortem", "INC-9"); code != 1 || !strings.Contains(errOut, "INC-9 does not exist") {
		t.Errorf("unknown incident: %d %q", code, errOut)
	}
	if code, _, errOut := runCmd(nil, "postmortem", "INC-1", "--export"); code != 1 || !strings.Contains(errOut, "GITHUB_TOKEN") {
		t.Errorf("export without GitHub: %d %q", code, errOut)
	}

	withGH := map[string]string{"GITHUB_TOKEN": gh.Token(), "GITHUB_REPO": "acme/postmortems", "GITHUB_API_URL": gh.URL()}
	code, _, errOut = runCmd(withGH, "postmortem", "INC-1", "--export", "--out", file)
	if code != 0 || !strings.Contains(errOut, "INC-1 exported to acme/postmortems: https://github.com/acme/postmortems/pull/1") {
		t.Fatalf("export: %d %q", code, errOut)
	}
	if len(gh.PullRequests()) != 1 {
		t.Errorf("pull requests = %d", len(gh.PullRequests()))
	}
	if code, _, _ := runCmd(withGH, "postmortem", "INC-1", "--export"); code != 0 || len(gh.PullRequests()) != 1 {
		t.Errorf("re-export: exit %d, %d pull requests", code, len(gh.PullRequests()))
	}
	gh.Fail(ghfake.AnyRoute, ghfake.BadCredentials())
	if code, _, errOut := runCmd(withGH, "postmortem", "INC-1", "--export"); code != 1 || !strings.Contains(errOut, "GitHub rejected GITHUB_TOKEN") {
		t.Errorf("401: %d %q", code, errOut)
	}
}

func TestPostmortemConfig(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.tmpl")
	if err := os.WriteFile(bad, []byte("{{.Key"), 0o644); err != nil {
		t.Fatal(err)
	}
	for name, vars := range map[string]map[string]string{
		"timezone":       {"SITREP_TIMEZONE": "Pacific/Nowhere"},
		"template":       {"SITREP_POSTMORTEM_TEMPLATE": bad},
		"missing file":   {"SITREP_POSTMORTEM_TEMPLATE": bad + ".missing"},
		"repo format":    {"GITHUB_TOKEN": "t", "GITHUB_REPO": "acme"},
		"repo no token":  {"GITHUB_REPO": "acme/pm"},
		"mode":           {"GITHUB_EXPORT_MODE": "wiki"},
		"api url":        {"GITHUB_API_URL": "not a url"},
		"local timezone": {"SITREP_TIMEZONE": "Local"},
	} {
		if _, err := LoadConfig("", false, envFrom(vars)); err == nil {
			t.Errorf("%s: %v accepted", name, vars)
		}
	}
	c, err := LoadConfig("", false, envFrom(map[string]string{"SITREP_TIMEZONE": "Europe/Berlin", "GITHUB_TOKEN": "t",
		"GITHUB_REPO": "acme/pm", "GITHUB_API_URL": "https://ghe.example.com/api/v3", "GITHUB_LABELS": "postmortem, sev1"}))
	if err != nil {
		t.Fatal(err)
	}
	g := c.Postmortem.GitHub
	if c.Postmortem.Location.String() != "Europe/Berlin" || !g.Enabled() || g.APIURL != "https://ghe.example.com/api/v3/" ||
		g.Mode != "file" || strings.Join(g.Labels, "|") != "postmortem|sev1" || strings.Join(g.FollowUpLabels, "|") != "follow-up" {
		t.Errorf("config = %+v", c.Postmortem)
	}
	// A token alone (set for other tools) leaves export off rather than
	// stopping the start.
	c, err = LoadConfig("", false, envFrom(map[string]string{"GITHUB_TOKEN": "t"}))
	if err != nil || c.Postmortem.GitHub.Enabled() {
		t.Errorf("token alone: %v, enabled %v", err, c.Postmortem.GitHub.Enabled())
	}
}

// TestPostmortemCommandNamesSlackUsers: with Slack configured, the CLI
// draft names people through Slack's directory, as serve does, never by id.
func TestPostmortemCommandNamesSlackUsers(t *testing.T) {
	ctx := t.Context()
	dbPath := filepath.Join(t.TempDir(), "sitrep.db")
	db, err := store.Open(ctx, dbPath)
	if err != nil {
		t.Fatal(err)
	}
	svc := bot.NewService(db, bot.ServiceConfig{})
	inc, err := svc.Declare(ctx, bot.DeclareRequest{Actor: "U0ANA", Title: "Checkout latency"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Resolve(ctx, "U0ANA", inc.ID, "fixed"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	fake := slackfake.New(t)
	fake.AddUser(slackfake.User{ID: "U0ANA", Name: "ana", RealName: "Ana Lopez", Email: "ana@example.com"})
	var out, errOut bytes.Buffer
	code := run(ctx, []string{"postmortem", "INC-1"}, testEnv(map[string]string{
		"SITREP_DB": dbPath, "SLACK_BOT_TOKEN": slackfake.BotToken, "SLACK_SIGNING_SECRET": "s", "SLACK_API_URL": fake.URL(),
	}, &out, &errOut))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut.String())
	}
	if !strings.Contains(out.String(), "| Owner | Ana Lopez |") {
		t.Errorf("the owner is not named through Slack:\n%s", out.String()[:min(out.Len(), 900)])
	}
	if strings.Contains(out.String(), "U0ANA") {
		t.Error("a raw Slack id appears in the draft")
	}
	if len(fake.Messages("")) != 0 || len(fake.CallsTo("chat.postMessage")) != 0 {
		t.Error("the CLI posted to Slack")
	}
}
