package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/internal/slackfake"
	"github.com/sitrep-io/sitrep/internal/spfake"
)

func TestStatusPageConfig(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sitrep.yaml")
	os.WriteFile(path, []byte("statuspage:\n  api_key: k\n  page_id: pg1\n  components:\n    api-gateway: cmp1\n    web.site: cmp2\nstatus:\n  addr: 127.0.0.1:0\n"), 0o600)
	c, err := LoadConfig(path, true, envFrom(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.StatusPage.Components["api-gateway"] != "cmp1" || c.StatusPage.Components["web.site"] != "cmp2" || c.StatusPage.Label != "service" ||
		c.StatusPage.APIURL != "https://api.statuspage.io/v1" || c.StatusPage.Title != "Status" {
		t.Errorf("from YAML: %+v", c.StatusPage)
	}
	c, err = LoadConfig(path, true, envFrom(map[string]string{"STATUSPAGE_COMPONENTS": "checkout=cmp9"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.StatusPage.Components) != 1 || c.StatusPage.Components["checkout"] != "cmp9" {
		t.Errorf("the environment's components do not win: %v", c.StatusPage.Components)
	}
	for name, tc := range map[string]struct {
		vars map[string]string
		want []string
	}{
		"key without page":    {map[string]string{"STATUSPAGE_API_KEY": "k"}, []string{"STATUSPAGE_PAGE_ID"}},
		"page without key":    {map[string]string{"STATUSPAGE_PAGE_ID": "pg"}, []string{"STATUSPAGE_API_KEY"}},
		"bad components":      {map[string]string{"STATUSPAGE_COMPONENTS": "api-gateway", "SITREP_STATUS_ADDR": ":1"}, []string{"STATUSPAGE_COMPONENTS", "name=<component id>"}},
		"components, no page": {map[string]string{"STATUSPAGE_COMPONENTS": "a=b"}, []string{"STATUSPAGE_COMPONENTS", "SITREP_STATUS_ADDR"}},
		"bad status addr":     {map[string]string{"SITREP_STATUS_ADDR": "nope"}, []string{"SITREP_STATUS_ADDR", "host:port"}},
		"bad api url":         {map[string]string{"STATUSPAGE_API_URL": "ftp://x"}, []string{"STATUSPAGE_API_URL"}},
	} {
		_, err := LoadConfig("", false, envFrom(tc.vars))
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q does not mention %q", name, err, w)
			}
		}
		if strings.Contains(err.Error(), "=k") {
			t.Errorf("%s: the key is in the error", name)
		}
	}
}

// TestServeStatusPage runs sitrep serve with Statuspage (the fake) and the
// built-in page: an alert on api-gateway, "/incident update --public
// --next 30m" in the console (posted there, published with its next update), and the update is at Statuspage and on the built-in page's
// own listener, which answers nothing else.
func TestServeStatusPage(t *testing.T) {
	sp := spfake.New("sp-key", "pg1", map[string]string{"cmp-api": "API"}, nil)
	defer sp.Close()
	cfg, err := LoadConfig("", false, envFrom(map[string]string{
		"SITREP_DB": filepath.Join(t.TempDir(), "sitrep.db"), "SITREP_ADDR": "127.0.0.1:0", "SITREP_WEBHOOK_TOKEN": "tok",
		"SITREP_CONSOLE": "on", "STATUSPAGE_API_KEY": "sp-key", "STATUSPAGE_PAGE_ID": "pg1", "STATUSPAGE_API_URL": sp.BaseURL(),
		"STATUSPAGE_COMPONENTS": "api-gateway=cmp-api", "SITREP_STATUS_ADDR": "127.0.0.1:0", "SITREP_STATUS_TITLE": "Olla status",
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addrc, statusc := make(chan net.Addr, 1), make(chan net.Addr, 1)
	stdin, typed := io.Pipe()
	defer typed.Close()
	var out, logs syncBuffer
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, cfg, env{getenv: envFrom(nil), stdin: stdin, stdout: &out, stderr: &logs},
			&serveHooks{onListen: func(a net.Addr) { addrc <- a }, onStatusListen: func(a net.Addr) { statusc <- a }})
	}()
	var addr, status net.Addr
	for addr == nil || status == nil {
		select {
		case addr = <-addrc:
		case status = <-statusc:
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, logs.String())
		case <-time.After(30 * time.Second):
			t.Fatal("server did not start")
		}
	}
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr.String()+"/webhooks/alert",
		strings.NewReader(`{"title":"INTERNAL db-07 pool exhausted","dedup_key":"k1","severity":"SEV1","labels":{"service":"api-gateway"}}`))
	req.Header.Set("Authorization", "Bearer tok")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("alert: %v %v", resp, err)
	}
	resp.Body.Close()
	if _, err := io.WriteString(typed, "/incident update --public --next 30m Some stores cannot be reached.\n"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(sp.Incidents()) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("nothing reached Statuspage:\n%s\n%s", out.String(), logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if got := sp.Incidents()[0]; got.Name != "Major outage of api-gateway" || sp.ComponentStatus("cmp-api") != "major_outage" ||
		!strings.HasPrefix(got.IncidentUpdates[0].Body, "Some stores cannot be reached.\n\nNext update by ") {
		t.Errorf("at Statuspage: %+v", got)
	}
	for !strings.Contains(out.String(), "Some stores cannot be reached.") || !strings.Contains(out.String(), "Next update by") {
		if time.Now().After(deadline) {
			t.Fatalf("the update was not posted in the console with its next update time:\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	get := func(base, path string) (int, string) {
		resp, err := http.Get("http://" + base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	var page string
	for time.Now().Before(deadline) {
		if _, page = get(status.String(), "/"); strings.Contains(page, "Some stores cannot be reached.") {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.Contains(page, "Olla status") || !strings.Contains(page, "Some stores cannot be reached.") || strings.Contains(page, "INTERNAL") {
		t.Errorf("built-in page:\n%s", page)
	}
	for _, path := range []string{"/webhooks/alert", "/healthz", "/slack/commands"} {
		if code, _ := get(status.String(), path); code != http.StatusNotFound {
			t.Errorf("status listener %s: %d, want 404", path, code)
		}
	}
	if code, _ := get(addr.String(), "/feed.atom"); code != http.StatusNotFound {
		t.Errorf("the main listener serves the status page's feed: %d", code)
	}
	cancel()
	typed.Close()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
	if strings.Contains(logs.String(), "sp-key") {
		t.Error("the Statuspage key is in the logs")
	}
}

// TestServeStatusPageSlackUpdate checks serve's wiring of the drafts and
// the status page together, through signed Slack requests: the Post update
// button opens the drafted form; submitted with the publish box ticked
// and a next time, the update is posted in the channel AND published,
// stating the next update; "/incident update --public --next 30m <text>"
// in the channel does both too.
func TestServeStatusPageSlackUpdate(t *testing.T) {
	fake := slackfake.New(t)
	sp := spfake.New("sp-key", "pg1", map[string]string{"cmp-api": "API"}, nil)
	defer sp.Close()
	addr := startServe(t, map[string]string{"SLACK_BOT_TOKEN": slackfake.BotToken, "SLACK_SIGNING_SECRET": "test-secret",
		"SLACK_API_URL": fake.URL(), "STATUSPAGE_API_KEY": "sp-key", "STATUSPAGE_PAGE_ID": "pg1", "STATUSPAGE_API_URL": sp.BaseURL(),
		"STATUSPAGE_COMPONENTS": "api-gateway=cmp-api"})
	postSlash(t, addr, "test-secret", "declare Checkout failing")
	channel := waitChannel(t, fake, "inc-1-checkout-failing")
	send := func(req *http.Request) {
		t.Helper()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", req.URL.Path, resp.StatusCode, body)
		}
	}
	click := slackfake.BlockActions(slackfake.ButtonClick{UserID: "U1", ChannelID: channel.ID, MessageTS: "1700000000.000100",
		ActionID: "post-update", BlockID: "sitrep-actions", Value: "1", TriggerID: "trigger-1"}, time.Now())
	send(slackfake.InteractionRequest("http://"+addr+"/slack/interactions", "test-secret", time.Now(), click))
	views := fake.WaitFor("views.open", 1, 20*time.Second)
	if view := views[0].Param("view"); !strings.Contains(view, "since") || !strings.Contains(view, "also_publish") {
		t.Fatalf("the update form is not the drafted form with the publish box: %s", view)
	}
	form := fake.Views()[0]
	values := map[string]map[string]slackfake.InputValue{
		"text":         {"value": slackfake.PlainTextInput("Payments fail for some customers.")},
		"next":         {"value": slackfake.PlainTextInput("30m")},
		"also_publish": {"value": {Type: "checkboxes"}}}
	raw, _ := json.Marshal(slackfake.ViewSubmission(slackfake.Submission{UserID: "U1", CallbackID: "sitrep.post_update",
		PrivateMetadata: form.PrivateMetadata, Values: values}, time.Now()))
	raw = []byte(strings.Replace(string(raw), `"type":"checkboxes"`, `"type":"checkboxes","selected_options":[{"text":{"type":"plain_text","text":"Also"},"value":"public"}]`, 1))
	send(slackfake.InteractionRequest("http://"+addr+"/slack/interactions", "test-secret", time.Now(), json.RawMessage(raw)))

	published := func(text string) string {
		t.Helper()
		var body string
		if !fake.WaitUntil(20*time.Second, func() bool {
			incs := sp.Incidents()
			if len(incs) == 0 {
				return false
			}
			body = incs[0].IncidentUpdates[0].Body
			return strings.HasPrefix(body, text)
		}) {
			t.Fatalf("%q did not reach Statuspage (last: %q)", text, body)
		}
		return body
	}
	posted := func(text string) {
		t.Helper()
		if !fake.WaitUntil(20*time.Second, func() bool {
			for _, m := range fake.Messages(channel.ID) {
				if strings.Contains(m.Text, "Status update") && strings.Contains(m.Text, text) && strings.Contains(m.Text, "Next update by") {
					return true
				}
			}
			return false
		}) {
			t.Fatalf("%q was not posted in the channel with its next update time", text)
		}
	}
	if body := published("Payments fail for some customers."); !strings.Contains(body, "\n\nNext update by ") {
		t.Errorf("the form's public update does not state the next one: %q", body)
	}
	posted("Payments fail for some customers.")

	cmd := slackfake.SlashCommand{TeamID: slackfake.TeamID, ChannelID: channel.ID, UserID: "U1", Command: "/incident",
		Text: "update --public --next 30m A fix is rolling out.", TriggerID: "t"}
	send(slackfake.SlashCommandRequest("http://"+addr+"/slack/commands", "test-secret", time.Now(), cmd))
	if body := published("A fix is rolling out."); strings.Contains(body, "--next") || !strings.Contains(body, "\n\nNext update by ") {
		t.Errorf("update --public --next published %q", body)
	}
	posted("A fix is rolling out.")
}
