package postmortem_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/postmortem"
)

func TestCheckBlameless(t *testing.T) {
	flagged := []struct{ text, phrase, rule string }{
		{"The operator should have checked the config.", "should have", "counterfactual"},
		{"They shouldn't have restarted it.", "shouldn't have", "counterfactual"},
		{"We could have caught this earlier.", "could have", "counterfactual"},
		{"The deploy Failed To roll back.", "Failed To", "counterfactual"},
		{"Root cause: human error.", "human error", "judgement"},
		{"A careless change to the proxy.", "careless", "judgement"},
		{"The fix was obviously wrong.", "obviously", "judgement"},
		{"Simply restart the pool.", "Simply", "judgement"},
		{"A disaster for the stores.", "disaster", "animated"},
		{"Stores were down!!", "!!", "animated"},
	}
	for _, tc := range flagged {
		got := postmortem.CheckBlameless(tc.text)
		if len(got) != 1 || got[0].Phrase != tc.phrase || got[0].Rule != tc.rule || got[0].Line != 1 {
			t.Errorf("CheckBlameless(%q) = %+v, want one %s finding %q", tc.text, got, tc.rule, tc.phrase)
		}
		if got[0].Hint == "" {
			t.Errorf("finding for %q has no hint", tc.text)
		}
	}
	clean := []string{
		"The certificate renewal wrote an invalid gateway configuration at 17:06 PT.",
		"The health check did not respond; the pool was scaled up at 18:50.",
		"shoulder, failedover, simplest, could",              // words that only look alike
		"> Ana: we should have seen this, what a disaster!!", // quoted chat
		"Note: “this failed to start, human error”",          // quoted inline (curly)
		`Pinned: "obviously the cert"`,                       // quoted inline (straight)
		"Command: `retry --simply`",                          // code span
		"```\nERROR: failed to connect\n```",                 // fenced output
	}
	for _, text := range clean {
		if got := postmortem.CheckBlameless(text); len(got) != 0 {
			t.Errorf("CheckBlameless(%q) = %+v, want nothing", text, got)
		}
	}
	// Positions: line and column of each finding, in order.
	got := postmortem.CheckBlameless("fine\n> quoted: should have\nwe should have, simply!!")
	if len(got) != 3 || got[0].Line != 3 || got[0].Column != 4 || got[1].Phrase != "simply" || got[2].Phrase != "!!" {
		t.Errorf("positions: %+v", got)
	}
}

func TestRendererAppliesBlameCheck(t *testing.T) {
	r, err := postmortem.NewRenderer("# {{.Key}}\n\nThe responders should have acted sooner!!\n\n> Quoted: human error\n")
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Render(seedInput(time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	var phrases []string
	for _, f := range res.Findings {
		phrases = append(phrases, f.Phrase)
	}
	if !slices.Equal(phrases, []string{"should have", "!!"}) {
		t.Errorf("findings = %v, want the template's own words only", phrases)
	}
	if res.View.LanguageCheck == "passed" || !strings.Contains(res.View.LanguageCheck, "`should have` (line 3)") {
		t.Errorf("language check = %q", res.View.LanguageCheck)
	}
}

func TestPromptsCounted(t *testing.T) {
	res := render(t, seedInput(time.UTC))
	if res.View.Prompts != 10 || res.View.Status != postmortem.StatusDraft {
		t.Errorf("seed: %d prompts, status %q; want 10, draft", res.View.Prompts, res.View.Status)
	}
	if n := strings.Count(string(res.Markdown), "✍ **Prompt "); n != 10 || !strings.Contains(string(res.Markdown), "✍ **Prompt 10 of 10.**") {
		t.Errorf("rendered prompts = %d", n)
	}
	// With no action items recorded, listing them becomes one more prompt.
	in := seedInput(time.UTC)
	in.FollowUps = nil
	if res := render(t, in); res.View.Prompts != 11 {
		t.Errorf("without follow-ups: %d prompts, want 11", res.View.Prompts)
	}
	// A template with every prompt answered is no longer a draft.
	r, err := postmortem.NewRenderer("# {{.Key}} ({{.Status}}, {{.Prompts}} prompts)\n")
	if err != nil {
		t.Fatal(err)
	}
	res, err = r.Render(seedInput(time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(res.Markdown); got != "# INC-1 (ready for review, 0 prompts)\n" {
		t.Errorf("no prompts: %q", got)
	}
	r, _ = postmortem.NewRenderer(`{{.Status}} {{.Prompts}}: {{prompt "a"}} / {{prompt "b"}}`)
	res, _ = r.Render(seedInput(time.UTC))
	if got := string(res.Markdown); got != "draft 2: ✍ **Prompt 1 of 2.** a / ✍ **Prompt 2 of 2.** b" {
		t.Errorf("two prompts: %q", got)
	}
}

func TestMissingOwnersFlagged(t *testing.T) {
	res := render(t, seedInput(time.UTC))
	if !slices.Contains(res.View.Flags, "action item 2 has no owner") {
		t.Errorf("flags = %v", res.View.Flags)
	}
	if slices.Contains(res.View.Flags, "action item 1 has no owner") {
		t.Error("action item 1 has an owner")
	}
	md := string(res.Markdown)
	if !strings.Contains(md, "| 2 | “Evaluate a replacement for the reverse proxy's automatic SSL management” | ⚠ **missing owner** |") {
		t.Error("the missing owner is not visible in the action items")
	}
}

func TestInconsistentAnchorsFlaggedNotFixed(t *testing.T) {
	in := shakespeareInput()
	// Someone sets the impact start after the first alert, and the
	// acknowledgement comes before the alert.
	in.Impact.StartedAt = utc("2015-10-21T15:00:00Z")
	in.Events = append(in.Events, bot.Event{ID: 99, OccurredAt: utc("2015-10-21T14:50:00Z"), Kind: bot.KindAcknowledged, Actor: "U0ABE"})
	f := postmortem.ComputeFacts(in)
	if a := f.Anchor(postmortem.ImpactStarted); !a.At.Equal(utc("2015-10-21T15:00:00Z")) {
		t.Errorf("impact start was changed to %s", a.At)
	}
	if a := f.Anchor(postmortem.FirstAck); !a.At.Equal(utc("2015-10-21T14:50:00Z")) || f.AckFromResponderAction {
		t.Errorf("first ack = %+v", a)
	}
	detect := f.Metric("time to detect")
	if detect.Duration != -5*time.Minute || detect.Flag == "" || postmortem.FormatDuration(detect.Duration) != "−0h 05m" {
		t.Errorf("time to detect = %s, flag %q", postmortem.FormatDuration(detect.Duration), detect.Flag)
	}
	want := []string{
		"first_ack_at (2015-10-21T14:50:00Z) is before first_alert_at (2015-10-21T14:55:00Z)",
		"first_alert_at (2015-10-21T14:55:00Z) is before impact_started_at (2015-10-21T15:00:00Z)",
		"first_ack_at (2015-10-21T14:50:00Z) is before impact_started_at (2015-10-21T15:00:00Z)",
	}
	for _, w := range want {
		if !slices.ContainsFunc(f.Flags, func(s string) bool { return strings.Contains(s, w) }) {
			t.Errorf("flags lack %q: %v", w, f.Flags)
		}
	}
	md := string(render(t, in).Markdown)
	if !strings.Contains(md, "| time to detect | −0h 05m ⚠ negative") || !strings.Contains(md, "inconsistent anchors: first_ack_at") {
		t.Error("the draft does not show the inconsistency")
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0h 00m", 59 * time.Second: "0h 00m", time.Minute: "0h 01m", 4*time.Hour + 31*time.Minute + 59*time.Second: "4h 31m",
		26 * time.Hour: "26h 00m", -90 * time.Second: "−0h 01m",
	} {
		if got := postmortem.FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

func TestUnknownKindsAndUnnamedPeople(t *testing.T) {
	in := seedInput(time.UTC)
	in.Names = nil
	in.Events = append(in.Events, bot.Event{ID: 100, OccurredAt: utc("2020-10-08T04:58:00Z"), Kind: "pagerduty_note_synced",
		Actor: "pagerduty:sync", Text: "note from <@U0DEV|dev>", Data: map[string]any{"x": 1.0}})
	md := string(render(t, in).Markdown)
	if !strings.Contains(md, "| pagerduty:sync | Pagerduty note synced: “note from @dev” |") {
		t.Error("an unknown event kind is not shown in words")
	}
	for _, raw := range []string{"U0LEAD", "U0DEV", "U0COMMS"} {
		if strings.Contains(md, raw) {
			t.Errorf("raw id %s shown when the directory has no name", raw)
		}
	}
	if !strings.Contains(md, "an unnamed participant (commander)") {
		t.Error("unnamed commander not shown as such")
	}
}

func TestTemplateErrors(t *testing.T) {
	if _, err := postmortem.NewRenderer("{{.Key"); err == nil {
		t.Error("a syntax error was accepted")
	}
	r, err := postmortem.NewRenderer("{{.NoSuchField}}")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Render(seedInput(time.UTC)); err == nil {
		t.Error("an unknown field rendered without error")
	}
	if _, err := postmortem.LoadRenderer("testdata/does-not-exist.tmpl"); err == nil {
		t.Error("a missing template file was accepted")
	}
}
