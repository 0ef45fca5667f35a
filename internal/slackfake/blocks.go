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
