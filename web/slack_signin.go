package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// SlackSignIn is Sign in with Slack (OpenID Connect). Only members of the
// bot's own workspace get in.
type SlackSignIn struct {
	ClientID     string
	ClientSecret string
	// Issuer is Slack's OpenID issuer, https://slack.com (tests point it
	// at a fake).
	Issuer string
	// RedirectURL is SITREP_PUBLIC_URL + /login/slack/callback, as
	// registered in the Slack app's redirect URLs.
	RedirectURL string
	// Workspace returns the team id allowed in (the bot token's workspace,
	// or the configured one).
	Workspace func(ctx context.Context) (string, error)
	// HTTPClient reaches Slack (nil: http.DefaultClient).
	HTTPClient *http.Client

	mu       sync.Mutex
	provider *oidc.Provider // discovered on first use, so serve starts while Slack is away
}

// oidcCookie carries state, nonce and where to go next, for the few minutes
// of a sign-in: the callback checks that the browser coming back is the one
// that left.
const (
	oidcCookie  = "sitrep_oidc"
	oidcTimeout = 10 * time.Minute
)

func (c *SlackSignIn) ctx(ctx context.Context) context.Context {
	if c.HTTPClient != nil {
		return oidc.ClientContext(ctx, c.HTTPClient)
	}
	return ctx
}

func (c *SlackSignIn) discover(ctx context.Context) (*oidc.Provider, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.provider != nil {
		return c.provider, nil
	}
	p, err := oidc.NewProvider(c.ctx(ctx), c.Issuer)
	if err != nil {
		return nil, fmt.Errorf("discover Slack's OpenID configuration at %s: %w", c.Issuer, err)
	}
	c.provider = p
	return p, nil
}

func (c *SlackSignIn) oauth(p *oidc.Provider) *oauth2.Config {
	ep := p.Endpoint()
	ep.AuthStyle = oauth2.AuthStyleInParams // Slack's openid.connect.token takes client_secret_post
	return &oauth2.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Endpoint: ep,
		RedirectURL: c.RedirectURL, Scopes: []string{oidc.ScopeOpenID, "profile"}}
}

func (s *Server) slackStart(w http.ResponseWriter, r *http.Request) {
	c := s.Slack
	if c == nil {
		http.NotFound(w, r)
		return
	}
	p, err := c.discover(r.Context())
	if err != nil {
		s.log().Warn("Sign in with Slack unavailable", "err", err)
		s.render(w, r, http.StatusServiceUnavailable, "login", map[string]any{"Slack": true,
			"Error": "Slack cannot be reached for sign-in right now. On the server, `sitrep web-login` prints a one-time link that works without Slack."})
		return
	}
	state, nonce := randomToken(), randomToken()
	next := safeNext(r.URL.Query().Get("next"))
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: state + "." + nonce + "." + url.QueryEscape(next), Path: "/login/slack",
		HttpOnly: true, Secure: s.secure(), SameSite: http.SameSiteLaxMode, MaxAge: int(oidcTimeout.Seconds())})
	opts := []oauth2.AuthCodeOption{oidc.Nonce(nonce)}
	if team, err := c.Workspace(r.Context()); err == nil && team != "" {
		opts = append(opts, oauth2.SetAuthURLParam("team", team)) // Slack then skips the workspace picker
	}
	http.Redirect(w, r, c.oauth(p).AuthCodeURL(state, opts...), http.StatusFound)
}

// errSignIn is a sign-in refused for a reason the person should read.
type errSignIn struct{ msg string }

func (e errSignIn) Error() string { return e.msg }

func (s *Server) slackCallback(w http.ResponseWriter, r *http.Request) {
	c := s.Slack
	if c == nil {
		http.NotFound(w, r)
		return
	}
	user, name, next, err := s.finishSlackSignIn(r)
	http.SetCookie(w, &http.Cookie{Name: oidcCookie, Value: "", Path: "/login/slack", HttpOnly: true, Secure: s.secure(), MaxAge: -1})
	if err != nil {
		var refused errSignIn
		msg := "Sign in with Slack failed; try again, or use `sitrep web-login` on the server."
		status := http.StatusBadGateway
		if errors.As(err, &refused) {
			msg, status = refused.msg, http.StatusForbidden
		}
		s.log().Warn("Sign in with Slack refused", "err", err)
		s.render(w, r, status, "login", map[string]any{"Slack": true, "Error": msg})
		return
	}
	s.startSession(w, r, user, name, "slack", next)
}

func (s *Server) finishSlackSignIn(r *http.Request) (user, name, next string, err error) {
	c := s.Slack
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		return "", "", "", errSignIn{"Slack did not sign you in (" + e + ")."}
	}
	cookie, err := r.Cookie(oidcCookie)
	if err != nil {
		return "", "", "", errSignIn{"This sign-in took too long or started in another browser: start again."}
	}
	parts := strings.SplitN(cookie.Value, ".", 3)
	if len(parts) != 3 || q.Get("state") == "" || q.Get("state") != parts[0] {
		return "", "", "", errSignIn{"This sign-in does not match the one this browser started: start again."}
	}
	nonce := parts[1]
	next, _ = url.QueryUnescape(parts[2])
	p, err := c.discover(r.Context())
	if err != nil {
		return "", "", "", err
	}
	ctx := c.ctx(r.Context())
	tok, err := c.oauth(p).Exchange(ctx, q.Get("code"))
	if err != nil {
		return "", "", "", fmt.Errorf("exchange the sign-in code: %w", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return "", "", "", errors.New("slack's token answer has no id_token")
	}
	idt, err := p.Verifier(&oidc.Config{ClientID: c.ClientID}).Verify(ctx, raw)
	if err != nil {
		return "", "", "", fmt.Errorf("verify the ID token: %w", err)
	}
	if idt.Nonce != nonce {
		return "", "", "", errSignIn{"This sign-in was replayed or mixed up with another: start again."}
	}
	var claims struct {
		User string `json:"https://slack.com/user_id"`
		Team string `json:"https://slack.com/team_id"`
		Name string `json:"name"`
	}
	if err := idt.Claims(&claims); err != nil {
		return "", "", "", fmt.Errorf("read the ID token's claims: %w", err)
	}
	team, err := c.Workspace(r.Context())
	if err != nil {
		return "", "", "", fmt.Errorf("learn the workspace: %w", err)
	}
	if claims.User == "" || claims.Team == "" || claims.Team != team {
		return "", "", "", errSignIn{"Only members of this sitrep's Slack workspace can sign in."}
	}
	return claims.User, claims.Name, next, nil
}
