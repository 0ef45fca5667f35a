// Package pager is the PagerDuty REST API adapter: it implements bot.Pager
// over github.com/PagerDuty/go-pagerduty.
package pager

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/PagerDuty/go-pagerduty"
	"github.com/sitrep-io/sitrep/bot"
)

// PagerDuty error codes the adapter treats as success: the incident is
// already where it was asked to go.
const (
	codeAlreadyResolved     = 1001
	codeAlreadyAcknowledged = 1002
)

// Config connects the adapter to PagerDuty.
type Config struct {
	Token string // REST API key
	From  string // email of the PagerDuty user write-backs are made as (required by PUT /incidents and notes)
	// APIURL is the REST base URL without a trailing slash (default
	// https://api.pagerduty.com).
	APIURL string
	// HTTPClient is used for requests (default: a client with a 10 s
	// timeout).
	HTTPClient *http.Client
}

// Client is a bot.Pager over PagerDuty's REST API.
type Client struct {
	api  *pagerduty.Client
	from string
}

var _ bot.Pager = (*Client)(nil)

// New returns a Client. It returns an error when the token or From email is
// missing.
func New(cfg Config) (*Client, error) {
	if cfg.Token == "" {
		return nil, errors.New("pagerduty: an API token is required")
	}
	if !strings.Contains(cfg.From, "@") {
		return nil, errors.New("pagerduty: From must be the email of a PagerDuty user")
	}
	var opts []pagerduty.ClientOptions
	if cfg.APIURL != "" {
		opts = append(opts, pagerduty.WithAPIEndpoint(strings.TrimSuffix(cfg.APIURL, "/")))
	}
	api := pagerduty.NewClient(cfg.Token, opts...)
	base := cfg.HTTPClient
	if base == nil {
		base = &http.Client{Timeout: 10 * time.Second}
	}
	hc := *base
	hc.Transport = &resetRecorder{next: transportOf(base)}
	api.HTTPClient = &hc
	return &Client{api: api, from: cfg.From}, nil
}

// Acknowledge acknowledges a PagerDuty incident; one already acknowledged
// or resolved is left as it is.
func (c *Client) Acknowledge(ctx context.Context, incidentID string) error {
	return c.manage(ctx, incidentID, "acknowledged")
}

// Resolve resolves a PagerDuty incident; one already resolved is left as it
// is.
func (c *Client) Resolve(ctx context.Context, incidentID string) error {
	return c.manage(ctx, incidentID, "resolved")
}

func (c *Client) manage(ctx context.Context, incidentID, status string) error {
	ctx, hint := withHint(ctx)
	_, err := c.api.ManageIncidentsWithContext(ctx, c.from, []pagerduty.ManageIncidentsOptions{{ID: incidentID, Status: status}})
	if alreadyDone(err) {
		return nil
	}
	return classify(err, hint, "mark PagerDuty incident %s %s", incidentID, status)
}

// AddNote adds a note to a PagerDuty incident, as the From user.
func (c *Client) AddNote(ctx context.Context, incidentID, content string) error {
	ctx, hint := withHint(ctx)
	// The note is plain text in PagerDuty: the domain's mentions as "@U1".
	note := pagerduty.IncidentNote{Content: bot.PlainText(content), User: pagerduty.APIObject{Summary: c.from}}
	_, err := c.api.CreateIncidentNoteWithContext(ctx, incidentID, note)
	return classify(err, hint, "add note to PagerDuty incident %s", incidentID)
}

// OnCall lists the users on call for an escalation policy, with their
// emails, lowest escalation level first.
func (c *Client) OnCall(ctx context.Context, policyID string) ([]bot.OnCallUser, error) {
	var out []bot.OnCallUser
	opts := pagerduty.ListOnCallOptions{EscalationPolicyIDs: []string{policyID}, Includes: []string{"users"}, Limit: 100}
	for page := 0; page < 10; page++ { // bounded: a policy has a handful of people
		pctx, hint := withHint(ctx)
		resp, err := c.api.ListOnCallsWithContext(pctx, opts)
		if err != nil {
			return nil, classify(err, hint, "list on-call users of %s", policyID)
		}
		for _, oc := range resp.OnCalls {
			out = append(out, bot.OnCallUser{ID: oc.User.ID, Name: userName(oc.User), Email: oc.User.Email, Level: int(oc.EscalationLevel)})
		}
		if !resp.More || len(resp.OnCalls) == 0 {
			break
		}
		opts.Offset += uint(len(resp.OnCalls))
	}
	slices.SortStableFunc(out, func(a, b bot.OnCallUser) int { return a.Level - b.Level })
	return out, nil
}

func userName(u pagerduty.User) string {
	if u.Name != "" {
		return u.Name
	}
	if u.Summary != "" {
		return u.Summary
	}
	return u.ID
}

// alreadyDone reports PagerDuty's "already resolved / acknowledged" refusal.
func alreadyDone(err error) bool {
	var ae pagerduty.APIError
	if !errors.As(err, &ae) || !ae.APIError.Valid {
		return false
	}
	code := ae.APIError.ErrorObject.Code
	return code == codeAlreadyResolved || code == codeAlreadyAcknowledged
}

// classify wraps err with context and marks what is worth retrying as
// bot.Temporary: rate limits (after PagerDuty's ratelimit-reset when it
// sent one), 5xx and transport failures. Other API errors (400, 401, 403,
// 404) are permanent.
func classify(err error, hint *retryHint, format string, args ...any) error {
	if err == nil {
		return nil
	}
	wrapped := fmt.Errorf("%s: %w", fmt.Sprintf(format, args...), err)
	var ae pagerduty.APIError
	if errors.As(err, &ae) {
		if ae.RateLimited() {
			return bot.Temporary(wrapped, hint.reset)
		}
		if ae.Temporary() {
			return bot.Temporary(wrapped, 0)
		}
		return wrapped
	}
	// go-pagerduty wraps transport errors with %v, so anything that is not an
	// APIError is a failure to reach PagerDuty (or to read its answer).
	return bot.Temporary(wrapped, 0)
}

// retryHint carries the ratelimit-reset of a 429 from the transport to
// classify: go-pagerduty's APIError keeps no headers.
type retryHint struct{ reset time.Duration }

type hintKey struct{}

func withHint(ctx context.Context) (context.Context, *retryHint) {
	h := &retryHint{}
	return context.WithValue(ctx, hintKey{}, h), h
}

// resetRecorder notes the ratelimit-reset header of 429 answers in the
// request's retryHint.
type resetRecorder struct{ next http.RoundTripper }

func (r *resetRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil || resp.StatusCode != http.StatusTooManyRequests {
		return resp, err
	}
	if h, ok := req.Context().Value(hintKey{}).(*retryHint); ok {
		if secs, perr := strconv.Atoi(strings.TrimSpace(resp.Header.Get("ratelimit-reset"))); perr == nil && secs > 0 {
			h.reset = time.Duration(secs) * time.Second
		}
	}
	return resp, err
}

func transportOf(c *http.Client) http.RoundTripper {
	if c.Transport != nil {
		return c.Transport
	}
	return http.DefaultTransport
}
