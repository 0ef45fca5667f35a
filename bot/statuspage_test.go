package bot_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/spfake"
	"github.com/sitrep-io/sitrep/statuspage"
)

const (
	spKey  = "sp-key-0123456789"
	spPage = "pg1"
	spAPI  = "cmp-api"
	spWeb  = "cmp-web"
)

// spEnv is an env publishing to the fake Statuspage through the real
// adapter, both on the env's fake clock.
type spEnv struct {
	*env
	sp      *spfake.Server
	pages   *bot.StatusPages
	rebuilt int
}

func newSPEnv(t *testing.T) *spEnv {
	t.Helper()
	e := &spEnv{env: newEnv(t, bot.ServiceConfig{})}
	e.sp = spfake.New(spKey, spPage, map[string]string{spAPI: "API", spWeb: "Website"}, e.clock.Now)
	t.Cleanup(e.sp.Close)
	client := &statuspage.Client{APIKey: spKey, PageID: spPage, BaseURL: e.sp.BaseURL(), HTTP: e.sp.Client(), Now: e.clock.Now}
	e.pages = bot.NewStatusPages(bot.StatusPageConfig{Page: client,
		Components:  map[string]string{"api-gateway": spAPI, "website": spWeb},
		OnPublished: func(context.Context, int64) { e.rebuilt++ }})
	e.wire(e.pages)
	return e
}

// secretIncident opens an SEV2 incident on api-gateway whose internal
// record is full of things customers must never read.
func (e *spEnv) secretIncident() bot.Incident {
	e.t.Helper()
	out := e.alert(bot.Alert{Title: "db-primary-07 pool exhausted (INTERNAL-TITLE)", Severity: bot.SEV2, Firing: true, DedupKey: "k1",
		Labels: map[string]string{"service": "api-gateway", "host": "db-primary-07.internal"}})
	inc := out.Incident
	e.drain()
	if _, err := e.svc.AssignRole(e.ctx(), "U1", inc.ID, bot.RoleCommander, "U0SECRET"); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.svc.AddNote(e.ctx(), "U1", inc.ID, "NOTE-SECRET ssh root@10.2.3.4 and restart pgbouncer"); err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.svc.PostUpdate(e.ctx(), "U1", inc.ID, "INTERNAL-UPDATE Ana is rebooting db-primary-07"); err != nil {
		e.t.Fatal(err)
	}
	e.drain()
	return e.incident(inc.ID)
}

func (e *spEnv) exec(inc bot.Incident, text string) (bot.Reply, error) {
	return e.svc.Execute(e.ctx(), bot.Invocation{Actor: "U1", ChannelID: inc.ChannelID, Text: text})
}

func (e *spEnv) mustExec(inc bot.Incident, text string) bot.Reply {
	e.t.Helper()
	r, err := e.exec(inc, text)
	if err != nil {
		e.t.Fatalf("/incident %s: %v", text, err)
	}
	return r
}

func eventsOf(evs []bot.Event, k bot.EventKind) []bot.Event {
	var out []bot.Event
	for _, ev := range evs {
		if ev.Kind == k {
			out = append(out, ev)
		}
	}
	return out
}

// TestStatusPagePreviewPublishesExactlyWhatWasShown: a preview publishes
// nothing; Publish sends exactly the previewed title, text, status and
// components (SEV2: partial outage of the service's component), once.
func TestStatusPagePreviewPublishesExactlyWhatWasShown(t *testing.T) {
	e := newSPEnv(t)
	inc := e.secretIncident()

	reply := e.mustExec(inc, "statuspage Some customers see errors on API requests. We are working on it.")
	e.drain()
	if n := len(e.sp.Incidents()); n != 0 {
		t.Fatalf("a preview published %d incidents; want none before Publish", n)
	}
	if reply.Message == nil || len(reply.Message.Actions) != 2 || reply.Message.Actions[0].ID != bot.ActionPublishStatusPage {
		t.Fatalf("preview reply has no Publish/Cancel buttons: %+v", reply.Message)
	}
	for _, want := range []string{"Partial outage of api-gateway", "Status: Investigating", "Component api-gateway: Partial outage", "Some customers see errors"} {
		if !strings.Contains(reply.Message.Text, want) {
			t.Errorf("preview lacks %q:\n%s", want, reply.Message.Text)
		}
	}
	publish := reply.Message.Actions[0]
	if _, err := e.svc.HandleAction(e.ctx(), bot.ActionInvocation{Actor: "U2", ActionID: publish.ID, Value: publish.Value}); err != nil {
		t.Fatalf("Publish: %v", err)
	}
	if _, err := e.svc.HandleAction(e.ctx(), bot.ActionInvocation{Actor: "U2", ActionID: publish.ID, Value: publish.Value}); bot.ErrorCode(err) != bot.ECONFLICT {
		t.Errorf("second Publish of the same preview: err %v, want ECONFLICT", err)
	}
	e.drain()
	got := e.sp.Incidents()
	if len(got) != 1 {
		t.Fatalf("status page has %d incidents, want 1", len(got))
	}
	sp := got[0]
	if sp.Name != "Partial outage of api-gateway" || sp.Status != "investigating" || sp.IncidentUpdates[0].Body != "Some customers see errors on API requests. We are working on it." {
		t.Errorf("published %q %s %q", sp.Name, sp.Status, sp.IncidentUpdates[0].Body)
	}
	if st := e.sp.ComponentStatus(spAPI); st != "partial_outage" {
		t.Errorf("component status %s, want partial_outage", st)
	}
	evs := e.timeline(inc.ID)
	pub := eventsOf(evs, bot.KindPublicPublished)
	if len(pub) != 1 || pub[0].Data["ref"] != sp.ID {
		t.Errorf("published events %+v, want one with ref %s", pub, sp.ID)
	}
	if !slicesContain(e.chat.Posts(inc.ChannelID), "Published to Atlassian Statuspage") {
		t.Errorf("the channel was not told of the publication: %q", e.chat.Posts(inc.ChannelID))
	}
}

func slicesContain(ss []string, sub string) bool {
	for _, s := range ss {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// TestStatusPageNothingInternalLeaks is the guard: the internal title,
// notes, internal updates, people and labels never reach the status page
// on any path (the form's draft, a preview, update --public, resolve),
// unless a person typed them into the public text.
func TestStatusPageNothingInternalLeaks(t *testing.T) {
	e := newSPEnv(t)
	inc := e.secretIncident()
	secrets := []string{"INTERNAL-TITLE", "db-primary-07", "NOTE-SECRET", "10.2.3.4", "INTERNAL-UPDATE", "Ana", "U0SECRET", "U1", "INC-", "pgbouncer"}

	_, draft, err := e.pages.PublicDraft(e.ctx(), inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	form := bot.ActionInvocation{Actor: "U1", ActionID: bot.ActionPublishStatusPage, Value: fmt.Sprint(inc.ID),
		Input: map[string]string{"title": draft.Title, "body": "We are investigating elevated errors.", "status": "investigating", "components": "api-gateway"}}
	if _, err := e.svc.HandleAction(e.ctx(), form); err != nil {
		t.Fatal(err)
	}
	e.drain()
	e.clock.Advance(2 * time.Second)
	e.mustExec(inc, "update --public A fix is being rolled out.")
	e.drain()
	e.clock.Advance(2 * time.Second)
	e.mustExec(inc, "statuspage resolve")
	e.drain()

	calls := e.sp.Calls()
	if len(calls) != 3 {
		t.Fatalf("status page got %d calls, want 3", len(calls))
	}
	for _, c := range calls {
		for _, s := range secrets {
			if strings.Contains(string(c.Body), s) {
				t.Errorf("%s %s carries internal %q: %s", c.Method, c.Path, s, c.Body)
			}
		}
	}
	for _, s := range secrets {
		if strings.Contains(draft.Title+draft.Body, s) {
			t.Errorf("the draft carries internal %q: %+v", s, draft)
		}
	}
	// What a person types is theirs to publish.
	e.clock.Advance(2 * time.Second)
	e.mustExec(inc, "update --public db-primary-07 was replaced.")
	e.drain()
	last := e.sp.Calls()[len(e.sp.Calls())-1]
	if !strings.Contains(string(last.Body), "db-primary-07 was replaced.") {
		t.Errorf("the typed public text did not reach the page: %s", last.Body)
	}
}

// TestStatusPageLifecycleAndResolve: updates go to the same public
// incident; resolving sets components operational; a later publication
// opens a new public incident.
func TestStatusPageLifecycleAndResolve(t *testing.T) {
	e := newSPEnv(t)
	inc := e.secretIncident()
	e.mustExec(inc, "update --public Investigating errors.")
	e.drain()
	e.clock.Advance(2 * time.Second)
	if _, err := e.svc.SetStatus(e.ctx(), "U1", inc.ID, bot.StatusMonitoring, ""); err != nil {
		t.Fatal(err)
	}
	e.mustExec(inc, "update --public A fix is deployed; we are monitoring.")
	e.drain()
	e.clock.Advance(2 * time.Second)
	e.mustExec(inc, "statuspage resolve All requests succeed again.")
	e.drain()
	got := e.sp.Incidents()
	if len(got) != 1 {
		t.Fatalf("%d public incidents, want 1", len(got))
	}
	if got[0].Status != "resolved" || len(got[0].IncidentUpdates) != 3 || got[0].IncidentUpdates[1].Status != "monitoring" {
		t.Errorf("public incident %s with updates %+v", got[0].Status, got[0].IncidentUpdates)
	}
	if st := e.sp.ComponentStatus(spAPI); st != "operational" {
		t.Errorf("component %s after resolve, want operational", st)
	}
	if _, err := e.exec(inc, "statuspage resolve"); bot.ErrorCode(err) != bot.EINVALID {
		t.Errorf("resolving a resolved public incident: %v, want EINVALID", err)
	}
	e.clock.Advance(2 * time.Second)
	e.mustExec(inc, "update --public It is back.")
	e.drain()
	if n := len(e.sp.Incidents()); n != 2 {
		t.Errorf("a publication after the public resolve made %d public incidents, want 2", n)
	}
}

// TestStatusPageRefusalsAndPromptAreChecked: bad input is refused before
// anything is recorded or posted.
func TestStatusPageRefusalsAndPromptAreChecked(t *testing.T) {
	e := newSPEnv(t)
	inc := e.secretIncident()
	_, draft, err := e.pages.PublicDraft(e.ctx(), inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(draft.Body, bot.PublicPrompt) {
		t.Errorf("the draft leaves no prompt to fill: %q", draft.Body)
	}
	before := len(e.timeline(inc.ID))
	for name, in := range map[string]map[string]string{
		"prompt left":       {"body": draft.Body},
		"empty text":        {"body": ""},
		"triggered":         {"body": "x", "status": "triggered"},
		"unknown component": {"body": "x", "components": "database"},
		"bad comp status":   {"body": "x", "component_status": "on_fire"},
	} {
		_, err := e.svc.HandleAction(e.ctx(), bot.ActionInvocation{Actor: "U1", ActionID: bot.ActionPublishStatusPage, Value: fmt.Sprint(inc.ID), Input: in})
		if bot.ErrorCode(err) != bot.EINVALID {
			t.Errorf("%s: err %v, want EINVALID", name, err)
		}
	}
	posts := len(e.chat.Posts(inc.ChannelID))
	if _, err := e.exec(inc, "update --public"); err == nil {
		t.Error("update --public without text was accepted")
	}
	e.drain()
	if n := len(e.timeline(inc.ID)); n != before {
		t.Errorf("refused publications left %d events", n-before)
	}
	if n := len(e.chat.Posts(inc.ChannelID)); n != posts {
		t.Errorf("a refused update --public posted %d messages", n-posts)
	}
}

// TestStatusPageRateLimitAndOutageDelayNeverLose: 420 and 5xx are waited
// out (the channel told once that it is late), and the publication lands.
func TestStatusPageRateLimitAndOutageDelayNeverLose(t *testing.T) {
	e := newSPEnv(t)
	inc := e.secretIncident()
	e.mustExec(inc, "update --public First.")
	e.mustExec(inc, "update --public Second.")
	e.drain() // the first lands; the second meets the limit (same second)
	if n := len(e.sp.Incidents()); n != 1 {
		t.Fatalf("%d incidents", n)
	}
	if got := e.sp.Incidents()[0].IncidentUpdates; len(got) != 1 {
		t.Fatalf("the second update went through within the rate limit: %+v", got)
	}
	limited := 0
	for _, c := range e.sp.Calls() {
		if c.Status == 420 {
			limited++
		}
	}
	if limited != 1 {
		t.Errorf("%d requests got 420, want 1", limited)
	}
	e.sp.Arm(spfake.RouteUpdate, spfake.Fault{Status: 503, Body: "maintenance"}, 2)
	for range 5 {
		e.clock.Advance(15 * time.Second)
		e.drain()
	}
	ups := e.sp.Incidents()[0].IncidentUpdates
	if len(ups) != 2 || ups[0].Body != "Second." {
		t.Fatalf("after the outage the page has %+v; want the second update", ups)
	}
	evs := e.timeline(inc.ID)
	if n := len(eventsOf(evs, bot.KindPublicDelayed)); n != 1 {
		t.Errorf("%d delayed events, want 1 (told once)", n)
	}
	if n := len(eventsOf(evs, bot.KindPublicPublished)); n != 2 {
		t.Errorf("%d published events, want 2", n)
	}
	if !slicesContain(e.chat.Posts(inc.ChannelID), "is late") {
		t.Errorf("the channel was not told the update is late: %q", e.chat.Posts(inc.ChannelID))
	}
}

// TestStatusPageRefusedIsToldWithReason: 401, 404 and 422 fail the
// publication for good, with Statuspage's reason on the timeline and in
// the channel.
func TestStatusPageRefusedIsToldWithReason(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   string
	}{
		{401, "STATUSPAGE_API_KEY"},
		{404, "STATUSPAGE_PAGE_ID"},
		{422, "Status is not valid"},
	} {
		t.Run(fmt.Sprint(tc.status), func(t *testing.T) {
			e := newSPEnv(t)
			inc := e.secretIncident()
			e.sp.Arm(spfake.RouteCreate, spfake.Fault{Status: tc.status, Body: "Status is not valid"}, 1)
			e.mustExec(inc, "update --public Errors.")
			e.drain()
			e.clock.Advance(time.Minute)
			e.drain()
			if n := len(e.sp.Incidents()); n != 0 {
				t.Fatalf("a refused publication was retried into %d incidents", n)
			}
			ref := eventsOf(e.timeline(inc.ID), bot.KindPublicRefused)
			if len(ref) != 1 || !strings.Contains(ref[0].Text, tc.want) {
				t.Fatalf("refused events %+v, want one naming %q", ref, tc.want)
			}
			// What the postmortem lists the refusal with.
			if d := ref[0].Data; d["body"] != "Errors." || d["title"] != "Partial outage of api-gateway" || d["page"] != "Atlassian Statuspage" {
				t.Errorf("the refusal does not record what was refused: %v", d)
			}
			if !slicesContain(e.chat.Posts(inc.ChannelID), tc.want) {
				t.Errorf("the channel was not told why: %q", e.chat.Posts(inc.ChannelID))
			}
			if n := len(e.deliveries(bot.DeliveryFailed)); n != 1 {
				t.Errorf("%d failed deliveries, want 1", n)
			}
		})
	}
}

// TestStatusPageResolvingAsksNeverSilently: resolving the incident while
// its public incident is open asks in the channel with buttons and
// publishes nothing until someone clicks.
func TestStatusPageResolvingAsksNeverSilently(t *testing.T) {
	e := newSPEnv(t)
	inc := e.secretIncident()
	e.mustExec(inc, "update --public Errors.")
	e.drain()
	calls := len(e.sp.Calls())
	if _, err := e.svc.Resolve(e.ctx(), "U1", inc.ID, "pool resized"); err != nil {
		t.Fatal(err)
	}
	e.drain()
	if n := len(e.sp.Calls()); n != calls {
		t.Fatalf("resolving the incident called the status page %d times", n-calls)
	}
	var asked bool
	for _, c := range e.chat.In(inc.ChannelID) {
		if c.Method == "post" && strings.Contains(c.Text, "Resolve it publicly") {
			asked = true
		}
	}
	if !asked {
		t.Fatalf("no question in the channel: %q", e.chat.Posts(inc.ChannelID))
	}
	e.clock.Advance(2 * time.Second)
	if _, err := e.svc.HandleAction(e.ctx(), bot.ActionInvocation{Actor: "U1", ActionID: bot.ActionResolvePublicly, Value: fmt.Sprint(inc.ID)}); err != nil {
		t.Fatal(err)
	}
	e.drain()
	if st := e.sp.Incidents()[0].Status; st != "resolved" {
		t.Errorf("public status %s after Resolve publicly", st)
	}
	// No public incident: resolving asks nothing.
	other := e.alert(bot.Alert{Title: "other", Firing: true, DedupKey: "k2"}).Incident
	e.drain()
	other = e.incident(other.ID)
	if _, err := e.svc.Resolve(e.ctx(), "U1", other.ID, ""); err != nil {
		t.Fatal(err)
	}
	e.drain()
	if slicesContain(e.chat.Posts(other.ChannelID), "Resolve it publicly") {
		t.Error("asked about a public incident that does not exist")
	}
}

// TestStatusPageCardButton: the card of an open incident has Publish to
// status page, before Resolve.
func TestStatusPageCardButton(t *testing.T) {
	e := newSPEnv(t)
	inc := e.secretIncident()
	msg := e.svc.Card(inc)
	var ids []string
	for _, a := range msg.Actions {
		ids = append(ids, a.ID)
	}
	joined := strings.Join(ids, " ")
	if !strings.Contains(joined, bot.ActionOpenStatusPage+" "+bot.ActionResolve) {
		t.Errorf("card actions %s: want %s before %s", joined, bot.ActionOpenStatusPage, bot.ActionResolve)
	}
}

// TestStatusPageConsolePreview: the console's preview names the commands
// that publish or cancel it; a cancelled preview cannot be published, and
// /incident statuspage without text prints the draft.
func TestStatusPageConsolePreview(t *testing.T) {
	e := newSPEnv(t)
	inc := e.secretIncident()
	console := func(text string) (bot.Reply, error) {
		return e.svc.Execute(e.ctx(), bot.Invocation{Actor: "ana", IncidentID: inc.ID, Text: text})
	}
	draft, err := console("statuspage")
	if err != nil || !strings.Contains(draft.Text, bot.PublicPrompt) || strings.Contains(draft.Text, "INTERNAL-TITLE") {
		t.Fatalf("draft: %q %v", draft.Text, err)
	}
	first, err := console("statuspage First text.")
	if err != nil {
		t.Fatal(err)
	}
	second, err := console("statuspage Second text.")
	if err != nil {
		t.Fatal(err)
	}
	n1, n2 := proposalNumber(t, first.Text), proposalNumber(t, second.Text)
	if _, err := console("statuspage cancel " + n1); err != nil {
		t.Fatal(err)
	}
	if _, err := console("statuspage publish " + n1); bot.ErrorCode(err) != bot.ECONFLICT {
		t.Errorf("publishing a cancelled preview: %v, want ECONFLICT", err)
	}
	if _, err := console("statuspage publish 999999"); bot.ErrorCode(err) != bot.ENOTFOUND {
		t.Errorf("publishing an unknown preview: %v, want ENOTFOUND", err)
	}
	if _, err := console("statuspage publish " + n2); err != nil {
		t.Fatal(err)
	}
	e.drain()
	got := e.sp.Incidents()
	if len(got) != 1 || got[0].IncidentUpdates[0].Body != "Second text." {
		t.Fatalf("published %+v, want only the second preview", got)
	}
}

// proposalNumber reads n from a preview's "statuspage publish <n>".
func proposalNumber(t *testing.T, text string) string {
	t.Helper()
	_, rest, ok := strings.Cut(text, "/incident statuspage publish ")
	if !ok {
		t.Fatalf("no publish command in %q", text)
	}
	return strings.Fields(rest)[0]
}

// TestStatusPageSustainedRateLimitIsToldOnce: a rate limit that lasts over
// a minute makes the publication late, and the channel is told once.
func TestStatusPageSustainedRateLimitIsToldOnce(t *testing.T) {
	e := newSPEnv(t)
	inc := e.secretIncident()
	e.sp.Arm(spfake.RouteCreate, spfake.Fault{Status: 420, Body: "Rate limit", RetryAfter: "5"}, 30)
	e.mustExec(inc, "update --public Errors.")
	for range 20 {
		e.drain()
		e.clock.Advance(6 * time.Second)
	}
	if n := len(e.sp.Incidents()); n != 0 {
		t.Fatalf("published through a rate limit: %d", n)
	}
	if n := len(eventsOf(e.timeline(inc.ID), bot.KindPublicDelayed)); n != 1 {
		t.Fatalf("%d delayed events after two minutes of 420, want 1", n)
	}
	e.sp.Arm(spfake.RouteCreate, spfake.Fault{}, 0)
	for range 15 {
		e.drain()
		e.clock.Advance(6 * time.Second)
	}
	if n := len(e.sp.Incidents()); n != 1 {
		t.Errorf("not published once the limit lifted: %d", n)
	}
}

// TestStatusPageRefusedCreateLeavesNothingOpen: after a refused first
// publication there is no public incident: resolving asks nothing, and
// "statuspage resolve" is refused rather than creating a resolved one.
func TestStatusPageRefusedCreateLeavesNothingOpen(t *testing.T) {
	e := newSPEnv(t)
	inc := e.secretIncident()
	e.sp.Arm(spfake.RouteCreate, spfake.Fault{Status: 401, Body: "Could not authenticate"}, 1)
	e.mustExec(inc, "update --public Errors.")
	e.drain()
	if _, err := e.exec(inc, "statuspage resolve"); bot.ErrorCode(err) != bot.EINVALID {
		t.Errorf("resolving a public incident that was never created: %v, want EINVALID", err)
	}
	if _, err := e.svc.Resolve(e.ctx(), "U1", inc.ID, ""); err != nil {
		t.Fatal(err)
	}
	e.drain()
	if slicesContain(e.chat.Posts(inc.ChannelID), "Resolve it publicly") {
		t.Error("asked to resolve a public incident that does not exist")
	}
	if n := len(e.sp.Incidents()); n != 0 {
		t.Errorf("%d public incidents", n)
	}
}

func TestPublicText(t *testing.T) {
	for in, want := range map[string]string{
		"  Stores fail  ":                            "Stores fail",
		"cc <@U123|ana> and <!here>":                 "cc @ana and @here",
		"see <https://status.example.com|our page>":  "see our page (https://status.example.com)",
		"see <https://status.example.com>":           "see https://status.example.com",
		"a &lt;b&gt; tag &amp; more":                 "a <b> tag & more",
		"&lt;!channel&gt; typed literally":           "<!channel> typed literally",
		"<script>alert(1)</script> from the console": "<script>alert(1)</script> from the console",
	} {
		if got := bot.PublicText(in); got != want {
			t.Errorf("PublicText(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestStatusPageUncertainCreateIsNotRepeated: a first publication whose
// attempt was in flight when sitrep died (the page created the incident,
// sitrep never heard) finds that incident instead of opening a second.
func TestStatusPageUncertainCreateIsNotRepeated(t *testing.T) {
	e := newSPEnv(t)
	inc := e.secretIncident()
	e.mustExec(inc, "update --public Errors.")
	var d bot.Delivery
	for _, p := range e.deliveries(bot.DeliveryPending) {
		if p.Op == bot.OpPublishStatusPage {
			d = p
		}
	}
	if d.ID == 0 {
		t.Fatal("no publication queued")
	}
	// The attempt before the crash: the dispatcher claimed the entry and
	// the page took it; sitrep died before recording the outcome.
	if _, err := e.db.ClaimDeliveries(e.ctx(), e.clock.Now(), 100); err != nil {
		t.Fatal(err)
	}
	client := &statuspage.Client{APIKey: spKey, PageID: spPage, BaseURL: e.sp.BaseURL(), HTTP: e.sp.Client()}
	_, draft, _ := e.pages.PublicDraft(e.ctx(), inc.ID)
	ref, err := client.CreateIncident(e.ctx(), bot.PublicUpdate{Title: draft.Title, Body: "Errors.", Status: bot.StatusInvestigating})
	if err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(2 * time.Second)
	if n, err := e.db.RecoverDeliveries(e.ctx()); err != nil || n == 0 { // as at the next start
		t.Fatalf("RecoverDeliveries = %d, %v; want the publication back", n, err)
	}
	e.drain()
	if n := len(e.sp.Incidents()); n != 1 {
		t.Fatalf("%d public incidents after the retry, want 1", n)
	}
	pub := eventsOf(e.timeline(inc.ID), bot.KindPublicPublished)
	if len(pub) != 1 || pub[0].Data["ref"] != ref {
		t.Fatalf("published events %+v, want one with ref %s", pub, ref)
	}
}

// TestStatusPageUpdatePublicWithNext: "update --public --next 30m <text>"
// (flags in any order, and the update form with its box ticked) posts the
// text internally with its next-update time and publishes the same text,
// stating the same time, without the flags; with no --next the public
// update states the severity's default. A repeat is neither posted nor
// published.
func TestStatusPageUpdatePublicWithNext(t *testing.T) {
	e := newSPEnv(t)
	remindersOn(e.env, testReminderConfig())
	inc := e.secretIncident()
	start := e.clock.Now()
	lastBody := func() string {
		t.Helper()
		got := e.sp.Incidents()
		if len(got) != 1 {
			t.Fatalf("status page has %d incidents, want 1", len(got))
		}
		return got[0].IncidentUpdates[0].Body
	}
	lastInternal := func() bot.Event {
		evs := eventsOf(e.timeline(inc.ID), bot.KindStatusUpdate)
		return evs[len(evs)-1]
	}

	e.mustExec(inc, "update --public --next 30m Payments are recovering.")
	e.drain()
	want30 := start.Add(30 * time.Minute).UTC().Format("15:04 MST")
	if got := lastInternal(); got.Text != "Payments are recovering." || got.Data["next_update_by"] != start.Add(30*time.Minute).UTC().Format(time.RFC3339) {
		t.Errorf("internal update %q next %v", got.Text, got.Data["next_update_by"])
	}
	if got := lastBody(); got != "Payments are recovering.\n\nNext update by "+want30+"." {
		t.Errorf("public body %q, want the text and the next update by %s", got, want30)
	}

	e.clock.Advance(2 * time.Second)
	e.mustExec(inc, "update --next 45m --public Still recovering.")
	e.drain()
	if got := lastBody(); !strings.HasPrefix(got, "Still recovering.\n\nNext update by "+e.clock.Now().Add(45*time.Minute).UTC().Format("15:04 MST")) {
		t.Errorf("flags in another order: public body %q", got)
	}

	e.clock.Advance(2 * time.Second)
	every := e.svc.NextUpdateDefault(inc.Severity)
	e.mustExec(inc, "update --public Fix deployed.")
	e.drain()
	if got, want := lastBody(), "Fix deployed.\n\nNext update by "+e.clock.Now().Add(every).UTC().Format("15:04 MST")+"."; got != want {
		t.Errorf("default next: public body %q, want %q", got, want)
	}

	// The form with its box ticked and a next time.
	e.clock.Advance(2 * time.Second)
	if _, err := e.svc.HandleAction(e.ctx(), bot.ActionInvocation{Actor: "U1", ChannelID: inc.ChannelID, ActionID: bot.ActionPostUpdate,
		Value: fmt.Sprint(inc.ID), Input: map[string]string{"text": "Monitoring.", "next": "20m", "public": "true"}}); err != nil {
		t.Fatal(err)
	}
	e.drain()
	if got, want := lastBody(), "Monitoring.\n\nNext update by "+e.clock.Now().Add(20*time.Minute).UTC().Format("15:04 MST")+"."; got != want {
		t.Errorf("form: public body %q, want %q", got, want)
	}

	// A repeat: nothing posted, nothing published.
	calls, updates := len(e.sp.Calls()), len(eventsOf(e.timeline(inc.ID), bot.KindStatusUpdate))
	e.clock.Advance(2 * time.Second)
	reply := e.mustExec(inc, "update --public monitoring")
	e.drain()
	if len(e.sp.Calls()) != calls || len(eventsOf(e.timeline(inc.ID), bot.KindStatusUpdate)) != updates {
		t.Errorf("a repeated public update was posted or published")
	}
	if !strings.Contains(reply.Text, "Nothing was published") {
		t.Errorf("the repeat's reply does not say nothing was published: %q", reply.Text)
	}
}

// TestStatusPageFormStatesNextUpdate: the publish form's optional "next
// update by" ends the public text with it; a time in the past is refused,
// naming the field, before anything is published.
func TestStatusPageFormStatesNextUpdate(t *testing.T) {
	e := newSPEnv(t)
	inc := e.secretIncident()
	form := func(next string) error {
		_, err := e.svc.HandleAction(e.ctx(), bot.ActionInvocation{Actor: "U1", ActionID: bot.ActionPublishStatusPage, Value: fmt.Sprint(inc.ID),
			Input: map[string]string{"body": "Some requests fail.", "next": next}})
		return err
	}
	if err := form("-5m"); bot.ErrorCode(err) != bot.EINVALID || !strings.Contains(bot.ErrorMessage(err), "-5m") {
		t.Errorf("a next update in the past: %v, want EINVALID naming it", err)
	}
	e.drain()
	if n := len(e.sp.Calls()); n != 0 {
		t.Fatalf("a refused form reached the page (%d calls)", n)
	}
	if err := form("45m"); err != nil {
		t.Fatal(err)
	}
	e.drain()
	want := "Some requests fail.\n\nNext update by " + e.clock.Now().Add(45*time.Minute).UTC().Format("15:04 MST") + "."
	if got := e.sp.Incidents(); len(got) != 1 || got[0].IncidentUpdates[0].Body != want {
		t.Fatalf("published %+v, want body %q", got, want)
	}
}
