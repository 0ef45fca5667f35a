package bot_test

import (
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

func TestDeclareFormReadsBack(t *testing.T) {
	preset, ok := bot.DeclareFormRequest("declare --sev2 --private")
	if !ok || preset.Severity != bot.SEV2 || !preset.Private {
		t.Fatalf("DeclareFormRequest = %+v, %v", preset, ok)
	}
	if _, ok := bot.DeclareFormRequest("declare Checkout down"); ok {
		t.Error("a declare with a title opens no form")
	}
	form := bot.DeclareForm(preset, "CGENERAL")
	if f := form.Field(bot.DeclareSeverity); f == nil || f.Default != "SEV2" || form.Field(bot.DeclarePrivate).Default != "private" || form.Metadata != "CGENERAL" {
		t.Fatalf("preset not in the form: %+v", form)
	}
	errs := form.Validate(bot.FormValues{bot.DeclareSeverity: "SEV2"})
	if !strings.Contains(errs[bot.DeclareTitle], "Title is required") || len(errs) != 1 {
		t.Errorf("missing title: %v", errs)
	}
	req, errs := bot.DeclareRequestFrom("U1", bot.FormValues{bot.DeclareTitle: "Checkout down", bot.DeclareSeverity: "SEV1", bot.DeclarePrivate: "private"})
	if errs != nil || req.Title != "Checkout down" || req.Severity != bot.SEV1 || !req.Private || req.Actor != "U1" {
		t.Errorf("DeclareRequestFrom = %+v, %v", req, errs)
	}
	if _, errs := bot.DeclareRequestFrom("U1", bot.FormValues{bot.DeclareSeverity: "SEV7"}); errs[bot.DeclareSeverity] == "" {
		t.Errorf("a bad severity is named at its field: %v", errs)
	}
	if got := form.ErrorField(bot.FieldErrorf("description", "too long"), bot.DeclareTitle); got != bot.DeclareDescription {
		t.Errorf("ErrorField of a description error = %q", got)
	}
	if got := form.ErrorField(bot.FieldErrorf("nonesuch", "x"), bot.DeclareTitle); got != bot.DeclareTitle {
		t.Errorf("ErrorField of a field the form lacks = %q, want the fallback", got)
	}
}

func TestUpdateFormFields(t *testing.T) {
	f := bot.UpdateForm{Incident: bot.Incident{ID: 7, Severity: bot.SEV1}, Text: "draft", DefaultNext: 90 * time.Minute}
	form := f.Form()
	text := form.Field(bot.UpdateText)
	if form.Metadata != "7" || text == nil || text.Default != "draft" || text.MaxLength != 3000 || !text.Required {
		t.Fatalf("update form: %+v", form)
	}
	if hint := form.Field(bot.UpdateNext).Hint; !strings.Contains(hint, "Empty: in 1h30m (the SEV1 reminder interval)") {
		t.Errorf("next hint %q", hint)
	}
	if form.Field(bot.UpdateAlsoPublish) != nil {
		t.Error("no status page: no publish box")
	}
	f.PublishPage, f.Public = "status.example", true
	if box := f.Form().Field(bot.UpdateAlsoPublish); box == nil || box.Default != "public" || !strings.Contains(box.Options[0].Label, "status.example") {
		t.Errorf("publish box: %+v", box)
	}
}
