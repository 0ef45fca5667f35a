package runbooks

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const validRunbook = `name: demo
title: Demo
params:
  - name: domain
    pattern: '[a-z0-9.-]+'
    required: true
steps:
  - name: audit
    action: tls_check
    with: {address: "{{ .domain }}:443"}
`

func TestShippedRunbooksValidate(t *testing.T) {
	if errs := Validate("."); errs != nil {
		for _, e := range errs {
			t.Error(e)
		}
		t.FailNow()
	}
	cat, err := Load(".")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"gateway-cert-audit", "gateway-cert-reorder", "platform-api-probe", "pool-rolling-restart", "pool-scale-up"}
	var got []string
	for _, rb := range cat.List() {
		got = append(got, rb.Name)
		// Every shipped runbook must render with its defaults (plus
		// required values) so that a dry run works out of the box.
		vals := map[string]string{}
		for _, p := range rb.Params {
			if p.Required {
				vals[p.Name] = map[string]string{"domain": "api.example.com", "capacity": "6"}[p.Name]
			}
		}
		params, err := rb.Bind(vals)
		if err != nil {
			t.Errorf("%s: bind: %v", rb.Name, err)
			continue
		}
		steps, err := rb.RenderAll(params)
		if err != nil {
			t.Errorf("%s: render: %v", rb.Name, err)
		}
		for _, s := range steps {
			if s.Exec != nil {
				if _, err := os.Stat(filepath.Join(rb.Dir, s.Exec.Argv[0])); err != nil {
					t.Errorf("%s: step %s: script missing: %v", rb.Name, s.Step, err)
				}
			}
		}
	}
	if strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("List() = %v, want %v", got, want)
	}
	reorder, _ := cat.Get("gateway-cert-reorder")
	if st := reorder.Step("reorder"); st == nil || st.Approval == nil || !st.Approval.TwoPerson {
		t.Errorf("gateway-cert-reorder/reorder must need two-person approval: %+v", st)
	}
	// The shipped placeholder script runs and only prints.
	rs := mustRender(t, reorder, reorder.Step("reorder"), map[string]string{"domain": "api.example.com"})
	res, err := NewExecutors(Options{}).Execute(context.Background(), rs)
	if err != nil || !res.Succeeded() || !strings.Contains(res.Output, "would request a new certificate for: api.example.com") ||
		!strings.Contains(res.Output, "would NOT install it") {
		t.Errorf("reorder-cert.sh: %v %+v", err, res)
	}
	audit, _ := cat.Get("gateway-cert-audit")
	if audit.NeedsApproval() {
		t.Error("gateway-cert-audit must not need approval")
	}
	for _, name := range []string{"reorder-cert.sh", "scale-pool.sh", "rolling-restart.sh"} {
		fi, err := os.Stat(filepath.Join("scripts", name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode()&0o111 == 0 {
			t.Errorf("scripts/%s is not executable", name)
		}
	}
}

func TestValidateReportsEveryErrorWithLine(t *testing.T) {
	bad := `name: Bad_Name
title: Bad
descripton: typo in key
match:
  title: "([unclosed"
params:
  - name: domain
    pattern: '[a-z'
  - name: 9bad
    pattern: '.*'
  - name: nopattern
  - name: port
    pattern: '[0-9]+'
    default: "http"
steps:
  - name: reorder
    action: exce
    with: {command: ["x"]}
  - name: run
    action: exec
    with:
      command: ["{{ .domain }}", "--x", "{{ .undeclared }}", "{{ printf \"%s\" .domain }}"]
      timeout: soon
      comand: typo
  - name: call
    action: http
    with:
      method: FETCH
      url: "ftp://{{ .domain }}"
      headers: {Authorization: "Bearer ${env:TOKEN}"}
      expect_status: [200, 999]
  - name: tls
    action: tls_check
    with: {address: "no-port"}
  - name: approve
    action: http_check
    with: {url: "https://x.example/"}
    approval: {approvers: ["alice", "U123ABC"], two_person: true, expires: "15 minutes"}
  - name: run
    action: tls_check
    with: {address: "a:1"}
`
	dir := writeDir(t, map[string]string{"bad.yaml": bad})
	errs := Validate(dir)
	file := filepath.Join(dir, "bad.yaml")
	want := []string{
		file + `:1: invalid runbook name "Bad_Name"`,
		file + `:3: unknown key "descripton" in runbook (did you mean "description"?)`,
		file + `:5: match: title: invalid regular expression`,
		file + `:8: param "domain": invalid pattern "[a-z"`,
		file + `:9: param "9bad": invalid param name`,
		file + `:11: param "nopattern": missing required key "pattern" in param`,
		file + `:14: param "port": default "http" is not acceptable`,
		file + `:17: step "reorder": unknown action "exce" (did you mean "exec"?)`,
		file + `:22: step "run": command: the program (first element) must not be templated`,
		file + `:22: step "run": command: template references undeclared param "undeclared"`,
		file + `:22: step "run": command: bad template`,
		file + `:23: step "run": timeout: invalid duration "soon"`,
		file + `:24: step "run": unknown key "comand" in exec with (did you mean "command"?)`,
		file + `:28: step "call": method: unsupported HTTP method "FETCH"`,
		file + `:29: step "call": url: must start with http:// or https://`,
		file + `:30: step "call": headers.Authorization: ${env:TOKEN} is not listed in the step's env`,
		file + `:31: step "call": expect_status: 999 is not an HTTP status code`,
		file + `:34: step "tls": address: "no-port" is not host:port`,
		file + `:38: step "approve": approval.approvers: "alice" is not a Slack user ID`,
		file + `:38: step "approve": approval.two_person needs at least two approvers or a user group`,
		file + `:38: step "approve": approval.expires: invalid duration "15 minutes"`,
		file + `:39: step "run": duplicate step name (first at line 19)`,
	}
	text := make([]string, len(errs))
	for i, e := range errs {
		text[i] = e.Error()
		var ve *Error
		if !errors.As(e, &ve) {
			t.Errorf("error %q is not a *Error", e)
		}
	}
	all := strings.Join(text, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("missing error %q", w)
		}
	}
	if len(errs) != len(want) {
		t.Errorf("got %d errors, want %d:\n%s", len(errs), len(want), all)
	}

	// Load returns the same problems as an ErrorList and no catalog.
	cat, err := Load(dir)
	var list ErrorList
	if cat != nil || !errors.As(err, &list) || len(list) != len(errs) {
		t.Errorf("Load = %v, %v; want nil catalog and %d errors", cat, err, len(errs))
	}
}

func TestValidateFileLevelProblems(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{
			name: "duplicate names across files",
			files: map[string]string{
				"a.yaml": validRunbook,
				"b.yml":  "# comment\n" + validRunbook,
			},
			want: []string{`b.yml:2: duplicate runbook name "demo" (also defined at `, `a.yaml:1)`},
		},
		{
			name:  "yaml syntax error",
			files: map[string]string{"x.yaml": "name: a\ntitle: [unclosed\n"},
			want:  []string{"x.yaml:", "invalid YAML"},
		},
		{
			name:  "empty file",
			files: map[string]string{"x.yaml": ""},
			want:  []string{"x.yaml:1: empty file"},
		},
		{
			name:  "not a mapping",
			files: map[string]string{"x.yaml": "- a\n- b\n"},
			want:  []string{"x.yaml:1: a runbook file must be a YAML mapping"},
		},
		{
			name:  "missing required keys",
			files: map[string]string{"x.yaml": "description: nothing\n"},
			want:  []string{`x.yaml:1: missing required key "name" in runbook`, `missing required key "title"`, `missing required key "steps"`},
		},
		{
			name:  "two documents",
			files: map[string]string{"x.yaml": validRunbook + "---\n" + validRunbook},
			want:  []string{"x.yaml:11: only one runbook per file"},
		},
		{
			name: "secret in exec argv and required with default",
			files: map[string]string{"x.yaml": `name: x
title: x
params:
  - {name: a, pattern: 'x', required: true, default: x}
steps:
  - name: s
    action: exec
    with: {command: [echo, "${env:SECRET}"]}
    env: [SECRET]
`},
			want: []string{`x.yaml:4: param "a": a required param cannot have a default`,
				`x.yaml:8: step "s": command: ${env:…} secret references are only allowed in http header values and body`},
		},
		{
			name: "duplicate keys and wrong types",
			files: map[string]string{"x.yaml": `name: x
title: x
title: y
steps:
  - name: s
    action: tls_check
    with: {address: "a:443", min_days_left: many}
    approval: {approvers: []}
`},
			want: []string{`x.yaml:3: duplicate key "title" (first at line 2)`, `x.yaml:7: step "s": min_days_left must be an integer`,
				`x.yaml:8: step "s": approval.approvers must not be empty`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeDir(t, tt.files)
			var text []string
			for _, e := range Validate(dir) {
				text = append(text, e.Error())
			}
			all := strings.Join(text, "\n")
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("missing %q in:\n%s", w, all)
				}
			}
		})
	}
}

func TestValidateIgnoresOtherFiles(t *testing.T) {
	dir := writeDir(t, map[string]string{"a.yaml": validRunbook, "README.md": "not yaml: [", "notes.txt": "x"})
	if err := os.Mkdir(filepath.Join(dir, "scripts.yaml"), 0o755); err != nil {
		t.Fatal(err)
	}
	if errs := Validate(dir); errs != nil {
		t.Fatal(errs)
	}
	if _, err := Load(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("Load of a missing dir succeeded")
	}
}

func TestCatalogMatch(t *testing.T) {
	mk := func(name, match string) string {
		return "name: " + name + "\ntitle: t\n" + match + "steps:\n  - {name: s, action: http_check, with: {url: 'https://x.example/'}}\n"
	}
	dir := writeDir(t, map[string]string{
		"a.yaml": mk("gw-cert", "match:\n  labels: {service: api-gateway}\n  title: '(?i)(tls|cert|5\\d\\d)'\n"),
		"b.yaml": mk("gw-any", "match:\n  labels: {service: api-gateway}\n"),
		"c.yaml": mk("title-only", "match:\n  title: 'outage'\n"),
		"d.yaml": mk("manual", ""),
	})
	cat, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := func(rbs []*Runbook) string {
		var s []string
		for _, rb := range rbs {
			s = append(s, rb.Name)
		}
		return strings.Join(s, ",")
	}
	tests := []struct {
		title  string
		labels map[string]string
		want   string
	}{
		{"Stores return 500", map[string]string{"service": "api-gateway", "env": "prod"}, "gw-any,gw-cert"},
		{"Disk full", map[string]string{"service": "api-gateway"}, "gw-any"},
		{"TLS handshake errors", map[string]string{"service": "db"}, ""},
		{"big outage", nil, "title-only"},
	}
	for _, tt := range tests {
		if got := names(cat.Match(tt.title, tt.labels)); got != tt.want {
			t.Errorf("Match(%q, %v) = %q, want %q", tt.title, tt.labels, got, tt.want)
		}
	}
	all, n := cat.Suggest("Stores return 500", map[string]string{"service": "api-gateway"})
	if got := names(all); got != "gw-any,gw-cert,manual,title-only" || n != 2 {
		t.Errorf("Suggest = %q, %d", got, n)
	}
	if _, ok := cat.Get("manual"); !ok {
		t.Error("Get(manual) failed")
	}
	if _, ok := cat.Get("nope"); ok {
		t.Error("Get(nope) succeeded")
	}
}
