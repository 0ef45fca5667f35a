package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"
)

// AlertGroup is one notification about a group of alerts that share a dedup
// key (an Alertmanager group): the whole current set of the group's alerts,
// firing and resolved, each with its own EventID.
type AlertGroup struct {
	Source   string
	DedupKey string
	// Title names the incident the group opens (each alert's own title
	// goes on its timeline event); empty: the first firing alert's title.
	Title  string
	Alerts []Alert
}

// GroupOutcome says what a group notification did.
type GroupOutcome struct {
	Incident Incident
	Opened   bool
	Recorded int    // alert events added to the timeline (0: nothing new)
	Ignored  string // why nothing was done, when nothing was
}

// IngestAlertGroup records a group notification in one transaction: its
// firing alerts open the group's incident (or attach to the open one) and
// are recorded once per EventID; then its resolved alerts record their end.
// An alert already on the timeline is not recorded again, so a repeated
// notification changes nothing but what is new. It returns EINVALID, naming
// the field, for an invalid alert, before anything is stored.
func (s *Service) IngestAlertGroup(ctx context.Context, g AlertGroup) (GroupOutcome, error) {
	ctx = automated(ctx) // what it queues goes after what people do
	alerts, err := groupAlerts(g)
	if err != nil {
		return GroupOutcome{}, err
	}
	return updateAttaching(ctx, s, func(tx Tx, out *GroupOutcome) error { return s.ingestGroup(tx, alerts, out) })
}

// groupAlerts validates the group's alerts and orders them firing first, so
// a group whose first alert already resolved still opens on a firing one.
func groupAlerts(g AlertGroup) ([]Alert, error) {
	if g.Source == "" || g.DedupKey == "" {
		return nil, FieldErrorf("groupKey", "a group of alerts needs a source and a key")
	}
	g.Title = cleanLine(g.Title, MaxTitleLen) // as every alert's title
	var firing, resolved []Alert
	for i, a := range g.Alerts {
		a.Source, a.DedupKey = g.Source, g.DedupKey
		if err := validateAlert(&a); err != nil {
			var be *Error
			if errors.As(err, &be) {
				return nil, FieldErrorf(fmt.Sprintf("alerts[%d].%s", i, be.Field), "%s", be.Message)
			}
			return nil, err
		}
		if a.Firing {
			firing = append(firing, a)
		} else {
			resolved = append(resolved, a)
		}
	}
	if len(firing)+len(resolved) == 0 {
		return nil, FieldErrorf("alerts", "a notification needs at least one alert")
	}
	if len(firing) > 0 && strings.TrimSpace(g.Title) != "" && firing[0].Title != g.Title {
		// The alert that opens the incident names it after the group.
		firing[0].Description, firing[0].Title = firing[0].Title, g.Title
	}
	return append(firing, resolved...), nil
}

func (s *Service) ingestGroup(tx Tx, alerts []Alert, out *GroupOutcome) error {
	for _, a := range alerts {
		var ao AlertOutcome
		if err := s.ingest(tx, a, &ao); err != nil {
			return err
		}
		if ao.Incident.ID != 0 {
			out.Incident = ao.Incident
		}
		out.Opened = out.Opened || ao.Opened
		if ao.Recorded {
			out.Recorded++
		}
		if ao.Ignored != "" && out.Incident.ID == 0 {
			out.Ignored = ao.Ignored
		}
	}
	if out.Incident.ID != 0 {
		out.Ignored = ""
	}
	return nil
}
