package slackchat

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/sitrep-io/sitrep/bot"
	"github.com/slack-go/slack"
)

// Block ids, each followed by "." and a digest of the message's content
// (see iterated). The actions block must have one: slack-go only fills
// InteractionCallback.ActionCallback.BlockActions when block_id is present.
const (
	BlockTitle   = "sitrep-title"
	BlockText    = "sitrep-text"
	BlockFields  = "sitrep-fields" // followed by "-<n>" for each section of fields
	BlockActions = "sitrep-actions"
)

// Message metadata marking the bot's deliveries, so FindTagged can find them.
const (
	MetadataEventType = "sitrep_delivery"
	metadataTagKey    = "tag"
)

// Slack's Block Kit limits.
const (
	maxHeader        = 150
	maxSectionText   = 3000
	maxField         = 2000
	maxFieldsPerSect = 10
	maxButtonText    = 75
	maxActionID      = 255
	maxButtonValue   = bot.MaxActionValue // 2,000
	maxActions       = 25
	maxConfirmText   = 300
	maxConfirmButton = 30
	maxBlocks        = 50 // per message
	// maxTextSections bounds the sections of a long text, leaving blocks for
	// fields and actions: 14 sections hold Slack's 40,000-character text.
	maxTextSections = 14
)

// severityOptions are the choices of the set-severity select.
var severityOptions = []bot.Severity{bot.SEV1, bot.SEV2, bot.SEV3, bot.SEV4}

// Blocks renders msg as Block Kit: Title as a header, Text as a section when
// there is no Title (with a Title, Text is the whole message in plain text
// and serves only as the notification fallback), Fields as sections of at
// most ten fields, and Actions as one actions block (block_id
// BlockActions). Buttons carry the neutral action id as action_id (with a
// "#<n>" suffix when the id repeats in the block) and Action.Value as
// value; set-severity renders as a select (see SeverityOptionValue).
func Blocks(msg bot.Message) []slack.Block {
	var blocks []slack.Block
	if msg.Title != "" {
		blocks = append(blocks, slack.NewHeaderBlock(plain(truncate(msg.Title, maxHeader)), slack.HeaderBlockOptionBlockID(BlockTitle)))
	} else if msg.Text != "" {
		// A long text is shown whole, over several sections (Slack cuts
		// none: it refuses a section over 3,000 characters).
		for i, part := range splitSections(mrkdwnText(msg.Text), maxSectionText, maxTextSections) {
			id := BlockText
			if i > 0 {
				id = fmt.Sprintf("%s-%d", BlockText, i)
			}
			blocks = append(blocks, slack.NewSectionBlock(mrkdwn(part), nil, nil, slack.SectionBlockOptionBlockID(id)))
		}
	}
	// Fields fill the blocks left (the actions block keeps its place);
	// those that do not fit are counted in a last section, never dropped
	// without a word.
	actions, unfit := fittingActions(msg.Actions)
	room := maxBlocks - len(blocks)
	if len(actions) > 0 {
		room--
	}
	if unfit > 0 {
		room--
	}
	shownFields := len(msg.Fields)
	if sections := (len(msg.Fields) + maxFieldsPerSect - 1) / maxFieldsPerSect; sections > room {
		shownFields = (room - 1) * maxFieldsPerSect
	}
	for i := 0; i < shownFields; i += maxFieldsPerSect {
		var fields []*slack.TextBlockObject
		for _, f := range msg.Fields[i:min(i+maxFieldsPerSect, shownFields)] {
			fields = append(fields, mrkdwn(truncateMrkdwn(fmt.Sprintf("*%s*\n%s", mrkdwnText(f.Label), mrkdwnText(f.Value)), maxField)))
		}
		id := fmt.Sprintf("%s-%d", BlockFields, i/maxFieldsPerSect)
		blocks = append(blocks, slack.NewSectionBlock(nil, fields, nil, slack.SectionBlockOptionBlockID(id)))
	}
	if hidden := len(msg.Fields) - shownFields; hidden > 0 {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(fmt.Sprintf("_…and %d more fields, too many for one Slack message_", hidden)),
			nil, nil, slack.SectionBlockOptionBlockID(BlockFields+"-more")))
	}
	if unfit > 0 {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(fmt.Sprintf("_%d button(s) left out: what they carry is over Slack's limits; use the /incident command instead_", unfit)),
			nil, nil, slack.SectionBlockOptionBlockID(BlockActions+"-unfit")))
	}
	if len(actions) > 0 {
		var elems []slack.BlockElement
		for _, a := range actions {
			elems = append(elems, element(a))
		}
		blocks = append(blocks, slack.NewActionBlock(BlockActions, elems...))
	}
	return iterated(blocks)
}

// fittingActions gives the actions of one actions block as Slack takes
// them: at most 25, each action_id unique in the block (a repeated id gets
// a "#<n>" suffix) and within 255 characters, each value within 2,000.
// Slack refuses the whole message (invalid_blocks) for one button over a
// limit, so such a button is left out and counted (unfit) for the reader
// to be told; cutting its value would make it act on something else.
func fittingActions(all []bot.Action) (fit []bot.Action, unfit int) {
	seen := map[string]int{}
	for _, a := range all {
		n := seen[a.ID]
		seen[a.ID]++
		if n > 0 {
			a.ID = fmt.Sprintf("%s%s%d", a.ID, actionIDSeparator, n)
		}
		// Lengths in bytes: never fewer than Slack's characters.
		if len(a.ID) > maxActionID || len(a.Value) > maxButtonValue {
			unfit++
			continue
		}
		if len(fit) < maxActions {
			fit = append(fit, a)
		}
	}
	return fit, unfit
}

// iterated gives the blocks ids of this iteration of the message: each
// base id followed by "." and a digest of the blocks. Slack wants a new
// block_id whenever a message is updated (clients keep the state of a block
// by its id); the digest changes with the content and stays put when the
// same content is drawn again. Nothing reads block ids back: clicks are
// recognised by action_id.
func iterated(blocks []slack.Block) []slack.Block {
	raw, err := json.Marshal(blocks)
	if err != nil {
		return blocks
	}
	sum := sha256.Sum256(raw)
	suffix := "." + hex.EncodeToString(sum[:4])
	for _, b := range blocks {
		switch b := b.(type) {
		case *slack.HeaderBlock:
			b.BlockID += suffix
		case *slack.SectionBlock:
			b.BlockID += suffix
		case *slack.ActionBlock:
			b.BlockID += suffix
		}
	}
	return blocks
}

// actionIDSeparator ends the neutral action id in an action_id that repeats
// one already in the block ("run-runbook#1"): Block Kit wants the
// action_ids of a block unique, and a menu has one button per runbook, all
// with the same neutral action. ParseAction cuts it off.
const actionIDSeparator = "#"

// element renders one action: a button, or the severity select.
func element(a bot.Action) slack.BlockElement {
	if a.ID == bot.ActionSetSeverity {
		var opts []*slack.OptionBlockObject
		for _, sev := range severityOptions {
			opts = append(opts, slack.NewOptionBlockObject(SeverityOptionValue(a.Value, sev), plain(sev.String()), nil))
		}
		return slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain(truncate(a.Label, maxButtonText)), a.ID, opts...)
	}
	b := slack.NewButtonBlockElement(a.ID, a.Value, plain(truncate(a.Label, maxButtonText)))
	switch a.Style {
	case "primary":
		b = b.WithStyle(slack.StylePrimary)
	case "danger":
		b = b.WithStyle(slack.StyleDanger)
	}
	if a.Confirm != "" {
		b = b.WithConfirm(slack.NewConfirmationBlockObject(plain("Are you sure?"), plain(truncate(a.Confirm, maxConfirmText)), plain(truncate(a.Label, maxConfirmButton)), plain("Cancel")))
	}
	return b
}

// SeverityOptionValue is the value of one option of the set-severity select:
// the action's value (the incident id) and the severity, "3:SEV2". A static
// select carries no value of its own, so the incident travels in the option.
func SeverityOptionValue(value string, sev bot.Severity) string {
	return value + ":" + sev.String()
}

// ParseAction maps a Slack block action to a neutral action: actionID is the
// block action's action_id (a "#<n>" suffix that Blocks added to keep it
// unique in its block is cut off), value its value (buttons) and selected
// the value of its selected option (selects; "" for buttons). For set-severity it
// splits the option value "3:SEV2" into Value "3" and Input["severity"]
// "SEV2". The caller fills in Actor and ChannelID.
func ParseAction(actionID, value, selected string) bot.ActionInvocation {
	actionID, _, _ = strings.Cut(actionID, actionIDSeparator)
	a := bot.ActionInvocation{ActionID: actionID, Value: value}
	if actionID == bot.ActionSetSeverity && selected != "" {
		if i := strings.LastIndexByte(selected, ':'); i >= 0 {
			a.Value = selected[:i]
			a.Input = map[string]string{"severity": selected[i+1:]}
		} else {
			a.Input = map[string]string{"severity": selected}
		}
	}
	return a
}

// msgOptions are the chat.postMessage / chat.update options for msg: the
// blocks, the plain-text fallback and, when msg.Tag is set, the metadata
// FindTagged looks for.
func msgOptions(msg bot.Message) []slack.MsgOption {
	fallback := msg.Text
	if fallback == "" {
		fallback = msg.Title
	}
	opts := []slack.MsgOption{slack.MsgOptionText(mrkdwnText(fallback), false)}
	if blocks := Blocks(msg); len(blocks) > 0 {
		opts = append(opts, slack.MsgOptionBlocks(blocks...))
	}
	if msg.Tag != "" {
		opts = append(opts, slack.MsgOptionMetadata(slack.SlackMetadata{
			EventType: MetadataEventType, EventPayload: map[string]any{metadataTagKey: msg.Tag},
		}))
	}
	return opts
}

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, s, false, false)
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.MarkdownType, s, false, false)
}

// truncate shortens s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// splitSections cuts s into at most max parts of at most n runes each, at
// line ends where it can. A code fence open at a cut is closed there and
// reopened in the next part. When s does not fit, the last part says so.
func splitSections(s string, n, max int) []string {
	var parts []string
	const reopen, closeFence = "```\n", "\n```"
	for len(parts) < max {
		r := []rune(s)
		if len(r) <= n {
			return append(parts, s)
		}
		budget := n - len([]rune(closeFence))
		if len(parts) == max-1 {
			budget -= 40 // room for the note below
		}
		head := string(r[:budget])
		if i := strings.LastIndexByte(head, '\n'); i > len(head)/2 {
			head = head[:i]
		}
		rest := strings.TrimPrefix(s[len(head):], "\n")
		if strings.Count(head, "```")%2 == 1 {
			head += closeFence
			rest = reopen + rest
		}
		if len(parts) == max-1 {
			return append(parts, head+"\n_(too long for one message: cut here)_")
		}
		parts = append(parts, head)
		s = rest
	}
	return parts
}

// truncateMrkdwn is truncate for mrkdwn: a code fence the cut leaves open
// is closed, so the rest of the message is not shown as code.
func truncateMrkdwn(s string, n int) string {
	if len([]rune(s)) <= n {
		return s
	}
	const fence = "```"
	cut := truncate(s, n-len(fence))
	if strings.Count(cut, fence)%2 == 1 {
		return cut + fence
	}
	return cut
}
