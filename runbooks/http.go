package runbooks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// maxBodyRead bounds how much of a response body is read (kept or counted).
const maxBodyRead = 8 << 20

// HTTPExecutor runs http steps.
type HTTPExecutor struct{ opts Options }

// NewHTTPExecutor returns an http executor (see [Options]).
func NewHTTPExecutor(opts Options) *HTTPExecutor { return &HTTPExecutor{opts: opts.withDefaults()} }

// HTTPDetails are the Result.Details of http and http_check steps.
type HTTPDetails struct {
	Method     string
	URL        string
	StatusCode int // 0 if no response
	// Latency is the time until the response headers arrived.
	Latency      time.Duration
	ExpectStatus []int // empty means any 2xx
	MaxLatency   time.Duration
}

// HTTPCheckDetails are the Result.Details of http_check steps.
type HTTPCheckDetails = HTTPDetails

// Execute sends the request. ${env:NAME} references in header values and
// the body are resolved through Options.LookupEnv just before sending; a
// reference to a name not listed in step.Env, or to an unset variable,
// fails the step. Resolved values never appear in the Result: the response
// excerpt (Options-independent, DefaultBodyExcerptLimit bytes) is redacted.
// An unexpected status or a transport error yields a failed Result and a
// nil error; see [Executor].
func (e *HTTPExecutor) Execute(ctx context.Context, step RenderedStep) (Result, error) {
	if step.Action != ActionHTTP || step.HTTP == nil {
		return Result{}, wrongAction(ActionHTTP, step)
	}
	o := e.opts
	h := step.HTTP
	res := Result{ExitCode: -1, Started: o.Now()}
	details := &HTTPDetails{Method: h.Method, URL: h.URL, ExpectStatus: h.ExpectStatus}
	res.Details = details

	var secrets redactor
	var missing []string
	resolve := func(s string) string {
		return envRefRE.ReplaceAllStringFunc(s, func(ref string) string {
			name := envRefRE.FindStringSubmatch(ref)[1]
			if !contains(step.Env, name) {
				missing = append(missing, name+" (not listed in the step's env)")
				return ""
			}
			v, ok := o.LookupEnv(name)
			if !ok {
				missing = append(missing, name+" (not set)")
				return ""
			}
			secrets = append(secrets, v)
			return v
		})
	}
	headers := make([]Header, len(h.Headers))
	for i, hd := range h.Headers {
		headers[i] = Header{Name: hd.Name, Value: resolve(hd.Value)}
	}
	body := resolve(h.Body)
	if len(missing) > 0 {
		res.Finished = o.Now()
		res.Status = StatusFailed
		res.Summary = "secret references could not be resolved: " + strings.Join(missing, ", ")
		return res, nil
	}
	timeout := h.Timeout
	if timeout <= 0 {
		timeout = DefaultHTTPTimeout
	}
	guard, err := checkTarget(h.URL, h.AllowedHosts)
	if err == nil && h.HostFromParam && len(secrets) > 0 && guard.policy.empty() {
		err = errors.New("a parameter chose the host and the step sends secrets: the step needs allowed_hosts")
	}
	if err != nil {
		res.Finished = o.Now()
		res.Status = StatusFailed
		res.Summary = fmt.Sprintf("%s %s not sent: %v", h.Method, h.URL, err)
		return res, nil
	}
	r := doRequest(withDialGuard(ctx, guard), o, h.Method, h.URL, headers, body, timeout, DefaultBodyExcerptLimit)
	return finishHTTP(o, res, details, r, secrets, h.ExpectStatus, 0), nil
}

// HTTPCheckExecutor runs http_check steps: a request whose status and
// latency are checked.
type HTTPCheckExecutor struct{ opts Options }

// NewHTTPCheckExecutor returns an http_check executor (see [Options]).
func NewHTTPCheckExecutor(opts Options) *HTTPCheckExecutor {
	return &HTTPCheckExecutor{opts: opts.withDefaults()}
}

// Execute probes the URL. The step fails (Result with StatusFailed, nil
// error) if the request fails, the status is not one of ExpectStatus
// (default 200) or the latency to response headers exceeds MaxLatency.
func (e *HTTPCheckExecutor) Execute(ctx context.Context, step RenderedStep) (Result, error) {
	if step.Action != ActionHTTPCheck || step.HTTPCheck == nil {
		return Result{}, wrongAction(ActionHTTPCheck, step)
	}
	o := e.opts
	c := step.HTTPCheck
	exp := c.ExpectStatus
	if len(exp) == 0 {
		exp = []int{200}
	}
	res := Result{ExitCode: -1, Started: o.Now()}
	details := &HTTPDetails{Method: c.Method, URL: c.URL, ExpectStatus: exp, MaxLatency: c.MaxLatency}
	res.Details = details
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	method := c.Method
	if method == "" {
		method = http.MethodGet
	}
	guard, err := checkTarget(c.URL, c.AllowedHosts)
	if err != nil {
		res.Finished = o.Now()
		res.Status = StatusFailed
		res.Summary = fmt.Sprintf("%s %s not sent: %v", method, c.URL, err)
		return res, nil
	}
	r := doRequest(withDialGuard(ctx, guard), o, method, c.URL, nil, "", timeout, 1<<10)
	return finishHTTP(o, res, details, r, nil, exp, c.MaxLatency), nil
}

// checkTarget checks a request's URL against the step's allowed_hosts
// before anything is sent, and returns what the dialer must check.
func checkTarget(rawURL string, allowed []string) (dialGuard, error) {
	policy, err := newHostPolicy(allowed)
	if err != nil {
		return dialGuard{}, err
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return dialGuard{}, fmt.Errorf("invalid url: %v", err)
	}
	if _, err := policy.checkHost(u.Hostname()); err != nil {
		return dialGuard{}, err
	}
	return dialGuard{policy: policy}, nil
}

type httpOutcome struct {
	status  int
	reason  string
	latency time.Duration
	body    *cappedBuffer
	err     error
}

func doRequest(ctx context.Context, o Options, method, url string, headers []Header, body string, timeout time.Duration, keep int) httpOutcome {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return httpOutcome{err: err}
	}
	for _, h := range headers {
		if strings.EqualFold(h.Name, "Host") {
			req.Host = h.Value
			continue
		}
		req.Header.Set(h.Name, h.Value)
	}
	t0 := time.Now()
	resp, err := o.HTTPClient.Do(req)
	lat := time.Since(t0)
	if err != nil {
		return httpOutcome{err: err, latency: lat}
	}
	defer resp.Body.Close()
	buf := &cappedBuffer{limit: keep}
	_, _ = io.Copy(buf, io.LimitReader(resp.Body, maxBodyRead))
	return httpOutcome{status: resp.StatusCode, reason: resp.Status, latency: lat, body: buf}
}

func finishHTTP(o Options, res Result, d *HTTPDetails, r httpOutcome, secrets redactor, expect []int, maxLatency time.Duration) Result {
	res.Finished = o.Now()
	d.StatusCode = r.status
	d.Latency = r.latency
	lat := r.latency.Round(time.Millisecond)
	if r.err != nil {
		res.Status = StatusFailed
		res.Summary = fmt.Sprintf("%s %s failed after %s: %s", d.Method, d.URL, lat, secrets.apply(r.err.Error()))
		return res
	}
	res.Output = secrets.apply(r.body.String())
	res.OutputDropped = r.body.dropped
	okStatus := statusOK(r.status, expect)
	res.Summary = fmt.Sprintf("%s %s → %s in %s", d.Method, d.URL, r.reason, lat)
	switch {
	case !okStatus:
		res.Status = StatusFailed
		res.Summary += fmt.Sprintf(", expected %s", statusesString(expect))
	case maxLatency > 0 && r.latency > maxLatency:
		res.Status = StatusFailed
		res.Summary += fmt.Sprintf(", slower than %s", maxLatency)
	default:
		res.Status = StatusSucceeded
	}
	return res
}

func statusOK(code int, expect []int) bool {
	if len(expect) == 0 {
		return code >= 200 && code < 300
	}
	for _, c := range expect {
		if c == code {
			return true
		}
	}
	return false
}
