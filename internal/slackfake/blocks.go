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

// Block Kit limits Slack enforces on a message's blocks, answering
// invalid_blocks (with the reason in "errors") when one is broken.
const (
	MaxMessageBlocks   = 50
	MaxBlockID         = 255
	MaxSectionText     = 3000
	MaxSectionFields   = 10
	MaxFieldText       = 2000
	MaxHeaderText      = 150
	MaxActionsElements = 25
	MaxActionID        = 255
	MaxButtonValue     = 2000
	MaxButtonText      = 75
	MaxMessageText     = 40000 // msg_too_long above it
)

// checkBlocks applies Slack's limits to a message's blocks; the error
// names the first one broken.
func checkBlocks(raw json.RawMessage) *apiError {
	if raw == nil {
		return nil
	}
	type text struct {
		Text string `json:"text"`
	}
	var bs []struct {
		Type     string `json:"type"`
		BlockID  string `json:"block_id"`
		Text     *text  `json:"text"`
		Fields   []text `json:"fields"`
		Elements []struct {
			ActionID string `json:"action_id"`
			Value    string `json:"value"`
			Text     *text  `json:"text"`
			Type     string `json:"type"`
		} `json:"elements"`
	}
	if json.Unmarshal(raw, &bs) != nil {
		return slackErr("invalid_blocks")
	}
	bad := func(format string, args ...any) *apiError {
		return &apiError{code: "invalid_blocks", extra: map[string]any{"errors": []string{fmt.Sprintf(format, args...)}}}
	}
	if len(bs) > MaxMessageBlocks {
		return bad("no more than %d items allowed [json-pointer:/blocks]", MaxMessageBlocks)
	}
	ids := map[string]bool{}
	runes := func(s string) int { return len([]rune(s)) }
	for i, b := range bs {
		if b.BlockID != "" {
			if runes(b.BlockID) > MaxBlockID {
				return bad("must be less than %d characters [json-pointer:/blocks/%d/block_id]", MaxBlockID+1, i)
			}
			if ids[b.BlockID] {
				return bad("block_id must be unique [json-pointer:/blocks/%d/block_id]", i)
			}
			ids[b.BlockID] = true
		}
		switch b.Type {
		case "section":
			if b.Text != nil && runes(b.Text.Text) > MaxSectionText {
				return bad("must be less than %d characters [json-pointer:/blocks/%d/text]", MaxSectionText+1, i)
			}
			if len(b.Fields) > MaxSectionFields {
				return bad("no more than %d items allowed [json-pointer:/blocks/%d/fields]", MaxSectionFields, i)
			}
			for j, f := range b.Fields {
				if runes(f.Text) > MaxFieldText {
					return bad("must be less than %d characters [json-pointer:/blocks/%d/fields/%d/text]", MaxFieldText+1, i, j)
				}
			}
		case "header":
			if b.Text != nil && runes(b.Text.Text) > MaxHeaderText {
				return bad("must be less than %d characters [json-pointer:/blocks/%d/text]", MaxHeaderText+1, i)
			}
		case "actions":
			if len(b.Elements) > MaxActionsElements {
				return bad("no more than %d items allowed [json-pointer:/blocks/%d/elements]", MaxActionsElements, i)
			}
			for j, e := range b.Elements {
				switch {
				case runes(e.ActionID) > MaxActionID:
					return bad("must be less than %d characters [json-pointer:/blocks/%d/elements/%d/action_id]", MaxActionID+1, i, j)
				case runes(e.Value) > MaxButtonValue:
					return bad("must be less than %d characters [json-pointer:/blocks/%d/elements/%d/value]", MaxButtonValue+1, i, j)
				case e.Type == "button" && e.Text != nil && runes(e.Text.Text) > MaxButtonText:
					return bad("must be less than %d characters [json-pointer:/blocks/%d/elements/%d/text]", MaxButtonText+1, i, j)
				}
			}
		}
	}
	return nil
}
