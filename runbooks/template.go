package runbooks

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"text/template"
	"text/template/parse"
)

// tmpl is a parsed field template. Only plain text and {{ .param }}
// substitutions are allowed: no functions, pipelines, conditionals or
// variables, so a template can never do more than paste parameter values.
type tmpl struct {
	src   string
	parts []tmplPart
	refs  []string // referenced params in order of appearance (may repeat)
}

// tmplPart is either literal text or a parameter substitution.
type tmplPart struct {
	text  string
	param string // non-empty for a substitution
}

var errOnlySubst = errors.New("only {{ .param }} substitutions are allowed in templates")

func parseTemplate(src string) (*tmpl, error) {
	t, err := template.New("").Option("missingkey=error").Parse(src)
	if err != nil {
		msg := err.Error()
		// text/template errors look like `template: :1: unexpected "}" in operand`.
		msg = strings.TrimPrefix(msg, "template: ")
		msg = strings.TrimPrefix(msg, ":")
		return nil, fmt.Errorf("bad template %q: %s", src, msg)
	}
	out := &tmpl{src: src}
	if t.Tree == nil || t.Tree.Root == nil {
		return out, nil
	}
	for _, n := range t.Tree.Root.Nodes {
		switch n := n.(type) {
		case *parse.TextNode:
			out.parts = append(out.parts, tmplPart{text: string(n.Text)})
		case *parse.ActionNode:
			name, ok := simpleField(n)
			if !ok {
				return nil, fmt.Errorf("bad template %q: %v", src, errOnlySubst)
			}
			out.refs = append(out.refs, name)
			out.parts = append(out.parts, tmplPart{param: name})
		default:
			return nil, fmt.Errorf("bad template %q: %v", src, errOnlySubst)
		}
	}
	return out, nil
}

func simpleField(a *parse.ActionNode) (string, bool) {
	p := a.Pipe
	if p == nil || len(p.Decl) != 0 || p.IsAssign || len(p.Cmds) != 1 {
		return "", false
	}
	c := p.Cmds[0]
	if len(c.Args) != 1 {
		return "", false
	}
	f, ok := c.Args[0].(*parse.FieldNode)
	if !ok || len(f.Ident) != 1 {
		return "", false
	}
	return f.Ident[0], true
}

// isTemplated reports whether s contains template delimiters.
func isTemplated(s string) bool { return strings.Contains(s, "{{") || strings.Contains(s, "}}") }

// render substitutes the bound values. It is equivalent to executing the
// text/template with missingkey=error (the only constructs allowed are text
// and {{ .param }}) but also reports which param, if any, supplies the
// first character of the result (leadParam), for option-smuggling checks.
func (t *tmpl) render(values map[string]string) (out, leadParam string, err error) {
	var b strings.Builder
	lead := ""
	for _, p := range t.parts {
		piece := p.text
		if p.param != "" {
			v, ok := values[p.param]
			if !ok {
				return "", "", &ParamError{Param: p.param, Msg: "has no value (not supplied and no default)"}
			}
			piece = v
		}
		if b.Len() == 0 && piece != "" {
			lead = p.param
		}
		b.WriteString(piece)
	}
	return b.String(), lead, nil
}

// envRefRE matches ${env:NAME} secret references.
var envRefRE = regexp.MustCompile(`\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}`)

// envRefs returns the names referenced as ${env:NAME} in s and an error if
// s contains a malformed "${env:" reference.
func envRefs(s string) ([]string, error) {
	var names []string
	for _, m := range envRefRE.FindAllStringSubmatch(s, -1) {
		names = append(names, m[1])
	}
	if strings.Count(s, "${env:") != len(names) {
		return names, fmt.Errorf("malformed ${env:NAME} reference in %q", s)
	}
	return names, nil
}
