package runbooks

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

const secretToken = "s3cr3t-gateway-token-value"

func TestHTTPExecutorSecretsNotLeaked(t *testing.T) {
	var gotAuth atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth.Store(r.Header.Get("Authorization"))
		buf := make([]byte, 1024)
		n, _ := r.Body.Read(buf)
		// A careless endpoint that echoes the credential back.
		fmt.Fprintf(w, "reloaded %s for %s; your auth was %q", r.URL.Path, buf[:n], r.Header.Get("Authorization"))
	}))
	defer srv.Close()

	rb := loadOne(t, `name: h
title: h
params:
  - {name: target, pattern: '[a-z0-9.:-]+', required: true}
steps:
  - name: reload
    action: http
    env: [GATEWAY_TOKEN]
    with:
      method: POST
      url: "http://{{ .target }}/admin/reload"
      headers: {Authorization: "Bearer ${env:GATEWAY_TOKEN}"}
      body: 'token=${env:GATEWAY_TOKEN}'
      allowed_hosts: ["127.0.0.1"]
`, nil)
	rs := mustRender(t, rb, rb.Steps[0], map[string]string{"target": strings.TrimPrefix(srv.URL, "http://")})
	lookup := func(name string) (string, bool) {
		if name == "GATEWAY_TOKEN" {
			return secretToken, true
		}
		return "", false
	}
	res, err := NewExecutors(Options{LookupEnv: lookup}).Execute(context.Background(), rs)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Succeeded() {
		t.Fatalf("failed: %+v", res)
	}
	if gotAuth.Load() != "Bearer "+secretToken {
		t.Errorf("server got Authorization %q", gotAuth.Load())
	}
	everything := fmt.Sprintf("%+v %+v %s", res, *res.Details.(*HTTPDetails), rs.String())
	if strings.Contains(everything, secretToken) {
		t.Errorf("secret leaked into result or rendered step: %s", everything)
	}
	if !strings.Contains(res.Output, "[REDACTED]") || !strings.Contains(rs.String(), "${env:GATEWAY_TOKEN}") {
		t.Errorf("output %q / rendered %q", res.Output, rs.String())
	}

	// Unset secret and a reference outside the step's env both fail.
	res, err = NewExecutors(Options{LookupEnv: func(string) (string, bool) { return "", false }}).Execute(context.Background(), rs)
	if err != nil || res.Succeeded() || !strings.Contains(res.Summary, "GATEWAY_TOKEN (not set)") {
		t.Errorf("unset secret: %v %+v", err, res)
	}
	rs.Env = nil
	res, err = NewExecutors(Options{LookupEnv: lookup}).Execute(context.Background(), rs)
	if err != nil || res.Succeeded() || !strings.Contains(res.Summary, "not listed in the step's env") {
		t.Errorf("unlisted secret: %v %+v", err, res)
	}
}

func httpStep(method, url string, expect []int, headers ...Header) RenderedStep {
	return RenderedStep{Action: ActionHTTP, HTTP: &RenderedHTTP{Method: method, URL: url, ExpectStatus: expect, Headers: headers, Timeout: 10 * time.Second,
		AllowedHosts: []string{"127.0.0.1"}}}
}

func TestHTTPExecutor(t *testing.T) {
	var otherHits atomic.Int32
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { otherHits.Add(1) }))
	defer other.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ok":
			w.WriteHeader(204)
		case "/fail":
			http.Error(w, "internal error: bad gateway config", 500)
		case "/big":
			_, _ = w.Write([]byte(strings.Repeat("b", 10000)))
		case "/redirect":
			http.Redirect(w, r, other.URL+"/steal", http.StatusFound)
		}
	}))
	defer srv.Close()
	ex := NewHTTPExecutor(Options{})
	tests := []struct {
		name        string
		step        RenderedStep
		wantOK      bool
		wantSummary string
		wantOutput  string
	}{
		{"2xx by default", httpStep("POST", srv.URL+"/ok", nil), true, "204 No Content", ""},
		{"explicit expected", httpStep("GET", srv.URL+"/fail", []int{500}), true, "500", "internal error: bad gateway config\n"},
		{"unexpected status", httpStep("GET", srv.URL+"/fail", nil), false, "500 Internal Server Error in", "internal error"},
		{"body excerpt capped", httpStep("GET", srv.URL+"/big", nil), true, "200 OK",
			strings.Repeat("b", DefaultBodyExcerptLimit) + "\n… 5904 more bytes not kept"},
		{"redirects not followed", httpStep("GET", srv.URL+"/redirect", nil, Header{"X-Token", "x"}), false, "302 Found", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ex.Execute(context.Background(), tt.step)
			if err != nil {
				t.Fatal(err)
			}
			if res.Succeeded() != tt.wantOK || !strings.Contains(res.Summary, tt.wantSummary) || !strings.HasPrefix(res.Output, tt.wantOutput) {
				t.Errorf("got %s %q output %q", res.Status, res.Summary, res.Output)
			}
			if tt.wantOutput != "" && len(tt.wantOutput) > 100 && res.Output != tt.wantOutput {
				t.Errorf("output mismatch (len %d)", len(res.Output))
			}
		})
	}
	if otherHits.Load() != 0 {
		t.Error("redirect was followed")
	}
	addr := closedAddr(t)
	res, err := ex.Execute(context.Background(), httpStep("GET", "http://"+addr+"/", nil))
	if err != nil || res.Succeeded() || !strings.Contains(res.Summary, "failed after") {
		t.Errorf("refused: %v %+v", err, res)
	}
}

// closedAddr returns an address on which nothing listens.
func closedAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestHTTPCheck(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthy":
			fmt.Fprintln(w, "ok")
		case "/broken":
			http.Error(w, "500 from the platform API", 500)
		case "/slow":
			time.Sleep(300 * time.Millisecond)
			fmt.Fprintln(w, "ok, eventually")
		}
	}))
	defer srv.Close()
	check := func(path string, expect []int, maxLatency time.Duration) RenderedStep {
		return RenderedStep{Action: ActionHTTPCheck, HTTPCheck: &RenderedHTTPCheck{Method: "GET", URL: srv.URL + path,
			ExpectStatus: expect, MaxLatency: maxLatency, Timeout: 20 * time.Second, AllowedHosts: []string{"127.0.0.1"}}}
	}
	tests := []struct {
		name        string
		step        RenderedStep
		wantOK      bool
		wantStatus  int
		wantSummary string
	}{
		{"healthy", check("/healthy", nil, 10*time.Second), true, 200, "200 OK"},
		{"still answers 500", check("/broken", nil, 0), false, 500, "expected 200"},
		{"500 expected", check("/broken", []int{500, 503}, 0), true, 500, "500"},
		{"too slow", check("/slow", nil, 50*time.Millisecond), false, 200, "slower than 50ms"},
		{"slow but within budget", check("/slow", nil, 15*time.Second), true, 200, "200 OK"},
		{"no response", RenderedStep{Action: ActionHTTPCheck, HTTPCheck: &RenderedHTTPCheck{URL: "http://" + closedAddr(t) + "/", Timeout: 10 * time.Second,
			AllowedHosts: []string{"127.0.0.1"}}},
			false, 0, "failed after"},
	}
	ex := NewExecutors(Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := ex.Execute(context.Background(), tt.step)
			if err != nil {
				t.Fatal(err)
			}
			d := res.Details.(*HTTPCheckDetails)
			if res.Succeeded() != tt.wantOK || d.StatusCode != tt.wantStatus || !strings.Contains(res.Summary, tt.wantSummary) {
				t.Errorf("got %s status %d %q", res.Status, d.StatusCode, res.Summary)
			}
		})
	}
	if d := mustRun(t, ex, check("/slow", nil, 0)).Details.(*HTTPDetails); d.Latency < 300*time.Millisecond {
		t.Errorf("latency %s < server delay", d.Latency)
	}
}

func mustRun(t *testing.T, ex Executors, st RenderedStep) Result {
	t.Helper()
	res, err := ex.Execute(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// End to end: load a runbook from disk, bind, render, execute.
func TestHTTPCheckRunbookEndToEnd(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/health" {
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	rb := loadOne(t, `name: probe
title: probe
params:
  - {name: host, pattern: '[a-z0-9.-]+(:[0-9]+)?', required: true}
  - {name: path, pattern: '/[a-z0-9/]*', default: /v1/health}
steps:
  - name: probe
    action: http_check
    with: {url: "http://{{ .host }}{{ .path }}", max_latency: 5s, allowed_hosts: ["127.0.0.1"]}
`, nil)
	for _, tt := range []struct {
		path string
		ok   bool
	}{{"/v1/health", true}, {"/nope", false}} {
		p, err := rb.Bind(map[string]string{"host": strings.TrimPrefix(srv.URL, "http://"), "path": tt.path})
		if err != nil {
			t.Fatal(err)
		}
		steps, err := rb.RenderAll(p)
		if err != nil {
			t.Fatal(err)
		}
		if res := mustRun(t, NewExecutors(Options{}), steps[0]); res.Succeeded() != tt.ok {
			t.Errorf("%s: %+v", tt.path, res)
		}
	}
}
