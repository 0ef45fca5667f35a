package ghexport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/go-github/v57/github"
	"github.com/sitrep-io/sitrep/bot"
)

// defaultSecondaryWait is GitHub's advice when a secondary rate limit comes
// without retry-after: wait at least a minute.
const defaultSecondaryWait = time.Minute

// classify turns a go-github error met while trying to do what into a
// domain error: *bot.TemporaryError for what a later attempt can fix
// (rate limits, 5xx, a stale blob sha, the network), *bot.Error saying what
// to fix for the rest.
func (e *Exporter) classify(err error, what string) error {
	var rl *github.RateLimitError
	if errors.As(err, &rl) {
		return bot.Temporary(fmt.Errorf("%s: GitHub's rate limit is used up until %s: %w",
			what, rl.Rate.Reset.UTC().Format(time.RFC3339), err), e.until(rl.Rate.Reset.Time))
	}
	var abuse *github.AbuseRateLimitError
	if errors.As(err, &abuse) {
		wait := defaultSecondaryWait
		if abuse.RetryAfter != nil && *abuse.RetryAfter > 0 {
			wait = *abuse.RetryAfter
		}
		return bot.Temporary(fmt.Errorf("%s: GitHub's secondary rate limit: %w", what, err), wait)
	}
	var er *github.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		return e.classifyStatus(er, what, err)
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) {
		return bot.Temporary(fmt.Errorf("%s: %w", what, err), 0)
	}
	return fmt.Errorf("%s at GitHub: %w", what, err)
}

func (e *Exporter) classifyStatus(er *github.ErrorResponse, what string, err error) error {
	status := er.Response.StatusCode
	target := e.Target()
	switch {
	case status == http.StatusTooManyRequests || status == http.StatusForbidden && rateLimited(er.Response.Header):
		// go-github v57 types only the 403 forms; a 429 arrives plain.
		return bot.Temporary(fmt.Errorf("%s: GitHub's rate limit (%d): %w", what, status, err), e.retryAfter(er.Response.Header))
	case status >= 500, status == http.StatusConflict: // 409: the file changed under us; read it again
		return bot.Temporary(fmt.Errorf("%s: GitHub answered %d: %w", what, status, err), 0)
	case status == http.StatusUnauthorized:
		return bot.Errorf(bot.EUNAUTHORIZED, "GitHub rejected GITHUB_TOKEN (401 %s) trying to %s: set a valid token with write access to contents, pull requests and issues of %s, and restart sitrep", er.Message, what, target)
	case status == http.StatusForbidden:
		return bot.Errorf(bot.EFORBIDDEN, "GitHub refused to %s (403 %s): give the token write access to contents, pull requests and issues of %s", what, er.Message, target)
	case status == http.StatusNotFound:
		return bot.Errorf(bot.ENOTFOUND, "GitHub answered 404 Not Found trying to %s: check GITHUB_REPO (%s) and that the token can see that repository (GitHub answers 404 to tokens without access)", what, target)
	case status == http.StatusUnprocessableEntity:
		return bot.Errorf(bot.EINVALID, "GitHub rejected the request to %s (422 %s): %s", what, details(er), hint(er))
	}
	return bot.Errorf(bot.EINVALID, "GitHub answered %d to the request to %s: %s", status, what, er.Message)
}

func rateLimited(h http.Header) bool {
	return h.Get("x-ratelimit-remaining") == "0" || h.Get("retry-after") != ""
}

// retryAfter reads how long GitHub asked us to wait: retry-after in seconds,
// or until x-ratelimit-reset; a minute when it says neither.
func (e *Exporter) retryAfter(h http.Header) time.Duration {
	if s, err := strconv.Atoi(h.Get("retry-after")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if h.Get("x-ratelimit-remaining") == "0" {
		if reset, err := strconv.ParseInt(h.Get("x-ratelimit-reset"), 10, 64); err == nil {
			return e.until(time.Unix(reset, 0))
		}
	}
	return defaultSecondaryWait
}

// until is how long until t, at least a second.
func (e *Exporter) until(t time.Time) time.Duration {
	return max(t.Sub(e.now()), time.Second)
}

func details(er *github.ErrorResponse) string {
	parts := []string{er.Message}
	for _, fe := range er.Errors {
		s := strings.TrimSpace(strings.Join([]string{fe.Resource, fe.Field, fe.Code, fe.Message}, " "))
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, "; ")
}

// hint says what to change for the common 422s.
func hint(er *github.ErrorResponse) string {
	for _, fe := range er.Errors {
		switch fe.Field {
		case "labels":
			return "check the labels in GITHUB_LABELS and GITHUB_FOLLOWUP_LABELS"
		case "head", "base":
			return "check that the repository's default branch exists and the token may push branches"
		}
	}
	return "check GITHUB_REPO and GITHUB_EXPORT_MODE, then export again"
}

// isStatus reports whether err is a GitHub answer with the given status.
func isStatus(err error, status int) bool {
	var er *github.ErrorResponse
	return errors.As(err, &er) && er.Response != nil && er.Response.StatusCode == status
}
