package bot

import (
	"fmt"
	"strconv"
	"time"
)

// Neutral action ids carried by buttons; the chat edge maps a click to one of
// these before the service sees it.
const (
	ActionAcknowledge = "acknowledge"
	ActionTakeCommand = "take-command"
	ActionSetSeverity = "set-severity"
	ActionPostUpdate  = "post-update"
	ActionResolve     = "resolve"
	// ActionRunMenu offers the runbooks (matching ones first); registered
	// by the runbooks package.
	ActionRunMenu = "run-menu"
)

// Card is the incident card: the facts people need at a glance, and the
// buttons that act on them. It is posted once, pinned and redrawn in place.
func Card(inc Incident) Message {
	id := strconv.FormatInt(inc.ID, 10)
	fields := []Field{
		{Label: "Severity", Value: inc.Severity.String()},
		{Label: "Status", Value: string(inc.Status)},
		{Label: "Commander", Value: mentionOr(inc.Commander, "unassigned")},
		{Label: "Comms", Value: mentionOr(inc.CommsLead, "unassigned")},
		{Label: "Source", Value: sourceText(inc)},
		{Label: "Detected", Value: timeText(inc.DetectedAt)},
		{Label: "Declared", Value: timeText(inc.DeclaredAt)},
	}
	if !inc.AcknowledgedAt.IsZero() {
		fields = append(fields, Field{Label: "Acknowledged", Value: timeText(inc.AcknowledgedAt)})
	}
	if !inc.MitigatedAt.IsZero() {
		fields = append(fields, Field{Label: "Mitigated", Value: timeText(inc.MitigatedAt)})
	}
	if !inc.ResolvedAt.IsZero() {
		fields = append(fields, Field{Label: "Resolved", Value: timeText(inc.ResolvedAt)})
	}
	var actions []Action
	if inc.Status == StatusTriggered {
		actions = append(actions, Action{ID: ActionAcknowledge, Label: "Acknowledge", Value: id, Style: "primary"})
	}
	if inc.Open() {
		actions = append(actions,
			Action{ID: ActionTakeCommand, Label: "I'm the commander", Value: id},
			Action{ID: ActionSetSeverity, Label: "Severity", Value: id},
			Action{ID: ActionPostUpdate, Label: "Post update", Value: id},
			Action{ID: ActionRunMenu, Label: "Run runbook", Value: id},
			Action{ID: ActionResolve, Label: "Resolve", Value: id, Style: "danger",
				Confirm: fmt.Sprintf("Resolve %s? This tells the broadcast channel it is over.", inc.Key())},
		)
	}
	if inc.Status == StatusResolved {
		actions = append(actions, Action{ID: ActionDraftPostmortem, Label: "Draft postmortem", Value: id, Style: "primary"})
	}
	title := fmt.Sprintf("%s %s: %s", inc.Key(), inc.Severity, inc.Title)
	return Message{
		Title:   title,
		Text:    fmt.Sprintf("%s (%s)", title, inc.Status),
		Fields:  fields,
		Actions: actions,
	}
}

// Topic is the channel topic: severity · status · commander.
func Topic(inc Incident) string {
	return fmt.Sprintf("%s · %s · commander: %s", inc.Severity, inc.Status, mentionOr(inc.Commander, "unassigned"))
}

// Announcement is the broadcast message about a new incident. A private
// incident is announced without any detail.
func Announcement(inc Incident) Message {
	if inc.Private {
		return Message{Text: "A private incident has been declared. Its details are restricted to its responders."}
	}
	where := ""
	if inc.ChannelID != "" {
		where = " in " + ChannelLink(inc.ChannelID)
	}
	return Message{Text: fmt.Sprintf("%s %s opened%s: %s (%s)", inc.Key(), inc.Severity, where, inc.Title, inc.Status)}
}

func mentionOr(user, none string) string {
	if user == "" {
		return none
	}
	return actorMention(user)
}

func sourceText(inc Incident) string {
	if inc.DedupKey == "" {
		return inc.Source
	}
	return fmt.Sprintf("%s (%s)", inc.Source, inc.DedupKey)
}

func timeText(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}
