package metrics

import (
	"net/http"
	"strings"
	"time"
)

// unmatchedHandler is the handler label of requests no route matched.
const unmatchedHandler = "unmatched"

// Instrument counts and times the requests next answers. next must be (or
// end in) an http.ServeMux: the label is the pattern the mux matched
// (r.Pattern, set on the request it is handed), so a path full of ids or a
// scanner's guesses cannot grow the number of series.
func (m *Metrics) Instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		handler := r.Pattern
		if handler == "" {
			handler = unmatchedHandler
		}
		code := rec.code
		if code == 0 {
			code = http.StatusOK
		}
		m.requests.WithLabelValues(handler, statusLabel(code)).Inc()
		m.latency.WithLabelValues(handler).Observe(time.Since(start).Seconds())
	})
}

// statusRecorder remembers the status code written. It unwraps (for
// http.ResponseController: read deadlines) and flushes (Slack's
// acknowledgement is flushed before the work it starts).
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() { _ = http.NewResponseController(s.ResponseWriter).Flush() }

func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Vendor names, the vendor label.
const (
	VendorSlack      = "slack"
	VendorStatuspage = "statuspage"
	VendorPagerDuty  = "pagerduty"
	VendorGitHub     = "github"
)

// Client returns a copy of c (nil: a client like http.DefaultClient) whose
// transport counts the vendor's rate-limit answers: 429, and 420, which
// Statuspage answers too. On a nil *Metrics (a CLI command that keeps no
// metrics) it returns c.
func (m *Metrics) Client(vendor string, c *http.Client) *http.Client {
	if m == nil {
		return c
	}
	var cc http.Client
	if c != nil {
		cc = *c
	}
	base := cc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	cc.Transport = &rateLimitCounter{base: base, vendor: vendor, m: m}
	return &cc
}

type rateLimitCounter struct {
	base   http.RoundTripper
	vendor string
	m      *Metrics
}

func (t *rateLimitCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err == nil && (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == 420) {
		t.m.RateLimited(t.vendor, APIMethod(t.vendor, r))
	}
	return resp, err
}

// APIMethod names the vendor API method a request calls, as a bounded
// label: Slack's Web API method ("chat.postMessage"); for the REST APIs
// the HTTP method and the path with every segment that is not one of the
// vendor's resource names replaced by {id} ("PATCH /v1/pages/{id}/incidents/{id}").
func APIMethod(vendor string, r *http.Request) string {
	path := strings.TrimSuffix(r.URL.Path, ".json")
	if vendor == VendorSlack {
		return path[strings.LastIndex(path, "/")+1:]
	}
	words := resourceNames[vendor]
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for i, s := range segs {
		if !words[s] && !isVersion(s) {
			segs[i] = "{id}"
		}
	}
	return r.Method + " /" + strings.Join(segs, "/")
}

// isVersion reports whether s is an API version segment ("v1").
func isVersion(s string) bool {
	return len(s) >= 2 && s[0] == 'v' && strings.Trim(s[1:], "0123456789") == ""
}

// resourceNames are the path words of the vendors' REST APIs that sitrep
// calls; anything else in a path is an id (or a repository name).
var resourceNames = map[string]map[string]bool{
	VendorStatuspage: set("pages", "incidents", "components", "incident_updates", "subscribers", "incident_templates"),
	VendorPagerDuty: set("incidents", "notes", "users", "oncalls", "status_updates", "log_entries", "services",
		"escalation_policies", "schedules", "priorities", "responder_requests", "merge", "me"),
	VendorGitHub: set("repos", "issues", "comments", "labels", "contents", "milestones", "user", "search", "rate_limit"),
}

func set(words ...string) map[string]bool {
	m := map[string]bool{}
	for _, w := range words {
		m[w] = true
	}
	return m
}
