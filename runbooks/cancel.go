package runbooks

import (
	"context"
	"fmt"

	"github.com/sitrep-io/sitrep/bot"
)

// OpCancelPending cancels an incident's runbook requests that still wait
// for approval; queued by the resolve that makes them moot.
const OpCancelPending = "runbook.cancel_pending"

// onResolved is the event hook that queues, in the transaction that
// resolves an incident, the cancellation of its pending requests. The
// cancellation is its own outbox entry because the store lists runs
// outside a transaction only; until it is delivered an approval is
// refused anyway (decide checks the incident).
func (r *Runs) onResolved(tx bot.Tx, inc bot.Incident, ev bot.Event) error {
	if inc.Status != bot.StatusResolved || ev.Data["to"] != string(bot.StatusResolved) {
		return nil
	}
	d, err := bot.NewDelivery(incidentKey(inc.ID), OpCancelPending, inc.ID, struct{}{})
	if err != nil {
		return err
	}
	return tx.Enqueue(d)
}

// cancelPending is the OpCancelPending handler.
func (r *Runs) cancelPending(ctx context.Context, d bot.Delivery) (any, error) {
	runs, err := r.store.RunbookRuns(ctx, bot.RunbookRunFilter{IncidentID: d.IncidentID, States: []bot.RunState{bot.RunRequested}})
	if err != nil {
		return nil, err
	}
	for _, run := range runs {
		err := r.svc.Update(ctx, func(tx bot.Tx) error {
			inc, err := tx.Incident(run.IncidentID)
			if err != nil || inc.Open() { // re-opened meanwhile: the request stands
				return err
			}
			cur, err := tx.RunbookRun(run.ID)
			if err != nil {
				return err
			}
			_, err = r.cancelIfResolved(tx, &cur, inc)
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("cancel %s: %w", run.Key(), err)
		}
	}
	return nil, nil
}

// cancelIfResolved moves a requested run of a resolved incident to
// cancelled, with its event and card redraw, and reports whether it did.
func (r *Runs) cancelIfResolved(tx bot.Tx, run *bot.RunbookRun, inc bot.Incident) (bool, error) {
	if run.State != bot.RunRequested || inc.Open() {
		return false, nil
	}
	now := r.svc.Now()
	run.State, run.FinishedAt, run.UpdatedAt = bot.RunCancelled, now, now
	run.Reason = fmt.Sprintf("%s was resolved at %s before anyone approved it", inc.Key(), clock(inc.ResolvedAt))
	ok, err := tx.UpdateRunbookRun(*run, bot.RunRequested)
	if err != nil || !ok {
		return false, err
	}
	if err := r.event(tx, *run, bot.KindRunbookCancelled, bot.SystemActor,
		fmt.Sprintf("%s (%s) cancelled: %s", run.Key(), run.Runbook, run.Reason), nil); err != nil {
		return false, err
	}
	return true, refresh(tx, *run)
}
