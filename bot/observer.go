package bot

import (
	"context"
	"time"
)

// Observer is told what sitrep did, for operational metrics (cmd/sitrep
// counts it with Prometheus; bot knows no metrics library). Its methods are
// called after the change they report has committed, never for one rolled
// back or attempted again, so nothing is counted twice; they must be quick
// and must not block.
type Observer interface {
	// IncidentAcknowledged is told about an incident acknowledged for the
	// first time, after is how long it waited (from when it was detected,
	// or declared when no source gave a time).
	IncidentAcknowledged(inc Incident, after time.Duration)
	// IncidentResolved is told about an incident moved to resolved, after
	// is how long it was open (measured as for IncidentAcknowledged).
	IncidentResolved(inc Incident, after time.Duration)
	// RunbookRunFinished is told about a run that reached a final state.
	RunbookRunFinished(run RunbookRun)
}

// DeliveryOutcome is what became of one attempt at an outbox entry.
type DeliveryOutcome string

const (
	DeliveryDone     DeliveryOutcome = "delivered"    // done (or skipped as pointless)
	DeliveryRetried  DeliveryOutcome = "retry"        // failed for now; tried again after a backoff
	DeliveryHeldBack DeliveryOutcome = "rate_limited" // held back by a rate limit; not a failed attempt
	DeliveryGivenUp  DeliveryOutcome = "failed"       // failed for good (also: no handler for its op)
)

// DeliveryObserver is told the outcome of each attempt at an outbox entry,
// once its outcome is recorded in the store.
type DeliveryObserver func(op string, outcome DeliveryOutcome)

// MetricsStore answers what a metrics scrape asks of the store, each in
// one grouped query over an index, cheap enough to run at every scrape.
type MetricsStore interface {
	// OutboxBacklog counts the unfinished (pending or sending) outbox
	// entries by op. Each op's OldestDue is the earliest time at which one
	// of its unfinished entries fell due, among those due at now (an entry
	// scheduled for later is counted but is not overdue); zero when none
	// is due.
	OutboxBacklog(ctx context.Context, now time.Time) ([]OutboxBacklog, error)
	// OpenIncidentCounts counts the incidents not resolved, by severity.
	OpenIncidentCounts(ctx context.Context) (map[Severity]int, error)
}

// OutboxBacklog is the unfinished outbox entries of one op.
type OutboxBacklog struct {
	Op         string
	Unfinished int
	OldestDue  time.Time
}

// incidentStart is when an incident began, for its response times: when
// its source detected it, else when it was declared.
func incidentStart(inc Incident) time.Time {
	if !inc.DetectedAt.IsZero() {
		return inc.DetectedAt
	}
	return inc.DeclaredAt
}

// milestones tells the observer what a committed change did: incidents it
// acknowledged or resolved (compared with how the change found them) and
// runbook runs it finished.
type milestones struct {
	acked, resolved []Incident
	runs            []RunbookRun
}

func (m milestones) report(o Observer) {
	for _, inc := range m.acked {
		o.IncidentAcknowledged(inc, inc.AcknowledgedAt.Sub(incidentStart(inc)))
	}
	for _, inc := range m.resolved {
		o.IncidentResolved(inc, inc.ResolvedAt.Sub(incidentStart(inc)))
	}
	for _, r := range m.runs {
		o.RunbookRunFinished(r)
	}
}
