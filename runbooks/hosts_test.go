package runbooks

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countingServer answers 200 and counts the requests that reached it.
func countingServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		if h != nil {
			h(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func probe(url string, allowed ...string) RenderedStep {
	return RenderedStep{Action: ActionHTTPCheck, HTTPCheck: &RenderedHTTPCheck{Method: "GET", URL: url,
		ExpectStatus: []int{200}, Timeout: 5 * time.Second, AllowedHosts: allowed}}
}

// Loopback, link-local, unspecified and IPv4-mapped forms of them are
// refused before any connection unless the step lists them; a name
// pattern (here "localhost") never lets a request reach them, whatever the
// name resolves to at the moment of the request.
func TestHTTPRefusesLoopbackAndLinkLocalUnlessListed(t *testing.T) {
	srv, hits := countingServer(t, nil)
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	ex := NewExecutors(Options{})
	for _, tt := range []struct {
		name, url string
		allowed   []string
		want      string
	}{
		{"loopback", srv.URL + "/", nil, "a loopback address"},
		{"metadata service", "http://169.254.169.254/latest/meta-data/", nil, "a link-local address"},
		{"link-local v6", "http://[fe80::1]:" + port + "/", nil, "a link-local address"},
		{"mapped loopback", "http://[::ffff:127.0.0.1]:" + port + "/", nil, "a loopback address"},
		{"unspecified", "http://0.0.0.0:" + port + "/", nil, "the unspecified address"},
		{"name resolving to loopback", "http://localhost:" + port + "/", nil, "a loopback address"},
		{"allowed name resolving to loopback", "http://localhost:" + port + "/", []string{"localhost"}, "a loopback address"},
		{"metadata with a broad range", "http://169.254.169.254/", []string{"10.0.0.0/8"}, "not in the step's allowed_hosts"},
		{"not in the list", srv.URL + "/", []string{"*.internal.example.com"}, "not in the step's allowed_hosts"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			res := mustRun(t, ex, probe(tt.url, tt.allowed...))
			if res.Succeeded() || !strings.Contains(res.Summary, tt.want) {
				t.Errorf("got %s %q, want a refusal with %q", res.Status, res.Summary, tt.want)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("%d refused requests reached the server", n)
	}
	for _, allowed := range [][]string{{"127.0.0.1"}, {"127.0.0.0/8"}} {
		if res := mustRun(t, ex, probe(srv.URL+"/", allowed...)); !res.Succeeded() {
			t.Errorf("allowed_hosts %v: %+v", allowed, res)
		}
	}
	if n := hits.Load(); n != 2 {
		t.Errorf("explicitly allowed requests: %d reached the server, want 2", n)
	}
}

// With a client that follows redirects, each hop is dialled through the
// same check: an allowed host cannot bounce the request to the metadata
// service or to a host the list does not name.
func TestHTTPRedirectsAreCheckedToo(t *testing.T) {
	other, otherHits := countingServer(t, nil)
	port := other.URL[strings.LastIndex(other.URL, ":")+1:]
	var target atomic.Value
	srv, _ := countingServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.Load().(string), http.StatusFound)
	})
	ex := NewExecutors(Options{HTTPClient: &http.Client{}}) // follows redirects
	for _, tt := range []struct{ to, want string }{
		{"http://169.254.169.254/latest/meta-data/iam/", "a link-local address"},
		{"http://127.0.0.2:" + port + "/steal", "refused to connect to 127.0.0.2 (127.0.0.2): a loopback address"},
		{"http://[::1]:" + port + "/steal", "a loopback address"},
	} {
		target.Store(tt.to)
		st := httpStep("GET", srv.URL+"/", nil)
		st.HTTP.AllowedHosts = []string{"127.0.0.1"}
		res := mustRun(t, ex, st)
		if res.Succeeded() || !strings.Contains(res.Summary, tt.want) {
			t.Errorf("redirect to %s: %s %q", tt.to, res.Status, res.Summary)
		}
	}
	if otherHits.Load() != 0 {
		t.Error("a redirect reached a host the step does not allow")
	}
}

// A secret never goes to a host a parameter chose unless the step's
// allowed_hosts covers it: refused at load, and refused at execution for a
// rendered step that got past it.
func TestHTTPSecretNotSentToParameterChosenHost(t *testing.T) {
	src := `name: h
title: h
params:
  - {name: target, pattern: '[a-z0-9.:-]+', required: true}
steps:
  - name: call
    action: http
    env: [GATEWAY_TOKEN]
    with:
      url: "https://{{ .target }}/admin"
      headers: {Authorization: "Bearer ${env:GATEWAY_TOKEN}"}
`
	_, errs := ParseFile("h.yaml", []byte(src))
	if len(errs) != 1 || !strings.Contains(errs[0].Error(), "h.yaml:10: step \"call\": url: a parameter chooses the host") {
		t.Errorf("load errors %v", errs)
	}
	// The path param can change the host too ("x.example.com.evil.test").
	_, errs = ParseFile("h.yaml", []byte(strings.Replace(src, `https://{{ .target }}/admin`, `https://x.example.com{{ .target }}`, 1)))
	if len(errs) != 1 {
		t.Errorf("host followed by a template: %v", errs)
	}

	srv, hits := countingServer(t, nil)
	lookup := func(string) (string, bool) { return secretToken, true }
	st := httpStep("GET", srv.URL+"/", nil, Header{"Authorization", "Bearer ${env:GATEWAY_TOKEN}"})
	st.Env = []string{"GATEWAY_TOKEN"}
	st.HTTP.AllowedHosts = nil
	st.HTTP.HostFromParam = true
	res := mustRun(t, NewExecutors(Options{LookupEnv: lookup}), st)
	if res.Succeeded() || !strings.Contains(res.Summary, "needs allowed_hosts") {
		t.Errorf("got %s %q", res.Status, res.Summary)
	}
	st.HTTP.AllowedHosts = []string{"api.example.com"}
	res = mustRun(t, NewExecutors(Options{LookupEnv: lookup}), st)
	if res.Succeeded() || !strings.Contains(res.Summary, `host "127.0.0.1" is not in the step's allowed_hosts`) {
		t.Errorf("got %s %q", res.Status, res.Summary)
	}
	if hits.Load() != 0 {
		t.Error("the secret was sent")
	}
}

func TestAllowedHostsValidation(t *testing.T) {
	step := func(with string) string {
		return "name: h\ntitle: h\nsteps:\n  - name: s\n    action: http_check\n    with: " + with + "\n"
	}
	for _, tt := range []struct{ with, want string }{
		{`{url: "https://a.example.com/", allowed_hosts: ["*"]}`, "only as the first label"},
		{`{url: "https://a.example.com/", allowed_hosts: ["*.com"]}`, "at least two labels"},
		{`{url: "https://a.example.com/", allowed_hosts: ["a.*.example.com"]}`, "only as the first label"},
		{`{url: "https://a.example.com/", allowed_hosts: ["10.0.0.0/33"]}`, "not an address range"},
		{`{url: "https://a.example.com/", allowed_hosts: []}`, "must not be empty"},
		{`{url: "https://a.example.com/", allowed_hosts: ["b.example.com"]}`, `host "a.example.com" is not in the step's allowed_hosts`},
	} {
		_, errs := ParseFile("h.yaml", []byte(step(tt.with)))
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), tt.want) {
			t.Errorf("%s: %v, want %q", tt.with, errs, tt.want)
		}
	}
	for _, with := range []string{
		`{url: "https://a.example.com/", allowed_hosts: ["a.example.com"]}`,
		`{url: "https://a.example.com/", allowed_hosts: ["*.example.com", "10.0.0.0/8", "fe80::/10", "::1"]}`,
		`{url: "https://10.1.2.3/", allowed_hosts: ["10.0.0.0/8"]}`,
	} {
		if _, errs := ParseFile("h.yaml", []byte(step(with))); len(errs) != 0 {
			t.Errorf("%s: %v", with, errs)
		}
	}
}

// `sitrep runbooks validate` warns about a step whose host a parameter
// chooses and that has no allowed_hosts.
func TestCatalogWarnsAboutTemplatedHostWithoutAllowlist(t *testing.T) {
	dir := writeDir(t, map[string]string{
		"open.yaml": "name: open\ntitle: t\nparams:\n  - {name: h, pattern: '[a-z.]+', default: a.example.com}\n" +
			"steps:\n  - name: s\n    action: http_check\n    with: {url: \"https://{{ .h }}/\"}\n",
		"closed.yaml": "name: closed\ntitle: t\nparams:\n  - {name: h, pattern: '[a-z.]+', default: a.example.com}\n" +
			"steps:\n  - name: s\n    action: http_check\n    with: {url: \"https://{{ .h }}/\", allowed_hosts: [\"*.example.com\"]}\n" +
			"  - name: fixed\n    action: http_check\n    with: {url: \"https://a.example.com/{{ .h }}\"}\n",
	})
	cat, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	w := cat.Warnings()
	if len(w) != 1 || !strings.Contains(w[0], "open.yaml:6: step \"s\": a parameter chooses the url's host and the step has no allowed_hosts") {
		t.Errorf("warnings %q", w)
	}
}

// The shipped probe takes a host and a path from whoever runs it, without
// approval: neither may point it at an address or climb out of the path.
func TestShippedProbeRefusesInternalTargets(t *testing.T) {
	cat, err := Load(".")
	if err != nil {
		t.Fatal(err)
	}
	rb, ok := cat.Get("platform-api-probe")
	if !ok {
		t.Fatal("platform-api-probe not shipped")
	}
	for _, v := range []map[string]string{
		{"api_host": "127.0.0.1"}, {"api_host": "169.254.169.254"}, {"api_host": "10.0.0.1"},
		{"api_host": "evil.test"}, {"path": "/../../admin/."}, {"path": "/v1/./health"}, {"path": "/v1/%2e%2e/admin"},
	} {
		if _, err := rb.Bind(v); err == nil {
			t.Errorf("%v accepted", v)
		}
	}
	p, err := rb.Bind(map[string]string{"api_host": "eu.platform.example.com", "path": "/v1/health.json"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rb.RenderAll(p); err != nil {
		t.Fatal(err)
	}
	if w := cat.Warnings(); len(w) != 0 {
		t.Errorf("shipped runbooks have warnings: %q", w)
	}
}
