package main

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/internal/slackfake"
)

// postSlashAs is postSlash from user.
func postSlashAs(t *testing.T, addr, user, text string) string {
	t.Helper()
	return postSlashIn(t, addr, user, "CGENERAL", text)
}

// postSlashIn sends a signed "/incident <text>" from user in channel and
// returns the answer, failing the test on any status but 200.
func postSlashIn(t *testing.T, addr, user, channel, text string) string {
	t.Helper()
	cmd := slackfake.SlashCommand{TeamID: slackfake.TeamID, ChannelID: channel, UserID: user, Command: "/incident",
		Text: text, TriggerID: "t"}
	resp, err := http.DefaultClient.Do(slackfake.SlashCommandRequest("http://"+addr+"/slack/commands", "test-secret", time.Now(), cmd))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/incident %s: %d %s", text, resp.StatusCode, body)
	}
	return string(body)
}

// `sitrep serve` with Slack wires the access checks: a private incident is
// hidden from and closed to a non-member (asked of Slack), and the
// permission policy from the environment applies.
func TestServeSlackAccess(t *testing.T) {
	fake := slackfake.New(t)
	addr := startServe(t, map[string]string{"SLACK_BOT_TOKEN": slackfake.BotToken, "SLACK_SIGNING_SECRET": "test-secret",
		"SLACK_API_URL": fake.URL(), "SITREP_CONSOLE": "off", "SITREP_PERMISSIONS_DECLARE": "U1"})
	if body := postSlashAs(t, addr, "U1", "declare --private Payroll leak"); !strings.Contains(body, "Declared INC-1") {
		t.Fatalf("declare: %s", body)
	}
	if !fake.WaitUntil(20*time.Second, func() bool {
		ch, ok := fake.Channel("inc-1-payroll-leak")
		return ok && len(fake.Members(ch.ID)) == 2 // the bot and U1
	}) {
		t.Fatal("the private channel was not created with U1 in it")
	}
	if body := postSlashAs(t, addr, "U1", "list"); !strings.Contains(body, "Payroll") {
		t.Errorf("the member's list: %s", body)
	}
	if body := postSlashAs(t, addr, "U2", "list"); strings.Contains(body, "Payroll") {
		t.Errorf("a non-member's list shows the private incident: %s", body)
	}
	if body := postSlashAs(t, addr, "U2", "INC-1 timeline"); !strings.Contains(body, "is private") || strings.Contains(body, "Payroll") {
		t.Errorf("a non-member's timeline: %s", body)
	}
	if body := postSlashAs(t, addr, "U2", "declare Something else"); !strings.Contains(body, "you may not declare") {
		t.Errorf("SITREP_PERMISSIONS_DECLARE=U1 should refuse U2: %s", body)
	}
}
