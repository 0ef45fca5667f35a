package handlers_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/console"
	"github.com/sitrep-io/sitrep/handlers"
	"github.com/sitrep-io/sitrep/internal/app"
	"github.com/sitrep-io/sitrep/internal/testclock"
	"github.com/sitrep-io/sitrep/postmortem"
	"github.com/sitrep-io/sitrep/store"
)

// apiEnv is the REST API over a real SQLite store, served over HTTP.
type apiEnv struct {
	t     *testing.T
	db    *store.DB
	svc   *bot.Service
	clock *testclock.Clock
	srv   *httptest.Server
}

const (
	readerToken  = "sitrep_reader-token"
	privateToken = "sitrep_private-token"
)

func newAPIEnv(t *testing.T) *apiEnv {
	t.Helper()
	db := openStore(t)
	clock := testclock.New(time.Date(2020, 10, 8, 0, 6, 0, 0, time.UTC))
	drafter := &postmortem.Drafter{Store: db, Location: time.UTC, Now: clock.Now}
	sitrep, err := app.New(app.Config{Store: db, Chat: console.NewChat(io.Discard, clock.Now),
		Service:    bot.ServiceConfig{Now: clock.Now, BroadcastChannel: "CB"},
		Postmortem: &bot.PostmortemConfig{Drafter: drafter, Location: time.UTC}})
	if err != nil {
		t.Fatal(err)
	}
	svc, pms := sitrep.Service, sitrep.Postmortems
	tokens, err := handlers.ParseAPITokens(fmt.Sprintf("reporting:%s,lena:%s:private",
		handlers.HashAPIToken(readerToken), handlers.HashAPIToken(privateToken)))
	if err != nil {
		t.Fatal(err)
	}
	api := &handlers.API{Service: svc, Postmortems: pms, Drafter: drafter, Tokens: tokens}
	srv := httptest.NewServer(handlers.Routes{DB: db, Extra: map[string]http.Handler{"/api/": api.Handler()}}.Handler())
	t.Cleanup(srv.Close)
	return &apiEnv{t: t, db: db, svc: svc, clock: clock, srv: srv}
}

func (e *apiEnv) declare(title string, private bool) bot.Incident {
	e.t.Helper()
	inc, err := e.svc.Declare(e.t.Context(), bot.DeclareRequest{Actor: "U1", Title: title, Private: private, Severity: bot.SEV1})
	if err != nil {
		e.t.Fatal(err)
	}
	return inc
}

// call sends a request with the token (none when "") and returns the status
// and the raw body.
func (e *apiEnv) call(method, path, token, body string) (int, []byte, http.Header) {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, resp.Header
}

func (e *apiEnv) json(method, path, token, body string, wantStatus int, out any) {
	e.t.Helper()
	status, raw, _ := e.call(method, path, token, body)
	if status != wantStatus {
		e.t.Fatalf("%s %s = %d %s, want %d", method, path, status, raw, wantStatus)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s %s: %v in %s", method, path, err, raw)
		}
	}
}

func TestAPIAuthentication(t *testing.T) {
	e := newAPIEnv(t)
	e.declare("checkout down", false)
	tests := []struct {
		name   string
		header func(r *http.Request)
		want   int
	}{
		{"NoCredentials", func(*http.Request) {}, http.StatusUnauthorized},
		{"WrongToken", func(r *http.Request) { r.Header.Set("Authorization", "Bearer sitrep_nope") }, http.StatusUnauthorized},
		{"TokenHashInsteadOfToken", func(r *http.Request) {
			r.Header.Set("Authorization", "Bearer "+handlers.HashAPIToken(readerToken))
		}, http.StatusUnauthorized},
		{"BasicAuth", func(r *http.Request) { r.SetBasicAuth("reporting", readerToken) }, http.StatusUnauthorized},
		{"CookieIsNoCredential", func(r *http.Request) {
			r.AddCookie(&http.Cookie{Name: "sitrep_session", Value: readerToken})
		}, http.StatusUnauthorized},
		{"Token", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+readerToken) }, http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/api/v1/incidents", nil)
			tc.header(req)
			resp, err := e.srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.want {
				t.Fatalf("status %d %s, want %d", resp.StatusCode, raw, tc.want)
			}
			if tc.want == http.StatusUnauthorized && !bytes.Contains(raw, []byte(`"error"`)) {
				t.Errorf("401 without the error form: %s", raw)
			}
		})
	}
	t.Run("OffWithoutTokens", func(t *testing.T) {
		api := &handlers.API{Service: e.svc}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(http.MethodGet, "/api/v1/incidents", nil)
		req.Header.Set("Authorization", "Bearer "+readerToken)
		api.Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), "SITREP_API_TOKENS") {
			t.Errorf("no tokens: %d %s, want 503 naming SITREP_API_TOKENS", rec.Code, rec.Body)
		}
	})
}

func TestParseAPITokens(t *testing.T) {
	h := handlers.HashAPIToken("x")
	for _, bad := range []string{"reporting", "reporting:abc", "bad name:" + h, "a:" + h + ",a:" + h, "a:" + h + ":admin", ":" + h} {
		if _, err := handlers.ParseAPITokens(bad); err == nil {
			t.Errorf("ParseAPITokens(%q) accepted", bad)
		}
	}
	// A token pasted instead of its hash is not repeated in the error.
	if _, err := handlers.ParseAPITokens("ci:sitrep_SECRETVALUE"); err == nil || strings.Contains(err.Error(), "SECRETVALUE") {
		t.Errorf("error %v repeats what may be a secret", err)
	}
	got, err := handlers.ParseAPITokens(" a:" + h + " , b:" + h + ":private ")
	if err != nil || len(got) != 2 || got[0].Name != "a" || got[0].Private || !got[1].Private {
		t.Errorf("ParseAPITokens = %+v, %v", got, err)
	}
}

func TestAPIListIncidentsPagesAndHidesPrivate(t *testing.T) {
	e := newAPIEnv(t)
	var want []string
	for i := 1; i <= 7; i++ {
		inc := e.declare(fmt.Sprintf("incident %d", i), i == 4)
		if i != 4 {
			want = append([]string{inc.Key()}, want...)
		}
	}
	type page struct {
		Incidents []struct {
			ID      string `json:"id"`
			Title   string `json:"title"`
			Private bool   `json:"private"`
		} `json:"incidents"`
		NextCursor string `json:"next_cursor"`
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		var p page
		path := "/api/v1/incidents?limit=2"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		e.json(http.MethodGet, path, readerToken, "", http.StatusOK, &p)
		if len(p.Incidents) > 2 {
			t.Fatalf("page of %d, limit 2", len(p.Incidents))
		}
		for _, inc := range p.Incidents {
			got = append(got, inc.ID)
		}
		if p.NextCursor == "" {
			break
		}
		cursor = p.NextCursor
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("listed %v, want %v (newest first, the private one left out)", got, want)
	}
	var all page
	e.json(http.MethodGet, "/api/v1/incidents", privateToken, "", http.StatusOK, &all)
	if len(all.Incidents) != 7 {
		t.Errorf("a :private token sees %d incidents, want 7", len(all.Incidents))
	}
	// The private incident does not exist for the reader token, on every path.
	for _, p := range []struct{ method, path, body string }{
		{http.MethodGet, "/api/v1/incidents/INC-4", ""},
		{http.MethodGet, "/api/v1/incidents/INC-4/timeline", ""},
		{http.MethodGet, "/api/v1/incidents/INC-4/postmortem", ""},
		{http.MethodPost, "/api/v1/incidents/INC-4/events", `{"occurred_at":"2020-10-08T00:01:00Z","text":"x"}`},
		{http.MethodPatch, "/api/v1/incidents/INC-4/events/1", `{"hidden":true,"reason":"x"}`},
	} {
		if status, raw, _ := e.call(p.method, p.path, readerToken, p.body); status != http.StatusNotFound {
			t.Errorf("%s %s with a reader token = %d %s, want 404", p.method, p.path, status, raw)
		}
	}
	for _, bad := range []string{"?limit=0", "?limit=501", "?limit=x", "?cursor=abc", "?state=closed"} {
		if status, raw, _ := e.call(http.MethodGet, "/api/v1/incidents"+bad, readerToken, ""); status != http.StatusBadRequest || !bytes.Contains(raw, []byte(`"field"`)) {
			t.Errorf("GET incidents%s = %d %s, want 400 naming the field", bad, status, raw)
		}
	}
}

type apiEvent struct {
	ID         int64          `json:"id"`
	OccurredAt time.Time      `json:"occurred_at"`
	RecordedAt time.Time      `json:"recorded_at"`
	Kind       string         `json:"kind"`
	Actor      string         `json:"actor"`
	Text       string         `json:"text"`
	Hidden     bool           `json:"hidden"`
	Data       map[string]any `json:"data"`
}

type apiTimeline struct {
	Events     []apiEvent `json:"events"`
	NextCursor string     `json:"next_cursor"`
}

func TestAPICorrectionsAreAuditedAndChangeThePostmortem(t *testing.T) {
	e := newAPIEnv(t)
	inc := e.declare("Platform API returning 500", false)
	ctx := t.Context()
	e.clock.Set(time.Date(2020, 10, 8, 4, 37, 0, 0, time.UTC))
	if _, err := e.svc.SetStatus(ctx, "U1", inc.ID, bot.StatusMonitoring, "stores are back"); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(time.Date(2020, 10, 8, 5, 0, 0, 0, time.UTC))
	if _, err := e.svc.AddNote(ctx, "U2", inc.ID, "pinned by mistake"); err != nil {
		t.Fatal(err)
	}
	e.clock.Set(time.Date(2020, 10, 9, 9, 0, 0, 0, time.UTC))
	base := "/api/v1/incidents/" + inc.Key()

	var tl apiTimeline
	e.json(http.MethodGet, base+"/timeline", readerToken, "", http.StatusOK, &tl)
	var monitoring, note apiEvent
	for _, ev := range tl.Events {
		switch ev.Kind {
		case string(bot.KindStatusChanged):
			monitoring = ev
		case string(bot.KindNote):
			note = ev
		}
	}
	if monitoring.ID == 0 || note.ID == 0 {
		t.Fatalf("timeline without the status change or the note: %+v", tl.Events)
	}
	_, before, _ := e.call(http.MethodGet, base+"/postmortem", readerToken, "")

	// Correct the time, with a reason.
	var moved apiEvent
	e.json(http.MethodPatch, fmt.Sprintf("%s/events/%d", base, monitoring.ID), readerToken,
		`{"occurred_at":"2020-10-08T04:07:00Z","reason":"the fix was live at 04:07; said late"}`, http.StatusOK, &moved)
	if !moved.OccurredAt.Equal(time.Date(2020, 10, 8, 4, 7, 0, 0, time.UTC)) {
		t.Errorf("corrected event at %v", moved.OccurredAt)
	}
	// Hide the note.
	e.json(http.MethodPatch, fmt.Sprintf("%s/events/%d", base, note.ID), readerToken,
		`{"hidden":true,"reason":"about another incident"}`, http.StatusOK, nil)
	// Add what happened on the phone.
	var added apiEvent
	e.json(http.MethodPost, base+"/events", readerToken,
		`{"occurred_at":"2020-10-08T03:50:00Z","text":"CDN vendor confirmed on the phone"}`, http.StatusCreated, &added)
	// Set impact times.
	e.json(http.MethodPut, base+"/impact", readerToken, `{"start":"2020-10-08T00:00:00Z","end":"2020-10-08T04:10:00Z"}`, http.StatusOK, nil)

	e.json(http.MethodGet, base+"/timeline", readerToken, "", http.StatusOK, &tl)
	var audits []apiEvent
	for _, ev := range tl.Events {
		switch {
		case ev.Kind == string(bot.KindEventCorrected):
			audits = append(audits, ev)
		case ev.ID == note.ID && !ev.Hidden:
			t.Error("the hidden note is not marked hidden in the timeline")
		case ev.ID == added.ID && (ev.Actor != "api:reporting" || !ev.OccurredAt.Equal(time.Date(2020, 10, 8, 3, 50, 0, 0, time.UTC))):
			t.Errorf("added event = %+v, want it at its real time by api:reporting", ev)
		}
	}
	if len(audits) != 2 {
		t.Fatalf("%d correction events, want 2: %+v", len(audits), tl.Events)
	}
	a := audits[0]
	if a.Actor != "api:reporting" || a.Data["before_occurred_at"] != "2020-10-08T04:37:00Z" ||
		a.Data["after_occurred_at"] != "2020-10-08T04:07:00Z" || a.Data["reason"] != "the fix was live at 04:07; said late" ||
		!a.RecordedAt.Equal(e.clock.Now()) {
		t.Errorf("audit = %+v, want who, when, before, after, why", a)
	}
	status, after, hdr := e.call(http.MethodGet, base+"/postmortem", readerToken, "")
	if status != http.StatusOK || !strings.HasPrefix(hdr.Get("Content-Type"), "text/markdown") {
		t.Fatalf("postmortem = %d %s", status, hdr.Get("Content-Type"))
	}
	if bytes.Equal(before, after) {
		t.Fatal("the postmortem did not change after the corrections")
	}
	md := string(after)
	if strings.Contains(md, "pinned by mistake") || !strings.Contains(md, "CDN vendor confirmed") || !strings.Contains(md, "4h 10m") {
		t.Errorf("postmortem does not tell the corrected record (hidden note out, off-chat event in, impact 4h 10m):\n%s", md)
	}
	if !strings.Contains(string(before), "pinned by mistake") {
		t.Error("the note was not in the postmortem before: the check above proves nothing")
	}
}

func TestAPIRejectsBadRequestsAndStoresNothing(t *testing.T) {
	e := newAPIEnv(t)
	inc := e.declare("checkout down", false)
	base := "/api/v1/incidents/" + inc.Key()
	evs, _ := e.svc.Timeline(t.Context(), inc.ID)
	first := evs[0].ID
	before := len(evs)
	tests := []struct {
		name, method, path, body string
		want                     int
		field                    string
	}{
		{"UnknownIncident", http.MethodGet, "/api/v1/incidents/INC-99", "", 404, ""},
		{"BadKey", http.MethodGet, "/api/v1/incidents/foo", "", 400, "incident"},
		{"UnknownField", http.MethodPost, base + "/events", `{"occurred_at":"2020-10-08T00:01:00Z","text":"x","actor":"U9"}`, 400, "actor"},
		{"TrailingGarbage", http.MethodPost, base + "/events", `{"occurred_at":"2020-10-08T00:01:00Z","text":"x"} {}`, 400, ""},
		{"DuplicateKey", http.MethodPost, base + "/events", `{"occurred_at":"2020-10-08T00:01:00Z","text":"x","text":"y"}`, 400, "text"},
		{"NotJSON", http.MethodPost, base + "/events", `occurred_at=now`, 400, ""},
		{"NoTime", http.MethodPost, base + "/events", `{"text":"x"}`, 400, "occurred_at"},
		{"BadTime", http.MethodPost, base + "/events", `{"occurred_at":"yesterday","text":"x"}`, 400, "occurred_at"},
		{"YearNine999", http.MethodPost, base + "/events", `{"occurred_at":"9999-01-01T00:00:00Z","text":"x"}`, 400, "occurred_at"},
		{"NoText", http.MethodPost, base + "/events", `{"occurred_at":"2020-10-08T00:01:00Z"}`, 400, "text"},
		{"CorrectionWithoutReason", http.MethodPatch, fmt.Sprintf("%s/events/%d", base, first), `{"hidden":true}`, 400, "reason"},
		{"CorrectionOfMissingEvent", http.MethodPatch, base + "/events/9999", `{"hidden":true,"reason":"r"}`, 404, ""},
		{"CorrectionBadEventID", http.MethodPatch, base + "/events/x", `{"hidden":true,"reason":"r"}`, 400, "event"},
		{"ImpactNothing", http.MethodPut, base + "/impact", `{}`, 400, "start"},
		{"ImpactFuture", http.MethodPut, base + "/impact", `{"start":"2020-10-08T00:00:00Z","end":"2031-01-01T00:00:00Z"}`, 400, "end"},
		{"UnknownEndpoint", http.MethodGet, "/api/v1/nothing", "", 404, ""},
		{"WrongMethod", http.MethodDelete, base, "", 405, ""},
		{"ExportWithoutGitHub", http.MethodPost, base + "/export", "", 400, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, raw, _ := e.call(tc.method, tc.path, readerToken, tc.body)
			if status != tc.want {
				t.Fatalf("%d %s, want %d", status, raw, tc.want)
			}
			var body struct{ Error, Field string }
			if err := json.Unmarshal(raw, &body); err != nil || body.Error == "" || body.Field != tc.field {
				t.Errorf("body %s: want the error form naming field %q", raw, tc.field)
			}
		})
	}
	after, _ := e.svc.Timeline(t.Context(), inc.ID)
	a, _ := e.db.ImpactAnchors(t.Context(), inc.ID)
	if len(after) != before || !a.StartedAt.IsZero() {
		t.Errorf("rejected requests stored something: %d → %d events, impact %+v", before, len(after), a)
	}
}

func TestAPITimelinePages(t *testing.T) {
	e := newAPIEnv(t)
	inc := e.declare("storm", false)
	for i := 0; i < 25; i++ {
		e.clock.Advance(time.Second)
		if _, err := e.svc.AddNote(t.Context(), "U1", inc.ID, fmt.Sprintf("note %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	all, _ := e.svc.Timeline(t.Context(), inc.ID)
	var ids []int64
	cursor := ""
	for pages := 0; pages < 10; pages++ {
		var tl apiTimeline
		path := "/api/v1/incidents/" + inc.Key() + "/timeline?limit=10"
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		e.json(http.MethodGet, path, readerToken, "", http.StatusOK, &tl)
		for _, ev := range tl.Events {
			ids = append(ids, ev.ID)
		}
		if cursor = tl.NextCursor; cursor == "" {
			break
		}
	}
	if len(ids) != len(all) {
		t.Fatalf("paged %d events, the timeline has %d", len(ids), len(all))
	}
	for i := range all {
		if ids[i] != all[i].ID {
			t.Fatalf("event %d: paged id %d, want %d", i, ids[i], all[i].ID)
		}
	}
	if status, _, _ := e.call(http.MethodGet, "/api/v1/incidents/"+inc.Key()+"/timeline?cursor=not-a-cursor", readerToken, ""); status != http.StatusBadRequest {
		t.Errorf("bad cursor: %d, want 400", status)
	}
}
