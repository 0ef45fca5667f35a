package slackfake

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Sign in with Slack (OpenID Connect), as Slack documents it: discovery at
// /.well-known/openid-configuration, the authorize page at
// /openid/connect/authorize, the code exchanged at
// /api/openid.connect.token (client_secret_post; errors as {"ok":false}
// with 200), ID tokens signed RS256 with the keys at /openid/connect/keys,
// carrying https://slack.com/user_id and https://slack.com/team_id. The
// issuer is the fake's base URL.

// OIDCClient is the Slack app that signs people in.
const (
	OIDCClientID     = "1111.2222"
	OIDCClientSecret = "fake-oidc-client-secret"
)

type openID struct {
	once  sync.Once
	key   *rsa.PrivateKey
	mu    sync.Mutex
	user  string // who is signed in at Slack in the browser; "" refuses
	team  string
	codes map[string]oidcCode
}

type oidcCode struct {
	user, team, nonce, redirect string
	expires                     time.Time
}

func (o *openID) init() {
	o.once.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		o.key = k
		o.codes = map[string]oidcCode{}
	})
}

// SignInAs makes the next Sign in with Slack in a browser sign in as user
// of team ("" team: the fake's own TeamID). "" user makes the authorize
// page refuse (the person cancels).
func (s *Server) SignInAs(user, team string) {
	s.openid.init()
	s.openid.mu.Lock()
	defer s.openid.mu.Unlock()
	if team == "" {
		team = TeamID
	}
	s.openid.user, s.openid.team = user, team
}

// OIDCIssuer is the issuer URL to configure (Slack's is https://slack.com).
func (s *Server) OIDCIssuer() string { return s.hs.URL }

func (s *Server) registerOpenID() {
	s.mux.HandleFunc("/.well-known/openid-configuration", s.oidcDiscovery)
	s.mux.HandleFunc("/openid/connect/authorize", s.oidcAuthorize)
	s.mux.HandleFunc("/openid/connect/keys", s.oidcKeys)
	s.mux.HandleFunc("/api/openid.connect.token", s.oidcToken)
}

func (s *Server) oidcDiscovery(w http.ResponseWriter, _ *http.Request) {
	base := s.hs.URL
	writeJSONBody(w, map[string]any{
		"issuer":                                base,
		"authorization_endpoint":                base + "/openid/connect/authorize",
		"token_endpoint":                        base + "/api/openid.connect.token",
		"userinfo_endpoint":                     base + "/api/openid.connect.userInfo",
		"jwks_uri":                              base + "/openid/connect/keys",
		"scopes_supported":                      []string{"openid", "profile", "email"},
		"response_types_supported":              []string{"code"},
		"response_modes_supported":              []string{"form_post"},
		"grant_types_supported":                 []string{"authorization_code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
		"claims_supported":                      []string{"sub", "auth_time", "iss", "name", "email"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_post", "client_secret_basic"},
	})
}

func (s *Server) oidcKeys(w http.ResponseWriter, _ *http.Request) {
	s.openid.init()
	writeJSONBody(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &s.openid.key.PublicKey, KeyID: "fake-1", Algorithm: "RS256", Use: "sig"}}})
}

// oidcAuthorize plays the person at Slack's consent page: it sends the
// browser back with a code, or with error=access_denied.
func (s *Server) oidcAuthorize(w http.ResponseWriter, r *http.Request) {
	s.openid.init()
	q := r.URL.Query()
	redirect, err := url.Parse(q.Get("redirect_uri"))
	if q.Get("client_id") != OIDCClientID || err != nil || redirect.Scheme == "" {
		http.Error(w, "invalid client_id or redirect_uri", http.StatusBadRequest)
		return
	}
	if q.Get("response_type") != "code" || q.Get("scope") == "" {
		http.Error(w, "response_type must be code, with a scope", http.StatusBadRequest)
		return
	}
	back := redirect.Query()
	back.Set("state", q.Get("state"))
	s.openid.mu.Lock()
	user, team := s.openid.user, s.openid.team
	if user == "" {
		back.Set("error", "access_denied")
	} else {
		code := fmt.Sprintf("code-%d", time.Now().UnixNano())
		s.openid.codes[code] = oidcCode{user: user, team: team, nonce: q.Get("nonce"), redirect: q.Get("redirect_uri"), expires: time.Now().Add(10 * time.Minute)}
		back.Set("code", code)
	}
	s.openid.mu.Unlock()
	redirect.RawQuery = back.Encode()
	http.Redirect(w, r, redirect.String(), http.StatusFound)
}

func (s *Server) oidcToken(w http.ResponseWriter, r *http.Request) {
	s.openid.init()
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		writeJSONBody(w, map[string]any{"ok": false, "error": "invalid_arguments"})
		return
	}
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if id != OIDCClientID || secret != OIDCClientSecret {
		writeJSONBody(w, map[string]any{"ok": false, "error": "invalid_client_id"})
		return
	}
	s.openid.mu.Lock()
	code, ok := s.openid.codes[r.PostForm.Get("code")]
	delete(s.openid.codes, r.PostForm.Get("code")) // single use
	s.openid.mu.Unlock()
	if !ok || time.Now().After(code.expires) {
		writeJSONBody(w, map[string]any{"ok": false, "error": "invalid_code"})
		return
	}
	if r.PostForm.Get("redirect_uri") != code.redirect {
		writeJSONBody(w, map[string]any{"ok": false, "error": "bad_redirect_uri"})
		return
	}
	name := code.user
	s.mu.Lock()
	if u, ok := s.users[code.user]; ok && u.RealName != "" {
		name = u.RealName
	}
	s.mu.Unlock()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: s.openid.key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "fake-1"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	now := time.Now()
	claims := map[string]any{
		"iss": s.hs.URL, "sub": code.user, "aud": OIDCClientID, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(),
		"auth_time": now.Unix(), "nonce": code.nonce, "name": name,
		"https://slack.com/user_id": code.user, "https://slack.com/team_id": code.team,
	}
	raw, err := jwt.Signed(signer).Claims(claims).Serialize()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	writeJSONBody(w, map[string]any{"ok": true, "access_token": "xoxp-fake-oidc", "token_type": "Bearer", "id_token": raw})
}

func writeJSONBody(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(v)
}
