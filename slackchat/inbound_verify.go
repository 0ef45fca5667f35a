package slackchat

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/handlers"
	"github.com/slack-go/slack"
)

// The Slack edge: slash commands, interactivity and the Events API, over
// HTTP (signed requests) or Socket Mode. Both transports parse into
// slack-go's types and share one function per kind of request, which
// returns the acknowledgement and, separately, whatever Web API work the
// request causes: that work runs only after the acknowledgement is sent,
// because Slack gives up on an answer after 3 seconds.

// InboundService is what the Slack edge needs from the domain (*bot.Service).
type InboundService interface {
	Execute(ctx context.Context, inv bot.Invocation) (bot.Reply, error)
	HandleAction(ctx context.Context, a bot.ActionInvocation) (bot.Reply, error)
	// AuthorizeAction checks, before a form an action asks for is opened,
	// that the clicker may act on its incident (HandleAction checks again).
	AuthorizeAction(ctx context.Context, a bot.ActionInvocation) error
	Declare(ctx context.Context, req bot.DeclareRequest) (bot.Incident, error)
	IncidentByChannel(ctx context.Context, channelID string) (bot.Incident, error)
	// UpdateForm and EditUpdateForm prefill the status-update form.
	UpdateForm(ctx context.Context, id int64) (bot.UpdateForm, error)
	EditUpdateForm(ctx context.Context, value string) (bot.UpdateForm, error)
	PinMessage(ctx context.Context, req bot.PinRequest) (bool, error)
	EditPinnedMessage(ctx context.Context, ref bot.ChatEventRef, channelID, ts, text string, at time.Time) (bool, error)
	DeletePinnedMessage(ctx context.Context, ref bot.ChatEventRef, channelID, ts string, at time.Time) (bool, error)
	RecordResponderJoined(ctx context.Context, ref bot.ChatEventRef, channelID, user string, at time.Time) (bool, error)
}

// Inbound serves Slack's inbound traffic. Set the exported fields, then mount
// Routes (HTTP mode) or call RunSocket (Socket Mode).
type Inbound struct {
	Service InboundService
	// API is the Web API client, used only after an acknowledgement (modals,
	// ephemeral refusals). Chat output goes through the outbox instead.
	API *slack.Client
	// HTTPClient posts answers to a request's response_url, where an
	// ephemeral cannot reach the person (default: a 10 s timeout).
	HTTPClient *http.Client
	// SigningSecret verifies HTTP requests (not used in Socket Mode).
	SigningSecret string
	// PinReaction is the reaction name that puts a message on the timeline
	// (default "pushpin", without colons).
	PinReaction string
	// Runbooks finds runbooks by name, so a runbook button with parameters
	// opens a form asking for them; nil: the button requests the run at
	// once, with the parameters' defaults.
	Runbooks RunbookCatalog
	// StatusPage drafts the publish form that "/incident statuspage" and
	// the card's button open; nil: no status page is configured.
	StatusPage StatusPageForms
	// Now is the clock signatures are checked against (time.Now when nil).
	Now func() time.Time
	// AfterAckTimeout bounds each piece of work done after an
	// acknowledgement (default 10s).
	AfterAckTimeout time.Duration
	// AckBudget is how long a click's action may run before the
	// acknowledgement goes out without it (default 2s: Slack wants the
	// answer within 3 s).
	AckBudget time.Duration
	// SocketConcurrency is how many Socket Mode envelopes are handled at
	// once (default 16).
	SocketConcurrency int
	Log               *slog.Logger
	// Workspace finds the workspace whose requests are accepted (HTTP
	// mode); nil accepts any that is correctly signed.
	Workspace WorkspaceLearner
	// Requests remembers accepted signatures so that a replay within the
	// signature window does nothing (HTTP mode); nil: no replay check.
	Requests SignedRequests

	bg         sync.WaitGroup
	workspaces workspaceCache
}

// afterAck is Web API work a request causes, run after its acknowledgement.
type afterAck func(ctx context.Context)

// slackSignatureWindow is how far a request's timestamp may be from now.
const slackSignatureWindow = 5 * time.Minute

// errInvalidSlackRequest is the one answer to a request that fails
// verification: it says nothing about which check failed.
var errInvalidSlackRequest = errors.New("invalid request")

// Routes returns the HTTP endpoints, for Routes.Extra.
func (s *Inbound) Routes() map[string]http.Handler {
	return map[string]http.Handler{
		"POST /slack/commands":     http.HandlerFunc(s.serveCommands),
		"POST /slack/interactions": http.HandlerFunc(s.serveInteractions),
		"POST /slack/events":       http.HandlerFunc(s.serveEvents),
	}
}

// Wait blocks until the work started after acknowledgements has finished
// (each piece within AfterAckTimeout): for shutdown and tests.
func (s *Inbound) Wait() { s.bg.Wait() }

// later runs work in the background after an acknowledgement, bounded by
// AfterAckTimeout and detached from the request's cancellation.
func (s *Inbound) later(ctx context.Context, work afterAck) {
	if work == nil {
		return
	}
	timeout := s.AfterAckTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	s.bg.Go(func() {
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
		defer cancel()
		work(wctx)
	})
}

func (s *Inbound) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func (s *Inbound) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// VerifySignature checks Slack's v0 signature of body: the
// X-Slack-Request-Timestamp must be within 5 minutes of now (either way)
// and X-Slack-Signature must be "v0=" + hex HMAC-SHA256 of
// "v0:<timestamp>:<body>" under secret. It returns an error for a missing,
// malformed, stale or wrong signature and for an empty secret.
//
// It does what slack.NewSecretsVerifier does, with the clock as a
// parameter: slack-go's verifier reads the wall clock, which would make
// Slack's published test vector (from 2018) untestable.
func VerifySignature(header http.Header, body []byte, secret string, now time.Time) error {
	if secret == "" {
		return errors.New("no signing secret configured")
	}
	stamp, sig := header.Get("X-Slack-Request-Timestamp"), header.Get("X-Slack-Signature")
	if stamp == "" || sig == "" {
		return errors.New("missing signature headers")
	}
	secs, err := strconv.ParseInt(stamp, 10, 64)
	if err != nil {
		return errors.New("malformed timestamp")
	}
	if d := now.Sub(time.Unix(secs, 0)).Abs(); d > slackSignatureWindow {
		return errors.New("timestamp outside the 5-minute window")
	}
	got, ok := strings.CutPrefix(sig, "v0=")
	if !ok {
		return errors.New("unsupported signature version")
	}
	gotMAC, err := hex.DecodeString(got)
	if err != nil {
		return errors.New("malformed signature")
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte("v0:" + stamp + ":"))
	mac.Write(body)
	if !hmac.Equal(mac.Sum(nil), gotMAC) {
		return errors.New("signature mismatch")
	}
	return nil
}

// verifiedBody verifies the signature of a request whose body was read
// (handlers.ReadBody: at most 1 MiB) and puts the body back for slack-go's parsers.
// On failure it has answered 401 {"error":"invalid request"}, with nothing
// about which check failed, and reports false. A signed request of the
// wrong media type (415), from another workspace (403) or replayed (200,
// nothing done) is answered too and reported false.
func (s *Inbound) verifiedBody(w http.ResponseWriter, r *http.Request, body []byte) bool {
	if err := VerifySignature(r.Header, body, s.SigningSecret, s.now()); err != nil {
		s.log().Warn("rejected a Slack request", "path", r.URL.Path, "reason", err)
		handlers.WriteJSON(w, http.StatusUnauthorized, handlers.ErrorBody{Error: errInvalidSlackRequest.Error()})
		return false
	}
	if !checkContentType(w, r) || !s.checkWorkspace(w, r, body) || !s.checkReplay(w, r) {
		return false
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	return true
}

// isSSLCheck reports whether a form body is Slack's certificate check
// (ssl_check=1), which only wants a 200.
func isSSLCheck(body []byte) bool {
	form, err := url.ParseQuery(string(body))
	return err == nil && form.Get("ssl_check") == "1"
}

// ack writes the acknowledgement (JSON, or an empty 200 for nil), flushes it
// and only then starts the work it causes.
func (s *Inbound) ack(w http.ResponseWriter, r *http.Request, body any, work afterAck) {
	if body == nil {
		w.WriteHeader(http.StatusOK)
	} else {
		handlers.WriteJSON(w, http.StatusOK, body)
	}
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	s.later(r.Context(), work)
}

// slackMessage is a slash-command answer; ephemeral makes one only its
// author sees. With Blocks, Text is the notification fallback.
type slackMessage struct {
	ResponseType string        `json:"response_type"`
	Text         string        `json:"text"`
	Blocks       []slack.Block `json:"blocks,omitempty"`
}

// ephemeral makes the domain's text a Slack answer (mrkdwnText: mentions
// sitrep built live, typed markup escaped).
func ephemeral(text string) slackMessage {
	return slackMessage{ResponseType: slack.ResponseTypeEphemeral, Text: mrkdwnText(text)}
}

// userMessage is what a person is told about err: the domain's message for
// the errors they can act on, a generic line (and a log entry) for the
// rest.
func (s *Inbound) userMessage(err error, what string) string {
	if bot.ErrorCode(err) == bot.EINTERNAL {
		s.log().Error("Slack "+what+" failed", "err", err)
	}
	return bot.ErrorMessage(err)
}

// tellUser sends text to user as an ephemeral message in channel. It is
// only ever called after an acknowledgement; a failure is logged (the
// person can retry; nothing was recorded).
func (s *Inbound) tellUser(ctx context.Context, channelID, userID, text string) {
	s.showUser(ctx, channelID, userID, text, nil)
}
