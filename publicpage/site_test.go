package publicpage_test

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/statuspagetest"
	"github.com/sitrep-io/sitrep/internal/testclock"
	"github.com/sitrep-io/sitrep/publicpage"
	"github.com/sitrep-io/sitrep/store"
)

// nopChat takes every chat call: these tests look at the status page only.
type nopChat struct{}

func (nopChat) CreateChannel(_ context.Context, s bot.ChannelSpec) (bot.ChannelRef, error) {
	return bot.ChannelRef{ID: "C" + s.Name, Name: s.Name}, nil
}
func (nopChat) Post(context.Context, string, bot.Message) (bot.MessageRef, error) {
	return bot.MessageRef{TS: "1.1"}, nil
}
func (nopChat) Update(context.Context, bot.MessageRef, bot.Message) error { return nil }
func (nopChat) SetTopic(context.Context, string, string) error            { return nil }
func (nopChat) Invite(context.Context, string, []string) error            { return nil }
func (nopChat) Pin(context.Context, bot.MessageRef) error                 { return nil }
func (nopChat) Archive(context.Context, string) error                     { return nil }
func (nopChat) Upload(context.Context, string, bot.File) (bot.MessageRef, error) {
	return bot.MessageRef{TS: "1.2"}, nil
}

// pageEnv is a service publishing to the built-in page, over SQLite.
type pageEnv struct {
	t     testing.TB
	clock *testclock.Clock
	svc   *bot.Service
	disp  *bot.Dispatcher
	site  *publicpage.Site
	srv   *httptest.Server
}

var components = map[string]string{"api-gateway": "api-gateway", "checkout": "checkout", "website": "website"}

func newPageEnv(t testing.TB) *pageEnv {
	t.Helper()
	db, err := store.Open(t.Context(), filepath.Join(t.TempDir(), "sitrep.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	e := &pageEnv{t: t, clock: testclock.New(time.Date(2026, 3, 4, 1, 2, 0, 0, time.UTC))}
	e.svc = bot.NewService(db, bot.ServiceConfig{Now: e.clock.Now})
	e.disp = bot.NewDispatcher(db, bot.DispatcherOptions{Now: e.clock.Now})
	e.site = publicpage.New(e.svc, publicpage.Config{Title: "Olla status", Components: components, Now: e.clock.Now})
	pages := bot.NewStatusPages(bot.StatusPageConfig{Page: publicpage.Local{}, Components: components, OnPublished: e.site.OnPublished})
	if err := bot.Wire(e.svc, e.disp, bot.ChatOps(nopChat{}), pages); err != nil {
		t.Fatal(err)
	}
	e.srv = httptest.NewServer(e.site.Handler())
	t.Cleanup(e.srv.Close)
	return e
}

func (e *pageEnv) drain() {
	e.t.Helper()
	if err := e.disp.Drain(e.t.Context()); err != nil {
		e.t.Fatal(err)
	}
}

// incident opens an incident on service with an internal record that must
// stay internal.
func (e *pageEnv) incident(service string, sev bot.Severity) bot.Incident {
	e.t.Helper()
	out, err := e.svc.IngestAlert(e.t.Context(), bot.Alert{Source: "webhook", DedupKey: service, Title: "INTERNAL " + service + " pool exhausted",
		Severity: sev, Firing: true, Labels: map[string]string{"service": service}})
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.svc.AddNote(e.t.Context(), "U1", out.Incident.ID, "NOTE-SECRET restart db-07"); err != nil {
		e.t.Fatal(err)
	}
	e.drain()
	return out.Incident
}

func (e *pageEnv) exec(inc bot.Incident, text string) {
	e.t.Helper()
	if _, err := e.svc.Execute(e.t.Context(), bot.Invocation{Actor: "U1", IncidentID: inc.ID, Text: text}); err != nil {
		e.t.Fatalf("/incident %s: %v", text, err)
	}
	e.drain()
	e.clock.Advance(time.Minute)
}

func (e *pageEnv) publish(inc bot.Incident, title, body string) {
	e.t.Helper()
	_, err := e.svc.HandleAction(e.t.Context(), bot.ActionInvocation{Actor: "U1", ActionID: bot.ActionPublishStatusPage,
		Value: jsonID(inc.ID), Input: map[string]string{"title": title, "body": body}})
	if err != nil {
		e.t.Fatal(err)
	}
	e.drain()
	e.clock.Advance(time.Minute)
}

func jsonID(id int64) string { raw, _ := json.Marshal(id); return string(raw) }

func (e *pageEnv) get(path string) (int, http.Header, string) {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + path)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}

const hostileTitle = `<script>alert("pwned")</script> API & checkout`

// seed publishes an open SEV1 incident with a hostile title and two
// updates, and a resolved SEV3 one.
func (e *pageEnv) seed() {
	api := e.incident("api-gateway", bot.SEV1)
	e.publish(api, hostileTitle, "Some stores cannot be reached. <img src=x onerror=alert(1)>")
	e.exec(api, "update --public We found the cause and are fixing it.")
	web := e.incident("website", bot.SEV3)
	e.publish(web, "Slow website", "Pages load slowly.")
	e.exec(web, "statuspage resolve Pages load normally again.")
}

func TestSiteServesOnlyWhatWasPublished(t *testing.T) {
	e := newPageEnv(t)
	e.seed()

	status, h, body := e.get("/")
	if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /: %d %s", status, h.Get("Content-Type"))
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "<img") {
		t.Errorf("the page carries markup from a title or text:\n%s", body)
	}
	for _, want := range []string{"&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt; API &amp; checkout", "Major outage",
		"We found the cause and are fixing it.", "Slow website", "Pages load normally again.", "Past incidents (90 days)"} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, secret := range []string{"INTERNAL", "NOTE-SECRET", "db-07", "U1", "INC-"} {
		if strings.Contains(body, secret) {
			t.Errorf("the page shows internal %q", secret)
		}
	}
	// Newest update first.
	if i, j := strings.Index(body, "We found the cause"), strings.Index(body, "Some stores cannot"); i < 0 || j < 0 || i > j {
		t.Errorf("updates not newest first (%d, %d)", i, j)
	}
	if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("no script-forbidding CSP: %q", h.Get("Content-Security-Policy"))
	}

	_, _, raw := e.get("/index.json")
	var snap publicpage.Snapshot
	if err := json.Unmarshal([]byte(raw), &snap); err != nil {
		t.Fatalf("index.json: %v\n%s", err, raw)
	}
	if len(snap.Open) != 1 || snap.Open[0].Title != hostileTitle || len(snap.Open[0].Updates) != 2 || len(snap.Past) != 1 {
		t.Fatalf("index.json: %+v", snap)
	}
	got := map[string]string{}
	for _, c := range snap.Components {
		got[c.Name] = c.Status
	}
	if got["api-gateway"] != "major_outage" || got["website"] != "operational" || got["checkout"] != "operational" {
		t.Errorf("components %v", got)
	}

	_, h, atom := e.get("/feed.atom")
	var feed struct {
		XMLName xml.Name
		Entries []struct {
			Title   string `xml:"title"`
			ID      string `xml:"id"`
			Content string `xml:"content"`
		} `xml:"entry"`
	}
	if err := xml.Unmarshal([]byte(atom), &feed); err != nil || feed.XMLName.Space != "http://www.w3.org/2005/Atom" {
		t.Fatalf("feed.atom (%s): %v %+v", h.Get("Content-Type"), err, feed.XMLName)
	}
	if len(feed.Entries) != 4 || feed.Entries[0].Content != "Pages load normally again." {
		t.Errorf("feed entries %+v", feed.Entries)
	}

	for _, path := range []string{"/slack/commands", "/slack/interactions", "/webhooks/alert", "/webhooks/pagerduty", "/healthz", "/metrics", "/index.html", "/../sitrep.db"} {
		if status, _, _ := e.get(path); status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", path, status)
		}
	}
	resp, err := http.Post(e.srv.URL+"/", "application/json", strings.NewReader("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		t.Errorf("POST / answered %d", resp.StatusCode)
	}
}

func TestSiteRebuildsOnPublicationAndKeeps90Days(t *testing.T) {
	e := newPageEnv(t)
	if err := e.site.Rebuild(t.Context()); err != nil {
		t.Fatal(err)
	}
	_, _, body := e.get("/")
	if !strings.Contains(body, "All systems operational") || !strings.Contains(body, "No incidents in progress.") {
		t.Fatalf("empty page:\n%s", body)
	}
	inc := e.incident("checkout", bot.SEV2)
	_, _, body = e.get("/")
	if strings.Contains(body, "Partial outage") {
		t.Fatal("an incident nobody published shows on the page")
	}
	e.publish(inc, "Checkout errors", "Some payments fail.")
	if _, _, body = e.get("/"); !strings.Contains(body, "Checkout errors") || !strings.Contains(body, "Partial outage") {
		t.Fatalf("the page was not rebuilt on publication:\n%s", body)
	}
	e.exec(inc, "statuspage resolve")
	e.exec(inc, "resolve")
	if _, _, body = e.get("/"); !strings.Contains(body, "No incidents in progress.") || !strings.Contains(body, "Checkout errors") {
		t.Fatalf("resolved incident not among the past ones:\n%s", body)
	}
	// A restart: a new site rebuilds the page from the store.
	restarted := publicpage.New(e.svc, publicpage.Config{Components: components, Now: e.clock.Now})
	if err := restarted.Rebuild(t.Context()); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	restarted.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if !strings.Contains(rec.Body.String(), "Checkout errors") {
		t.Errorf("after a restart the page lost what was published:\n%s", rec.Body.String())
	}
	e.clock.Advance(91 * 24 * time.Hour)
	if err := e.site.Render(); err != nil {
		t.Fatal(err)
	}
	if _, _, body = e.get("/"); strings.Contains(body, "Checkout errors") {
		t.Error("an incident resolved 91 days ago is still listed")
	}
}

func TestLocalContract(t *testing.T) { statuspagetest.Run(t, publicpage.Local{}, nil) }

// TestSiteRebuildKeepsOldOpenPublicIncidents: an incident resolved in
// sitrep long ago whose public incident nobody resolved is still open on
// the page customers read; a restart (the rebuild) keeps showing it, as
// the page showed it before, until someone resolves it publicly.
func TestSiteRebuildKeepsOldOpenPublicIncidents(t *testing.T) {
	e := newPageEnv(t)
	inc := e.incident("checkout", bot.SEV2)
	e.publish(inc, "Checkout errors", "Some payments fail.")
	e.exec(inc, "resolve") // internally only: the public incident stays open
	e.clock.Advance(120 * 24 * time.Hour)
	restarted := publicpage.New(e.svc, publicpage.Config{Components: components, Now: e.clock.Now})
	if err := restarted.Rebuild(t.Context()); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	restarted.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	if body := rec.Body.String(); !strings.Contains(body, "Checkout errors") || !strings.Contains(body, "Partial outage") {
		t.Fatalf("after a restart the open public incident of an incident resolved 120 days ago is gone:\n%s", body)
	}
}
