package postmortem

import (
	"cmp"
	"slices"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// Input is everything a postmortem is drafted from: the record, and how to
// show it.
type Input struct {
	Incident  bot.Incident
	Events    []bot.Event // any order; sorted by when they happened
	FollowUps []bot.FollowUp
	Impact    bot.ImpactAnchors
	Export    bot.PostmortemExport // zero when never exported
	// Names maps chat user ids to display names. Ids without a name appear
	// as "an unnamed participant", never raw.
	Names map[string]string
	// Location is the team's display time zone; UTC when nil.
	Location *time.Location
	// ReminderInterval is how often status updates are due at the
	// incident's severity; the longest gap between updates is flagged
	// against it. Zero: not flagged.
	ReminderInterval time.Duration
	DraftedAt        time.Time
}

// normalized returns in with a location and its events in time order (ties
// in recording order).
func (in Input) normalized() Input {
	if in.Location == nil {
		in.Location = time.UTC
	}
	in.Events = slices.Clone(in.Events)
	slices.SortStableFunc(in.Events, func(a, b bot.Event) int {
		return cmp.Or(a.OccurredAt.Compare(b.OccurredAt), cmp.Compare(a.ID, b.ID))
	})
	return in
}

// ReviewDays is how many days after resolution the postmortem review is
// due, by severity: the more severe, the sooner.
func ReviewDays(sev bot.Severity) int {
	switch sev {
	case bot.SEV1:
		return 5
	case bot.SEV2:
		return 7
	case bot.SEV3:
		return 14
	}
	return 30
}

// DefaultReminderInterval is the longest expected gap between status
// updates by severity, used when the caller has no reminder configuration.
func DefaultReminderInterval(sev bot.Severity) time.Duration {
	switch sev {
	case bot.SEV1:
		return 30 * time.Minute
	case bot.SEV2:
		return time.Hour
	case bot.SEV3:
		return 2 * time.Hour
	}
	return 4 * time.Hour
}
