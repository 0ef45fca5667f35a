package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/fsfault"
	"github.com/sitrep-io/sitrep/internal/slackfake"
	"github.com/sitrep-io/sitrep/internal/testclock"
	"github.com/sitrep-io/sitrep/postmortem"
	"github.com/sitrep-io/sitrep/store"
	"github.com/sitrep-io/sitrep/web"
)

// members is the chat's answer to "is this user in that channel", as a
// table the test sets (the port; the Slack adapter's own tests check
// conversations.members).
type members struct {
	mu    sync.Mutex
	in    map[[2]string]bool
	calls int
	err   error
}

func (m *members) IsChannelMember(_ context.Context, channel, user string) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.calls++
	return m.in[[2]string{channel, user}], m.err
}

func (m *members) set(channel, user string, in bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.in == nil {
		m.in = map[[2]string]bool{}
	}
	m.in[[2]string{channel, user}] = in
}

type webEnv struct {
	t       *testing.T
	db      *store.DB
	svc     *bot.Service
	clock   *testclock.Clock
	members *members
	web     *web.Server
	srv     *httptest.Server
}

func newWebEnv(t *testing.T, configure ...func(*web.Server)) *webEnv {
	t.Helper()
	return newWebEnvIn(t, t.TempDir(), configure...)
}

// newWebEnvIn is newWebEnv with the database in dir.
func newWebEnvIn(t *testing.T, dir string, configure ...func(*web.Server)) *webEnv {
	t.Helper()
	db, err := store.Open(t.Context(), filepath.Join(dir, "sitrep.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	clock := testclock.New(time.Date(2020, 10, 8, 0, 6, 0, 0, time.UTC))
	svc := bot.NewService(db, bot.ServiceConfig{Now: clock.Now})
	la, _ := time.LoadLocation("America/Los_Angeles")
	drafter := &postmortem.Drafter{Store: db, Location: la, Now: clock.Now}
	pms := bot.EnablePostmortems(svc, bot.PostmortemConfig{Drafter: drafter, Location: la})
	m := &members{}
	svc.EnableAccess(bot.AccessConfig{Members: m}) // as serve does with Slack's conversations.members
	w := &web.Server{Service: svc, Sessions: db, Drafter: drafter, Postmortems: pms, Location: la,
		PublicURL: "http://sitrep.test", Now: clock.Now}
	for _, c := range configure {
		c(w)
	}
	srv := httptest.NewServer(w.Handler())
	t.Cleanup(srv.Close)
	return &webEnv{t: t, db: db, svc: svc, clock: clock, members: m, web: w, srv: srv}
}

// browser is a client with its own cookies, as one person's browser.
func (e *webEnv) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, Transport: e.srv.Client().Transport}
}

func (e *webEnv) link(user string) string {
	e.t.Helper()
	u, err := web.NewLoginLink(e.t.Context(), e.db, "http://sitrep.test", user, "", e.clock.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	return strings.Replace(u, "http://sitrep.test", e.srv.URL, 1)
}

var tokenField = regexp.MustCompile(`name="token" value="([^"]+)"`)
var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (e *webEnv) get(c *http.Client, path string) (int, string) {
	e.t.Helper()
	u := path
	if strings.HasPrefix(path, "/") {
		u = e.srv.URL + path
	}
	resp, err := c.Get(u)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func (e *webEnv) post(c *http.Client, path string, form url.Values) (int, string) {
	e.t.Helper()
	resp, err := c.PostForm(e.srv.URL+path, form)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

// signIn opens a one-time link for user in a new browser and presses Sign
// in; it returns the browser and its CSRF token.
func (e *webEnv) signIn(user string) (*http.Client, string) {
	e.t.Helper()
	c := e.browser()
	status, page := e.get(c, e.link(user))
	m := tokenField.FindStringSubmatch(page)
	if status != http.StatusOK || m == nil {
		e.t.Fatalf("login link page: %d\n%s", status, page)
	}
	status, page = e.post(c, "/login", url.Values{"token": {m[1]}})
	csrf := csrfField.FindStringSubmatch(page)
	if status != http.StatusOK || !strings.Contains(page, "Incidents") || csrf == nil {
		e.t.Fatalf("sign in: %d\n%s", status, page)
	}
	return c, csrf[1]
}

func (e *webEnv) declare(title string, private bool) bot.Incident {
	e.t.Helper()
	inc, err := e.svc.Declare(e.t.Context(), bot.DeclareRequest{Actor: "U1", Title: title, Private: private, Severity: bot.SEV1})
	if err != nil {
		e.t.Fatal(err)
	}
	if private { // the channel exists once the outbox has run; here it is set by hand
		err = e.svc.Update(e.t.Context(), func(tx bot.Tx) error {
			inc.ChannelID = "CPRIV" + fmt.Sprint(inc.ID)
			return tx.UpdateIncident(inc)
		})
		if err != nil {
			e.t.Fatal(err)
		}
	}
	return inc
}

func TestNobodyGetsInWithoutSigningIn(t *testing.T) {
	e := newWebEnv(t)
	inc := e.declare("checkout down", false)
	anon := e.browser()
	anon.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	for _, path := range []string{"/incidents", "/incidents/" + inc.Key(), "/overview", "/incidents/" + inc.Key() + "/postmortem"} {
		req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
		req.Header.Set("Authorization", "Bearer anything") // pages never take a bearer token
		resp, err := anon.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/login") {
			t.Errorf("GET %s signed out = %d → %q, want 303 to /login", path, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	if status, _ := e.post(anon, "/incidents/"+inc.Key()+"/events", url.Values{"occurred_at": {"2020-10-08 00:01"}, "text": {"x"}}); status != http.StatusUnauthorized {
		t.Errorf("POST signed out = %d, want 401", status)
	}

	// A link shows a button; opening it (a chat's link preview) does not spend it.
	link := e.link("U1")
	for range 2 {
		if status, page := e.get(e.browser(), link); status != http.StatusOK || !tokenField.MatchString(page) {
			t.Fatalf("GET of the link = %d", status)
		}
	}
	c := e.browser()
	_, page := e.get(c, link)
	token := tokenField.FindStringSubmatch(page)[1]
	if status, _ := e.post(c, "/login", url.Values{"token": {token}}); status != http.StatusOK {
		t.Fatalf("first use of the link = %d", status)
	}
	if status, page := e.post(e.browser(), "/login", url.Values{"token": {token}}); status != http.StatusForbidden || !strings.Contains(page, "sitrep web-login") {
		t.Errorf("second use of the link = %d, want 403 saying how to get a new one", status)
	}
	late := e.link("U1")
	e.clock.Advance(web.LoginLinkTTL + time.Second)
	_, page = e.get(e.browser(), late)
	if status, _ := e.post(e.browser(), "/login", url.Values{"token": {tokenField.FindStringSubmatch(page)[1]}}); status != http.StatusForbidden {
		t.Errorf("expired link = %d, want 403", status)
	}
	if status, _ := e.post(e.browser(), "/login", url.Values{"token": {"made-up"}}); status != http.StatusForbidden {
		t.Errorf("made-up link = %d, want 403", status)
	}
}

func TestSessionCookieAndSignOut(t *testing.T) {
	e := newWebEnv(t, func(s *web.Server) { s.PublicURL = "https://sitrep.example.com" })
	c := e.browser()
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	_, page := e.get(c, e.link("U1"))
	resp, err := c.PostForm(e.srv.URL+"/login", url.Values{"token": {tokenField.FindStringSubmatch(page)[1]}, "next": {"//evil.example/x"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookie := resp.Header.Get("Set-Cookie")
	for _, want := range []string{"sitrep_session=", "HttpOnly", "Secure", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(cookie, want) {
			t.Errorf("session cookie %q lacks %s", cookie, want)
		}
	}
	if loc := resp.Header.Get("Location"); loc != "/incidents" {
		t.Errorf("redirect after sign-in to %q, want /incidents (never off-site)", loc)
	}
}

func TestFormsNeedTheSessionsCSRFToken(t *testing.T) {
	e := newWebEnv(t)
	inc := e.declare("checkout down", false)
	ana, csrf := e.signIn("U1")
	_, otherCSRF := e.signIn("U2")
	before, _ := e.svc.Timeline(t.Context(), inc.ID)
	path := "/incidents/" + inc.Key() + "/events"
	form := url.Values{"occurred_at": {"2020-10-08 00:01"}, "text": {"vendor called"}}
	for name, token := range map[string]string{"none": "", "another session's": otherCSRF, "made up": "abc"} {
		f := url.Values{}
		for k, v := range form {
			f[k] = v
		}
		if token != "" {
			f.Set("csrf", token)
		}
		if status, _ := e.post(ana, path, f); status != http.StatusForbidden {
			t.Errorf("POST with %s CSRF token = %d, want 403", name, status)
		}
	}
	if after, _ := e.svc.Timeline(t.Context(), inc.ID); len(after) != len(before) {
		t.Fatal("a refused form stored an event")
	}
	form.Set("csrf", csrf)
	if status, page := e.post(ana, path, form); status != http.StatusOK || !strings.Contains(page, "vendor called") {
		t.Errorf("POST with the session's token = %d", status)
	}
}

func TestPrivateIncidentsOnlyForTheirChannelsMembers(t *testing.T) {
	e := newWebEnv(t)
	public := e.declare("public one", false)
	secret := e.declare("acquisition data leak", true)
	e.members.set(secret.ChannelID, "UIN", true)
	insider, insiderCSRF := e.signIn("UIN")
	outsider, outsiderCSRF := e.signIn("UOUT")

	if _, page := e.get(insider, "/incidents"); !strings.Contains(page, "acquisition data leak") {
		t.Error("a member does not see the private incident in the list")
	}
	_, page := e.get(outsider, "/incidents")
	if strings.Contains(page, "acquisition data leak") || !strings.Contains(page, "public one") {
		t.Errorf("list for a non-member:\n%s", page)
	}
	for _, path := range []string{"", "/postmortem", "/version"} {
		if status, page := e.get(outsider, "/incidents/"+secret.Key()+path); status != http.StatusNotFound || strings.Contains(page, "acquisition") {
			t.Errorf("GET %s%s as a non-member = %d, want 404 telling nothing", secret.Key(), path, status)
		}
	}
	before, _ := e.svc.Timeline(t.Context(), secret.ID)
	for _, p := range []struct {
		path string
		form url.Values
	}{
		{"/events", url.Values{"csrf": {outsiderCSRF}, "occurred_at": {"2020-10-08 00:01"}, "text": {"x"}}},
		{fmt.Sprintf("/events/%d", before[0].ID), url.Values{"csrf": {outsiderCSRF}, "action": {"hide"}, "reason": {"x"}}},
		{"/impact", url.Values{"csrf": {outsiderCSRF}, "which": {"start"}, "at": {"2020-10-08 00:00"}}},
		{"/export", url.Values{"csrf": {outsiderCSRF}}},
	} {
		if status, _ := e.post(outsider, "/incidents/"+secret.Key()+p.path, p.form); status != http.StatusNotFound {
			t.Errorf("POST %s as a non-member = %d, want 404", p.path, status)
		}
	}
	if after, _ := e.svc.Timeline(t.Context(), secret.ID); len(after) != len(before) {
		t.Error("a non-member changed the private incident")
	}
	if status, _ := e.post(insider, "/incidents/"+secret.Key()+"/events", url.Values{"csrf": {insiderCSRF}, "occurred_at": {"2020-10-08 00:01"}, "text": {"legal informed"}}); status != http.StatusOK {
		t.Errorf("a member's correction = %d", status)
	}
	// A failing check hides (the adapter caches answers: slackchat's tests).
	e.members.mu.Lock()
	e.members.err = fmt.Errorf("slack is down")
	e.members.mu.Unlock()
	if status, _ := e.get(insider, "/incidents/"+secret.Key()); status != http.StatusNotFound {
		t.Errorf("with the membership check failing, a private incident = %d, want 404 (fail closed)", status)
	}
	if status, _ := e.get(outsider, "/incidents/"+public.Key()); status != http.StatusOK {
		t.Errorf("public incident = %d", status)
	}
}

func TestCorrectionsFromTheWebAreAuditedAndReachThePostmortem(t *testing.T) {
	e := newWebEnv(t)
	inc := e.declare("Platform API returning 500", false)
	ctx := t.Context()
	e.clock.Set(time.Date(2020, 10, 8, 4, 37, 0, 0, time.UTC))
	if _, err := e.svc.SetStatus(ctx, "U1", inc.ID, bot.StatusMonitoring, "stores are back"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.svc.AddNote(ctx, "U2", inc.ID, "pinned by mistake"); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(time.Date(2020, 10, 9, 9, 0, 0, 0, time.UTC))
	lena, csrf := e.signIn("ULENA")
	var monitoring, note bot.Event
	evs, _ := e.svc.Timeline(ctx, inc.ID)
	for _, ev := range evs {
		switch ev.Kind {
		case bot.KindStatusChanged:
			monitoring = ev
		case bot.KindNote:
			note = ev
		}
	}
	base := "/incidents/" + inc.Key()
	_, before := e.get(lena, base+"/postmortem")

	steps := []struct {
		path string
		form url.Values
	}{
		{fmt.Sprintf("/events/%d", monitoring.ID), url.Values{"action": {"time"}, "occurred_at": {"2020-10-08 04:07"}, "reason": {"fix live at 04:07"}}},
		{fmt.Sprintf("/events/%d", note.ID), url.Values{"action": {"hide"}, "reason": {"another incident"}}},
		{"/events", url.Values{"occurred_at": {"2020-10-08 03:50"}, "text": {"CDN vendor confirmed on the phone"}}},
		{"/impact", url.Values{"which": {"start"}, "at": {"2020-10-08 00:00"}}},
		{"/impact", url.Values{"which": {"end"}, "at": {"2020-10-08 04:10"}}},
	}
	for _, s := range steps {
		s.form.Set("csrf", csrf)
		if status, page := e.post(lena, base+s.path, s.form); status != http.StatusOK {
			t.Fatalf("POST %s = %d\n%s", s.path, status, page)
		}
	}
	_, page := e.get(lena, base)
	if !strings.Contains(page, "<del>pinned by mistake</del>") {
		t.Error("the hidden note is not shown struck through")
	}
	evs, _ = e.svc.Timeline(ctx, inc.ID)
	var audits []bot.Event
	for _, ev := range evs {
		if ev.Kind == bot.KindEventCorrected {
			audits = append(audits, ev)
		}
	}
	if len(audits) != 2 || audits[0].Actor != "ULENA" || audits[0].Data["reason"] != "fix live at 04:07" ||
		audits[0].Data["before_occurred_at"] != "2020-10-08T04:37:00Z" {
		t.Errorf("corrections' audit = %+v", audits)
	}
	_, after := e.get(lena, base+"/postmortem")
	if before == after || strings.Contains(after, "pinned by mistake") || !strings.Contains(after, "CDN vendor confirmed") || !strings.Contains(after, "4h 10m") {
		t.Errorf("the postmortem preview does not follow the corrections:\n%s", after)
	}
	// Bad input is answered with what to fix, and stores nothing.
	n := len(evs)
	for _, bad := range []url.Values{
		{"action": {"time"}, "occurred_at": {"yesterday"}, "reason": {"r"}},
		{"action": {"time"}, "occurred_at": {"2020-10-08 04:00"}},
		{"action": {"explode"}, "reason": {"r"}},
	} {
		bad.Set("csrf", csrf)
		if status, _ := e.post(lena, fmt.Sprintf("%s/events/%d", base, monitoring.ID), bad); status != http.StatusBadRequest {
			t.Errorf("bad correction %v = %d, want 400", bad, status)
		}
	}
	if evs, _ = e.svc.Timeline(ctx, inc.ID); len(evs) != n {
		t.Error("a refused correction stored something")
	}
}

func TestPagesEscapeWhatPeopleTyped(t *testing.T) {
	e := newWebEnv(t)
	inc := e.declare(`<script>alert("x")</script> checkout`, false)
	if _, err := e.svc.AddNote(t.Context(), "U1", inc.ID, `<img src=x onerror=alert(1)>`); err != nil {
		t.Fatal(err)
	}
	c, _ := e.signIn("U1")
	for _, path := range []string{"/incidents", "/incidents/" + inc.Key(), "/incidents/" + inc.Key() + "/postmortem"} {
		_, page := e.get(c, path)
		if strings.Contains(page, "<script>alert") || strings.Contains(page, "<img src=x") {
			t.Errorf("%s renders user text as HTML:\n%s", path, page)
		}
		if !strings.Contains(page, "&lt;script&gt;alert(") || !strings.Contains(page, "checkout") {
			t.Errorf("%s lacks the title as text", path)
		}
	}
	resp, err := c.Get(e.srv.URL + "/incidents")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
		t.Errorf("Content-Security-Policy = %q", csp)
	}
}

func TestIncidentListFilters(t *testing.T) {
	e := newWebEnv(t)
	for i, title := range []string{"gateway 500s", "checkout slow", "gateway cert", "search down"} {
		inc := e.declare(title, false)
		if i%2 == 1 {
			if _, err := e.svc.Resolve(t.Context(), "U1", inc.ID, ""); err != nil {
				t.Fatal(err)
			}
		}
	}
	c, _ := e.signIn("U1")
	for query, want := range map[string][]string{
		"?q=GATEWAY":       {"gateway 500s", "gateway cert"},
		"?status=resolved": {"checkout slow", "search down"},
		"?status=open":     {"gateway 500s", "gateway cert"},
		"?from=2030-01-01": {},
	} {
		_, page := e.get(c, "/incidents"+query)
		for _, title := range []string{"gateway 500s", "checkout slow", "gateway cert", "search down"} {
			if got, w := strings.Contains(page, title), contains(want, title); got != w {
				t.Errorf("%s: %q shown %v, want %v", query, title, got, w)
			}
		}
	}
	if status, _ := e.get(c, "/incidents?severity=SEV9"); status != http.StatusBadRequest {
		t.Errorf("bad filter = %d, want 400", status)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func TestSignInWithSlack(t *testing.T) {
	slack := slackfake.New(t)
	slack.AddUser(slackfake.User{ID: "U1", Name: "lena", RealName: "Lena Ortiz"})
	e := newWebEnv(t, func(s *web.Server) {
		s.Slack = &web.SlackSignIn{ClientID: slackfake.OIDCClientID, ClientSecret: slackfake.OIDCClientSecret,
			Issuer: slack.OIDCIssuer(), HTTPClient: slack.Client(),
			Workspace: func(context.Context) (string, error) { return slackfake.TeamID, nil }}
	})
	e.web.Slack.RedirectURL = e.srv.URL + "/login/slack/callback"

	slack.SignInAs("U1", "")
	c := e.browser()
	status, page := e.get(c, "/login/slack?next=/overview")
	if status != http.StatusOK || !strings.Contains(page, "Overview") || !strings.Contains(page, "Lena Ortiz") {
		t.Fatalf("Sign in with Slack: %d\n%s", status, page)
	}

	slack.SignInAs("U9", "T0OTHER")
	if status, page := e.get(e.browser(), "/login/slack"); status != http.StatusForbidden || !strings.Contains(page, "Only members") {
		t.Errorf("another workspace's user = %d, want 403", status)
	}
	slack.SignInAs("", "")
	if status, _ := e.get(e.browser(), "/login/slack"); status != http.StatusForbidden {
		t.Errorf("a cancelled sign-in = %d, want 403", status)
	}
	// A callback this browser did not start (a forged or stolen code) is refused.
	if status, _ := e.get(e.browser(), "/login/slack/callback?code=code-1&state=abc"); status != http.StatusForbidden {
		t.Errorf("a callback without the browser's state = %d, want 403", status)
	}
}

// TestCorrectionFormsOnlyForTheChosenEvent: a long timeline carries a
// Correct link per event and the forms only for the event chosen.
func TestCorrectionFormsOnlyForTheChosenEvent(t *testing.T) {
	e := newWebEnv(t)
	inc := e.declare("Platform API returning 500", false)
	for _, n := range []string{"one", "two", "three"} {
		if _, err := e.svc.AddNote(t.Context(), "U1", inc.ID, n); err != nil {
			t.Fatal(err)
		}
	}
	c, _ := e.signIn("U1")
	base := "/incidents/" + inc.Key()
	_, page := e.get(c, base)
	if n := strings.Count(page, `name="occurred_at" value=`); n != 0 {
		t.Errorf("%d correction forms without ?correct, want none", n)
	}
	evs, _ := e.svc.Timeline(t.Context(), inc.ID)
	note := evs[len(evs)-1]
	link := fmt.Sprintf(`href="?correct=%d#event-%d"`, note.ID, note.ID)
	if n := strings.Count(page, `class="correct" href="?correct=`); n != len(evs) || !strings.Contains(page, link) {
		t.Errorf("%d Correct links for %d events (want one each, with %s)", n, len(evs), link)
	}
	_, page = e.get(c, fmt.Sprintf("%s?correct=%d", base, note.ID))
	if n := strings.Count(page, `name="occurred_at" value=`); n != 1 || !strings.Contains(page, fmt.Sprintf(`action="/incidents/%s/events/%d"`, inc.Key(), note.ID)) {
		t.Errorf("?correct=%d shows %d correction forms, want the one for that event", note.ID, n)
	}
	if status, _ := e.get(c, base+"?correct=x"); status != http.StatusBadRequest {
		t.Errorf("?correct=x = %d, want 400", status)
	}
}

// TestIncidentListPagesWithoutReadingEverything: past the first page the
// list says there are more and links to them.
func TestIncidentListPagesWithoutReadingEverything(t *testing.T) {
	e := newWebEnv(t)
	for i := range 105 {
		e.declare(fmt.Sprintf("incident %03d", i), false)
	}
	c, _ := e.signIn("U1")
	_, page := e.get(c, "/incidents")
	if !strings.Contains(page, "more than 100 incidents, page 1") || !strings.Contains(page, "page=2") ||
		!strings.Contains(page, "incident 104") || strings.Contains(page, "incident 004<") {
		t.Errorf("page 1 of 105:\n%s", page)
	}
	_, page = e.get(c, "/incidents?page=2")
	if !strings.Contains(page, "105 incidents, page 2 of 2") || !strings.Contains(page, "incident 000") || strings.Contains(page, "incident 104") {
		t.Errorf("page 2 of 105:\n%s", page)
	}
	_, page = e.get(c, "/incidents?q=incident+00")
	if !strings.Contains(page, "10 incidents") {
		t.Errorf("a filter matching few of many counts them all:\n%s", page)
	}
}

// TestOverviewChartsLabelTheirWeeks: the overview's bars and lines are
// drawn per week, and each week is named under the axis.
func TestOverviewChartsLabelTheirWeeks(t *testing.T) {
	e := newWebEnv(t)
	e.declare("Platform API returning 500", false)
	c, _ := e.signIn("U1")
	status, page := e.get(c, "/overview")
	if status != http.StatusOK || !strings.Contains(page, `class="sev1"><title>`) ||
		strings.Count(page, `class="tick">`) != 2*13 || !strings.Contains(page, `class="tick">Oct 5</text>`) {
		t.Errorf("overview = %d, want a SEV1 bar and the 13 weeks labelled under both charts (this week: Oct 5):\n%s", status, page)
	}
}

// TestDurationsAgreeWithThePostmortem: the list shows time to acknowledge
// and resolve in whole minutes cut as the postmortem's metrics are
// (postmortem.FormatDuration), so 4h 31m 59s is "4h 31m" on both.
func TestDurationsAgreeWithThePostmortem(t *testing.T) {
	e := newWebEnv(t)
	inc := e.declare("gateway 500s", false)
	detected := inc.DeclaredAt.Add(-time.Hour)
	err := e.svc.Update(t.Context(), func(tx bot.Tx) error {
		inc.DetectedAt = detected
		inc.AcknowledgedAt = detected.Add(7*time.Minute + 45*time.Second)
		inc.Status, inc.ResolvedAt = bot.StatusResolved, detected.Add(4*time.Hour+31*time.Minute+59*time.Second)
		return tx.UpdateIncident(inc)
	})
	if err != nil {
		t.Fatal(err)
	}
	c, _ := e.signIn("U1")
	_, page := e.get(c, "/incidents?status=resolved")
	for _, want := range []string{
		postmortem.FormatDuration(7*time.Minute + 45*time.Second),                // 0h 07m
		postmortem.FormatDuration(4*time.Hour + 31*time.Minute + 59*time.Second), // 4h 31m
	} {
		if !strings.Contains(page, "<td>"+want+"</td>") {
			t.Errorf("the list does not show %q as the postmortem does:\n%s", want, page)
		}
	}
}

// TestStorageFailureIsTemporary: a change made from the web while the
// database's disk is full is answered 503 with Retry-After (the page says
// to try again), not 500, and the same change goes through once space is
// freed.
func TestStorageFailureIsTemporary(t *testing.T) {
	e := newWebEnvIn(t, fsfault.Tmpfs(t, "4m"))
	inc := e.declare("gateway 500s", false)
	c, csrf := e.signIn("U1")
	path := "/incidents/" + inc.Key() + "/events"
	free := fsfault.Fill(t, filepath.Dir(e.db.Path()))
	refused := 0
	for i := range 50 {
		form := url.Values{"csrf": {csrf}, "occurred_at": {"2020-10-08 00:01"}, "text": {fmt.Sprintf("vendor called %d %s", i, strings.Repeat("x", 2000))}}
		resp, err := c.PostForm(e.srv.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			continue
		}
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("a change on a full disk: %d, Retry-After %q; want 503 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		refused++
		break
	}
	if refused == 0 {
		t.Fatal("no change was refused on a full disk")
	}
	free()
	if status, page := e.post(c, path, url.Values{"csrf": {csrf}, "occurred_at": {"2020-10-08 00:01"}, "text": {"after the disk was freed"}}); status != http.StatusOK {
		t.Fatalf("after freeing space: %d\n%s", status, page)
	}
}
