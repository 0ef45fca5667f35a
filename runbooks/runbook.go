// Package runbooks defines sitrep's runbooks: operator actions (audit TLS
// certificates, re-order a certificate, scale a server pool, ...) that the
// bot can suggest for an incident and run after approval.
//
// The package is the definition and execution layer only. It knows nothing
// about chat, approval state or persistence:
//
//   - [Load] / [Validate] read a directory of YAML runbook files, reporting
//     every problem with file and line.
//   - [Catalog] lists, looks up and matches runbooks against incidents.
//   - [Runbook.Bind] checks operator-supplied parameter values and
//     [Runbook.Render] turns a step plus bound parameters into a concrete
//     [RenderedStep] (argv, request, address). The rendered step is both what
//     an approval card should show and exactly what is executed; a dry run is
//     just rendering.
//   - [Executors] maps action names to [Executor] implementations
//     (exec, http, tls_check, http_check) that run a [RenderedStep] and
//     return a [Result].
//
// Security model: commands are executed from an argv, never through a shell;
// each templated argv element renders to exactly one argument; every
// parameter must declare a pattern that each value must fully match; values
// containing NUL, CR or LF are always rejected and a value that would start
// an argv element with "-" is rejected unless the parameter opts in with
// allow_leading_dash. Child processes get an allowlisted environment only,
// and secrets are referenced as ${env:NAME} in HTTP headers/bodies, resolved
// only at execution time and never shown in rendered steps or results.
package runbooks

import (
	"fmt"
	"regexp"
	"sort"
	"time"
)

// Action names understood by the validator and the default executors.
const (
	ActionExec      = "exec"
	ActionHTTP      = "http"
	ActionTLSCheck  = "tls_check"
	ActionHTTPCheck = "http_check"
)

// Runbook is one validated runbook definition. Runbooks are produced by
// [Load] or [ParseFile] and must be treated as read-only.
type Runbook struct {
	Name        string
	Title       string
	Description string
	Match       Match
	Params      []*Param
	Steps       []*Step

	// File is the path the runbook was loaded from (as passed to Load,
	// joined with the file name) and Line the line of its first key.
	File string
	Line int
	// Dir is the absolute directory of File; exec steps run there unless
	// the executor is configured with another working directory.
	Dir string

	nameLine int
}

// Match says for which incidents a runbook is suggested. A runbook with an
// empty Match is never suggested automatically (it can still be run by name).
type Match struct {
	// Labels must all be present on the incident with equal values.
	Labels map[string]string
	// Title, if set, is a regular expression that must match (anywhere in)
	// the incident title.
	Title string

	titleRE *regexp.Regexp
}

// IsZero reports whether the match has no criteria.
func (m Match) IsZero() bool { return len(m.Labels) == 0 && m.Title == "" }

// Matches reports whether an incident with the given title and labels
// satisfies every criterion of m. An empty Match matches nothing.
func (m Match) Matches(title string, labels map[string]string) bool {
	if m.IsZero() {
		return false
	}
	for k, v := range m.Labels {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	if m.Title != "" {
		re := m.titleRE
		if re == nil {
			var err error
			if re, err = regexp.Compile(m.Title); err != nil {
				return false
			}
		}
		if !re.MatchString(title) {
			return false
		}
	}
	return true
}

// Param declares an operator-supplied parameter.
type Param struct {
	Name        string
	Description string
	// Pattern is a regular expression every value must match in full
	// (it is anchored as ^(?:Pattern)$).
	Pattern  string
	Required bool
	// Default is applied when the parameter is not supplied; "" means no
	// default.
	Default string
	// AllowLeadingDash permits values starting with "-" where the value
	// would begin an argv element (normally rejected as option smuggling).
	AllowLeadingDash bool

	Line int
	re   *regexp.Regexp
}

// Step is one action of a runbook.
type Step struct {
	Name        string
	Description string
	Action      string
	// Env lists environment variable names the step may use: for exec they
	// are copied from the bot's environment into the child's; for http they
	// are the only names ${env:NAME} references may use.
	Env      []string
	Approval *Approval

	// Exactly one of these is set, according to Action.
	Exec      *ExecSpec
	HTTP      *HTTPSpec
	TLSCheck  *TLSCheckSpec
	HTTPCheck *HTTPCheckSpec

	Line int
}

// NeedsApproval reports whether the step declares an approval block.
func (s *Step) NeedsApproval() bool { return s.Approval != nil }

// Approval is a step's approval policy. Enforcing it is the caller's job;
// this package only validates and exposes it.
type Approval struct {
	// Approvers are Slack user IDs (U…/W…) or user-group IDs (S…).
	Approvers []string
	// TwoPerson means the requester may not approve their own request: a
	// second person (another listed approver or group member) must. The
	// validator therefore wants at least two approvers or a user group.
	TwoPerson bool
	// Expires is how long an approval request stays valid; 0 means the
	// caller's default.
	Expires time.Duration
}

// ExecSpec is the `with` of an exec step. Command elements other than the
// first may contain {{ .param }} templates.
type ExecSpec struct {
	Command []string
	Timeout time.Duration
}

// HTTPSpec is the `with` of an http step. URL, header values and body may
// contain {{ .param }} templates; header values and body may contain
// ${env:NAME} secret references.
type HTTPSpec struct {
	Method       string
	URL          string
	Headers      map[string]string
	Body         string
	ExpectStatus []int // empty means any 2xx
	Timeout      time.Duration
	// AllowedHosts restricts where the request may go (see hosts.go and
	// the README): host names, *.domain wildcards, addresses, ranges.
	AllowedHosts []string
}

// TLSCheckSpec is the `with` of a tls_check step.
type TLSCheckSpec struct {
	Address     string // host:port, templated
	ServerName  string // SNI and name to verify; defaults to the host of Address
	MinDaysLeft int
	Timeout     time.Duration
}

// HTTPCheckSpec is the `with` of an http_check step.
type HTTPCheckSpec struct {
	Method       string
	URL          string
	ExpectStatus []int // defaults to [200]
	MaxLatency   time.Duration
	Timeout      time.Duration
	AllowedHosts []string // as HTTPSpec.AllowedHosts
}

// Defaults applied when a step does not set them.
const (
	DefaultExecTimeout      = 5 * time.Minute
	DefaultHTTPTimeout      = 30 * time.Second
	DefaultCheckTimeout     = 10 * time.Second
	DefaultMinDaysLeft      = 14
	DefaultOutputLimit      = 64 << 10
	DefaultBodyExcerptLimit = 4 << 10
)

// Catalog is an immutable set of runbooks with unique names.
type Catalog struct {
	dir    string
	byName map[string]*Runbook
	sorted []*Runbook
}

// NewCatalog builds a catalog from already-parsed runbooks. It returns an
// [ErrorList] if two runbooks share a name.
func NewCatalog(dir string, rbs []*Runbook) (*Catalog, error) {
	c := &Catalog{dir: dir, byName: map[string]*Runbook{}}
	var errs ErrorList
	for _, rb := range rbs {
		if prev, ok := c.byName[rb.Name]; ok {
			errs = append(errs, &Error{File: rb.File, Line: rb.Line,
				Msg: "duplicate runbook name " + quote(rb.Name) + " (also defined at " + prev.File + ":" + itoa(prev.Line) + ")"})
			continue
		}
		c.byName[rb.Name] = rb
		c.sorted = append(c.sorted, rb)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	sort.Slice(c.sorted, func(i, j int) bool { return c.sorted[i].Name < c.sorted[j].Name })
	return c, nil
}

// Dir returns the directory the catalog was loaded from.
func (c *Catalog) Dir() string { return c.dir }

// List returns all runbooks sorted by name. The slice is a copy.
func (c *Catalog) List() []*Runbook { return append([]*Runbook(nil), c.sorted...) }

// Get returns the runbook with the given name, or nil and false.
func (c *Catalog) Get(name string) (*Runbook, bool) {
	rb, ok := c.byName[name]
	return rb, ok
}

// Match returns the runbooks whose match criteria the incident satisfies,
// sorted by name.
func (c *Catalog) Match(title string, labels map[string]string) []*Runbook {
	var out []*Runbook
	for _, rb := range c.sorted {
		if rb.Match.Matches(title, labels) {
			out = append(out, rb)
		}
	}
	return out
}

// Suggest returns every runbook, the ones matching the incident first
// (each group sorted by name), and how many of them matched. Useful for a
// picker that highlights suggestions but still allows any runbook.
func (c *Catalog) Suggest(title string, labels map[string]string) (all []*Runbook, matched int) {
	all = c.Match(title, labels)
	matched = len(all)
	for _, rb := range c.sorted {
		if !rb.Match.Matches(title, labels) {
			all = append(all, rb)
		}
	}
	return all, matched
}

// Step returns the step with the given name, or nil.
func (rb *Runbook) Step(name string) *Step {
	for _, s := range rb.Steps {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Param returns the parameter with the given name, or nil.
func (rb *Runbook) Param(name string) *Param {
	for _, p := range rb.Params {
		if p.Name == name {
			return p
		}
	}
	return nil
}

// NeedsApproval reports whether any step needs approval.
func (rb *Runbook) NeedsApproval() bool {
	for _, s := range rb.Steps {
		if s.NeedsApproval() {
			return true
		}
	}
	return false
}

// Warnings are problems that do not stop the catalog from loading but
// deserve a look: an http or http_check step whose host a parameter
// chooses and that has no allowed_hosts (whoever runs it may point it at
// any host but loopback and link-local). Each is "file:line: step …".
func (c *Catalog) Warnings() []string {
	var out []string
	for _, rb := range c.sorted {
		for _, st := range rb.Steps {
			var u string
			var allowed []string
			switch {
			case st.HTTP != nil:
				u, allowed = st.HTTP.URL, st.HTTP.AllowedHosts
			case st.HTTPCheck != nil:
				u, allowed = st.HTTPCheck.URL, st.HTTPCheck.AllowedHosts
			default:
				continue
			}
			if urlHostTemplated(u) && len(allowed) == 0 {
				out = append(out, fmt.Sprintf("%s:%d: step %q: a parameter chooses the url's host and the step has no allowed_hosts: "+
					"whoever runs it can point it at any host but loopback and link-local (list the hosts it may reach)", rb.File, st.Line, st.Name))
			}
		}
	}
	return out
}
