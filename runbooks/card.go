package runbooks

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/sitrep-io/sitrep/bot"
)

// Neutral action ids of runbook buttons. The chat edge maps a click to one
// of these and calls bot.Service.HandleAction.
const (
	// ActionApproveRun and ActionDenyRun carry the run id as their value;
	// a deny may carry Input["reason"].
	ActionApproveRun = "approve-run"
	ActionDenyRun    = "deny-run"
	// ActionRunRunbook carries "<incident id>:<runbook name>" as its value
	// and the parameters as Input.
	ActionRunRunbook = "run-runbook"
)

// cardExcerpt caps a step's output on the card, which chats limit in size.
const cardExcerpt = 300

// ApprovalCard is a run's card: the runbook, every step as it will run (or
// ran) with its state, who asked and who decided, and while the run waits
// for approval the Approve and Deny buttons. It is posted once and redrawn
// in place as the run moves on.
func ApprovalCard(run bot.RunbookRun) bot.Message {
	title := fmt.Sprintf("%s · %s: %s — %s", run.Key(), run.Runbook, run.Title, stateText(run))
	fields := []bot.Field{
		{Label: "Requested by", Value: mention(run.RequestedBy)},
		{Label: "Parameters", Value: paramsText(run.Params)},
	}
	fields = append(fields, decisionFields(run)...)
	lines := []string{title}
	for i, st := range run.Steps {
		label := fmt.Sprintf("Step %d: %s", i+1, st.Name)
		value := "`" + st.Display + "`\n" + stepStateText(st)
		fields = append(fields, bot.Field{Label: label, Value: value})
		lines = append(lines, fmt.Sprintf("%d. %s [%s]", i+1, st.Display, st.State))
	}
	for _, f := range fields[:len(fields)-len(run.Steps)] {
		lines = append(lines, f.Label+": "+f.Value)
	}
	msg := bot.Message{Title: title, Text: strings.Join(lines, "\n"), Fields: fields}
	if run.State == bot.RunRequested {
		id := strconv.FormatInt(run.ID, 10)
		msg.Actions = []bot.Action{
			{ID: ActionApproveRun, Label: "Approve", Value: id, Style: "primary",
				Confirm: fmt.Sprintf("Approve %s? The %d step(s) on this card run as shown, in %s.", run.Key(), len(run.Steps), bot.IncidentKey(run.IncidentID))},
			{ID: ActionDenyRun, Label: "Deny", Value: id, Style: "danger",
				Confirm: fmt.Sprintf("Deny %s? Nothing will run.", run.Key())},
		}
	}
	return msg
}

func decisionFields(run bot.RunbookRun) []bot.Field {
	var out []bot.Field
	if run.NeedsApproval {
		who := approversText(run)
		if run.TwoPerson {
			who += " (two-person: not the requester)"
		}
		out = append(out, bot.Field{Label: "Approvers", Value: who})
	}
	switch run.State {
	case bot.RunRequested:
		out = append(out, bot.Field{Label: "Expires", Value: clock(run.ExpiresAt)})
	case bot.RunDenied:
		out = append(out, bot.Field{Label: "Denied by", Value: withReason(mention(run.DecidedBy), run.Reason)})
	case bot.RunExpired, bot.RunCancelled, bot.RunInterrupted, bot.RunFailed:
		if run.DecidedBy != "" {
			out = append(out, bot.Field{Label: "Approved by", Value: mention(run.DecidedBy)})
		}
		out = append(out, bot.Field{Label: "Why", Value: run.Reason})
	default:
		if run.DecidedBy != "" {
			out = append(out, bot.Field{Label: "Approved by", Value: mention(run.DecidedBy)})
		}
	}
	return out
}

func withReason(s, reason string) string {
	if reason == "" {
		return s
	}
	return s + ": " + reason
}

func stateText(run bot.RunbookRun) string {
	switch run.State {
	case bot.RunRequested:
		return "waiting for approval"
	case bot.RunApproved:
		return "approved, starting"
	case bot.RunRunning:
		for i, st := range run.Steps {
			if st.State == bot.StepRunning || st.State == bot.StepPending {
				return fmt.Sprintf("running step %d of %d", i+1, len(run.Steps))
			}
		}
		return "running"
	}
	return string(run.State)
}

func stepStateText(st bot.RunStep) string {
	text := string(st.State)
	if st.NeedsApproval {
		text += " · gated by the approval"
	}
	if st.Summary != "" {
		text += ": " + st.Summary
	}
	if out := strings.TrimSpace(st.Output); out != "" {
		text += "\n```" + Excerpt(out, cardExcerpt) + "```"
	}
	return text
}
