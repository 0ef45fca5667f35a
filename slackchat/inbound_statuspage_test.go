package slackchat_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/app"
	"github.com/sitrep-io/sitrep/internal/slackfake"
	"github.com/sitrep-io/sitrep/internal/spfake"
	"github.com/sitrep-io/sitrep/slackchat"
	"github.com/sitrep-io/sitrep/statuspage"
)

// newStatusPageHarness is a Slack harness whose service publishes to the
// fake Statuspage, with components api-gateway and website.
func newStatusPageHarness(t *testing.T) (*slackHarness, *spfake.Server) {
	t.Helper()
	var sp *spfake.Server
	h := newSlackHarnessWired(t, func(ac *app.Config) {
		now := ac.Service.Now
		sp = spfake.New("key", "pg", map[string]string{"cmp-api": "API", "cmp-web": "Website"}, now)
		t.Cleanup(sp.Close)
		ac.StatusPage = &bot.StatusPageConfig{
			Page:       &statuspage.Client{APIKey: "key", PageID: "pg", BaseURL: sp.BaseURL(), HTTP: sp.Client(), Now: now},
			Components: map[string]string{"api-gateway": "cmp-api", "website": "cmp-web"}}
	}, func(edge *slackchat.Inbound, sitrep *app.App) { edge.StatusPage = sitrep.StatusPages })
	return h, sp
}

// viewBlocks decodes an opened view's blocks: block id → its element.
func viewBlocks(t *testing.T, v slackfake.View) map[string]map[string]any {
	t.Helper()
	var view struct {
		Blocks []struct {
			BlockID string         `json:"block_id"`
			Element map[string]any `json:"element"`
		} `json:"blocks"`
	}
	if err := json.Unmarshal(v.Raw, &view); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]any{}
	for _, b := range view.Blocks {
		out[b.BlockID] = b.Element
	}
	return out
}

func TestSlackStatusPage_FormPrefilledAndPublished(t *testing.T) {
	h, sp := newStatusPageHarness(t)
	inc := h.declared("U1", "INTERNAL db-07 pool exhausted")

	if status, out := h.command("U1", inc.ChannelID, "statuspage"); status != http.StatusOK || len(out) != 0 {
		t.Fatalf("/incident statuspage: %d %v (want an empty ack, then the form)", status, out)
	}
	h.app.Wait()
	views := h.fake.Views()
	if len(views) != 1 || views[0].CallbackID != slackchat.CallbackPublishStatusPage {
		t.Fatalf("views: %+v", views)
	}
	if strings.Contains(string(views[0].Raw), "INTERNAL") {
		t.Errorf("the form shows the internal title: %s", views[0].Raw)
	}
	blocks := viewBlocks(t, views[0])
	if blocks["title"]["initial_value"] != "Service disruption" || !strings.Contains(fmt.Sprint(blocks["body"]["initial_value"]), bot.PublicPrompt) {
		t.Errorf("form not prefilled with the public draft: title %v body %v", blocks["title"]["initial_value"], blocks["body"]["initial_value"])
	}
	if _, ok := blocks["components"]; !ok {
		t.Errorf("no components field: %v", blocks)
	}

	if _, ok := blocks["next"]; !ok {
		t.Errorf("no next update field: %v", blocks)
	}

	next := ""
	submit := func(body string) (int, map[string]any) {
		values := map[string]map[string]slackfake.InputValue{
			"next":             {"value": slackfake.PlainTextInput(next)},
			"title":            {"value": slackfake.PlainTextInput("Checkout errors")},
			"status":           {"value": slackfake.StaticSelect("identified", "Identified")},
			"component_status": {"value": slackfake.StaticSelect("major_outage", "Major outage")},
			"components":       {"value": {Type: "multi_static_select"}},
			"body":             {"value": slackfake.PlainTextInput(body)},
		}
		p := slackfake.ViewSubmission(slackfake.Submission{UserID: "U1", CallbackID: slackchat.CallbackPublishStatusPage,
			PrivateMetadata: views[0].PrivateMetadata, Values: values}, time.Now())
		raw, _ := json.Marshal(p)
		raw = []byte(strings.Replace(string(raw), `"type":"multi_static_select"`,
			`"type":"multi_static_select","selected_options":[{"text":{"type":"plain_text","text":"website"},"value":"website"}]`, 1))
		status, resp := h.interact(json.RawMessage(raw))
		out := map[string]any{}
		_ = json.Unmarshal(resp, &out)
		return status, out
	}
	if status, out := submit(fmt.Sprint(blocks["body"]["initial_value"])); status != http.StatusOK || out["response_action"] != "errors" ||
		!strings.Contains(fmt.Sprint(out["errors"]), "body") {
		t.Fatalf("a draft with its prompt left: %d %v (want errors under body)", status, out)
	}
	next = "nope"
	if status, out := submit("Checkout fails for some customers; the cause is found."); status != http.StatusOK || out["response_action"] != "errors" ||
		!strings.Contains(fmt.Sprint(out["errors"]), "next:") {
		t.Fatalf("a next update that is no time: %d %v (want errors under next)", status, out)
	}
	next = "30m"
	submitted := h.app.Service.(*bot.Service).Now()
	if status, out := submit("Checkout fails for some customers; the cause is found."); status != http.StatusOK || len(out) != 0 {
		t.Fatalf("publish: %d %v", status, out)
	}
	h.app.Wait()
	h.drain()
	got := sp.Incidents()
	if len(got) != 1 || got[0].Name != "Checkout errors" || got[0].Status != "identified" || sp.ComponentStatus("cmp-web") != "major_outage" {
		t.Fatalf("published: %+v, website %s", got, sp.ComponentStatus("cmp-web"))
	}
	if want := "Checkout fails for some customers; the cause is found.\n\nNext update by " + submitted.Add(30*time.Minute).UTC().Format("15:04 MST") + "."; got[0].IncidentUpdates[0].Body != want {
		t.Errorf("published body %q, want %q", got[0].IncidentUpdates[0].Body, want)
	}
}

func TestSlackStatusPage_PreviewButtonsAndCardButton(t *testing.T) {
	h, sp := newStatusPageHarness(t)
	inc := h.declared("U1", "Checkout failing")

	status, out := h.command("U1", inc.ChannelID, "statuspage Payments fail for some customers. <!channel>")
	if status != http.StatusOK {
		t.Fatalf("preview: %d", status)
	}
	raw, _ := json.Marshal(out["blocks"])
	if !strings.Contains(string(raw), bot.ActionPublishStatusPage) || !strings.Contains(string(raw), "Payments fail") {
		t.Fatalf("preview has no Publish button or text: %v", out)
	}
	if strings.Contains(string(raw), "<!channel>") {
		t.Errorf("the preview renders a typed mention live: %s", raw)
	}
	h.drain()
	if len(sp.Calls()) != 0 {
		t.Fatal("a preview reached the status page")
	}
	// The Publish button carries the preview; clicking it publishes.
	var value string
	for _, ev := range h.timeline(inc.ID) {
		if ev.Kind == bot.KindPublicProposed {
			value = fmt.Sprintf("%d:%d", inc.ID, ev.ID)
		}
	}
	p := slackfake.BlockActions(slackfake.ButtonClick{UserID: "U1", ChannelID: inc.ChannelID, ActionID: bot.ActionPublishStatusPage,
		BlockID: slackchat.BlockActions, Value: value, TriggerID: "t"}, time.Now())
	if status, body := h.interact(p); status != http.StatusOK {
		t.Fatalf("click: %d %s", status, body)
	}
	h.app.Wait()
	h.drain()
	if got := sp.Incidents(); len(got) != 1 || got[0].IncidentUpdates[0].Body != "Payments fail for some customers. @channel" {
		t.Fatalf("published %+v", got)
	}

	// The card's button opens the same form.
	inc = h.incident(inc.ID)
	h.click("U1", inc, bot.ActionOpenStatusPage)
	if views := h.fake.Views(); len(views) != 1 || views[0].CallbackID != slackchat.CallbackPublishStatusPage {
		t.Fatalf("card button opened %+v", views)
	}
	card, ok := h.fake.Message(inc.ChannelID, inc.CardTS)
	if !ok || !strings.Contains(string(card.Blocks), bot.ActionOpenStatusPage) {
		t.Errorf("the card has no Publish to status page button")
	}
}

// TestSlackStatusPage_UpdateFormPublishBox: with a status page, the update
// form has an "also publish" box; ticked, the update is posted in the
// channel and published; unticked, it stays internal.
func TestSlackStatusPage_UpdateFormPublishBox(t *testing.T) {
	h, sp := newStatusPageHarness(t)
	inc := h.declared("U1", "Checkout failing")
	h.click("U1", inc, bot.ActionPostUpdate)
	views := h.fake.Views()
	if len(views) != 1 || !strings.Contains(string(views[0].Raw), `"also_publish"`) {
		t.Fatalf("update form without the publish box: %+v", views)
	}
	submit := func(text string, public bool) {
		t.Helper()
		values := map[string]map[string]slackfake.InputValue{"text": {"value": slackfake.PlainTextInput(text)}}
		if public {
			values["also_publish"] = map[string]slackfake.InputValue{"value": {Type: "checkboxes"}}
		}
		p := slackfake.ViewSubmission(slackfake.Submission{UserID: "U1", CallbackID: "sitrep.post_update",
			PrivateMetadata: views[0].PrivateMetadata, Values: values}, time.Now())
		raw, _ := json.Marshal(p)
		raw = []byte(strings.Replace(string(raw), `"type":"checkboxes"`, `"type":"checkboxes","selected_options":[{"text":{"type":"plain_text","text":"Also"},"value":"public"}]`, 1))
		if status, body := h.interact(json.RawMessage(raw)); status != http.StatusOK || len(strings.TrimSpace(string(body))) != 0 {
			t.Fatalf("submit: %d %s", status, body)
		}
		h.app.Wait()
		h.drain()
	}
	submit("Internal only: rolling back gw-07", false)
	if len(sp.Calls()) != 0 {
		t.Fatal("an unticked update reached the status page")
	}
	submit("Payments fail for some customers.", true)
	if got := sp.Incidents(); len(got) != 1 || got[0].IncidentUpdates[0].Body != "Payments fail for some customers." {
		t.Fatalf("published %+v", got)
	}
	if n := len(eventsOf(h.timeline(inc.ID), bot.KindStatusUpdate)); n != 2 {
		t.Errorf("%d internal updates, want 2", n)
	}
}

// TestSlackStatusPage_CommandOutsideIncident: /incident statuspage outside
// an incident channel says where to run it and opens nothing.
func TestSlackStatusPage_CommandOutsideIncident(t *testing.T) {
	h, _ := newStatusPageHarness(t)
	status, out := h.command("U1", "CGENERAL", "statuspage")
	if status != http.StatusOK || !strings.Contains(fmt.Sprint(out["text"]), "not an incident channel") {
		t.Fatalf("outside an incident: %d %v", status, out)
	}
	h.app.Wait()
	if views := h.fake.Views(); len(views) != 0 {
		t.Errorf("a form was opened: %+v", views)
	}
}

// TestSlackStatusPage_DraftedFormAndCommandPublishWithNext: the update form
// opens with the draft; submitted with the publish box ticked and a next
// time, it posts internally AND publishes the same text stating the next
// update; "/incident update --public --next 30m <text>" does both too.
func TestSlackStatusPage_DraftedFormAndCommandPublishWithNext(t *testing.T) {
	h, sp := newStatusPageHarness(t)
	inc := h.declared("U1", "Checkout failing")
	h.click("U1", inc, bot.ActionPostUpdate)
	views := h.fake.Views()
	if len(views) != 1 {
		t.Fatalf("%d views opened, want the update form", len(views))
	}
	if text, _ := viewBlocks(t, views[0])["text"]["initial_value"].(string); !strings.Contains(text, "since") {
		t.Errorf("the update form is not prefilled with the draft: %q", text)
	}
	svc := h.app.Service.(*bot.Service)
	values := map[string]map[string]slackfake.InputValue{
		"text":         {"value": slackfake.PlainTextInput("Payments fail for some customers.")},
		"next":         {"value": slackfake.PlainTextInput("30m")},
		"also_publish": {"value": {Type: "checkboxes"}}}
	p := slackfake.ViewSubmission(slackfake.Submission{UserID: "U1", CallbackID: "sitrep.post_update",
		PrivateMetadata: views[0].PrivateMetadata, Values: values}, time.Now())
	raw, _ := json.Marshal(p)
	raw = []byte(strings.Replace(string(raw), `"type":"checkboxes"`, `"type":"checkboxes","selected_options":[{"text":{"type":"plain_text","text":"Also"},"value":"public"}]`, 1))
	submitted := svc.Now()
	if status, body := h.interact(json.RawMessage(raw)); status != http.StatusOK || len(strings.TrimSpace(string(body))) != 0 {
		t.Fatalf("submit: %d %s", status, body)
	}
	h.app.Wait()
	h.drain()
	nextLine := func(from time.Time, d time.Duration) string {
		return "Next update by " + from.Add(d).UTC().Format("15:04 MST") + "."
	}
	got := sp.Incidents()
	if len(got) != 1 || got[0].IncidentUpdates[0].Body != "Payments fail for some customers.\n\n"+nextLine(submitted, 30*time.Minute) {
		t.Fatalf("the form published %+v", got)
	}
	updates := eventsOf(h.timeline(inc.ID), bot.KindStatusUpdate)
	if len(updates) != 1 || updates[0].Text != "Payments fail for some customers." || updates[0].Data["next_update_by"] == nil {
		t.Fatalf("internal updates %+v", updates)
	}

	h.skew.Add(int64(2 * time.Second)) // past Statuspage's one request a second
	typed := svc.Now()
	if status, out := h.command("U1", inc.ChannelID, "update --public --next 30m A fix is rolling out."); status != http.StatusOK || strings.Contains(fmt.Sprint(out["text"]), "rror") {
		t.Fatalf("update --public --next: %d %v", status, out)
	}
	h.app.Wait()
	h.drain()
	got = sp.Incidents()
	if len(got) != 1 || got[0].IncidentUpdates[0].Body != "A fix is rolling out.\n\n"+nextLine(typed, 30*time.Minute) {
		t.Fatalf("the command published %+v; timeline %+v", got[0].IncidentUpdates, h.timeline(inc.ID))
	}
	updates = eventsOf(h.timeline(inc.ID), bot.KindStatusUpdate)
	if len(updates) != 2 || updates[1].Text != "A fix is rolling out." {
		t.Fatalf("internal updates %+v", updates)
	}
}

// TestSlackStatusPage_ResolveQuestionRedrawnWithChoice: the "resolve
// publicly?" question loses its buttons once someone chooses, and says who
// chose what; Keep it open publishes nothing, Resolve publicly resolves.
func TestSlackStatusPage_ResolveQuestionRedrawnWithChoice(t *testing.T) {
	for _, tc := range []struct {
		action, want string
		resolved     bool
	}{
		{bot.ActionKeepPublicOpen, "<@U2> chose to keep it open", false},
		{bot.ActionResolvePublicly, "<@U2> chose to resolve it publicly", true},
	} {
		t.Run(tc.action, func(t *testing.T) {
			h, sp := newStatusPageHarness(t)
			inc := h.declared("U1", "Checkout failing")
			if status, out := h.command("U1", inc.ChannelID, "statuspage Payments fail for some customers."); status != http.StatusOK {
				t.Fatalf("preview: %d %v", status, out)
			}
			h.app.Wait()
			if _, err := h.app.Service.(*bot.Service).HandleAction(t.Context(), bot.ActionInvocation{Actor: "U1", ActionID: bot.ActionPublishStatusPage,
				Value: fmt.Sprint(inc.ID), Input: map[string]string{"body": "Payments fail for some customers."}}); err != nil {
				t.Fatal(err)
			}
			h.drain()
			h.skew.Add(int64(2 * time.Second))
			h.command("U1", inc.ChannelID, "resolve")
			h.app.Wait()
			h.drain()
			var question slackfake.Message
			for _, m := range h.fake.Messages(inc.ChannelID) {
				if strings.Contains(m.Text, "Resolve it publicly") {
					question = m
				}
			}
			if question.TS == "" || !strings.Contains(string(question.Blocks), tc.action) {
				t.Fatalf("no question with buttons in the channel: %+v", question)
			}
			p := slackfake.BlockActions(slackfake.ButtonClick{UserID: "U2", ChannelID: inc.ChannelID, MessageTS: question.TS,
				ActionID: tc.action, BlockID: slackchat.BlockActions, Value: fmt.Sprint(inc.ID), TriggerID: "t"}, time.Now())
			if status, body := h.interact(p); status != http.StatusOK {
				t.Fatalf("click: %d %s", status, body)
			}
			h.app.Wait()
			h.drain()
			got, _ := h.fake.Message(inc.ChannelID, question.TS)
			if strings.Contains(string(got.Blocks), `"button"`) || !strings.Contains(got.Text, tc.want) {
				t.Errorf("the question after the choice: text %q blocks %s; want no buttons and %q", got.Text, got.Blocks, tc.want)
			}
			if resolved := sp.Incidents()[0].Status == "resolved"; resolved != tc.resolved {
				t.Errorf("public incident resolved %v, want %v", resolved, tc.resolved)
			}
		})
	}
}

// TestSlackStatusPage_UpdatePublicWithoutTextOpensTickedForm:
// "/incident update --public" without text opens the drafted update form
// with its publish box already ticked (and --next preset), posting nothing.
func TestSlackStatusPage_UpdatePublicWithoutTextOpensTickedForm(t *testing.T) {
	h, sp := newStatusPageHarness(t)
	inc := h.declared("U1", "Checkout failing")
	if status, out := h.command("U1", inc.ChannelID, "update --next 45m --public"); status != http.StatusOK || len(out) != 0 {
		t.Fatalf("update --public: %d %v (want an empty ack, then the form)", status, out)
	}
	h.app.Wait()
	h.drain()
	views := h.fake.Views()
	if len(views) != 1 || views[0].CallbackID != "sitrep.post_update" {
		t.Fatalf("views: %+v", views)
	}
	blocks := viewBlocks(t, views[0])
	if blocks["next"]["initial_value"] != "45m" || !strings.Contains(fmt.Sprint(blocks["also_publish"]["initial_options"]), "public") {
		t.Errorf("the form is not preset: next %v, publish box %v", blocks["next"]["initial_value"], blocks["also_publish"])
	}
	if n := len(eventsOf(h.timeline(inc.ID), bot.KindStatusUpdate)); n != 0 || len(sp.Calls()) != 0 {
		t.Errorf("opening the form posted %d updates and made %d status page calls", n, len(sp.Calls()))
	}
}
