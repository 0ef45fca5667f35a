package console

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/sitrep-io/sitrep/bot"
)

// A bot.Form on a terminal is a series of prompts, one a field: the label,
// the choices, the hint and the preset answer in brackets. An empty line
// keeps the preset; a field answers in one line (a multiline field too).
// Errors are shown under their field ("! …") and that field is asked
// again.

// FormPrompter asks a form's fields on a terminal.
type FormPrompter struct {
	Out *Chat
	// Next returns the next line typed; false when the input has ended.
	Next func() (string, bool)
}

// maxFormRounds bounds how often a form's refused fields are asked again.
const maxFormRounds = 5

// Fill asks every field of f and returns the answers once f.Validate and
// check (the domain's own checks, may be nil) accept them; false when the
// input ended or the answers were refused maxFormRounds times.
func (p FormPrompter) Fill(f bot.Form, check func(bot.FormValues) bot.FormErrors) (bot.FormValues, bool) {
	p.Out.Printf("%s\n", bot.PlainText(f.Title))
	if f.Intro != "" {
		p.Out.Printf("%s\n", indentLines(bot.PlainText(f.Intro)))
	}
	values := bot.FormValues{}
	ask := f.Fields
	for round := 0; round < maxFormRounds; round++ {
		for _, fl := range ask {
			v, ok := p.ask(fl)
			if !ok {
				return nil, false
			}
			values[fl.ID] = v
		}
		errs := f.Validate(values)
		if errs == nil && check != nil {
			errs = check(values)
		}
		if errs == nil {
			return values, true
		}
		ask = nil
		for _, fl := range f.Fields {
			if msg, bad := errs[fl.ID]; bad {
				p.Out.Printf("! %s: %s\n", bot.PlainText(fl.Label), bot.PlainText(msg))
				ask = append(ask, fl)
			}
		}
		if len(ask) == 0 { // an error of no field: nothing to ask again
			for _, msg := range errs {
				p.Out.Printf("! %s\n", bot.PlainText(msg))
			}
			return nil, false
		}
	}
	p.Out.Printf("! %s: not submitted\n", bot.PlainText(f.Title))
	return nil, false
}

// Prompt is how field fl is asked: "? Label (choices) — hint [preset]: ".
func Prompt(fl bot.FormField) string {
	var b strings.Builder
	b.WriteString("? " + bot.PlainText(fl.Label))
	switch fl.Kind {
	case bot.FieldSelect:
		b.WriteString(" (one of " + optionList(fl.Options) + ")")
	case bot.FieldMultiSelect:
		b.WriteString(" (any of " + optionList(fl.Options) + ", separated by commas)")
	case bot.FieldCheckbox:
		b.WriteString(" (y/n: " + optionList(fl.Options) + ")")
	}
	if fl.Required {
		b.WriteString(", required")
	}
	if fl.Hint != "" {
		b.WriteString(" — " + bot.PlainText(fl.Hint))
	}
	switch {
	case fl.Default != "" && fl.Kind == bot.FieldCheckbox:
		b.WriteString(" [y]")
	case fl.Default != "":
		b.WriteString(" [" + oneLineText(fl.Default) + "]")
	case fl.Placeholder != "":
		b.WriteString(" (e.g. " + bot.PlainText(fl.Placeholder) + ")")
	}
	b.WriteString(": ")
	return b.String()
}

func optionList(opts []bot.Option) string {
	names := make([]string, len(opts))
	for i, o := range opts {
		names[i] = o.Value
		if o.Label != o.Value {
			names[i] += " = " + bot.PlainText(o.Label)
		}
	}
	return strings.Join(names, ", ")
}

func oneLineText(s string) string {
	s = strings.Join(strings.Fields(bot.PlainText(s)), " ")
	if r := []rune(s); len(r) > 60 {
		s = string(r[:59]) + "…"
	}
	return s
}

// ask prompts for one field and reads its answer as the form's value.
func (p FormPrompter) ask(fl bot.FormField) (string, bool) {
	p.Out.Printf("%s", Prompt(fl))
	line, ok := p.Next()
	if !ok {
		p.Out.Printf("\n")
		return "", false
	}
	return answer(fl, strings.TrimSpace(line)), true
}

// answer turns a typed answer into the field's value: empty keeps the
// preset; a choice may be typed by its value in any case or by its
// number; a box by y/yes or n/no.
func answer(fl bot.FormField, typed string) string {
	if typed == "" {
		return fl.Default
	}
	switch fl.Kind {
	case bot.FieldCheckbox:
		switch strings.ToLower(typed) {
		case "y", "yes":
			if len(fl.Options) > 0 {
				return fl.Options[0].Value
			}
		case "n", "no", "-":
			return ""
		}
		return choice(fl.Options, typed)
	case bot.FieldSelect:
		return choice(fl.Options, typed)
	case bot.FieldMultiSelect:
		parts := strings.Split(typed, ",")
		for i, one := range parts {
			parts[i] = choice(fl.Options, strings.TrimSpace(one))
		}
		return strings.Join(parts, ",")
	}
	return typed
}

// choice is the option typed (its value in any case, or its number from
// 1), or what was typed when it names none (Validate refuses it).
func choice(opts []bot.Option, typed string) string {
	for _, o := range opts {
		if strings.EqualFold(o.Value, typed) {
			return o.Value
		}
	}
	if n, err := strconv.Atoi(typed); err == nil && n >= 1 && n <= len(opts) {
		return opts[n-1].Value
	}
	return typed
}

// Declarer declares an incident from a filled form; *bot.Service is one.
type Declarer interface {
	Declare(ctx context.Context, req bot.DeclareRequest) (bot.Incident, error)
}

// declareByForm asks the declare form's fields and declares; the
// domain's refusal of a field (too long a title) asks that field again.
func (r *REPL) declareByForm(ctx context.Context, d Declarer, preset bot.DeclarePreset) {
	form := bot.DeclareForm(preset, "")
	var inc bot.Incident
	check := func(v bot.FormValues) bot.FormErrors {
		req, errs := bot.DeclareRequestFrom(r.User, v)
		if errs != nil {
			return errs
		}
		var err error
		if inc, err = d.Declare(ctx, req); err != nil {
			return bot.FormErrors{form.ErrorField(err, bot.DeclareTitle): bot.ErrorMessage(err)}
		}
		return nil
	}
	if _, ok := (FormPrompter{Out: r.Out, Next: r.next}).Fill(form, check); !ok {
		return
	}
	r.current = inc.ID
	r.Out.Printf("%s\n", indentLines(fmt.Sprintf("Declared %s %s: %s", inc.Key(), inc.Severity, bot.PlainText(inc.Title))))
}
