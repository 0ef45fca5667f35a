package runbooks

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Error is a validation error located in a runbook file.
// Its text has the form `file:line: step "x": message`.
type Error struct {
	File string
	Line int
	// Where is the context inside the runbook, e.g. `step "reorder"` or
	// `param "domain"`; may be empty.
	Where string
	Msg   string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		b.WriteString(":")
		b.WriteString(strconv.Itoa(e.Line))
	}
	b.WriteString(": ")
	if e.Where != "" {
		b.WriteString(e.Where)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is a list of validation errors; it is returned as the error of
// [Load] and [NewCatalog]. Use errors.As to get at it.
type ErrorList []*Error

func (l ErrorList) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Errors returns the list as a []error.
func (l ErrorList) Errors() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// ParamError is returned by [Runbook.Bind] and [Runbook.Render] when a
// parameter value is missing, unknown or not acceptable.
type ParamError struct {
	Param   string
	Pattern string // the param's pattern, if relevant
	Msg     string
}

func (e *ParamError) Error() string {
	if e.Pattern != "" {
		return fmt.Sprintf("param %q: %s (pattern %q)", e.Param, e.Msg, e.Pattern)
	}
	return fmt.Sprintf("param %q: %s", e.Param, e.Msg)
}

// ErrWrongAction is returned (wrapped) by an [Executor] given a step of an
// action it does not implement, and by [Executors.Execute] for an action
// with no registered executor.
var ErrWrongAction = errors.New("runbooks: no executor for action")

func quote(s string) string { return strconv.Quote(s) }
func itoa(i int) string     { return strconv.Itoa(i) }
