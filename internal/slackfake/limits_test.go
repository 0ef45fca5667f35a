package slackfake_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/sitrep-io/sitrep/internal/slackfake"
)

// TestMessageLimits: the fake refuses what Slack refuses, so that tests see
// a message that would never reach a channel: text over 40,000 characters
// (msg_too_long, on chat.update too) and blocks over Block Kit's limits
// (invalid_blocks: more than 50 blocks, a section text over 3,000, a header
// over 150, more than 10 fields).
func TestMessageLimits(t *testing.T) {
	srv, api := newClient(t)
	ctx := context.Background()
	ch := srv.AddChannel(slackfake.Channel{Name: "inc-1"})
	_, ts, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("fine", false))
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("x", 40001)
	if _, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText(long, false)); slackCode(err) != "msg_too_long" {
		t.Errorf("post of 40,001 characters: %v, want msg_too_long", err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, ch, ts, slack.MsgOptionText(long, false)); slackCode(err) != "msg_too_long" {
		t.Errorf("update to 40,001 characters: %v, want msg_too_long", err)
	}
	section := func(text string) slack.Block {
		return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil)
	}
	many := make([]slack.Block, 51)
	for i := range many {
		many[i] = section(fmt.Sprint(i))
	}
	fields := make([]*slack.TextBlockObject, 11)
	for i := range fields {
		fields[i] = slack.NewTextBlockObject(slack.MarkdownType, "f", false, false)
	}
	for name, blocks := range map[string][]slack.Block{
		"51 blocks":              many,
		"a 3,001-char section":   {section(strings.Repeat("y", 3001))},
		"a 151-char header":      {slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, strings.Repeat("h", 151), false, false))},
		"a section of 11 fields": {slack.NewSectionBlock(nil, fields, nil)},
	} {
		if _, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("t", false), slack.MsgOptionBlocks(blocks...)); slackCode(err) != "invalid_blocks" {
			t.Errorf("%s: %v, want invalid_blocks", name, err)
		}
	}
	if _, _, err := api.PostMessageContext(ctx, ch, slack.MsgOptionText("t", false), slack.MsgOptionBlocks(many[:50]...)); err != nil {
		t.Errorf("50 blocks are allowed: %v", err)
	}
	if got := len(srv.Messages(ch)); got != 2 {
		t.Errorf("%d messages in the channel, want the two within the limits", got)
	}
}
