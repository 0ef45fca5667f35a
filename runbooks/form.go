package runbooks

import (
	"fmt"
	"strings"

	"github.com/sitrep-io/sitrep/bot"
)

// FormRunRunbook is the form of a runbook's parameters (bot.Form.ID).
const FormRunRunbook = "run_runbook"

// ParamField is the form field id of parameter name.
func ParamField(name string) string { return paramFieldPrefix + name }

const paramFieldPrefix = "param-"

// ParamsForm asks for rb's parameters: one field each, preset with its
// default, its pattern in the hint. A required one must be filled; an
// optional one left empty takes its default. metadata is the chat's
// origin of the request, returned with the submission.
func ParamsForm(rb *Runbook, metadata string) bot.Form {
	gate, submit := "It runs at once: no approval needed.", "Run"
	if rb.NeedsApproval() {
		gate, submit = "Nothing runs before it is approved: the approval card shows every step exactly as it will run.", "Request run"
	}
	f := bot.Form{ID: FormRunRunbook, Title: "Run a runbook", Submit: submit, Metadata: metadata,
		Intro: fmt.Sprintf("%s: %s\n%s", rb.Name, rb.Title, gate)}
	for _, p := range rb.Params {
		hint := "One word matching " + p.Pattern + "."
		if p.Description != "" {
			hint = p.Description + " " + hint
		}
		if p.Default != "" {
			hint += " Default: " + p.Default + "."
		}
		f.Fields = append(f.Fields, bot.FormField{ID: ParamField(p.Name), Kind: bot.FieldText, Label: p.Name,
			Hint: hint, Default: p.Default, Required: p.Required})
	}
	return f
}

// ParamValues are the non-empty parameter answers of a submitted
// ParamsForm, by parameter name.
func ParamValues(v bot.FormValues) map[string]string {
	out := map[string]string{}
	for id, value := range v {
		if name, ok := cutParamField(id); ok && value != "" {
			out[name] = value
		}
	}
	return out
}

func cutParamField(id string) (string, bool) {
	name, ok := strings.CutPrefix(id, paramFieldPrefix)
	return name, ok && name != ""
}
