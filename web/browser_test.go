package web_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/chromiumtest"
	"github.com/sitrep-io/sitrep/internal/slackfake"
	"github.com/sitrep-io/sitrep/postmortem"
	"github.com/sitrep-io/sitrep/web"
)

// seedAt is a time on the seed night, 2020-10-08 UTC ("HH:MM").
func seedAt(hm string) time.Time {
	t, err := time.Parse(time.RFC3339, "2020-10-08T"+hm+":00Z")
	if err != nil {
		panic(err)
	}
	return t
}

// seedNight records the seed outage (/work/shared/seed-incident.md, times
// in UTC) as the team ran it in Slack, after a few weeks of smaller
// incidents for the overview; one incident is still open. It returns the
// seed incident and its "monitoring" event (the fix live at 04:37).
func (e *webEnv) seedNight() (bot.Incident, bot.Event) {
	e.t.Helper()
	ctx := e.t.Context()
	must := func(_ bot.Incident, err error) {
		e.t.Helper()
		if err != nil {
			e.t.Fatal(err)
		}
	}
	history := []struct {
		day        string // 2020-MM-DD HH:MM UTC
		title      string
		sev        bot.Severity
		ack, fixed time.Duration
		commander  string
	}{
		{"2020-08-18 14:02", "Search results empty for some stores", bot.SEV3, 6 * time.Minute, 48 * time.Minute, "U0DEV"},
		{"2020-08-26 09:40", "Dashboard login slow", bot.SEV4, 12 * time.Minute, 35 * time.Minute, "U0CAM"},
		{"2020-08-27 22:15", "Payment provider timeouts", bot.SEV2, 4 * time.Minute, 2*time.Hour + 10*time.Minute, "U0LENA"},
		{"2020-09-03 03:30", "Order emails delayed", bot.SEV3, 25 * time.Minute, 3 * time.Hour, "U0DEV"},
		{"2020-09-09 16:05", "Image CDN 404s on product pages", bot.SEV2, 3 * time.Minute, 55 * time.Minute, "U0LENA"},
		{"2020-09-10 11:20", "Menu sync job failing", bot.SEV4, 40 * time.Minute, 5 * time.Hour, "U0CAM"},
		{"2020-09-17 19:45", "Checkout errors after deploy", bot.SEV1, 2 * time.Minute, 38 * time.Minute, "U0DEV"},
		{"2020-09-24 08:10", "Inventory counts stale", bot.SEV3, 9 * time.Minute, 90 * time.Minute, "U0LENA"},
		{"2020-09-30 13:00", "Gift card balance check failing", bot.SEV2, 5 * time.Minute, 70 * time.Minute, "U0DEV"},
	}
	for _, h := range history {
		at, err := time.Parse("2006-01-02 15:04", h.day)
		if err != nil {
			e.t.Fatal(err)
		}
		e.clock.Set(at)
		inc := e.alert(h.title, h.sev, at)
		e.clock.Set(at.Add(h.ack))
		must(e.svc.Acknowledge(ctx, h.commander, inc.ID))
		e.clock.Set(at.Add(h.fixed / 2))
		must(e.svc.SetStatus(ctx, h.commander, inc.ID, bot.StatusIdentified, "cause found"))
		e.clock.Set(at.Add(h.fixed))
		must(e.svc.Resolve(ctx, h.commander, inc.ID, "fixed and verified"))
	}

	e.clock.Set(seedAt("00:06"))
	inc := e.alert("Platform API returning 500", bot.SEV1, seedAt("00:06"))
	steps := []struct {
		at string
		do func() (bot.Incident, error)
	}{
		{"00:09", func() (bot.Incident, error) { return e.svc.Acknowledge(ctx, "U0LENA", inc.ID) }},
		{"00:10", func() (bot.Incident, error) {
			return e.svc.AssignRole(ctx, "U0LENA", inc.ID, bot.RoleCommander, "U0LENA")
		}},
		{"00:11", func() (bot.Incident, error) { return e.svc.AssignRole(ctx, "U0LENA", inc.ID, bot.RoleComms, "U0CAM") }},
		{"00:13", func() (bot.Incident, error) {
			return e.svc.PostUpdate(ctx, "U0CAM", inc.ID, "Some customers may be experiencing issues accessing their online store. Our engineers are investigating the root cause of this issue.")
		}},
		{"00:25", func() (bot.Incident, error) {
			return e.svc.AddNote(ctx, "U0LENA", inc.ID, "API gateway reports degraded health; inbound traffic far above the nominal range")
		}},
		{"00:40", func() (bot.Incident, error) {
			return e.svc.AddNote(ctx, "U0DEV", inc.ID, "Logs combed: no sign of a security threat")
		}},
		{"01:10", func() (bot.Incident, error) {
			return e.svc.PostUpdate(ctx, "U0CAM", inc.ID, "We are continuing to investigate this issue - we'll continue to post updates in real-time via this status page.")
		}},
		{"01:50", func() (bot.Incident, error) {
			return e.svc.AddNote(ctx, "U0DEV", inc.ID, "Scaling up the server pool and rebooting the existing servers; all healthy, load balancer still failing")
		}},
		{"02:05", func() (bot.Incident, error) {
			return e.svc.AddNote(ctx, "U0DEV", inc.ID, "Full reboot of all infrastructure servers; more log output from loggers that had failed")
		}},
		{"02:40", func() (bot.Incident, error) {
			return e.svc.AddNote(ctx, "U0LENA", inc.ID, "Auditing the SSL certificates of the core infrastructure")
		}},
		{"03:45", func() (bot.Incident, error) {
			return e.svc.SetStatus(ctx, "U0LENA", inc.ID, bot.StatusIdentified, "The daily automatic certificate renewal set an invalid configuration in the API gateway")
		}},
		{"04:37", func() (bot.Incident, error) {
			return e.svc.SetStatus(ctx, "U0LENA", inc.ID, bot.StatusMonitoring, "A fix has been implemented and full functionality for accessing online stores has been resumed.")
		}},
	}
	for _, s := range steps {
		e.clock.Set(seedAt(s.at))
		must(s.do())
	}
	evs, err := e.svc.Timeline(ctx, inc.ID)
	if err != nil {
		e.t.Fatal(err)
	}
	e.clock.Set(time.Date(2020, 10, 9, 22, 23, 0, 0, time.UTC))
	must(e.svc.Resolve(ctx, "U0LENA", inc.ID, "This incident has been resolved and full functionality has been restored."))
	var monitoring bot.Event
	for _, ev := range evs {
		if ev.Kind == bot.KindStatusChanged && ev.Data["to"] == string(bot.StatusMonitoring) {
			monitoring = ev
		}
	}
	if monitoring.ID == 0 {
		e.t.Fatalf("no monitoring event in %+v", evs)
	}

	e.clock.Set(time.Date(2020, 10, 10, 8, 45, 0, 0, time.UTC))
	open := e.alert("Checkout latency elevated in eu-west", bot.SEV3, e.clock.Now())
	e.clock.Set(time.Date(2020, 10, 10, 8, 52, 0, 0, time.UTC))
	must(e.svc.Acknowledge(ctx, "U0DEV", open.ID))
	must(e.svc.AddNote(ctx, "U0DEV", open.ID, "p99 at 2.4 s since 08:30; one node pool affected"))
	e.clock.Set(time.Date(2020, 10, 10, 9, 0, 0, 0, time.UTC))
	return inc, monitoring
}

// seedTeam is the seed night's team as the chat's directory knows it
// (the port; the Slack adapter's own tests check users.info).
type seedTeam map[string]bot.ChatUser

func (d seedTeam) User(_ context.Context, id string) (bot.ChatUser, error) {
	if u, ok := d[id]; ok {
		return u, nil
	}
	return bot.ChatUser{}, bot.Errorf(bot.ENOTFOUND, "no user %s", id)
}
func (d seedTeam) UserByEmail(context.Context, string) (bot.ChatUser, error) {
	return bot.ChatUser{}, bot.Errorf(bot.ENOTFOUND, "no such user")
}
func (d seedTeam) GroupMembers(context.Context, string) ([]string, error) { return nil, nil }

var team = seedTeam{
	"U0LENA": {ID: "U0LENA", Name: "lena", RealName: "Lena Ortiz"},
	"U0DEV":  {ID: "U0DEV", Name: "dev", RealName: "Dev Patel"},
	"U0CAM":  {ID: "U0CAM", Name: "cam", RealName: "Cam Rivera"},
}

// alert opens an incident from a monitoring alert, as the webhooks do.
func (e *webEnv) alert(title string, sev bot.Severity, at time.Time) bot.Incident {
	e.t.Helper()
	out, err := e.svc.IngestAlert(e.t.Context(), bot.Alert{Source: "webhook", DedupKey: title, Title: title, Severity: sev,
		Firing: true, OccurredAt: at, Labels: map[string]string{"service": "platform-api"}})
	if err != nil || !out.Opened {
		e.t.Fatalf("alert %q: %+v, %v", title, out, err)
	}
	return out.Incident
}

// withSlackSignIn turns on Sign in with Slack against the fake.
func withSlackSignIn(slack *slackfake.Server) func(*web.Server) {
	return func(s *web.Server) {
		s.Slack = &web.SlackSignIn{ClientID: slackfake.OIDCClientID, ClientSecret: slackfake.OIDCClientSecret,
			Issuer: slack.OIDCIssuer(), HTTPClient: slack.Client(),
			Workspace: func(context.Context) (string, error) { return slackfake.TeamID, nil }}
		s.Drafter.(*postmortem.Drafter).Directory = team
	}
}

// screenshot keeps the page at url as docs/<name>.png when
// SITREP_SCREENSHOT=1, at the given width.
func screenshot(t *testing.T, ctx context.Context, url, name string, width int64) {
	t.Helper()
	if os.Getenv("SITREP_SCREENSHOT") != "1" {
		return
	}
	opts := []chromedp.EmulateViewportOption{}
	if width < 600 {
		opts = append(opts, chromedp.EmulateScale(2), chromedp.EmulateMobile)
	}
	if err := chromedp.Do(ctx,
		chromedp.EmulateViewport(width, 900, opts...),
		chromedp.Navigate(url),
		chromedp.WaitVisible(chromedp.CSS("h1")),
	); err != nil {
		t.Fatalf("screenshot of %s: %v", url, err)
	}
	shot := chromedp.FullScreenshot(100)
	if width < 600 {
		shot = chromedp.CaptureScreenshot() // a phone's first screen, not the whole long page
	}
	png := chromiumtest.Run(t, ctx, shot)
	if err := os.WriteFile(filepath.Join("..", "docs", name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
}

// TestWebViewInChromium signs in with Slack in a real browser (the fake's
// OpenID pages), corrects an event's time through the form and sees the
// postmortem preview change; a title with a script in it stays text.
func TestWebViewInChromium(t *testing.T) {
	slack := slackfake.New(t)
	slack.AddUser(slackfake.User{ID: "U0LENA", Name: "lena", RealName: "Lena Ortiz"})
	e := newWebEnv(t, withSlackSignIn(slack))
	e.web.Slack.RedirectURL = e.srv.URL + "/login/slack/callback"
	inc, monitoring := e.seedNight()
	ctx := chromiumtest.Browser(t)
	base := e.srv.URL + "/incidents/" + inc.Key()

	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1280, 900)); err != nil {
		t.Fatal(err)
	}
	screenshot(t, ctx, e.srv.URL+"/login", "web-login", 760)

	// Sign in with Slack: the button leads through the fake's consent page
	// and back to the page first asked for.
	slack.SignInAs("U0LENA", "")
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base),
		chromedp.WaitVisible(chromedp.ID("slack-sign-in")),
		chromedp.Click(chromedp.ID("slack-sign-in")),
		chromedp.WaitVisible(chromedp.CSS("table.timeline")),
	); err != nil {
		t.Fatalf("Sign in with Slack: %v", err)
	}
	if loc := chromiumtest.Run(t, ctx, chromedp.Location()); loc != base {
		t.Errorf("after signing in the browser is at %s, want %s", loc, base)
	}
	if who := chromiumtest.Run(t, ctx, chromedp.Text(chromedp.CSS("body"))); !strings.Contains(who, "Lena Ortiz") {
		t.Errorf("the page does not name who is signed in:\n%s", who)
	}

	screenshot(t, ctx, e.srv.URL+"/incidents", "web-incidents", 1280)
	screenshot(t, ctx, base, "web-incident", 1280)
	screenshot(t, ctx, base, "web-incident-phone", 390)
	screenshot(t, ctx, base+"/postmortem", "web-postmortem", 1280)
	screenshot(t, ctx, e.srv.URL+"/overview", "web-overview", 1280)

	// The postmortem before: the fix went live at 04:37, 4h 31m after the
	// alert at 00:06.
	before := postmortemText(t, ctx, base)
	if !strings.Contains(before, "4h 31m") || strings.Contains(before, "4h 01m") {
		t.Fatalf("postmortem before the correction:\n%s", before)
	}

	// Correct the monitoring event's time through its form, as a person
	// does: press "Correct", type the time and the reason, press the button.
	row := fmt.Sprintf("#event-%d", monitoring.ID)
	if err := chromedp.Do(ctx,
		chromedp.Navigate(base),
		chromedp.WaitVisible(chromedp.CSS(row)),
		chromedp.Click(chromedp.CSS(row+" a.correct")),
		chromedp.WaitVisible(chromedp.CSS(row+` input[name="occurred_at"]`)),
		chromedp.Clear(chromedp.CSS(row+` input[name="occurred_at"]`)),
		chromedp.SendKeys(chromedp.CSS(row+` input[name="occurred_at"]`), "2020-10-08 04:07"),
		chromedp.SendKeys(chromedp.CSS(row+` form:first-of-type input[name="reason"]`), "the fix was live at 04:07; recorded late"),
		chromedp.Click(chromedp.CSS(row+` form:first-of-type button[type="submit"]`)),
		chromedp.WaitVisible(chromedp.CSS("tr.kind-event_corrected")),
	); err != nil {
		t.Fatalf("correct the time in the form: %v", err)
	}
	if got := chromiumtest.Run(t, ctx, chromedp.Text(chromedp.CSS(row+" td"))); got != "2020-10-08 04:07:00" {
		t.Errorf("the corrected event shows %q, want 2020-10-08 04:07:00", got)
	}
	after := postmortemText(t, ctx, base)
	if !strings.Contains(after, "4h 01m") {
		t.Errorf("the postmortem preview does not follow the corrected time (want 4h 01m):\n%s", after)
	}

	// A title with a script in it is text on every page; nothing runs.
	hostile := `<script>document.title='pwned'</script> checkout`
	evil, err := e.svc.Declare(t.Context(), bot.DeclareRequest{Actor: "U0LENA", Title: hostile, Severity: bot.SEV2})
	if err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/incidents", "/incidents/" + evil.Key(), "/incidents/" + evil.Key() + "/postmortem"} {
		if err := chromedp.Do(ctx, chromedp.Navigate(e.srv.URL+path), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
			t.Fatalf("open %s: %v", path, err)
		}
		if title := chromiumtest.Run(t, ctx, chromedp.Title()); !strings.HasPrefix(title, "INC-") && !strings.HasPrefix(title, "Incidents") && !strings.HasPrefix(title, "Postmortem") {
			t.Errorf("%s: a script from the title ran (document.title = %q)", path, title)
		}
		if text := chromiumtest.Run(t, ctx, chromedp.Text(chromedp.CSS("main"))); !strings.Contains(text, hostile) {
			t.Errorf("%s: the title does not read as text %q:\n%s", path, hostile, text)
		}
		if n := chromiumtest.Run(t, ctx, chromedp.Evaluate[int](`document.querySelectorAll("script:not([src])").length`)); n != 0 {
			t.Errorf("%s: %d inline script elements (a title became markup)", path, n)
		}
	}
}

func postmortemText(t *testing.T, ctx context.Context, base string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/postmortem"), chromedp.WaitVisible(chromedp.CSS("h1"))); err != nil {
		t.Fatalf("open the postmortem preview: %v", err)
	}
	return chromiumtest.Run(t, ctx, chromedp.Text(chromedp.CSS("main")))
}

// TestOneTimeLinkInChromium opens a login link in a real browser and
// presses Sign in; the link does not work twice.
func TestOneTimeLinkInChromium(t *testing.T) {
	e := newWebEnv(t)
	inc := e.declare("Platform API returning 500", false)
	ctx := chromiumtest.Browser(t)
	link := e.link("U0DEV")
	if err := chromedp.Do(ctx,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("sign-in")),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.CSS(`a[href="/incidents/`+inc.Key()+`"]`)),
	); err != nil {
		t.Fatalf("sign in with the link: %v", err)
	}
	if loc := chromiumtest.Run(t, ctx, chromedp.Location()); !strings.HasSuffix(loc, "/incidents") {
		t.Errorf("after signing in the browser is at %s, want /incidents", loc)
	}

	other := chromiumtest.Browser(t)
	if err := chromedp.Do(other,
		chromedp.Navigate(link),
		chromedp.WaitVisible(chromedp.ID("sign-in")),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.CSS(".error")),
	); err != nil {
		t.Fatalf("second use of the link: %v", err)
	}
	if text := chromiumtest.Run(t, other, chromedp.Text(chromedp.CSS("body"))); !strings.Contains(text, "sitrep web-login") {
		t.Errorf("a used link lets a second browser in, or does not say how to get a new one:\n%s", text)
	}
}

// TestOpenIncidentPageFollowsChangesInChromium: an open incident's page
// notices a new event (its /version changes) and shows it without anyone
// reloading.
func TestOpenIncidentPageFollowsChangesInChromium(t *testing.T) {
	e := newWebEnv(t, func(s *web.Server) { s.LivePoll = 200 * time.Millisecond })
	inc := e.declare("Platform API returning 500", false)
	ctx := chromiumtest.Browser(t)
	page := e.srv.URL + "/incidents/" + inc.Key()
	if err := chromedp.Do(ctx,
		chromedp.Navigate(e.link("U0LENA")),
		chromedp.WaitVisible(chromedp.ID("sign-in")),
		chromedp.Click(chromedp.ID("sign-in")),
		chromedp.WaitVisible(chromedp.CSS("table.incidents")),
		chromedp.Navigate(page),
		chromedp.WaitVisible(chromedp.CSS("table.timeline")),
	); err != nil {
		t.Fatalf("open the incident: %v", err)
	}
	if _, err := e.svc.AddNote(t.Context(), "U0DEV", inc.ID, "CDN vendor confirmed on the phone"); err != nil {
		t.Fatal(err)
	}
	evs, _ := e.svc.Timeline(t.Context(), inc.ID)
	note := evs[len(evs)-1]
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(wait, chromedp.WaitVisible(chromedp.CSS(fmt.Sprintf("#event-%d", note.ID)))); err != nil {
		t.Fatalf("the open page did not show the new event within 30 s: %v", err)
	}
	if text := chromiumtest.Run(t, ctx, chromedp.Text(chromedp.CSS(fmt.Sprintf("#event-%d", note.ID)))); !strings.Contains(text, "CDN vendor confirmed") {
		t.Errorf("the new row reads %q", text)
	}
}
