package slackchat

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// retryAfterTransport rewrites a 429's Retry-After into the whole seconds
// slack-go can read. HTTP allows an HTTP date too, and proxies and Slack's
// edge have sent fractions ("1.5"); slack-go fails to parse either and
// returns a bare strconv error, which would read as a permanent failure.
// Fractions and dates are rounded up (never retry early); a value that is
// neither is dropped, so the 429 is a plain temporary error with backoff.
type retryAfterTransport struct {
	base http.RoundTripper
	now  func() time.Time
}

func (t retryAfterTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusTooManyRequests {
		return resp, err
	}
	raw := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if raw == "" {
		return resp, nil
	}
	if _, err := strconv.ParseInt(raw, 10, 64); err == nil {
		return resp, nil
	}
	if secs, ok := parseRetryAfter(raw, t.now()); ok {
		resp.Header.Set("Retry-After", strconv.FormatInt(secs, 10))
	} else {
		resp.Header.Del("Retry-After")
	}
	return resp, nil
}

// parseRetryAfter reads a Retry-After that is not a whole number of seconds
// (a fraction or an HTTP date) as whole seconds from now, rounded up, at
// least 1.
func parseRetryAfter(raw string, now time.Time) (int64, bool) {
	var wait time.Duration
	if f, err := strconv.ParseFloat(raw, 64); err == nil && f >= 0 && f < math.MaxInt32 {
		wait = time.Duration(f * float64(time.Second))
	} else if at, err := http.ParseTime(raw); err == nil {
		wait = at.Sub(now)
	} else {
		return 0, false
	}
	secs := int64(math.Ceil(wait.Seconds()))
	return max(secs, 1), true
}

// withRetryAfter returns a copy of c whose transport normalises Retry-After.
func withRetryAfter(c *http.Client, now func() time.Time) *http.Client {
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	cc := *c
	cc.Transport = retryAfterTransport{base: base, now: now}
	return &cc
}
