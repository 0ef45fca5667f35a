// Package slackchat is sitrep's Slack edge, and the only package that
// imports github.com/slack-go/slack.
//
// Outbound, Client implements bot.Chat, bot.MessageFinder,
// bot.MessageFetcher and bot.Directory over the Slack Web API. Messages are
// rendered as Block Kit, calls are paced to Slack's rate limits, and Slack's
// errors are mapped to the domain's (temporary ones as *bot.TemporaryError,
// so the outbox retries them).
//
// Inbound (inbound_*.go), Inbound serves slash commands, interactivity and
// the Events API, over signed HTTP requests (Routes) or Socket Mode
// (RunSocket with Client.SocketClient), and answers within Slack's 3
// seconds. It shares handlers' HTTP conventions (body limit, strict JSON,
// error bodies).
package slackchat

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/slack-go/slack"
)

var (
	_ bot.Chat           = (*Client)(nil)
	_ bot.MessageFinder  = (*Client)(nil)
	_ bot.Directory      = (*Client)(nil)
	_ bot.MessageFetcher = (*Client)(nil)
	_ bot.ChannelMembers = (*Client)(nil)
)

// DefaultAPIURL is Slack's Web API base.
const DefaultAPIURL = "https://slack.com/api/"

// Options configures a Client; zero values take the defaults.
type Options struct {
	Token      string       // bot token, xoxb-…
	APIURL     string       // Web API base, ending in "/" (default DefaultAPIURL)
	HTTPClient *http.Client // default: a client with a 30 s timeout
	Now        func() time.Time
	// Sleep waits d or until ctx ends (default: a timer). Tests pass one
	// that moves a fake clock.
	Sleep  func(ctx context.Context, d time.Duration) error
	Logger *slog.Logger
	// CacheTTL is how long directory lookups are kept (default 10 min).
	CacheTTL time.Duration
	// MembersTTL is how long a channel's member list is kept for
	// IsChannelMember (default 30 s): the longest a person removed from a
	// private incident's channel keeps access.
	MembersTTL time.Duration
	// HistoryWindow is how many recent channel messages FindTagged reads
	// (default 200).
	HistoryWindow int
	// OnPaced, when set, is told the method of each call the adapter's own
	// pacing held back for later rather than let it draw a 429 (metrics;
	// Slack's 429s themselves are seen on the HTTP client).
	OnPaced func(method string)
	// Replicas is how many sitrep processes share the Slack app (default
	// 1). Slack's rate limits are the app's, not a process's: each client
	// paces itself to 1/Replicas of every budget, so that together the
	// replicas stay within it.
	Replicas int
}

// Client is the Slack adapter. It is safe for concurrent use.
type Client struct {
	api    *slack.Client
	opt    Options
	pace   *pacer
	mu     sync.Mutex
	users  map[string]cached[bot.ChatUser] // by id
	emails map[string]cached[string]       // email -> user id
	groups map[string]cached[[]string]     // group id -> members
	botID  string                          // the bot's own user id (auth.test), once known
	chans  map[string]cached[[]string]     // channel id -> members
}

// New returns a Client for opt.Token.
func New(opt Options) *Client {
	if opt.APIURL == "" {
		opt.APIURL = DefaultAPIURL
	}
	if opt.APIURL[len(opt.APIURL)-1] != '/' {
		opt.APIURL += "/" // slack-go drops the last path segment otherwise
	}
	if opt.HTTPClient == nil {
		opt.HTTPClient = &http.Client{Timeout: 30 * time.Second}
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Sleep == nil {
		opt.Sleep = sleepCtx
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	if opt.CacheTTL <= 0 {
		opt.CacheTTL = 10 * time.Minute
	}
	if opt.MembersTTL <= 0 {
		opt.MembersTTL = 30 * time.Second
	}
	if opt.HistoryWindow <= 0 {
		opt.HistoryWindow = 200
	}
	if opt.Replicas <= 0 {
		opt.Replicas = 1
	}
	api := slack.New(opt.Token, slack.OptionAPIURL(opt.APIURL), slack.OptionHTTPClient(withRetryAfter(opt.HTTPClient, opt.Now)))
	return &Client{api: api, opt: opt, pace: newPacer(opt.Now, opt.Sleep, opt.Replicas),
		users: map[string]cached[bot.ChatUser]{}, emails: map[string]cached[string]{}, groups: map[string]cached[[]string]{},
		chans: map[string]cached[[]string]{}}
}

// API is the underlying slack-go client, for the inbound side (views.open,
// chat.postEphemeral) that shares the token and base URL.
func (c *Client) API() *slack.Client { return c.api }

// call paces one Web API call of method against the method's tier and maps
// its error.
func (c *Client) call(ctx context.Context, method string, fn func() error) error {
	r, ok := methodRates[method]
	if !ok {
		r = tier3
	}
	return c.callAs(ctx, method, method, r, fn)
}

// callAs paces one call of method under key at r and maps its error. A 429
// holds every later call under key back for Slack's Retry-After.
func (c *Client) callAs(ctx context.Context, key, method string, r rate, fn func() error) error {
	if err := c.pace.wait(ctx, key, r); err != nil {
		var held *bot.TemporaryError
		if c.opt.OnPaced != nil && errors.As(err, &held) && held.RateLimited {
			c.opt.OnPaced(method)
		}
		return err
	}
	mapped := mapError(method, fn())
	if temp, after := bot.IsTemporary(mapped); temp && after > 0 {
		c.pace.block(key, after)
		c.opt.Logger.Warn("slack rate limit", "method", method, "key", key, "retry_after", after)
	}
	return mapped
}
