package slackfake

import (
	"encoding/json"
	"fmt"
)

// ActionsBlock is one "actions" block of a message, as Slack renders it.
type ActionsBlock struct {
	BlockID  string
	Elements []Element
}

// Element is an interactive element of an actions block.
type Element struct {
	Type     string // "button", "static_select", ...
	ActionID string
	Value    string
	Text     string // the element's label
}

// ActionsBlocks reads the actions blocks of a message's blocks (Message.Blocks,
// View.Blocks), in order; other blocks are passed over. Empty blocks read as
// none. The error says the blocks are not a JSON array of blocks.
func ActionsBlocks(blocks json.RawMessage) ([]ActionsBlock, error) {
	if len(blocks) == 0 {
		return nil, nil
	}
	var bs []struct {
		Type     string `json:"type"`
		BlockID  string `json:"block_id"`
		Elements []struct {
			Type     string `json:"type"`
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
			Text     struct {
				Text string `json:"text"`
			} `json:"text"`
		} `json:"elements"`
	}
	if err := json.Unmarshal(blocks, &bs); err != nil {
		return nil, fmt.Errorf("read blocks: %w", err)
	}
	var out []ActionsBlock
	for _, b := range bs {
		if b.Type != "actions" {
			continue
		}
		ab := ActionsBlock{BlockID: b.BlockID}
		for _, e := range b.Elements {
			ab.Elements = append(ab.Elements, Element{Type: e.Type, ActionID: e.ActionID, Value: e.Value, Text: e.Text.Text})
		}
		out = append(out, ab)
	}
	return out, nil
}

// Block Kit limits Slack enforces on a message's blocks (chat.postMessage,
// chat.update): breaking one answers invalid_blocks and posts nothing.
const (
	maxMessageBlocks   = 50
	maxSectionTextLen  = 3000
	maxHeaderTextLen   = 150
	maxSectionFields   = 10
	maxSectionFieldLen = 2000
)

// checkBlockLimits reports which Block Kit limit blocks break, "" when none
// (or when they are not blocks at all: the shape is checked elsewhere).
func checkBlockLimits(blocks json.RawMessage) string {
	if len(blocks) == 0 {
		return ""
	}
	var bs []struct {
		Type string `json:"type"`
		Text *struct {
			Text string `json:"text"`
		} `json:"text"`
		Fields []struct {
			Text string `json:"text"`
		} `json:"fields"`
	}
	if json.Unmarshal(blocks, &bs) != nil {
		return ""
	}
	if len(bs) > maxMessageBlocks {
		return fmt.Sprintf("no more than %d items allowed", maxMessageBlocks)
	}
	for i, b := range bs {
		switch {
		case b.Type == "header" && b.Text != nil && len([]rune(b.Text.Text)) > maxHeaderTextLen:
			return fmt.Sprintf("block %d: header text must be at most %d characters", i, maxHeaderTextLen)
		case b.Type == "section" && b.Text != nil && len([]rune(b.Text.Text)) > maxSectionTextLen:
			return fmt.Sprintf("block %d: section text must be at most %d characters", i, maxSectionTextLen)
		case b.Type == "section" && len(b.Fields) > maxSectionFields:
			return fmt.Sprintf("block %d: at most %d fields", i, maxSectionFields)
		}
		for _, f := range b.Fields {
			if len([]rune(f.Text)) > maxSectionFieldLen {
				return fmt.Sprintf("block %d: a field must be at most %d characters", i, maxSectionFieldLen)
			}
		}
	}
	return ""
}
