package console_test

import (
	"context"
	"strings"
	"testing"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/console"
)

// TestConsole_DeclareFormPrompts: "/incident declare" without a title asks
// the declare form's fields with their presets and hints; an answer the
// form refuses (a severity not offered, too long a title) is shown under
// its field and asked again; empty answers keep the presets.
func TestConsole_DeclareFormPrompts(t *testing.T) {
	r := newRig(t)
	in := strings.Join([]string{
		"/incident declare --sev2",
		strings.Repeat("t", bot.MaxTitleLen+1), // title: too long
		"SEV9",                                 // severity: not a choice
		"",                                     // description: none
		"y",                                    // private
		"Checkout <@U9> down",                  // title, asked again
		"1",                                    // severity, asked again: the first choice
		"/incident note asked by form",
	}, "\n") + "\n"
	if err := r.repl.Run(context.Background(), strings.NewReader(in)); err != nil {
		t.Fatal(err)
	}
	got := r.out.String()
	for _, want := range []string{
		"Declare an incident\n",
		"? Title, required (e.g. Platform API returning 500): ",
		"? Severity (one of SEV1, SEV2, SEV3, SEV4) — SEV1 is the most severe. [SEV2]: ",
		"? Visibility (y/n: private = Private incident (security, HR)) — A private channel;",
		"! Title: At most 250 characters (this has 251): shorten it.",
		`! Severity: "SEV9" is not one of the choices: SEV1, SEV2, SEV3, SEV4.`,
		"> Declared INC-1 SEV1: Checkout @U9 down", // typed markup shown plainly
	} {
		if !strings.Contains(got, want) {
			t.Errorf("transcript lacks %q:\n%s", want, got)
		}
	}
	incs, err := r.db.Incidents(context.Background(), bot.IncidentFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(incs) != 1 || incs[0].Title != "Checkout <@U9> down" || incs[0].Severity != bot.SEV1 || !incs[0].Private || incs[0].Commander != "ana" {
		t.Fatalf("declared by the form: %+v", incs)
	}
	events, _ := r.db.Timeline(context.Background(), incs[0].ID)
	if last := events[len(events)-1]; last.Kind != bot.KindNote || last.Text != "asked by form" {
		t.Errorf("the line after the form is a command again: %+v", last)
	}
	if strings.ContainsAny(got, "\x02\x03") {
		t.Errorf("the transcript shows the domain's mention markup:\n%q", got)
	}
}

// TestConsole_FormEndsWithInput: input that ends in the middle of a form
// declares nothing.
func TestConsole_FormEndsWithInput(t *testing.T) {
	r := newRig(t)
	if err := r.repl.Run(context.Background(), strings.NewReader("/incident declare\nHalf a form\n")); err != nil {
		t.Fatal(err)
	}
	if incs, _ := r.db.Incidents(context.Background(), bot.IncidentFilter{}); len(incs) != 0 {
		t.Errorf("declared from a form left unfinished: %+v", incs)
	}
}

func TestPrompt_EveryKind(t *testing.T) {
	for _, c := range []struct {
		field bot.FormField
		want  string
	}{
		{bot.FormField{Label: "Next update by", Placeholder: "30m", Hint: "A duration."}, "? Next update by — A duration. (e.g. 30m): "},
		{bot.FormField{Label: "Update", Kind: bot.FieldMultiline, Required: true, Default: "line one\nline two"}, "? Update, required [line one line two]: "},
		{bot.FormField{Label: "Parts", Kind: bot.FieldMultiSelect, Options: []bot.Option{{Value: "api", Label: "API"}, {Value: "web", Label: "web"}}},
			"? Parts (any of api = API, web, separated by commas): "},
		{bot.FormField{Label: "Lead", Hint: "Ask " + bot.Mention("U1") + "."}, "? Lead — Ask @U1.: "},
	} {
		if got := console.Prompt(c.field); got != c.want {
			t.Errorf("Prompt = %q, want %q", got, c.want)
		}
	}
}

// TestConsole_ErrorsShowMentionsPlainly: a refusal that names someone
// (the domain mentions them) reads as "@name" on the terminal.
func TestConsole_ErrorsShowMentionsPlainly(t *testing.T) {
	r := newRig(t)
	got := r.say(t, "/incident declare Checkout is failing", "/incident lead ana")
	if !strings.Contains(got, "! @ana is already commander of INC-1") || strings.ContainsAny(got, "\x02\x03") {
		t.Errorf("refusal: %q", got)
	}
}
