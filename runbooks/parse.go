package runbooks

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

var (
	runbookNameRE = regexp.MustCompile(`^[a-z0-9-]+$`)
	stepNameRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)
	paramNameRE   = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)
	envNameRE     = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	approverRE    = regexp.MustCompile(`^[UWS][A-Z0-9]{2,}$`)
	headerNameRE  = regexp.MustCompile("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
	yamlLineRE    = regexp.MustCompile(`^yaml: line (\d+): `)
)

var knownActions = []string{ActionExec, ActionHTTP, ActionHTTPCheck, ActionTLSCheck}

var httpMethods = map[string]bool{"GET": true, "HEAD": true, "POST": true, "PUT": true, "PATCH": true, "DELETE": true, "OPTIONS": true}

// Load reads every *.yaml and *.yml file directly inside dir (not
// recursively), validates them and returns the catalog.
//
// If the directory cannot be read the underlying error is returned. If any
// file is invalid, Load returns a nil catalog and an [ErrorList] holding
// every problem found (each an [*Error] with file and line), including
// runbook names duplicated across files.
func Load(dir string) (*Catalog, error) {
	rbs, errs, err := loadDir(dir)
	if err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, errs
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		abs = dir
	}
	return NewCatalog(abs, rbs)
}

// Validate checks every runbook file in dir like [Load] and returns all
// problems found, or nil if the directory is valid. Errors are [*Error]
// values (file:line: context: message) except for a failure to read the
// directory or a file, which is returned as is.
func Validate(dir string) []error {
	_, errs, err := loadDir(dir)
	if err != nil {
		return []error{err}
	}
	if len(errs) == 0 {
		return nil
	}
	return errs.Errors()
}

func loadDir(dir string) ([]*Runbook, ErrorList, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, nil, err
	}
	var (
		rbs  []*Runbook
		errs ErrorList
	)
	for _, e := range entries {
		ext := filepath.Ext(e.Name())
		if e.IsDir() || (ext != ".yaml" && ext != ".yml") {
			continue
		}
		path := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, nil, err
		}
		rb, ferrs := ParseFile(path, data)
		errs = append(errs, ferrs...)
		if rb != nil {
			rb.Dir = abs
			rbs = append(rbs, rb)
		}
	}
	// Duplicate names across files (reported even if other errors exist).
	seen := map[string]*Runbook{}
	for _, rb := range rbs {
		if rb.Name == "" {
			continue
		}
		if prev, ok := seen[rb.Name]; ok {
			errs = append(errs, &Error{File: rb.File, Line: rb.nameLine,
				Msg: fmt.Sprintf("duplicate runbook name %q (also defined at %s:%d)", rb.Name, prev.File, prev.nameLine)})
			continue
		}
		seen[rb.Name] = rb
	}
	return rbs, errs, nil
}

// ParseFile parses and validates one runbook file. path is only used in
// error messages and Runbook.File. It returns the runbook (nil if the file
// is not even a YAML mapping) and every problem found as [*Error] values;
// the runbook must not be used when errors are returned. Runbook.Dir is
// left empty (exec steps then run in the bot's working directory unless the
// executor sets Options.WorkDir); [Load] sets it.
func ParseFile(path string, data []byte) (*Runbook, ErrorList) {
	p := &parser{file: path}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			p.errs = append(p.errs, &Error{File: path, Line: 1, Msg: "empty file"})
		} else {
			p.yamlErr(err)
		}
		return nil, p.errs
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.errf(&extra, "", "only one runbook per file is supported (found a second YAML document)")
	} else if err != io.EOF {
		p.yamlErr(err)
	}
	root := &doc
	if root.Kind == yaml.DocumentNode && len(root.Content) > 0 {
		root = root.Content[0]
	}
	root = deref(root)
	if root.Kind != yaml.MappingNode {
		p.errf(root, "", "a runbook file must be a YAML mapping")
		return nil, p.errs
	}
	rb := p.runbook(root)
	return rb, p.errs
}

type parser struct {
	file string
	errs ErrorList
}

func (p *parser) errf(n *yaml.Node, where, format string, args ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Where: where, Msg: fmt.Sprintf(format, args...)})
}

func (p *parser) yamlErr(err error) {
	msg := err.Error()
	line := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Msg: "invalid YAML: " + msg})
}

func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

// fields checks that n is a mapping with only allowed keys, that required
// keys are present, and returns the value nodes by key.
func (p *parser) fields(n *yaml.Node, where, what string, allowed, required []string) map[string]*yaml.Node {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		p.errf(n, where, "%s must be a mapping", what)
		return nil
	}
	out := map[string]*yaml.Node{}
	keyLine := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			p.errf(k, where, "%s: keys must be strings", what)
			continue
		}
		if prev, dup := keyLine[k.Value]; dup {
			p.errf(k, where, "duplicate key %q (first at line %d)", k.Value, prev)
			continue
		}
		keyLine[k.Value] = k.Line
		if !contains(allowed, k.Value) {
			msg := fmt.Sprintf("unknown key %q in %s", k.Value, what)
			if s := suggest(k.Value, allowed); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", s)
			} else {
				msg += " (allowed: " + strings.Join(allowed, ", ") + ")"
			}
			p.errs = append(p.errs, &Error{File: p.file, Line: k.Line, Where: where, Msg: msg})
			continue
		}
		out[k.Value] = v
	}
	for _, r := range required {
		if _, ok := out[r]; !ok {
			if _, present := keyLine[r]; !present {
				p.errf(n, where, "missing required key %q in %s", r, what)
			}
		}
	}
	return out
}

func (p *parser) str(n *yaml.Node, where, key string) (string, bool) {
	if n == nil {
		return "", false
	}
	n = deref(n)
	if n.Kind != yaml.ScalarNode {
		p.errf(n, where, "%s must be a string", key)
		return "", false
	}
	if n.Tag == "!!null" {
		return "", true
	}
	return n.Value, true
}

func (p *parser) boolean(n *yaml.Node, where, key string) bool {
	if n == nil {
		return false
	}
	n = deref(n)
	var b bool
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" || n.Decode(&b) != nil {
		p.errf(n, where, "%s must be true or false", key)
		return false
	}
	return b
}

func (p *parser) integer(n *yaml.Node, where, key string) (int, bool) {
	n = deref(n)
	var i int
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&i) != nil {
		p.errf(n, where, "%s must be an integer", key)
		return 0, false
	}
	return i, true
}

func (p *parser) duration(n *yaml.Node, where, key string) time.Duration {
	if n == nil {
		return 0
	}
	s, ok := p.str(n, where, key)
	if !ok {
		return 0
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		p.errf(n, where, "%s: invalid duration %q (use e.g. 30s, 2m, 1h)", key, s)
		return 0
	}
	if d <= 0 {
		p.errf(n, where, "%s must be positive, got %q", key, s)
		return 0
	}
	return d
}

func (p *parser) strList(n *yaml.Node, where, key string) ([]*yaml.Node, []string) {
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		p.errf(n, where, "%s must be a list", key)
		return nil, nil
	}
	var nodes []*yaml.Node
	var vals []string
	for _, c := range n.Content {
		c = deref(c)
		if c.Kind != yaml.ScalarNode {
			p.errf(c, where, "%s: each element must be a string", key)
			continue
		}
		nodes = append(nodes, c)
		vals = append(vals, c.Value)
	}
	return nodes, vals
}

func (p *parser) statusList(n *yaml.Node, where, key string) []int {
	if n == nil {
		return nil
	}
	n = deref(n)
	if n.Kind != yaml.SequenceNode {
		p.errf(n, where, "%s must be a list of HTTP status codes", key)
		return nil
	}
	var out []int
	for _, c := range n.Content {
		v, ok := p.integer(c, where, key+" element")
		if !ok {
			continue
		}
		if v < 100 || v > 599 {
			p.errf(c, where, "%s: %d is not an HTTP status code", key, v)
			continue
		}
		out = append(out, v)
	}
	if len(out) == 0 && len(n.Content) == 0 {
		p.errf(n, where, "%s must not be empty (omit it for the default)", key)
	}
	return out
}

func (p *parser) strMap(n *yaml.Node, where, key string) (map[string]string, map[string]*yaml.Node) {
	n = deref(n)
	if n.Kind != yaml.MappingNode {
		p.errf(n, where, "%s must be a mapping", key)
		return nil, nil
	}
	out := map[string]string{}
	nodes := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), deref(n.Content[i+1])
		if k.Kind != yaml.ScalarNode || v.Kind != yaml.ScalarNode {
			p.errf(k, where, "%s: keys and values must be strings", key)
			continue
		}
		if _, dup := out[k.Value]; dup {
			p.errf(k, where, "%s: duplicate key %q", key, k.Value)
			continue
		}
		out[k.Value] = v.Value
		nodes[k.Value] = v
	}
	return out, nodes
}

// runbook-level ---------------------------------------------------------

func (p *parser) runbook(root *yaml.Node) *Runbook {
	rb := &Runbook{File: p.file, Line: root.Line}
	f := p.fields(root, "", "runbook", []string{"name", "title", "description", "match", "params", "steps"}, []string{"name", "title", "steps"})
	if f == nil {
		return rb
	}
	if n := f["name"]; n != nil {
		rb.nameLine = n.Line
		if s, ok := p.str(n, "", "name"); ok {
			if !runbookNameRE.MatchString(s) {
				p.errf(n, "", "invalid runbook name %q (must match %s)", s, runbookNameRE)
			}
			rb.Name = s
		}
	} else {
		rb.nameLine = root.Line
	}
	if n := f["title"]; n != nil {
		if s, ok := p.str(n, "", "title"); ok {
			if strings.TrimSpace(s) == "" {
				p.errf(n, "", "title must not be empty")
			}
			rb.Title = s
		}
	}
	if n := f["description"]; n != nil {
		rb.Description, _ = p.str(n, "", "description")
	}
	if n := f["match"]; n != nil {
		rb.Match = p.match(n)
	}
	declared := map[string]*Param{}
	if n := f["params"]; n != nil {
		n = deref(n)
		if n.Kind != yaml.SequenceNode {
			p.errf(n, "", "params must be a list")
		} else {
			for _, pn := range n.Content {
				prm := p.param(pn)
				if prm == nil || prm.Name == "" {
					continue
				}
				if prev, dup := declared[prm.Name]; dup {
					p.errf(pn, fmt.Sprintf("param %q", prm.Name), "duplicate param (first at line %d)", prev.Line)
					continue
				}
				declared[prm.Name] = prm
				rb.Params = append(rb.Params, prm)
			}
		}
	}
	if n := f["steps"]; n != nil {
		n = deref(n)
		if n.Kind != yaml.SequenceNode {
			p.errf(n, "", "steps must be a list")
		} else if len(n.Content) == 0 {
			p.errf(n, "", "steps must not be empty")
		} else {
			seen := map[string]int{}
			for _, sn := range n.Content {
				st := p.step(sn, declared)
				if st == nil {
					continue
				}
				if st.Name != "" {
					if prev, dup := seen[st.Name]; dup {
						p.errf(sn, fmt.Sprintf("step %q", st.Name), "duplicate step name (first at line %d)", prev)
						continue
					}
					seen[st.Name] = st.Line
				}
				rb.Steps = append(rb.Steps, st)
			}
		}
	}
	return rb
}

func (p *parser) match(n *yaml.Node) Match {
	var m Match
	f := p.fields(n, "match", "match", []string{"labels", "title"}, nil)
	if f == nil {
		return m
	}
	if ln := f["labels"]; ln != nil {
		m.Labels, _ = p.strMap(ln, "match", "labels")
	}
	if tn := f["title"]; tn != nil {
		if s, ok := p.str(tn, "match", "title"); ok && s != "" {
			re, err := regexp.Compile(s)
			if err != nil {
				p.errf(tn, "match", "title: invalid regular expression %q: %v", s, err)
			} else {
				m.Title, m.titleRE = s, re
			}
		}
	}
	return m
}

func (p *parser) param(n *yaml.Node) *Param {
	prm := &Param{Line: n.Line}
	where := itemWhere("param", n)
	f := p.fields(n, where, "param", []string{"name", "pattern", "required", "default", "description", "allow_leading_dash"}, []string{"name", "pattern"})
	if f == nil {
		return nil
	}
	prm.Name, where = p.itemName(f, where, "param", paramNameRE)
	prm.Description, _ = p.str(f["description"], where, "description")
	prm.Required = p.boolean(f["required"], where, "required")
	prm.AllowLeadingDash = p.boolean(f["allow_leading_dash"], where, "allow_leading_dash")
	if pn := f["pattern"]; pn != nil {
		if s, ok := p.str(pn, where, "pattern"); ok {
			if s == "" {
				p.errf(pn, where, "pattern must not be empty")
			} else if re, err := compileAnchored(s); err != nil {
				p.errf(pn, where, "invalid pattern %q: %v", s, err)
			} else {
				prm.Pattern, prm.re = s, re
			}
		}
	}
	if dn := f["default"]; dn != nil {
		if s, ok := p.str(dn, where, "default"); ok {
			prm.Default = s
			if s != "" && prm.Required {
				p.errf(dn, where, "a required param cannot have a default")
			}
			if s != "" && prm.re != nil {
				if err := prm.check(s); err != nil {
					p.errf(dn, where, "default %q is not acceptable: %s", s, err.(*ParamError).Msg)
				}
			}
		}
	}
	return prm
}

func compileAnchored(pattern string) (*regexp.Regexp, error) {
	if _, err := regexp.Compile(pattern); err != nil {
		return nil, err
	}
	return regexp.Compile(`^(?:` + pattern + `)$`)
}

func (p *parser) step(n *yaml.Node, declared map[string]*Param) *Step {
	st := &Step{Line: n.Line}
	where := itemWhere("step", n)
	f := p.fields(n, where, "step", []string{"name", "description", "action", "with", "approval", "env"}, []string{"name", "action", "with"})
	if f == nil {
		return nil
	}
	st.Name, where = p.itemName(f, where, "step", stepNameRE)
	st.Description, _ = p.str(f["description"], where, "description")
	if en := f["env"]; en != nil {
		nodes, names := p.strList(en, where, "env")
		for i, name := range names {
			if !envNameRE.MatchString(name) {
				p.errf(nodes[i], where, "env: invalid environment variable name %q", name)
				continue
			}
			st.Env = append(st.Env, name)
		}
	}
	if an := f["approval"]; an != nil {
		st.Approval = p.approval(an, where)
	}
	if an := f["action"]; an != nil {
		if s, ok := p.str(an, where, "action"); ok {
			st.Action = s
			if !contains(knownActions, s) {
				msg := fmt.Sprintf("unknown action %q", s)
				if sg := suggest(s, knownActions); sg != "" {
					msg += fmt.Sprintf(" (did you mean %q?)", sg)
				} else {
					msg += " (known: " + strings.Join(knownActions, ", ") + ")"
				}
				p.errs = append(p.errs, &Error{File: p.file, Line: an.Line, Where: where, Msg: msg})
			}
		}
	}
	w := f["with"]
	if w == nil {
		return st
	}
	v := &withCtx{p: p, where: where, declared: declared, env: st.Env}
	switch st.Action {
	case ActionExec:
		st.Exec = v.exec(w)
	case ActionHTTP:
		st.HTTP = v.http(w)
	case ActionTLSCheck:
		st.TLSCheck = v.tlsCheck(w)
	case ActionHTTPCheck:
		st.HTTPCheck = v.httpCheck(w)
	}
	return st
}

func (p *parser) approval(n *yaml.Node, where string) *Approval {
	a := &Approval{}
	f := p.fields(n, where, "approval", []string{"approvers", "two_person", "expires"}, []string{"approvers"})
	if f == nil {
		return a
	}
	users, groups := 0, 0
	if an := f["approvers"]; an != nil {
		nodes, vals := p.strList(an, where, "approval.approvers")
		if len(nodes) == 0 && deref(an).Kind == yaml.SequenceNode {
			p.errf(an, where, "approval.approvers must not be empty")
		}
		seen := map[string]bool{}
		for i, v := range vals {
			if !approverRE.MatchString(v) {
				p.errf(nodes[i], where, "approval.approvers: %q is not a Slack user ID (U…/W…) or user-group ID (S…)", v)
				continue
			}
			if seen[v] {
				p.errf(nodes[i], where, "approval.approvers: duplicate %q", v)
				continue
			}
			seen[v] = true
			if v[0] == 'S' {
				groups++
			} else {
				users++
			}
			a.Approvers = append(a.Approvers, v)
		}
	}
	if tn := f["two_person"]; tn != nil {
		a.TwoPerson = p.boolean(tn, where, "approval.two_person")
		if a.TwoPerson && groups == 0 && users == 1 {
			p.errf(tn, where, "approval.two_person needs at least two approvers or a user group")
		}
	}
	a.Expires = p.duration(f["expires"], where, "approval.expires")
	return a
}

// per-action `with` ---------------------------------------------------------

type withCtx struct {
	p        *parser
	where    string
	declared map[string]*Param
	env      []string
}

// template validates a templated field: syntax, only simple
// substitutions, only declared params. If allowSecrets, ${env:NAME}
// references must name variables listed in the step's env; otherwise
// they are rejected.
func (v *withCtx) template(n *yaml.Node, key, s string, allowSecrets bool) *tmpl {
	t, err := parseTemplate(s)
	if err != nil {
		v.p.errf(n, v.where, "%s: %v", key, err)
		return nil
	}
	for _, r := range t.refs {
		if _, ok := v.declared[r]; !ok {
			v.p.errf(n, v.where, "%s: template references undeclared param %q", key, r)
		}
	}
	names, err := envRefs(s)
	if err != nil {
		v.p.errf(n, v.where, "%s: %v", key, err)
	}
	if len(names) > 0 && !allowSecrets {
		v.p.errf(n, v.where, "%s: ${env:…} secret references are only allowed in http header values and body", key)
	} else {
		for _, name := range names {
			if !contains(v.env, name) {
				v.p.errf(n, v.where, "%s: ${env:%s} is not listed in the step's env", key, name)
			}
		}
	}
	return t
}

func (v *withCtx) timeout(f map[string]*yaml.Node, def time.Duration) time.Duration {
	if n := f["timeout"]; n != nil {
		if d := v.p.duration(n, v.where, "timeout"); d > 0 {
			return d
		}
	}
	return def
}

func (v *withCtx) exec(n *yaml.Node) *ExecSpec {
	spec := &ExecSpec{Timeout: DefaultExecTimeout}
	f := v.p.fields(n, v.where, "exec with", []string{"command", "timeout"}, []string{"command"})
	if f == nil {
		return spec
	}
	if cn := f["command"]; cn != nil {
		nodes, vals := v.p.strList(cn, v.where, "command")
		if len(vals) == 0 && deref(cn).Kind == yaml.SequenceNode {
			v.p.errf(cn, v.where, "command must not be empty")
		}
		for i, s := range vals {
			if i == 0 {
				if s == "" {
					v.p.errf(nodes[i], v.where, "command: the program must not be empty")
				} else if isTemplated(s) {
					v.p.errf(nodes[i], v.where, "command: the program (first element) must not be templated")
				} else if strings.Contains(s, "${env:") {
					v.p.errf(nodes[i], v.where, "command: ${env:…} secret references are not allowed in exec arguments; list the variable in env: instead")
				}
				continue
			}
			v.template(nodes[i], "command", s, false)
		}
		spec.Command = vals
	}
	spec.Timeout = v.timeout(f, DefaultExecTimeout)
	return spec
}

func (v *withCtx) method(f map[string]*yaml.Node, allowed map[string]bool) string {
	n := f["method"]
	if n == nil {
		return "GET"
	}
	s, ok := v.p.str(n, v.where, "method")
	if !ok {
		return "GET"
	}
	m := strings.ToUpper(s)
	if !allowed[m] {
		v.p.errf(n, v.where, "method: unsupported HTTP method %q", s)
	}
	return m
}

func (v *withCtx) url(f map[string]*yaml.Node) string {
	n := f["url"]
	if n == nil {
		return ""
	}
	s, ok := v.p.str(n, v.where, "url")
	if !ok {
		return ""
	}
	if !strings.HasPrefix(s, "http://") && !strings.HasPrefix(s, "https://") {
		v.p.errf(n, v.where, "url: must start with http:// or https:// (the scheme cannot be templated)")
	}
	v.template(n, "url", s, false)
	return s
}

func (v *withCtx) http(n *yaml.Node) *HTTPSpec {
	spec := &HTTPSpec{Timeout: DefaultHTTPTimeout}
	f := v.p.fields(n, v.where, "http with", []string{"method", "url", "headers", "body", "expect_status", "timeout", "allowed_hosts"}, []string{"url"})
	if f == nil {
		return spec
	}
	spec.Method = v.method(f, httpMethods)
	spec.URL = v.url(f)
	if hn := f["headers"]; hn != nil {
		hs, nodes := v.p.strMap(hn, v.where, "headers")
		for k, val := range hs {
			if !headerNameRE.MatchString(k) {
				v.p.errf(nodes[k], v.where, "headers: invalid header name %q", k)
				continue
			}
			v.template(nodes[k], "headers."+k, val, true)
		}
		spec.Headers = hs
	}
	if bn := f["body"]; bn != nil {
		if s, ok := v.p.str(bn, v.where, "body"); ok {
			v.template(bn, "body", s, true)
			spec.Body = s
		}
	}
	spec.ExpectStatus = v.p.statusList(f["expect_status"], v.where, "expect_status")
	spec.Timeout = v.timeout(f, DefaultHTTPTimeout)
	spec.AllowedHosts = v.allowedHosts(f, spec.URL)
	secret := strings.Contains(spec.Body, "${env:")
	for _, val := range spec.Headers {
		secret = secret || strings.Contains(val, "${env:")
	}
	if secret && len(spec.AllowedHosts) == 0 && urlHostTemplated(spec.URL) && strings.HasPrefix(spec.URL, "http") {
		v.p.errf(f["url"], v.where, "url: a parameter chooses the host and the step sends ${env:…} secrets: list the hosts they may go to in allowed_hosts")
	}
	return spec
}

// allowedHosts validates the allowed_hosts list; a url whose host is
// literal must itself be allowed by it.
func (v *withCtx) allowedHosts(f map[string]*yaml.Node, rawURL string) []string {
	n := f["allowed_hosts"]
	if n == nil {
		return nil
	}
	nodes, vals := v.p.strList(n, v.where, "allowed_hosts")
	if len(vals) == 0 && deref(n).Kind == yaml.SequenceNode {
		v.p.errf(n, v.where, "allowed_hosts must not be empty (leave it out to allow any host but loopback and link-local)")
	}
	var policy hostPolicy
	for i, s := range vals {
		if err := policy.add(s); err != nil {
			v.p.errf(nodes[i], v.where, "allowed_hosts: %v", err)
		}
	}
	if rawURL != "" && !urlHostTemplated(rawURL) {
		if u, err := url.Parse(rawURL); err == nil && u.Hostname() != "" {
			if _, err := policy.checkHost(u.Hostname()); err != nil {
				v.p.errf(n, v.where, "url: %v", err)
			}
		}
	}
	return vals
}

func (v *withCtx) tlsCheck(n *yaml.Node) *TLSCheckSpec {
	spec := &TLSCheckSpec{MinDaysLeft: DefaultMinDaysLeft, Timeout: DefaultCheckTimeout}
	f := v.p.fields(n, v.where, "tls_check with", []string{"address", "server_name", "min_days_left", "timeout"}, []string{"address"})
	if f == nil {
		return spec
	}
	if an := f["address"]; an != nil {
		if s, ok := v.p.str(an, v.where, "address"); ok {
			if t := v.template(an, "address", s, false); t != nil && len(t.refs) == 0 {
				if err := checkHostPort(s); err != nil {
					v.p.errf(an, v.where, "address: %v", err)
				}
			}
			spec.Address = s
		}
	}
	if sn := f["server_name"]; sn != nil {
		if s, ok := v.p.str(sn, v.where, "server_name"); ok {
			v.template(sn, "server_name", s, false)
			spec.ServerName = s
		}
	}
	if mn := f["min_days_left"]; mn != nil {
		if d, ok := v.p.integer(mn, v.where, "min_days_left"); ok {
			if d < 0 {
				v.p.errf(mn, v.where, "min_days_left must not be negative")
			} else {
				spec.MinDaysLeft = d
			}
		}
	}
	spec.Timeout = v.timeout(f, DefaultCheckTimeout)
	return spec
}

func (v *withCtx) httpCheck(n *yaml.Node) *HTTPCheckSpec {
	spec := &HTTPCheckSpec{Timeout: DefaultCheckTimeout}
	f := v.p.fields(n, v.where, "http_check with", []string{"method", "url", "expect_status", "max_latency", "timeout", "allowed_hosts"}, []string{"url"})
	if f == nil {
		return spec
	}
	spec.Method = v.method(f, map[string]bool{"GET": true, "HEAD": true, "OPTIONS": true})
	spec.URL = v.url(f)
	spec.ExpectStatus = v.p.statusList(f["expect_status"], v.where, "expect_status")
	spec.MaxLatency = v.p.duration(f["max_latency"], v.where, "max_latency")
	spec.Timeout = v.timeout(f, DefaultCheckTimeout)
	spec.AllowedHosts = v.allowedHosts(f, spec.URL)
	if spec.MaxLatency > 0 && spec.MaxLatency > spec.Timeout {
		v.p.errf(f["max_latency"], v.where, "max_latency (%s) exceeds timeout (%s)", spec.MaxLatency, spec.Timeout)
	}
	return spec
}

func checkHostPort(s string) error {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%q is not host:port", s)
	}
	if host == "" {
		return fmt.Errorf("%q has an empty host", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q has an invalid port", s)
	}
	return nil
}

// helpers ------------------------------------------------------------------

// itemWhere is how errors name a param or step (kind) found before its
// name is parsed: by the name it will have, if it has one.
func itemWhere(kind string, n *yaml.Node) string {
	if name := peekName(n); name != "" {
		return fmt.Sprintf("%s %q", kind, name)
	}
	return kind
}

// itemName parses the "name" field of a param or step (kind), which must
// match re. It returns the name ("" when absent or not a string) and how
// the item's later errors name it.
func (p *parser) itemName(f map[string]*yaml.Node, where, kind string, re *regexp.Regexp) (string, string) {
	nn := f["name"]
	if nn == nil {
		return "", where
	}
	s, ok := p.str(nn, where, "name")
	if !ok {
		return "", where
	}
	where = fmt.Sprintf("%s %q", kind, s)
	if !re.MatchString(s) {
		p.errf(nn, where, "invalid %s name (must match %s)", kind, re)
	}
	return s, where
}

// peekName returns the scalar value of a mapping's "name" key, if any, so
// that errors found before it is parsed can already name the item.
func peekName(n *yaml.Node) string {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k, v := deref(n.Content[i]), deref(n.Content[i+1]); k.Value == "name" && v.Kind == yaml.ScalarNode {
			return v.Value
		}
	}
	return ""
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// suggest returns the closest candidate within edit distance 2, or "".
func suggest(s string, candidates []string) string {
	best, bestD := "", 3
	sorted := append([]string(nil), candidates...)
	sort.Strings(sorted)
	for _, c := range sorted {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
