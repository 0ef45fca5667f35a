package bot

import "context"

// origin is who caused a change, which sets the priority of the deliveries
// it queues (issue 14: people before automation). A change is a person's
// unless its context says otherwise: every entry point of automation marks
// its context (automated), and a change made while delivering an entry
// (a channel's creation queueing its pin) keeps that entry's priority.
type origin struct {
	automated bool
	inherited bool // priority comes from the delivery being made
	priority  int
}

type automatedKey struct{}

// automated marks ctx as automation's: alert intake, source events,
// reminders, failure records.
func automated(ctx context.Context) context.Context {
	return context.WithValue(ctx, automatedKey{}, true)
}

func originOf(ctx context.Context) origin {
	if p, ok := ctx.Value(deliveryPriorityKey{}).(int); ok {
		return origin{inherited: true, priority: p}
	}
	auto, _ := ctx.Value(automatedKey{}).(bool)
	return origin{automated: auto}
}

// priority is the priority of d queued by a change of origin o: inherited,
// or from o and the severity of d's incident as read in this transaction.
func (r *recordingTx) priority(d Delivery, o origin) (int, error) {
	if o.inherited {
		return o.priority, nil
	}
	var sev Severity
	if d.IncidentID != 0 {
		inc, err := r.Incident(d.IncidentID)
		if err != nil && ErrorCode(err) != ENOTFOUND {
			return 0, err
		}
		sev = inc.Severity // 0 when there is no such incident
	}
	return DeliveryPriority(!o.automated, sev), nil
}
