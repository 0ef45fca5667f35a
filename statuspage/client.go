// Package statuspage publishes to Atlassian Statuspage (REST API v1): it
// implements bot.StatusPage. There is no maintained Go client, so it speaks
// the documented JSON with net/http: create with POST
// /pages/{page}/incidents, update and resolve with PATCH
// /pages/{page}/incidents/{id}, authenticated with "Authorization: OAuth
// <key>".
//
// Pacing: a Client sends one request at a time, each at least MinInterval
// after the previous one's answer, so that incidents published at once
// stay within Statuspage's limit instead of running into it. Errors: 420
// and 429 (about one request per second per key) are rate limits, retried
// after Retry-After (and the next request waits as long); 5xx and network failures are
// temporary; 401, 404 and 422 are permanent, with Statuspage's reason and
// what to check.
package statuspage

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// DefaultAPIURL is Statuspage's API base.
const DefaultAPIURL = "https://api.statuspage.io/v1"

// Client is a bot.StatusPage on one Statuspage page.
type Client struct {
	APIKey string
	PageID string
	// BaseURL is the API base (DefaultAPIURL when empty).
	BaseURL string
	HTTP    *http.Client // http.DefaultClient when nil
	Now     func() time.Time
	// MinInterval is the least time between the answer to one request and
	// the next request (DefaultMinInterval when 0; negative: no pacing).
	// Share one Client per key: the pacing is the Client's.
	MinInterval time.Duration

	paceOnce sync.Once
	turn     chan struct{} // one request at a time
	notUntil time.Time     // the next request waits until then (c.Now's clock)
}

// DefaultMinInterval keeps a Client within Statuspage's limit of about one
// request per second per key.
const DefaultMinInterval = time.Second

var _ bot.StatusPage = (*Client)(nil)

// Name names the page in messages.
func (c *Client) Name() string { return "Atlassian Statuspage" }

// incidentFields is the documented "incident" object of a create or update.
type incidentFields struct {
	Name         string            `json:"name,omitempty"`
	Status       string            `json:"status"`
	Body         string            `json:"body"`
	ComponentIDs []string          `json:"component_ids"`
	Components   map[string]string `json:"components"`
	// DeliverNotifications tells subscribers: a public update is meant to
	// reach them.
	DeliverNotifications bool `json:"deliver_notifications"`
}

func fields(u bot.PublicUpdate) *incidentFields {
	f := &incidentFields{Name: u.Title, Status: string(u.Status), Body: u.Body,
		ComponentIDs: []string{}, Components: map[string]string{}, DeliverNotifications: true}
	// The components go with every update: an update without them has
	// broken later ones elsewhere.
	for _, comp := range u.Components {
		f.ComponentIDs = append(f.ComponentIDs, comp.ID)
		f.Components[comp.ID] = string(comp.Status)
	}
	return f
}

// CreateIncident opens a public incident and returns its Statuspage id.
func (c *Client) CreateIncident(ctx context.Context, u bot.PublicUpdate) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	if err := c.call(ctx, http.MethodPost, "/pages/"+url.PathEscape(c.PageID)+"/incidents", fields(u), &out, "create the public incident"); err != nil {
		return "", err
	}
	if out.ID == "" {
		return "", errors.New("statuspage: the created incident has no id")
	}
	return out.ID, nil
}

// UpdateIncident posts an update to incident ref (resolving it when
// u.Status is resolved).
func (c *Client) UpdateIncident(ctx context.Context, ref string, u bot.PublicUpdate) error {
	return c.call(ctx, http.MethodPatch, "/pages/"+url.PathEscape(c.PageID)+"/incidents/"+url.PathEscape(ref), fields(u), nil, "update public incident "+ref)
}

// FindIncident finds the unresolved public incident titled u.Title created
// at or after since (less a minute, for the clocks' difference).
func (c *Client) FindIncident(ctx context.Context, u bot.PublicUpdate, since time.Time) (string, bool, error) {
	var list []struct {
		ID        string    `json:"id"`
		Name      string    `json:"name"`
		CreatedAt time.Time `json:"created_at"`
	}
	if err := c.call(ctx, http.MethodGet, "/pages/"+url.PathEscape(c.PageID)+"/incidents/unresolved", nil, &list, "look for the public incident"); err != nil {
		return "", false, err
	}
	for _, inc := range list {
		if inc.Name == u.Title && !inc.CreatedAt.Before(since.Add(-time.Minute)) {
			return inc.ID, true, nil
		}
	}
	return "", false, nil
}

var _ bot.PublicIncidentFinder = (*Client)(nil)

// call sends in (nil: no body) as {"incident": in} and decodes the answer
// into out (nil: ignored).
func (c *Client) call(ctx context.Context, method, path string, in *incidentFields, out any, what string) error {
	var body io.Reader
	if in != nil {
		raw, err := json.Marshal(map[string]any{"incident": in})
		if err != nil {
			return fmt.Errorf("statuspage: encode: %w", err)
		}
		body = bytes.NewReader(raw)
	}
	base := strings.TrimRight(c.BaseURL, "/")
	if base == "" {
		base = DefaultAPIURL
	}
	req, err := http.NewRequestWithContext(ctx, method, base+path, body)
	if err != nil {
		return fmt.Errorf("statuspage: %w", err)
	}
	req.Header.Set("Authorization", "OAuth "+c.APIKey)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	if err := c.waitTurn(ctx); err != nil {
		// Held back by sitrep's own pacing (many publications at once): a
		// rate limit, not an outage of Statuspage.
		return bot.RateLimited(fmt.Errorf("statuspage: waiting for a turn to %s: %w", what, err), DefaultMinInterval)
	}
	var wait time.Duration // how much longer than MinInterval the next request waits
	defer func() { c.endTurn(wait) }()
	resp, err := hc.Do(req)
	if err != nil {
		// The URL may carry nothing secret (the key is in a header), but
		// keep the message short.
		return bot.Temporary(fmt.Errorf("Statuspage could not be reached to %s: %w", what, unwrapURL(err)), 0)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode/100 == 2 {
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("statuspage: decode the answer to %s: %w", what, err)
		}
		return nil
	}
	err = c.statusError(resp, raw, what)
	var temp *bot.TemporaryError
	if errors.As(err, &temp) && temp.RateLimited {
		wait = temp.RetryAfter
	}
	return err
}

func (c *Client) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// waitTurn waits until no other request of c is in flight and the pause
// after the previous answer has passed.
func (c *Client) waitTurn(ctx context.Context) error {
	if c.MinInterval < 0 {
		return nil
	}
	c.paceOnce.Do(func() { c.turn = make(chan struct{}, 1) })
	select {
	case c.turn <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if d := c.notUntil.Sub(c.now()); d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
			<-c.turn
			return ctx.Err()
		}
	}
	return nil
}

// endTurn lets the next request go, MinInterval (or longer, after a rate
// limit) from now.
func (c *Client) endTurn(longer time.Duration) {
	if c.MinInterval < 0 {
		return
	}
	gap := c.MinInterval
	if gap == 0 {
		gap = DefaultMinInterval
	}
	c.notUntil = c.now().Add(max(gap, longer))
	<-c.turn
}

// statusError classifies a non-2xx answer.
func (c *Client) statusError(resp *http.Response, raw []byte, what string) error {
	reason := errorReason(raw)
	wait := c.retryAfter(resp.Header.Get("Retry-After"))
	switch code := resp.StatusCode; {
	case code == 420 || code == http.StatusTooManyRequests:
		return bot.RateLimited(fmt.Errorf("Statuspage rate limit (%d) trying to %s", code, what), max(wait, time.Second))
	case code >= 500:
		return bot.Temporary(fmt.Errorf("Statuspage answered %d trying to %s: %s", code, what, reason), wait)
	case code == http.StatusUnauthorized:
		return bot.Errorf(bot.EUNAUTHORIZED, "Statuspage refused the API key (401 %s) trying to %s: set a valid STATUSPAGE_API_KEY of a user with the Incident Manager role", reason, what)
	case code == http.StatusNotFound:
		return bot.Errorf(bot.ENOTFOUND, "Statuspage answered 404 (%s) trying to %s: check STATUSPAGE_PAGE_ID (%s) and that the public incident was not deleted", reason, what, c.PageID)
	case code == http.StatusUnprocessableEntity:
		return bot.Errorf(bot.EINVALID, "Statuspage rejected the update as invalid (422 %s) trying to %s: check the status and the component ids (STATUSPAGE_COMPONENTS)", reason, what)
	default:
		return bot.Errorf(bot.EINVALID, "Statuspage answered %d (%s) trying to %s", code, reason, what)
	}
}

// errorReason is Statuspage's {"error": "..."} (a string or a list), or
// the body's start.
func errorReason(raw []byte) string {
	var e struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(raw, &e) == nil && len(e.Error) > 0 {
		var s string
		if json.Unmarshal(e.Error, &s) == nil {
			return s
		}
		var list []string
		if json.Unmarshal(e.Error, &list) == nil {
			return strings.Join(list, "; ")
		}
	}
	s := strings.TrimSpace(string(raw))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}

// retryAfter reads Retry-After in seconds (fractions rounded up) or as an
// HTTP date; 0 when absent or unreadable.
func (c *Client) retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if f, err := strconv.ParseFloat(v, 64); err == nil && f > 0 {
		return time.Duration(f*float64(time.Second) + float64(time.Second) - 1).Truncate(time.Second)
	}
	if t, err := http.ParseTime(v); err == nil {
		now := time.Now
		if c.Now != nil {
			now = c.Now
		}
		return max(t.Sub(now()), time.Second).Round(time.Second)
	}
	return 0
}

func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
