package runbooks

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func loadOne(t *testing.T, src string, extra map[string]string) *Runbook {
	t.Helper()
	files := map[string]string{"rb.yaml": src}
	for k, v := range extra {
		files[k] = v
	}
	dir := writeDir(t, files)
	cat, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	return cat.List()[0]
}

// mustRender binds values to rb's params and renders step; an error from
// either fails the test.
func mustRender(t *testing.T, rb *Runbook, step *Step, values map[string]string) RenderedStep {
	t.Helper()
	p, err := rb.Bind(values)
	if err != nil {
		t.Fatal(err)
	}
	rs, err := rb.Render(step, p)
	if err != nil {
		t.Fatal(err)
	}
	return rs
}

const bindRunbook = `name: bind
title: bind
params:
  - {name: domain, pattern: '[a-z0-9.-]+', required: true}
  - {name: port, pattern: '[0-9]{1,5}', default: "443"}
  - {name: choice, pattern: 'a|b'}
  - {name: note, pattern: '.*'}
steps:
  - name: check
    action: tls_check
    with: {address: "{{ .domain }}:{{ .port }}"}
  - name: choose
    action: exec
    with: {command: [echo, "{{ .choice }}"]}
`

func TestBind(t *testing.T) {
	rb := loadOne(t, bindRunbook, nil)
	tests := []struct {
		name    string
		in      map[string]string
		want    map[string]string
		wantErr []string // substrings; each must appear
	}{
		{name: "required and default", in: map[string]string{"domain": "api.example.com"},
			want: map[string]string{"domain": "api.example.com", "port": "443"}},
		{name: "override default", in: map[string]string{"domain": "a.b", "port": "8443", "choice": "b"},
			want: map[string]string{"domain": "a.b", "port": "8443", "choice": "b"}},
		{name: "missing required", in: map[string]string{},
			wantErr: []string{`param "domain": is required`}},
		{name: "unknown key", in: map[string]string{"domain": "a.b", "domian": "x"},
			wantErr: []string{`param "domian": unknown parameter for runbook "bind"`}},
		{name: "pattern mismatch names param and pattern", in: map[string]string{"domain": "a.b; rm -rf /"},
			wantErr: []string{`param "domain": value "a.b; rm -rf /" does not match the pattern (pattern "[a-z0-9.-]+")`}},
		{name: "full match not substring", in: map[string]string{"domain": "a.b", "port": "443x"},
			wantErr: []string{`param "port"`, `pattern "[0-9]{1,5}"`}},
		{name: "alternation is anchored as a whole", in: map[string]string{"domain": "a.b", "choice": "xa"},
			wantErr: []string{`param "choice"`}},
		{name: "empty value must match too", in: map[string]string{"domain": ""},
			wantErr: []string{`param "domain"`}},
		{name: "newline rejected regardless of pattern", in: map[string]string{"domain": "a", "note": "x\nrm -rf /"},
			wantErr: []string{`param "note": value must not contain NUL, CR or LF`}},
		{name: "CR rejected", in: map[string]string{"domain": "a", "note": "x\ry"},
			wantErr: []string{`param "note": value must not contain NUL, CR or LF`}},
		{name: "NUL rejected", in: map[string]string{"domain": "a", "note": "x\x00y"},
			wantErr: []string{`param "note": value must not contain NUL, CR or LF`}},
		{name: "env reference rejected", in: map[string]string{"domain": "a", "note": "${env:GATEWAY_TOKEN}"},
			wantErr: []string{`param "note": value must not contain a ${env:…} reference`}},
		{name: "all errors reported", in: map[string]string{"port": "x", "zzz": "1"},
			wantErr: []string{`"domain": is required`, `"port"`, `"zzz": unknown`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := rb.Bind(tt.in)
			if tt.wantErr != nil {
				if err == nil {
					t.Fatalf("Bind(%q) succeeded: %v", tt.in, p.Map())
				}
				var pe *ParamError
				if !errors.As(err, &pe) {
					t.Errorf("error is not a *ParamError: %v", err)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not contain %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := p.Map()
			if len(got) != len(tt.want) {
				t.Errorf("Bind = %v, want %v", got, tt.want)
			}
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("Bind[%s] = %q, want %q", k, got[k], v)
				}
			}
		})
	}
}

func TestRenderErrors(t *testing.T) {
	rb := loadOne(t, bindRunbook, nil)
	other := loadOne(t, strings.Replace(bindRunbook, "name: bind", "name: other", 1), nil)
	p, err := rb.Bind(map[string]string{"domain": "a.b"})
	if err != nil {
		t.Fatal(err)
	}
	// Optional param without value or default referenced by a step.
	_, err = rb.Render(rb.Step("choose"), p)
	var pe *ParamError
	if !errors.As(err, &pe) || pe.Param != "choice" {
		t.Errorf("Render without value: %v", err)
	}
	if _, err := rb.Render(rb.Step("check"), Params{}); err == nil {
		t.Error("Render with unbound params succeeded")
	}
	if _, err := rb.Render(other.Step("check"), p); err == nil {
		t.Error("Render of a foreign step succeeded")
	}
	op, _ := other.Bind(map[string]string{"domain": "a.b"})
	if _, err := rb.Render(rb.Step("check"), op); err == nil {
		t.Error("Render with params bound to another runbook succeeded")
	}
	rs, err := rb.Render(rb.Step("check"), p)
	if err != nil {
		t.Fatal(err)
	}
	if rs.TLSCheck.Address != "a.b:443" || rs.TLSCheck.ServerName != "a.b" || rs.TLSCheck.MinDaysLeft != 14 {
		t.Errorf("rendered %+v", rs.TLSCheck)
	}
}

// argvScript prints each argument on its own line between < and >.
const argvScript = "#!/bin/sh\nfor a in \"$@\"; do printf '<%s>\\n' \"$a\"; done\n"

const injRunbook = `name: inj
title: injection
params:
  - {name: loose, pattern: '.*', description: deliberately permissive to prove inertness}
  - {name: strict, pattern: '[a-z0-9.-]+'}
  - {name: flag, pattern: '-{0,2}[a-z-]+', allow_leading_dash: true}
steps:
  - name: loose
    action: exec
    with: {command: ["./argv.sh", "--no-install", "{{ .loose }}"]}
  - name: embedded
    action: exec
    with: {command: ["./argv.sh", "--opt={{ .loose }}", "x{{ .loose }}y"]}
  - name: strict
    action: exec
    with: {command: ["./argv.sh", "{{ .strict }}"]}
  - name: flag
    action: exec
    with: {command: ["./argv.sh", "{{ .flag }}"]}
  - name: echo
    action: exec
    with: {command: ["/bin/echo", "{{ .loose }}"]}
`

func TestInjectionIsInert(t *testing.T) {
	rb := loadOne(t, injRunbook, nil)
	if err := os.WriteFile(filepath.Join(rb.Dir, "argv.sh"), []byte(argvScript), 0o755); err != nil {
		t.Fatal(err)
	}
	ex := NewExecutors(Options{})
	pwned := filepath.Join(rb.Dir, "PWNED")
	tests := []struct {
		name, step, param, value string
		wantArgv                 []string // argv after argv[0]; nil when an error is expected
		wantBindErr, wantRendErr bool
	}{
		{name: "semicolon", step: "loose", param: "loose", value: "; touch PWNED",
			wantArgv: []string{"--no-install", "; touch PWNED"}},
		{name: "command substitution", step: "loose", param: "loose", value: "$(touch PWNED)",
			wantArgv: []string{"--no-install", "$(touch PWNED)"}},
		{name: "backticks", step: "loose", param: "loose", value: "`touch PWNED`",
			wantArgv: []string{"--no-install", "`touch PWNED`"}},
		{name: "spaces stay one argument", step: "loose", param: "loose", value: "a b  c",
			wantArgv: []string{"--no-install", "a b  c"}},
		{name: "quotes and globs", step: "loose", param: "loose", value: `'"*" && touch PWNED | cat > PWNED`,
			wantArgv: []string{"--no-install", `'"*" && touch PWNED | cat > PWNED`}},
		{name: "embedded values are one element each", step: "embedded", param: "loose", value: "-rf /; touch PWNED",
			wantArgv: []string{"--opt=-rf /; touch PWNED", "x-rf /; touch PWNEDy"}},
		{name: "newline rejected", step: "loose", param: "loose", value: "a\ntouch PWNED", wantBindErr: true},
		{name: "option smuggling rejected", step: "loose", param: "loose", value: "--install", wantRendErr: true},
		{name: "single dash rejected", step: "loose", param: "loose", value: "-rf", wantRendErr: true},
		{name: "strict pattern rejects metachars", step: "strict", param: "strict", value: "a.b;touch PWNED", wantBindErr: true},
		{name: "strict pattern ok", step: "strict", param: "strict", value: "a.b", wantArgv: []string{"a.b"}},
		{name: "allow_leading_dash opt-in", step: "flag", param: "flag", value: "--dry-run", wantArgv: []string{"--dry-run"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := rb.Bind(map[string]string{tt.param: tt.value})
			if tt.wantBindErr {
				if err == nil {
					t.Fatal("Bind succeeded")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			rs, err := rb.Render(rb.Step(tt.step), p)
			if tt.wantRendErr {
				var pe *ParamError
				if !errors.As(err, &pe) || !strings.Contains(err.Error(), "option smuggling") {
					t.Fatalf("Render error = %v, want option smuggling ParamError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := rs.Exec.Argv[1:]; strings.Join(got, "\x00") != strings.Join(tt.wantArgv, "\x00") {
				t.Errorf("rendered argv %q, want %q", got, tt.wantArgv)
			}
			res, err := ex.Execute(context.Background(), rs)
			if err != nil || !res.Succeeded() {
				t.Fatalf("Execute: %v %+v", err, res)
			}
			var want strings.Builder
			for _, a := range tt.wantArgv {
				want.WriteString("<" + a + ">\n")
			}
			if res.Output != want.String() {
				t.Errorf("child saw argv\n%s\nwant\n%s", res.Output, want.String())
			}
			if _, err := os.Stat(pwned); err == nil {
				t.Fatal("injection executed: PWNED file exists")
			}
		})
	}

	// /bin/echo prints its single argument verbatim.
	rs := mustRender(t, rb, rb.Step("echo"), map[string]string{"loose": "$(id) `id` ; ls | cat"})
	res, err := ex.Execute(context.Background(), rs)
	if err != nil || res.Output != "$(id) `id` ; ls | cat\n" {
		t.Errorf("echo output %q, err %v", res.Output, err)
	}
	if s := rs.String(); !strings.Contains(s, `/bin/echo "$(id) `+"`id`"+` ; ls | cat"`) {
		t.Errorf("String() = %s", s)
	}
}

func TestRenderHTTPKeepsSecretReference(t *testing.T) {
	rb := loadOne(t, `name: h
title: h
params:
  - {name: domain, pattern: '[a-z0-9.-]+', required: true}
steps:
  - name: call
    action: http
    env: [GATEWAY_TOKEN]
    with:
      method: post
      url: "https://{{ .domain }}/admin/reload"
      headers: {Authorization: "Bearer ${env:GATEWAY_TOKEN}", X-Domain: "{{ .domain }}"}
      body: '{"domain": "{{ .domain }}"}'
      expect_status: [200, 204]
      timeout: 5s
      allowed_hosts: ["*.example.com"]
`, nil)
	rs := mustRender(t, rb, rb.Steps[0], map[string]string{"domain": "api.example.com"})
	h := rs.HTTP
	if h.Method != "POST" || h.URL != "https://api.example.com/admin/reload" || h.Body != `{"domain": "api.example.com"}` ||
		h.Timeout != 5*time.Second || len(h.ExpectStatus) != 2 {
		t.Errorf("rendered %+v", h)
	}
	if len(h.Headers) != 2 || h.Headers[0] != (Header{"Authorization", "Bearer ${env:GATEWAY_TOKEN}"}) || h.Headers[1].Value != "api.example.com" {
		t.Errorf("headers %+v", h.Headers)
	}
	if s := rs.String(); !strings.Contains(s, "Authorization: Bearer ${env:GATEWAY_TOKEN}") {
		t.Errorf("String() = %s", s)
	}
}

func TestRenderRefusesSecretReferenceAssembledFromParams(t *testing.T) {
	src := []byte(`name: notify
title: Notify
params:
  - {name: a, pattern: '.*'}
  - {name: b, pattern: '.*'}
steps:
  - name: send
    action: http
    env: [NOTIFY_TOKEN]
    with: {url: "https://hooks.example.com/x", headers: {X-Token: "{{ .a }}{{ .b }}"}}
`)
	rb, errs := ParseFile("notify.yaml", src)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	params, err := rb.Bind(map[string]string{"a": "${en", "b": "v:NOTIFY_TOKEN}"})
	if err != nil {
		t.Fatal(err)
	}
	if rs, err := rb.Render(rb.Steps[0], params); err == nil {
		t.Fatalf("rendered %v; want the assembled ${env:…} reference refused", rs)
	}
}

// A value shown on an approval card must look like what runs: bidi
// overrides, escapes and other invisible characters are refused even by a
// '.*' pattern, and so is a value too long for a card.
func TestBindRefusesInvisibleAndOversizedValues(t *testing.T) {
	rb := loadOne(t, bindRunbook, nil)
	for _, v := range []string{"rm\u202Efdp.txt", "a\x1b[2Jb", "zero\u200bwidth", strings.Repeat("n", MaxParamValueLen+1)} {
		_, err := rb.Bind(map[string]string{"domain": "api.example.com", "note": v})
		var pe *ParamError
		if !errors.As(err, &pe) || pe.Param != "note" {
			t.Errorf("%.20q: %v, want a ParamError for note", v, err)
		}
	}
	if _, err := rb.Bind(map[string]string{"domain": "api.example.com", "note": strings.Repeat("n", MaxParamValueLen)}); err != nil {
		t.Errorf("a value at the limit: %v", err)
	}
}
