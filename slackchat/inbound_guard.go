package slackchat

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/sitrep-io/sitrep/handlers"
)

// Two checks on a signed request beyond its signature: that it comes from
// the workspace the bot belongs to, and that it is not a replay. A valid
// signature proves only that Slack sent those bytes once, to some
// installation of an app with this signing secret.

// Workspace is the workspace whose requests are accepted: a team id
// (T…), or for an Enterprise Grid installation the enterprise id (E…),
// which accepts every workspace of that organisation.
type Workspace struct {
	TeamID       string
	EnterpriseID string
}

func (w Workspace) accepts(team, enterprise string) bool {
	if w.EnterpriseID != "" && enterprise == w.EnterpriseID {
		return true
	}
	return w.TeamID != "" && team == w.TeamID
}

// WorkspaceLearner finds the bot's workspace (Slack's auth.test).
type WorkspaceLearner func(ctx context.Context) (Workspace, error)

// OwnWorkspace is the WorkspaceLearner of a bot: the workspace id
// configured (an Enterprise Grid organisation's E…, else a team's T…) or,
// with id "", the workspace c's bot token belongs to (auth.test).
func OwnWorkspace(c *Client, id string) WorkspaceLearner {
	return func(ctx context.Context) (Workspace, error) {
		switch {
		case strings.HasPrefix(id, "E"):
			return Workspace{EnterpriseID: id}, nil
		case id != "":
			return Workspace{TeamID: id}, nil
		}
		team, enterprise, err := c.Workspace(ctx)
		return Workspace{TeamID: team, EnterpriseID: enterprise}, err
	}
}

// workspaceCache asks the learner until it has an answer, then keeps it:
// a Slack outage at start must not keep the bot from starting.
type workspaceCache struct {
	mu    sync.Mutex
	known *Workspace
}

// learnOnRequest bounds how long a request waits for the workspace when
// the bot has not learnt it yet, well inside Slack's 3 s.
const learnOnRequest = time.Second

// LearnWorkspace learns the workspace whose requests are accepted, retrying
// every few seconds until it has it or ctx ends, so that requests do not
// wait on Slack for it. Requests before then ask Slack themselves (for
// at most a second).
func (s *Inbound) LearnWorkspace(ctx context.Context) {
	if s.Workspace == nil {
		return
	}
	for {
		wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, err := s.workspaces.get(wctx, s.Workspace)
		cancel()
		if err == nil {
			return
		}
		s.log().Warn("cannot learn the bot's Slack workspace yet; retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(5 * time.Second):
		}
	}
}

func (c *workspaceCache) get(ctx context.Context, learn WorkspaceLearner) (Workspace, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.known != nil {
		return *c.known, nil
	}
	ws, err := learn(ctx)
	if err != nil {
		return Workspace{}, err
	}
	if ws.TeamID == "" && ws.EnterpriseID == "" {
		return Workspace{}, errors.New("auth.test named no workspace")
	}
	c.known = &ws
	return ws, nil
}

// requestWorkspace reads the team and enterprise a signed request names:
// form fields for slash commands, the payload's team for interactions, the
// envelope's fields for the Events API. url_verification names none and
// reports ok with empty ids.
func requestWorkspace(path string, body []byte) (team, enterprise string, err error) {
	if path == "/slack/events" {
		var env struct {
			Type         string `json:"type"`
			TeamID       string `json:"team_id"`
			EnterpriseID string `json:"enterprise_id"`
		}
		if err := handlers.DecodeJSON(body, &env); err != nil {
			return "", "", fmt.Errorf("malformed event envelope: %w", err)
		}
		return env.TeamID, env.EnterpriseID, nil
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return "", "", fmt.Errorf("malformed form body: %w", err)
	}
	if raw := form.Get("payload"); raw != "" {
		var p struct {
			Team       struct{ ID string }  `json:"team"`
			Enterprise *struct{ ID string } `json:"enterprise"`
			User       struct {
				TeamID string `json:"team_id"`
			} `json:"user"`
		}
		if err := handlers.DecodeJSON([]byte(raw), &p); err != nil {
			return "", "", fmt.Errorf("malformed interaction payload: %w", err)
		}
		team = p.Team.ID
		if team == "" {
			team = p.User.TeamID
		}
		if p.Enterprise != nil {
			enterprise = p.Enterprise.ID
		}
		return team, enterprise, nil
	}
	return form.Get("team_id"), form.Get("enterprise_id"), nil
}

// wantContentType is the media type Slack sends to each endpoint: a body
// of another type would parse into empty fields.
func wantContentType(path string) string {
	if path == "/slack/events" {
		return "application/json"
	}
	return "application/x-www-form-urlencoded"
}

// checkWorkspace answers a request from another workspace with 403 (and a
// Slack outage that keeps the bot from learning its own with 503); it
// reports whether to go on.
func (s *Inbound) checkWorkspace(w http.ResponseWriter, r *http.Request, body []byte) bool {
	if s.Workspace == nil {
		return true
	}
	team, enterprise, err := requestWorkspace(r.URL.Path, body)
	if err != nil {
		handlers.WriteJSON(w, http.StatusBadRequest, handlers.ErrorBody{Error: err.Error()})
		return false
	}
	if team == "" && enterprise == "" && r.URL.Path == "/slack/events" {
		return true // url_verification: the challenge is answered, nothing acts
	}
	ctx, cancel := context.WithTimeout(r.Context(), learnOnRequest)
	defer cancel()
	ws, err := s.workspaces.get(ctx, s.Workspace)
	if err != nil {
		s.log().Warn("cannot learn the bot's Slack workspace; refusing requests until it can", "err", err)
		w.Header().Set("Retry-After", "5")
		handlers.WriteJSON(w, http.StatusServiceUnavailable, handlers.ErrorBody{Error: "cannot reach Slack to check the workspace; try again shortly"})
		return false
	}
	if !ws.accepts(team, enterprise) {
		s.log().Warn("rejected a Slack request from another workspace", "path", r.URL.Path, "team", team, "enterprise", enterprise)
		handlers.WriteJSON(w, http.StatusForbidden, handlers.ErrorBody{Error: "this sitrep serves another Slack workspace"})
		return false
	}
	return true
}

// checkContentType answers a body of the wrong media type with 415.
func checkContentType(w http.ResponseWriter, r *http.Request) bool {
	want := wantContentType(r.URL.Path)
	got, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || got != want {
		handlers.WriteJSON(w, http.StatusUnsupportedMediaType, handlers.ErrorBody{Error: "Content-Type must be " + want, Field: "Content-Type"})
		return false
	}
	return true
}

// checkReplay remembers the request's signature for as long as its
// timestamp is accepted; the same signature again is the same bytes again,
// sent by someone who captured them. It is answered 200 with nothing done,
// since Slack itself never sends one request twice (its retries of events
// are signed anew, and their event_id is deduplicated separately).
func (s *Inbound) checkReplay(w http.ResponseWriter, r *http.Request) bool {
	if s.Requests == nil {
		return true
	}
	fresh, err := s.Requests.MarkSignedRequest(r.Context(), "slack", r.Header.Get("X-Slack-Signature"), s.now())
	if err != nil {
		s.log().Warn("cannot record a Slack request against replays", "err", err)
		w.Header().Set("Retry-After", "5")
		handlers.WriteJSON(w, http.StatusServiceUnavailable, handlers.ErrorBody{Error: "storage unavailable; try again shortly"})
		return false
	}
	if !fresh {
		s.log().Warn("ignored a replayed Slack request", "path", r.URL.Path)
		w.WriteHeader(http.StatusOK)
		return false
	}
	return true
}

// SignedRequests remembers the signed requests already accepted
// (*bot.Service).
type SignedRequests interface {
	MarkSignedRequest(ctx context.Context, source, signature string, at time.Time) (bool, error)
}
