package slackchat_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/sitrep-io/sitrep/internal/slackfake"
	"github.com/sitrep-io/sitrep/slackchat"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

func cardIncident() bot.Incident {
	at := time.Date(2020, 10, 8, 0, 6, 0, 0, time.UTC)
	return bot.Incident{ID: 3, Title: "Platform API returning 500", Severity: bot.SEV1, Status: bot.StatusTriggered,
		Commander: "U1", Source: "webhook", DedupKey: "platform-api-500", DetectedAt: at, DeclaredAt: at.Add(time.Minute)}
}

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read golden (run with -update to create): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test ./slackchat -update and review the diff):\n%s", name, got)
	}
}

func blocksJSON(t *testing.T, msg bot.Message) []byte {
	t.Helper()
	raw, err := json.MarshalIndent(slackchat.Blocks(msg), "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(raw, '\n')
}

// goldenCard is a card-like message built here rather than by bot.Card, so
// the golden file pins the rendering, not the card's current contents.
func goldenCard() bot.Message {
	return bot.Message{
		Title: "INC-3 SEV1: Platform API returning 500",
		Text:  "INC-3 SEV1: Platform API returning 500 (triggered)",
		Fields: []bot.Field{
			{Label: "Severity", Value: "SEV1"}, {Label: "Status", Value: "triggered"},
			{Label: "Commander", Value: "<@U1>"}, {Label: "Detected", Value: "2020-10-08 00:06:00 UTC"},
		},
		Actions: []bot.Action{
			{ID: bot.ActionAcknowledge, Label: "Acknowledge", Value: "3", Style: "primary"},
			{ID: bot.ActionSetSeverity, Label: "Severity", Value: "3"},
			{ID: bot.ActionPostUpdate, Label: "Post update", Value: "3"},
			{ID: bot.ActionResolve, Label: "Resolve", Value: "3", Style: "danger", Confirm: "Resolve INC-3?"},
		},
	}
}

func TestBlocksGolden(t *testing.T) {
	golden(t, "card.json", blocksJSON(t, goldenCard()))
}

func TestBlocks(t *testing.T) {
	t.Run("TextOnly", func(t *testing.T) {
		got := string(blocksJSON(t, bot.Message{Text: "status investigating → identified"}))
		if !strings.Contains(got, `"block_id": "sitrep-text.`) || !strings.Contains(got, "investigating → identified") {
			t.Errorf("a text-only message should be one section with its text:\n%s", got)
		}
	})
	t.Run("FieldsSplitByTen", func(t *testing.T) {
		var fields []bot.Field
		for i := range 23 {
			fields = append(fields, bot.Field{Label: "L", Value: string(rune('a' + i))})
		}
		blocks := slackchat.Blocks(bot.Message{Title: "t", Fields: fields})
		if len(blocks) != 4 { // header + 10 + 10 + 3
			t.Fatalf("got %d blocks, want a header and 3 field sections", len(blocks))
		}
		raw, _ := json.Marshal(blocks[3])
		if n := strings.Count(string(raw), `"type":"mrkdwn"`); n != 3 {
			t.Errorf("last section has %d fields, want 3: %s", n, raw)
		}
	})
	t.Run("LongTitleTruncated", func(t *testing.T) {
		raw, _ := json.Marshal(slackchat.Blocks(bot.Message{Title: strings.Repeat("x", 400)}))
		if strings.Contains(string(raw), strings.Repeat("x", 151)) {
			t.Errorf("header over Slack's 150 characters: %s", raw)
		}
	})
	t.Run("ActionsHaveBlockID", func(t *testing.T) {
		got := string(blocksJSON(t, bot.Message{Text: "x", Actions: []bot.Action{{ID: "snooze-reminder", Label: "Snooze", Value: "7"}}}))
		for _, want := range []string{`"block_id": "sitrep-actions.`, `"action_id": "snooze-reminder"`, `"value": "7"`} {
			if !strings.Contains(got, want) {
				t.Errorf("missing %s in\n%s", want, got)
			}
		}
	})
}

// TestBlocks_RepeatedActionIDs: a menu has one button per runbook, all
// with the same neutral action; Block Kit wants the action_ids of a block
// unique, and ParseAction maps each back to the neutral action.
func TestBlocks_RepeatedActionIDs(t *testing.T) {
	msg := bot.Message{Title: "Runbooks", Actions: []bot.Action{
		{ID: "run-runbook", Label: "Run a", Value: "3:a"},
		{ID: "run-runbook", Label: "Run b", Value: "3:b"},
		{ID: "run-runbook", Label: "Run c", Value: "3:c"},
	}}
	raw, _ := json.Marshal(slackchat.Blocks(msg))
	var blocks []struct {
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(raw, &blocks); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range blocks[len(blocks)-1].Elements {
		if seen[e.ActionID] {
			t.Errorf("action_id %q repeats in %s", e.ActionID, raw)
		}
		seen[e.ActionID] = true
		if a := slackchat.ParseAction(e.ActionID, e.Value, ""); a.ActionID != "run-runbook" || a.Value != e.Value {
			t.Errorf("ParseAction(%q) = %+v", e.ActionID, a)
		}
	}
	if len(seen) != 3 || !seen["run-runbook"] {
		t.Errorf("action_ids: %v (the first keeps the neutral id)", seen)
	}
}

func TestParseAction(t *testing.T) {
	for _, tc := range []struct {
		name                      string
		actionID, value, selected string
		wantValue, wantSeverity   string
	}{
		{"Button", "resolve", "3", "", "3", ""},
		{"SeveritySelect", "set-severity", "", slackchat.SeverityOptionValue("3", bot.SEV2), "3", "SEV2"},
		{"SeverityWithoutIncident", "set-severity", "", "SEV1", "", "SEV1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := slackchat.ParseAction(tc.actionID, tc.value, tc.selected)
			if a.ActionID != tc.actionID || a.Value != tc.wantValue || a.Input["severity"] != tc.wantSeverity {
				t.Errorf("got %+v, want value %q severity %q", a, tc.wantValue, tc.wantSeverity)
			}
		})
	}
}

// TestBlocksLongTextIsSplitNotCut: a text over a section's 3,000
// characters is shown whole over several sections, a code fence open at a
// cut closed and reopened.
func TestBlocksLongTextIsSplitNotCut(t *testing.T) {
	var text strings.Builder
	text.WriteString("```\n")
	for i := range 400 {
		text.WriteString("line " + strings.Repeat("x", 10) + " " + string(rune('a'+i%26)) + "\n")
	}
	text.WriteString("```\nend of output")
	raw, err := json.Marshal(slackchat.Blocks(bot.Message{Text: text.String()}))
	if err != nil {
		t.Fatal(err)
	}
	var blocks []struct {
		Type    string                `json:"type"`
		BlockID string                `json:"block_id"`
		Text    struct{ Text string } `json:"text"`
	}
	if err := json.Unmarshal(raw, &blocks); err != nil {
		t.Fatal(err)
	}
	if len(blocks) < 2 {
		t.Fatalf("%d block(s) for %d characters", len(blocks), text.Len())
	}
	ids := map[string]bool{}
	var shown strings.Builder
	for _, b := range blocks {
		if n := len([]rune(b.Text.Text)); n > 3000 {
			t.Errorf("section %s of %d characters", b.BlockID, n)
		}
		if strings.Count(b.Text.Text, "```")%2 != 0 {
			t.Errorf("section %s leaves a code fence open", b.BlockID)
		}
		if ids[b.BlockID] {
			t.Errorf("block_id %s twice", b.BlockID)
		}
		ids[b.BlockID] = true
		shown.WriteString(b.Text.Text)
	}
	for _, want := range []string{"end of output", strings.Repeat("x", 10) + " z"} {
		if !strings.Contains(shown.String(), want) {
			t.Errorf("%q was cut", want)
		}
	}
	if strings.Contains(shown.String(), "…") {
		t.Error("the text was truncated")
	}
}

// TestBlocksManyFieldsFitFiftyBlocks: 600 fields gave 61 blocks, which
// Slack refuses (invalid_blocks); the fields that do not fit are counted.
func TestBlocksManyFieldsFitFiftyBlocks(t *testing.T) {
	msg := bot.Message{Title: "Alert storm", Actions: []bot.Action{{ID: bot.ActionAcknowledge, Label: "Ack", Value: "1"}}}
	for i := range 600 {
		msg.Fields = append(msg.Fields, bot.Field{Label: "label", Value: strings.Repeat("v", i%7)})
	}
	blocks := slackchat.Blocks(msg)
	if len(blocks) > 50 {
		t.Fatalf("%d blocks: Slack allows 50", len(blocks))
	}
	raw, _ := json.Marshal(blocks)
	if !strings.Contains(string(raw), "and 130 more fields") || !strings.Contains(string(raw), `"actions"`) {
		t.Errorf("the hidden fields are not counted, or the buttons are gone: %.300s", raw[len(raw)-300:])
	}
}

// TestBlocksCutFieldClosesItsCodeFence: a field cut at Slack's 2,000
// characters does not leave a code fence open.
func TestBlocksCutFieldClosesItsCodeFence(t *testing.T) {
	msg := bot.Message{Title: "RUN-1", Fields: []bot.Field{{Label: "step", Value: "ok\n```" + strings.Repeat("output line\n", 300) + "```"}}}
	raw, _ := json.Marshal(slackchat.Blocks(msg))
	var blocks []struct {
		Fields []struct{ Text string } `json:"fields"`
	}
	if err := json.Unmarshal(raw, &blocks); err != nil {
		t.Fatal(err)
	}
	for _, b := range blocks {
		for _, f := range b.Fields {
			if n := len([]rune(f.Text)); n > 2000 {
				t.Errorf("field of %d characters", n)
			}
			if strings.Count(f.Text, "```")%2 != 0 {
				t.Errorf("the cut left a code fence open: ...%q", f.Text[len(f.Text)-20:])
			}
		}
	}
}

// TestPostOversizedButtonIsLeftOutNotRefused: Slack refuses a whole message
// (invalid_blocks) for one button whose value is over 2,000 characters or
// whose action_id is over 255; the message is posted with that button left
// out and a word saying so, the other buttons intact.
func TestPostOversizedButtonIsLeftOutNotRefused(t *testing.T) {
	srv := slackfake.New(t)
	c := newClient(t, srv, newClock())
	ch := srv.AddChannel(slackfake.Channel{Name: "inc-1-db", Members: []string{slackfake.BotUserID}})
	msg := bot.Message{Title: "Runbooks", Actions: []bot.Action{
		{ID: "run-runbook", Label: "Run fine", Value: "1:fine"},
		{ID: "run-runbook", Label: "Run huge", Value: "1:" + strings.Repeat("x", 2001)},
		{ID: strings.Repeat("a", 256), Label: "Long id", Value: "1"},
	}}
	if _, err := c.Post(t.Context(), ch, msg); err != nil {
		t.Fatalf("Slack refused the message: %v", err)
	}
	msgs := srv.Messages(ch)
	if len(msgs) != 1 {
		t.Fatalf("%d messages posted, want 1", len(msgs))
	}
	raw := string(msgs[0].Blocks)
	if !strings.Contains(raw, `"1:fine"`) {
		t.Errorf("the button that fits is gone: %s", raw)
	}
	if strings.Contains(raw, strings.Repeat("x", 100)) || strings.Contains(raw, strings.Repeat("a", 256)) {
		t.Errorf("an oversized button was sent: %.200s", raw)
	}
	if !strings.Contains(raw, "2 button(s) left out") {
		t.Errorf("the reader is not told buttons were left out: %s", raw)
	}
}
