// Package web is sitrep's web view: server-rendered pages (html/template,
// no JavaScript needed) to read incidents and long timelines, correct the
// record, preview the postmortem and see the quarter. It is an inbound edge
// like package handlers: it translates requests into domain calls and checks
// on the server who may see and change what.
//
// Nobody gets in without signing in: a one-time link made on the server
// (`sitrep web-login`, the break-glass way while Slack is down) or Sign in
// with Slack. Sessions are HttpOnly, SameSite=Lax cookies (Secure behind
// https), every form carries the session's CSRF token, and the pages never
// accept a bearer token (the REST API, which takes only those, is
// /api/v1 in package handlers).
package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/handlers"
)

// Server serves the web view.
type Server struct {
	Service     *bot.Service
	Sessions    bot.SessionStore
	Drafter     bot.PostmortemDrafter // nil: no postmortem preview
	Postmortems *bot.Postmortems      // nil: no impact or export
	Slack       *SlackSignIn          // nil: Sign in with Slack is off
	Location    *time.Location        // the display time zone beside UTC
	PublicURL   string                // https://…: cookies are Secure
	Log         *slog.Logger
	Now         func() time.Time

	// SessionTTL is how long a session lasts (default 12 h).
	SessionTTL time.Duration
	// LivePoll is how often an open incident's page asks whether it changed
	// (default 5 s; tests shorten it).
	LivePoll time.Duration

	once  sync.Once
	pages map[string]*template.Template
}

const (
	sessionCookie     = "sitrep_session"
	defaultSessionTTL = 12 * time.Hour
	// LoginLinkTTL is how long a one-time link may wait to be used.
	LoginLinkTTL = 10 * time.Minute
)

//go:embed templates/*.html static/*
var assets embed.FS

func (s *Server) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Server) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

func (s *Server) loc() *time.Location {
	if s.Location != nil {
		return s.Location
	}
	return time.UTC
}

func (s *Server) livePoll() time.Duration {
	if s.LivePoll > 0 {
		return s.LivePoll
	}
	return 5 * time.Second
}

func (s *Server) secure() bool { return strings.HasPrefix(s.PublicURL, "https://") }

// Handler routes the web view. It is mounted at "/" beside the webhooks,
// whose more specific paths keep their own authentication.
func (s *Server) Handler() http.Handler {
	s.once.Do(s.parseTemplates)
	mux := http.NewServeMux()
	mux.Handle("GET /static/", http.FileServerFS(assets))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/incidents", http.StatusSeeOther)
	})
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.loginWithLink)
	mux.HandleFunc("GET /login/slack", s.slackStart)
	mux.HandleFunc("GET /login/slack/callback", s.slackCallback)
	mux.HandleFunc("POST /logout", s.signedIn(s.logout))
	mux.HandleFunc("GET /incidents", s.signedIn(s.incidentsPage))
	mux.HandleFunc("GET /overview", s.signedIn(s.overviewPage))
	mux.HandleFunc("GET /incidents/{key}", s.signedIn(s.withIncident(s.incidentPage)))
	mux.HandleFunc("GET /incidents/{key}/version", s.signedIn(s.withIncident(s.incidentVersion)))
	mux.HandleFunc("POST /incidents/{key}/events", s.signedIn(s.withIncident(s.addEvent)))
	mux.HandleFunc("POST /incidents/{key}/events/{event}", s.signedIn(s.withIncident(s.correctEvent)))
	mux.HandleFunc("POST /incidents/{key}/impact", s.signedIn(s.withIncident(s.setImpact)))
	mux.HandleFunc("GET /incidents/{key}/postmortem", s.signedIn(s.withIncident(s.postmortemPage)))
	mux.HandleFunc("POST /incidents/{key}/export", s.signedIn(s.withIncident(s.export)))
	return securityHeaders(mux)
}

// securityHeaders: nothing runs but our own script, nothing frames the
// pages, and no URL (a login link) leaks through Referer.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// randomToken is 32 random bytes, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Errorf("crypto/rand: %w", err)) // the platform's randomness failing is not recoverable
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashToken(t string) string {
	h := sha256.Sum256([]byte(t))
	return hex.EncodeToString(h[:])
}

// NewLoginLink makes a one-time sign-in link for user (a chat user id, so
// that private incidents are checked against the chat; any name otherwise)
// and returns its URL under publicURL.
func NewLoginLink(ctx context.Context, store bot.SessionStore, publicURL, user, name string, now time.Time) (string, error) {
	user = strings.TrimSpace(user)
	if user == "" {
		return "", bot.FieldErrorf("user", "name who signs in: --user U012ABC (a Slack user id) or a name")
	}
	if name == "" {
		name = user
	}
	token := randomToken()
	l := bot.LoginLink{Hash: hashToken(token), UserID: user, Name: name, CreatedAt: now, ExpiresAt: now.Add(LoginLinkTTL)}
	if err := store.CreateLoginLink(ctx, l); err != nil {
		return "", err
	}
	return strings.TrimRight(publicURL, "/") + "/login?token=" + url.QueryEscape(token), nil
}

type sessionKey struct{}

// signedIn runs h for a signed-in session; a page request without one is
// sent to /login, anything else answered 401. A POST must carry the
// session's CSRF token.
func (s *Server) signedIn(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.session(r)
		if err != nil {
			if bot.ErrorCode(err) != bot.ENOTFOUND {
				s.log().Error("read web session", "err", err)
				http.Error(w, "the session store is unavailable; try again in a moment", http.StatusServiceUnavailable)
				return
			}
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			http.Error(w, "not signed in: open /login", http.StatusUnauthorized)
			return
		}
		if r.Method == http.MethodPost {
			got := r.PostFormValue("csrf")
			if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(sess.CSRF)) != 1 {
				http.Error(w, "this form is stale or was not sent from sitrep (CSRF check failed): reload the page and try again", http.StatusForbidden)
				return
			}
		}
		h(w, r.WithContext(context.WithValue(r.Context(), sessionKey{}, sess)))
	}
}

func (s *Server) session(r *http.Request) (bot.WebSession, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return bot.WebSession{}, bot.Errorf(bot.ENOTFOUND, "not signed in")
	}
	return s.Sessions.WebSession(r.Context(), hashToken(c.Value), s.now())
}

func sessionOf(r *http.Request) bot.WebSession {
	sess, _ := r.Context().Value(sessionKey{}).(bot.WebSession)
	return sess
}

// actor names the signed-in person on the timeline: their chat user id
// when they signed in with Slack (or a link made for one), so that chat
// mentions work; otherwise "web:<name>".
func actor(r *http.Request) string {
	sess := sessionOf(r)
	if sess.Via == "slack" || looksLikeChatUser(sess.UserID) {
		return sess.UserID
	}
	return "web:" + sess.UserID
}

// looksLikeChatUser reports whether id has the shape of a Slack user id.
func looksLikeChatUser(id string) bool {
	if len(id) < 3 || (id[0] != 'U' && id[0] != 'W') {
		return false
	}
	for _, r := range id[1:] {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// startSession signs the browser in as user and sends it on to next.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, userID, name, via, next string) {
	token := randomToken()
	ttl := s.SessionTTL
	if ttl <= 0 {
		ttl = defaultSessionTTL
	}
	now := s.now()
	sess := bot.WebSession{Hash: hashToken(token), UserID: userID, Name: name, CSRF: randomToken(), Via: via,
		CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := s.Sessions.CreateWebSession(r.Context(), sess); err != nil {
		s.log().Error("store web session", "err", err)
		http.Error(w, "could not sign in: the session store is unavailable; try again in a moment", http.StatusServiceUnavailable)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: token, Path: "/", HttpOnly: true, Secure: s.secure(),
		SameSite: http.SameSiteLaxMode, MaxAge: int(ttl.Seconds())}) // MaxAge, not Expires: the browser's clock may differ from ours
	s.log().Info("web sign-in", "user", userID, "via", via)
	http.Redirect(w, r, safeNext(next), http.StatusSeeOther)
}

// safeNext keeps a redirect after sign-in on this site.
func safeNext(next string) string {
	if next == "" || !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.Contains(next, `\`) {
		return "/incidents"
	}
	return next
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.Sessions.DeleteWebSession(r.Context(), hashToken(c.Value)); err != nil {
			s.log().Error("delete web session", "err", err)
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: s.secure(),
		SameSite: http.SameSiteLaxMode, MaxAge: -1})
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, "login", map[string]any{
		"Token": r.URL.Query().Get("token"), "Next": safeNext(r.URL.Query().Get("next")),
		"Slack": s.Slack != nil, "Error": r.URL.Query().Get("error")})
}

// loginWithLink spends a one-time link. The link itself only shows a
// button: a GET must not spend it, or a chat's link preview would.
func (s *Server) loginWithLink(w http.ResponseWriter, r *http.Request) {
	token := r.PostFormValue("token")
	if token == "" {
		s.render(w, r, http.StatusBadRequest, "login", map[string]any{"Slack": s.Slack != nil, "Error": "This sign-in link has no token: make a new one with `sitrep web-login`."})
		return
	}
	link, err := s.Sessions.UseLoginLink(r.Context(), hashToken(token), s.now())
	if err != nil {
		status := http.StatusForbidden
		msg := "This sign-in link is unknown, already used or expired: make a new one with `sitrep web-login` on the server."
		if bot.ErrorCode(err) != bot.ENOTFOUND {
			s.log().Error("use login link", "err", err)
			status, msg = http.StatusServiceUnavailable, "The session store is unavailable; try again in a moment."
		}
		s.render(w, r, status, "login", map[string]any{"Slack": s.Slack != nil, "Error": msg})
		return
	}
	s.startSession(w, r, link.UserID, link.Name, "link", r.PostFormValue("next"))
}

// canSee applies the private-incident rule, the one the chat applies
// (bot.Service.CanSee: a private incident is visible only to its channel's
// members, asked of the chat and briefly cached by the adapter; without an
// answer, no). Without a chat to ask (the console setup) every signed-in
// user sees every incident: the only way in is then a link made on the
// server.
func (s *Server) canSee(ctx context.Context, sess bot.WebSession, inc bot.Incident) bool {
	err := s.Service.CanSee(ctx, sess.UserID, inc)
	if err != nil && bot.ErrorCode(err) != bot.EFORBIDDEN {
		s.log().Warn("private incident hidden: its membership could not be checked", "incident", inc.Key(), "err", err)
	}
	return err == nil
}

// withIncident loads the incident in the path; a private one that the
// session may not see is answered exactly like a missing one.
func (s *Server) withIncident(h func(w http.ResponseWriter, r *http.Request, inc bot.Incident)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id, err := bot.ParseIncidentKey(r.PathValue("key"))
		if err == nil {
			var inc bot.Incident
			inc, err = s.Service.Incident(r.Context(), id)
			if err == nil && !s.canSee(r.Context(), sessionOf(r), inc) {
				err = bot.Errorf(bot.ENOTFOUND, "%s does not exist", bot.IncidentKey(id))
			}
			if err == nil {
				h(w, r, inc)
				return
			}
		}
		s.fail(w, r, err)
	}
}

// fail answers an error as a page: its status from the error's code.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := bot.ErrorCode(err)
	status := handlers.StatusOf(code)
	switch code {
	case bot.EINTERNAL:
		s.log().Error("web request failed", "path", r.URL.Path, "err", err)
	case bot.EUNAVAILABLE: // storage failing: the page says try again, and so does the status
		w.Header().Set("Retry-After", strconv.Itoa(int(handlers.RetryAfterUnavailable/time.Second)))
	}
	s.render(w, r, status, "error", map[string]any{"Message": bot.ErrorMessage(err), "Status": status})
}

var errNoTemplate = errors.New("no such page template")

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page string, data map[string]any) {
	t := s.pages[page]
	if t == nil {
		s.log().Error("render", "page", page, "err", errNoTemplate)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	if data == nil {
		data = map[string]any{}
	}
	if sess, ok := r.Context().Value(sessionKey{}).(bot.WebSession); ok {
		data["Session"] = sess
	}
	var buf bytes.Buffer
	buf.Grow(64 << 10)
	if err := t.ExecuteTemplate(&buf, "base", data); err != nil {
		s.log().Error("render", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes()) // no copy: a 10,000-event page is megabytes
}
