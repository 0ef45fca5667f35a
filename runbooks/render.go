package runbooks

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sitrep-io/sitrep/bot"
)

// Params are parameter values bound to a runbook by [Runbook.Bind]: every
// value has been checked against its param's pattern and the global rules.
// The zero value holds no values and cannot be used to render.
type Params struct {
	runbook string
	values  map[string]string
}

// Get returns the bound value of a parameter.
func (p Params) Get(name string) (string, bool) {
	v, ok := p.values[name]
	return v, ok
}

// Map returns a copy of the bound values (for display or persistence).
func (p Params) Map() map[string]string {
	out := make(map[string]string, len(p.values))
	for k, v := range p.values {
		out[k] = v
	}
	return out
}

// check applies the global value rules and the param's pattern.
// MaxParamValueLen bounds a parameter value, in characters: values are
// host names, counts and identifiers, and a longer one would only make an
// approval card Slack cannot post.
const MaxParamValueLen = 1024

func (prm *Param) check(v string) error {
	switch {
	case utf8.RuneCountInString(v) > MaxParamValueLen:
		return &ParamError{Param: prm.Name, Msg: fmt.Sprintf("value is %d characters; at most %d", utf8.RuneCountInString(v), MaxParamValueLen)}
	case !utf8.ValidString(v):
		return &ParamError{Param: prm.Name, Msg: "value is not valid UTF-8"}
	case strings.ContainsAny(v, "\x00\r\n"):
		return &ParamError{Param: prm.Name, Msg: "value must not contain NUL, CR or LF"}
	case strings.Contains(v, "${env:"):
		return &ParamError{Param: prm.Name, Msg: "value must not contain a ${env:…} reference"}
	case bot.HasUnsafeText(v):
		// A bidi override or escape could make the approval card show
		// something other than what runs.
		return &ParamError{Param: prm.Name, Msg: "value must not contain control or invisible formatting characters (such as U+202E)"}
	}
	re := prm.re
	if re == nil {
		var err error
		if re, err = compileAnchored(prm.Pattern); err != nil || prm.Pattern == "" {
			return &ParamError{Param: prm.Name, Pattern: prm.Pattern, Msg: "param has no valid pattern"}
		}
	}
	if !re.MatchString(v) {
		return &ParamError{Param: prm.Name, Pattern: prm.Pattern, Msg: fmt.Sprintf("value %q does not match the pattern", v)}
	}
	return nil
}

// Bind checks operator-supplied values and returns the bound parameters.
//
// Keys that are not declared params are rejected; required params must be
// present; missing optional params take their default (if any). Every
// value, supplied or default, must fully match the param's pattern, be
// valid UTF-8 and contain no NUL, CR, LF or ${env:…} reference.
//
// On failure Bind returns every problem joined with errors.Join; each is a
// [*ParamError] naming the param (and its pattern when relevant), in
// declaration order followed by unknown keys in sorted order.
func (rb *Runbook) Bind(values map[string]string) (Params, error) {
	var errs []error
	out := map[string]string{}
	for _, prm := range rb.Params {
		v, ok := values[prm.Name]
		if !ok {
			if prm.Required {
				errs = append(errs, &ParamError{Param: prm.Name, Msg: "is required"})
				continue
			}
			if prm.Default == "" {
				continue
			}
			v = prm.Default
		}
		if err := prm.check(v); err != nil {
			errs = append(errs, err)
			continue
		}
		out[prm.Name] = v
	}
	var unknown []string
	for k := range values {
		if rb.Param(k) == nil {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		errs = append(errs, &ParamError{Param: k, Msg: "unknown parameter for runbook " + strconv.Quote(rb.Name)})
	}
	if len(errs) > 0 {
		return Params{}, errors.Join(errs...)
	}
	return Params{runbook: rb.Name, values: out}, nil
}

// RenderedStep is a step with all templates substituted: exactly what an
// approval card shows and exactly what an [Executor] runs. Secret
// references (${env:NAME}) are kept verbatim; they are resolved only by the
// executor at execution time.
type RenderedStep struct {
	Runbook  string
	Step     string
	Action   string
	Approval *Approval // nil if the step needs no approval
	// Env lists the environment variable names the step may use (see
	// [Step.Env]).
	Env []string

	// Exactly one of these is set, according to Action.
	Exec      *RenderedExec
	HTTP      *RenderedHTTP
	TLSCheck  *RenderedTLSCheck
	HTTPCheck *RenderedHTTPCheck
}

// RenderedExec is a concrete command: an argv executed directly, never
// through a shell.
type RenderedExec struct {
	Argv    []string
	Dir     string // the runbook's directory; the executor may override it
	Timeout time.Duration
}

// Header is one HTTP header.
type Header struct {
	Name  string
	Value string
}

// RenderedHTTP is a concrete HTTP request. Header values and Body may still
// contain ${env:NAME} references.
type RenderedHTTP struct {
	Method       string
	URL          string
	Headers      []Header // sorted by name
	Body         string
	ExpectStatus []int // empty means any 2xx
	Timeout      time.Duration
	// AllowedHosts is the step's allowed_hosts; HostFromParam says a
	// parameter chose the URL's host, so secrets are sent only if
	// AllowedHosts covers it.
	AllowedHosts  []string `json:",omitempty"`
	HostFromParam bool     `json:",omitempty"`
}

// RenderedTLSCheck is a concrete TLS check.
type RenderedTLSCheck struct {
	Address     string // host:port
	ServerName  string // SNI and verification name
	MinDaysLeft int
	Timeout     time.Duration
}

// RenderedHTTPCheck is a concrete HTTP probe.
type RenderedHTTPCheck struct {
	Method        string
	URL           string
	ExpectStatus  []int
	MaxLatency    time.Duration // 0 means no latency limit
	Timeout       time.Duration
	AllowedHosts  []string `json:",omitempty"` // as RenderedHTTP's
	HostFromParam bool     `json:",omitempty"`
}

// Render substitutes bound params into step, which must be one of rb's
// steps, and returns the concrete step.
//
// Every templated exec argv element becomes exactly one argument, whatever
// the value contains. Render returns a [*ParamError] if a referenced param
// has no value, or if a value would begin an exec argv element with "-"
// and the param does not set allow_leading_dash (option smuggling). It
// returns a plain error if params were not bound to rb, step is not part of
// rb, or the rendered URL/address is not valid.
func (rb *Runbook) Render(step *Step, params Params) (RenderedStep, error) {
	if params.values == nil || params.runbook != rb.Name {
		return RenderedStep{}, fmt.Errorf("runbooks: params are not bound to runbook %q (use Bind)", rb.Name)
	}
	owned := false
	for _, s := range rb.Steps {
		if s == step {
			owned = true
		}
	}
	if !owned {
		return RenderedStep{}, fmt.Errorf("runbooks: step is not part of runbook %q", rb.Name)
	}
	rs := RenderedStep{Runbook: rb.Name, Step: step.Name, Action: step.Action, Approval: step.Approval,
		Env: append([]string(nil), step.Env...)}
	r := renderer{rb: rb, values: params.values, step: step.Name}
	var err error
	switch step.Action {
	case ActionExec:
		rs.Exec, err = r.exec(step.Exec)
	case ActionHTTP:
		rs.HTTP, err = r.http(step.HTTP)
	case ActionTLSCheck:
		rs.TLSCheck, err = r.tlsCheck(step.TLSCheck)
	case ActionHTTPCheck:
		rs.HTTPCheck, err = r.httpCheck(step.HTTPCheck)
	default:
		err = fmt.Errorf("%w %q", ErrWrongAction, step.Action)
	}
	if err != nil {
		return RenderedStep{}, err
	}
	return rs, nil
}

// RenderAll renders every step of the runbook in order (for a dry run or
// an approval card). It stops at the first error, which is wrapped with the
// step name.
func (rb *Runbook) RenderAll(params Params) ([]RenderedStep, error) {
	out := make([]RenderedStep, 0, len(rb.Steps))
	for _, s := range rb.Steps {
		rs, err := rb.Render(s, params)
		if err != nil {
			return nil, fmt.Errorf("step %q: %w", s.Name, err)
		}
		out = append(out, rs)
	}
	return out, nil
}

type renderer struct {
	rb     *Runbook
	values map[string]string
	step   string
}

func (r renderer) field(src string) (string, string, error) {
	t, err := parseTemplate(src)
	if err != nil {
		return "", "", err
	}
	return t.render(r.values)
}

// secretField renders a field that may hold ${env:NAME} references. Only
// references written in the runbook's own text count: if parameter values
// (alone or together with each other or the literal text) would form one,
// the field is refused, so no value a user typed can name a secret.
func (r renderer) secretField(src string) (string, error) {
	s, _, err := r.field(src)
	if err != nil {
		return "", err
	}
	if strings.Count(s, "${env:") != strings.Count(src, "${env:") || !slices.Equal(envRefRE.FindAllString(s, -1), envRefRE.FindAllString(src, -1)) {
		return "", &ParamError{Param: strings.Join(mustRefs(src), ", "), Msg: "values would form a ${env:…} secret reference; parameter values can never name a secret"}
	}
	return s, nil
}

func mustRefs(src string) []string {
	t, err := parseTemplate(src)
	if err != nil {
		return nil
	}
	return t.refs
}

func (r renderer) exec(spec *ExecSpec) (*RenderedExec, error) {
	if spec == nil || len(spec.Command) == 0 {
		return nil, errors.New("runbooks: exec step has no command")
	}
	argv := []string{spec.Command[0]}
	for _, el := range spec.Command[1:] {
		s, lead, err := r.field(el)
		if err != nil {
			return nil, err
		}
		if lead != "" && strings.HasPrefix(s, "-") {
			if prm := r.rb.Param(lead); prm == nil || !prm.AllowLeadingDash {
				return nil, &ParamError{Param: lead, Msg: fmt.Sprintf("value %q would start a command argument with \"-\" (option smuggling); set allow_leading_dash: true on the param to permit it", r.values[lead])}
			}
		}
		argv = append(argv, s)
	}
	return &RenderedExec{Argv: argv, Dir: r.rb.Dir, Timeout: spec.Timeout}, nil
}

func (r renderer) url(src string) (string, error) {
	s, _, err := r.field(src)
	if err != nil {
		return "", err
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("rendered url %q is invalid: %v", s, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("rendered url %q is not an absolute http(s) URL", s)
	}
	if u.User != nil {
		return "", fmt.Errorf("rendered url %q must not contain user info", s)
	}
	return s, nil
}

func (r renderer) http(spec *HTTPSpec) (*RenderedHTTP, error) {
	if spec == nil {
		return nil, errors.New("runbooks: http step has no spec")
	}
	u, err := r.url(spec.URL)
	if err != nil {
		return nil, err
	}
	out := &RenderedHTTP{Method: spec.Method, URL: u, ExpectStatus: append([]int(nil), spec.ExpectStatus...), Timeout: spec.Timeout,
		AllowedHosts: append([]string(nil), spec.AllowedHosts...), HostFromParam: urlHostTemplated(spec.URL)}
	names := make([]string, 0, len(spec.Headers))
	for k := range spec.Headers {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		v, err := r.secretField(spec.Headers[k])
		if err != nil {
			return nil, err
		}
		out.Headers = append(out.Headers, Header{Name: k, Value: v})
	}
	if out.Body, err = r.secretField(spec.Body); err != nil {
		return nil, err
	}
	return out, nil
}

func (r renderer) tlsCheck(spec *TLSCheckSpec) (*RenderedTLSCheck, error) {
	if spec == nil {
		return nil, errors.New("runbooks: tls_check step has no spec")
	}
	addr, _, err := r.field(spec.Address)
	if err != nil {
		return nil, err
	}
	if err := checkHostPort(addr); err != nil {
		return nil, fmt.Errorf("rendered address: %v", err)
	}
	name := ""
	if spec.ServerName != "" {
		if name, _, err = r.field(spec.ServerName); err != nil {
			return nil, err
		}
	}
	if name == "" {
		name, _, _ = net.SplitHostPort(addr)
	}
	return &RenderedTLSCheck{Address: addr, ServerName: name, MinDaysLeft: spec.MinDaysLeft, Timeout: spec.Timeout}, nil
}

func (r renderer) httpCheck(spec *HTTPCheckSpec) (*RenderedHTTPCheck, error) {
	if spec == nil {
		return nil, errors.New("runbooks: http_check step has no spec")
	}
	u, err := r.url(spec.URL)
	if err != nil {
		return nil, err
	}
	exp := append([]int(nil), spec.ExpectStatus...)
	if len(exp) == 0 {
		exp = []int{200}
	}
	return &RenderedHTTPCheck{Method: spec.Method, URL: u, ExpectStatus: exp, MaxLatency: spec.MaxLatency, Timeout: spec.Timeout,
		AllowedHosts: append([]string(nil), spec.AllowedHosts...), HostFromParam: urlHostTemplated(spec.URL)}, nil
}

// String renders the step for humans (approval cards, dry runs). Exec argv
// elements that are not plain words are shown Go-quoted so that argument
// boundaries are visible; this is display only, nothing is ever passed to
// a shell. Secret references are shown as ${env:NAME}.
func (rs RenderedStep) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s): ", rs.Step, rs.Action)
	switch {
	case rs.Exec != nil:
		for i, a := range rs.Exec.Argv {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(displayArg(a))
		}
		fmt.Fprintf(&b, " [timeout %s]", rs.Exec.Timeout)
	case rs.HTTP != nil:
		fmt.Fprintf(&b, "%s %s", rs.HTTP.Method, rs.HTTP.URL)
		for _, h := range rs.HTTP.Headers {
			fmt.Fprintf(&b, "\n  %s: %s", h.Name, h.Value)
		}
		if rs.HTTP.Body != "" {
			fmt.Fprintf(&b, "\n  body: %s", strconv.Quote(rs.HTTP.Body))
		}
		fmt.Fprintf(&b, "\n  expect %s [timeout %s]", statusesString(rs.HTTP.ExpectStatus), rs.HTTP.Timeout)
	case rs.TLSCheck != nil:
		fmt.Fprintf(&b, "%s (server name %s, at least %d days left) [timeout %s]",
			rs.TLSCheck.Address, rs.TLSCheck.ServerName, rs.TLSCheck.MinDaysLeft, rs.TLSCheck.Timeout)
	case rs.HTTPCheck != nil:
		fmt.Fprintf(&b, "%s %s expect %s", rs.HTTPCheck.Method, rs.HTTPCheck.URL, statusesString(rs.HTTPCheck.ExpectStatus))
		if rs.HTTPCheck.MaxLatency > 0 {
			fmt.Fprintf(&b, " within %s", rs.HTTPCheck.MaxLatency)
		}
		fmt.Fprintf(&b, " [timeout %s]", rs.HTTPCheck.Timeout)
	}
	if rs.Approval != nil {
		b.WriteString(" — needs approval")
		if rs.Approval.TwoPerson {
			b.WriteString(" (two-person)")
		}
	}
	return b.String()
}

func displayArg(a string) string {
	if a == "" {
		return `""`
	}
	for _, c := range a {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("-_./:=,@%+", c)) {
			return strconv.Quote(a)
		}
	}
	return a
}

func statusesString(s []int) string {
	if len(s) == 0 {
		return "2xx"
	}
	parts := make([]string, len(s))
	for i, v := range s {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, "|")
}
