package postmortem

import (
	"bytes"
	_ "embed" // the default template ships in the binary
	"fmt"
	"os"
	"strings"
	"text/template"
)

//go:embed template.md.tmpl
var defaultTemplate string

// Status values of a draft.
const (
	StatusDraft = "draft"            // human prompts remain
	StatusReady = "ready for review" // a custom template with no prompts left
)

// Renderer renders postmortems with a text/template. Its methods are safe
// for concurrent use.
type Renderer struct {
	tmpl *template.Template
}

// funcs are the template's functions. prompt is replaced per render.
func funcs() template.FuncMap {
	return template.FuncMap{
		"prompt": func(string) string { return "" },
		"join":   strings.Join,
	}
}

// NewRenderer parses a template (the data is *View). A syntax error comes
// back with the template's line.
func NewRenderer(text string) (*Renderer, error) {
	t, err := template.New("postmortem").Option("missingkey=error").Funcs(funcs()).Parse(text)
	if err != nil {
		return nil, fmt.Errorf("parse postmortem template: %w", err)
	}
	return &Renderer{tmpl: t}, nil
}

// DefaultRenderer renders with the template shipped in the binary.
func DefaultRenderer() *Renderer {
	r, err := NewRenderer(defaultTemplate)
	if err != nil {
		panic(err) // the embedded template is tested
	}
	return r
}

// LoadRenderer reads the template at path; an empty path is the shipped
// template.
func LoadRenderer(path string) (*Renderer, error) {
	if path == "" {
		return DefaultRenderer(), nil
	}
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read postmortem template: %w", err)
	}
	r, err := NewRenderer(string(text))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return r, nil
}

// DefaultTemplate returns the shipped template's text, a starting point for
// a custom one.
func DefaultTemplate() string { return defaultTemplate }

// Result is a rendered postmortem.
type Result struct {
	Markdown []byte
	View     *View     // what was rendered: facts, flags, prompt count
	Findings []Finding // blame language in the text the bot wrote
}

// Render drafts the postmortem of in. It renders twice: first to count the
// prompts, then with the count (and the status it implies) in place. The
// text is then checked for blame language; findings are named in the draft
// and returned, not hidden. Errors come from executing a custom template.
func (r *Renderer) Render(in Input) (Result, error) {
	v := newView(in.normalized())
	total := 0
	if _, err := r.exec(v, func(string) string { total++; return "" }); err != nil {
		return Result{}, err
	}
	v.Prompts, v.Status = total, StatusDraft
	if total == 0 {
		v.Status = StatusReady
	}
	out, err := r.exec(v, numberedPrompt(total))
	if err != nil {
		return Result{}, err
	}
	findings := CheckBlameless(string(out))
	if len(findings) > 0 {
		v.LanguageCheck = languageText(findings)
		if out, err = r.exec(v, numberedPrompt(total)); err != nil {
			return Result{}, err
		}
	}
	return Result{Markdown: out, View: v, Findings: findings}, nil
}

func (r *Renderer) exec(v *View, prompt func(string) string) ([]byte, error) {
	t, err := r.tmpl.Clone()
	if err != nil {
		return nil, fmt.Errorf("clone postmortem template: %w", err)
	}
	t.Funcs(template.FuncMap{"prompt": prompt})
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		return nil, fmt.Errorf("render postmortem: %w", err)
	}
	return b.Bytes(), nil
}

func numberedPrompt(total int) func(string) string {
	n := 0
	return func(text string) string {
		n++
		return fmt.Sprintf("✍ **Prompt %d of %d.** %s", n, total, text)
	}
}

// languageText names the findings in code spans, which the check itself
// leaves alone.
func languageText(fs []Finding) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fmt.Sprintf("`%s` (line %d)", f.Phrase, f.Line)
	}
	return fmt.Sprintf("%d phrases to reword: %s", len(fs), strings.Join(parts, ", "))
}
