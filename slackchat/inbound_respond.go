package slackchat

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/slack-go/slack"
)

// Every slash command and interaction carries a response_url, where the app
// may answer the person who sent it wherever they are: also in a DM or a
// private channel the bot is not in, where chat.postEphemeral answers
// channel_not_found. Slack takes at most responseURLUses posts to one URL,
// within responseURLLifetime of the request. The work after an
// acknowledgement finds its request's URL in its context.
const (
	responseURLUses     = 5
	responseURLLifetime = 30 * time.Minute
)

// responseURL is the response_url of the request being answered, and how
// much of its budget is spent.
type responseURL struct {
	url    string
	issued time.Time

	mu   sync.Mutex // guards used
	used int
}

type responseURLKey struct{}

// withResponseURL is ctx carrying the response_url of the request it
// answers (ctx itself when url is empty: a modal submission has none).
func (s *Inbound) withResponseURL(ctx context.Context, url string) context.Context {
	if url == "" {
		return ctx
	}
	return context.WithValue(ctx, responseURLKey{}, &responseURL{url: url, issued: s.now()})
}

// interactionResponseURL is where a click's (or a submission's) answer may
// go: the click's response_url, or the first of those Slack gives a modal
// whose input asked for one.
func interactionResponseURL(ic slack.InteractionCallback) string {
	if ic.ResponseURL != "" {
		return ic.ResponseURL
	}
	for _, u := range ic.ResponseURLs {
		if u.ResponseURL != "" {
			return u.ResponseURL
		}
	}
	return ""
}

// take spends one post of u's budget; false when none is left or the URL
// has expired at now.
func (u *responseURL) take(now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.used >= responseURLUses || now.Sub(u.issued) >= responseURLLifetime {
		return false
	}
	u.used++
	return true
}

// errNoResponseURL: the request has no response_url left to answer through.
var errNoResponseURL = errors.New("no response_url left: none came with the request, or its 5 posts or 30 minutes are spent")

// respond shows text (with blocks, the notification fallback) to the person
// whose request ctx answers, as an ephemeral message through its
// response_url.
func (s *Inbound) respond(ctx context.Context, text string, blocks []slack.Block) error {
	u, _ := ctx.Value(responseURLKey{}).(*responseURL)
	if u == nil || !u.take(s.now()) {
		return errNoResponseURL
	}
	msg := &slack.WebhookMessage{ResponseType: slack.ResponseTypeEphemeral, Text: text}
	if len(blocks) > 0 {
		msg.Blocks = &slack.Blocks{BlockSet: blocks}
	}
	if err := slack.PostWebhookCustomHTTPContext(ctx, u.url, s.responseClient(), msg); err != nil {
		return fmt.Errorf("post to the request's response_url: %w", err)
	}
	return nil
}

// defaultResponseTimeout bounds a post to a response_url.
const defaultResponseTimeout = 10 * time.Second

func (s *Inbound) responseClient() *http.Client {
	if s.HTTPClient != nil {
		return s.HTTPClient
	}
	return &http.Client{Timeout: defaultResponseTimeout}
}
