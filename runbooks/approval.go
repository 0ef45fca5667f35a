package runbooks

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/sitrep-io/sitrep/bot"
)

// Approve approves a requested run for actor, after checking on the server
// that actor may: an approver listed by every gated step (directly or
// through a user group) and, under two_person, not the requester. The
// approval and the queued execution commit together and only from state
// requested, so double clicks and racing approvers start the run once.
//
// Errors: EFORBIDDEN when actor may not approve (the refusal is recorded on
// the timeline), ECONFLICT when the run was already decided, EINVALID when
// the request has expired (the run becomes expired), ENOTFOUND for an
// unknown run.
func (r *Runs) Approve(ctx context.Context, actor string, id int64) (bot.RunbookRun, error) {
	return r.decide(ctx, actor, id, bot.RunApproved, "")
}

// Deny turns a requested run down. Approvers and the requester (withdrawing
// it) may deny; anyone else is refused and the refusal recorded. Errors as
// for Approve.
func (r *Runs) Deny(ctx context.Context, actor string, id int64, reason string) (bot.RunbookRun, error) {
	reason, err := bot.CheckTypedText("reason", "a reason", reason, bot.MaxTextLen)
	if err != nil {
		return bot.RunbookRun{}, err
	}
	return r.decide(ctx, actor, id, bot.RunDenied, reason)
}

func (r *Runs) decide(ctx context.Context, actor string, id int64, to bot.RunState, reason string) (bot.RunbookRun, error) {
	run, err := r.store.RunbookRun(ctx, id)
	if err != nil {
		return bot.RunbookRun{}, err
	}
	if run.State != bot.RunRequested {
		return run, alreadyDecided(run)
	}
	inc, err := r.store.Incident(ctx, run.IncidentID)
	if err != nil {
		return run, err
	}
	if err := r.svc.Visible(ctx, actor, inc, "/incident "+decisionVerb(to)+" "+run.Key()); err != nil {
		return run, err
	}
	// Group membership is a chat API call: looked up before the
	// transaction, which is safe because a run's approvers never change.
	if err := r.authorise(ctx, run, actor, to); err != nil {
		if bot.ErrorCode(err) == bot.EFORBIDDEN {
			r.recordRefusal(ctx, run, actor, to, err)
		}
		return run, err
	}
	var expired, cancelled bool
	err = r.svc.Update(ctx, func(tx bot.Tx) error {
		cur, err := tx.RunbookRun(id)
		if err != nil {
			return err
		}
		if cur.State != bot.RunRequested {
			run = cur
			return alreadyDecided(cur)
		}
		if expired, err = r.expireIfDue(tx, &cur); err != nil || expired {
			run = cur
			return err
		}
		// The incident as it is now, not as it was at the request: an old
		// card clicked after the resolve runs nothing.
		inc, err := tx.Incident(cur.IncidentID)
		if err != nil {
			return err
		}
		if cancelled, err = r.cancelIfResolved(tx, &cur, inc); err != nil || cancelled {
			run = cur
			return err
		}
		run, err = r.applyDecision(tx, cur, actor, to, reason)
		return err
	})
	switch {
	case err == nil && expired:
		err = bot.Errorf(bot.EINVALID, "%s expired at %s without approval: request it again with /incident run %s",
			run.Key(), clock(run.ExpiresAt), run.Runbook)
	case err == nil && cancelled:
		err = alreadyDecided(run)
	}
	return run, err
}

// applyDecision moves a requested run to approved or denied, with its
// event, its card redraw and, when approved, its execution.
func (r *Runs) applyDecision(tx bot.Tx, run bot.RunbookRun, actor string, to bot.RunState, reason string) (bot.RunbookRun, error) {
	now := r.svc.Now()
	run.State, run.DecidedBy, run.DecidedAt, run.Reason, run.UpdatedAt = to, actor, now, reason, now
	if to == bot.RunDenied {
		run.FinishedAt = now
	}
	ok, err := tx.UpdateRunbookRun(run, bot.RunRequested)
	if err != nil {
		return run, err
	}
	if !ok {
		return run, bot.Errorf(bot.ECONFLICT, "%s was decided by someone else a moment ago", run.Key())
	}
	kind, text := bot.KindRunbookApproved, fmt.Sprintf("approved %s (%s)", run.Key(), run.Runbook)
	if to == bot.RunDenied {
		kind, text = bot.KindRunbookDenied, fmt.Sprintf("denied %s (%s)", run.Key(), run.Runbook)
		if reason != "" {
			text += ": " + reason
		}
	}
	if err := r.event(tx, run, kind, actor, text, map[string]any{"reason": reason}); err != nil {
		return run, err
	}
	if err := refresh(tx, run); err != nil {
		return run, err
	}
	if to == bot.RunApproved {
		return run, enqueue(tx, executeKey(run.ID), OpExecute, run, "")
	}
	return run, nil
}

// expireIfDue moves a requested run past its expiry to expired, with its
// event and card redraw, and reports whether it did.
func (r *Runs) expireIfDue(tx bot.Tx, run *bot.RunbookRun) (bool, error) {
	now := r.svc.Now()
	if run.State != bot.RunRequested || run.ExpiresAt.IsZero() || now.Before(run.ExpiresAt) {
		return false, nil
	}
	run.State, run.FinishedAt, run.UpdatedAt = bot.RunExpired, now, now
	run.Reason = "nobody approved it before " + clock(run.ExpiresAt)
	ok, err := tx.UpdateRunbookRun(*run, bot.RunRequested)
	if err != nil || !ok {
		return false, err
	}
	if err := r.event(tx, *run, bot.KindRunbookExpired, bot.SystemActor,
		fmt.Sprintf("%s (%s) expired: %s", run.Key(), run.Runbook, run.Reason), nil); err != nil {
		return false, err
	}
	return true, refresh(tx, *run)
}

// authorise decides on the server whether actor may move run to to.
func (r *Runs) authorise(ctx context.Context, run bot.RunbookRun, actor string, to bot.RunState) error {
	if actor == "" {
		return bot.Errorf(bot.EFORBIDDEN, "an anonymous click cannot decide %s", run.Key())
	}
	if to == bot.RunDenied && actor == run.RequestedBy {
		return nil // withdrawing one's own request
	}
	if to == bot.RunApproved && run.TwoPerson && actor == run.RequestedBy {
		return bot.Errorf(bot.EFORBIDDEN, "%s needs two people: someone other than its requester must approve it (ask %s)",
			run.Key(), approversText(run))
	}
	for _, list := range run.Approvers {
		ok, err := r.allowedBy(ctx, list, actor)
		if err != nil {
			return err
		}
		if !ok {
			return bot.Errorf(bot.EFORBIDDEN, "you are not an approver of %s (%s): ask %s", run.Key(), run.Runbook, approversText(run))
		}
	}
	return nil
}

// allowedBy reports whether actor is listed, or is a member of a listed
// user group.
func (r *Runs) allowedBy(ctx context.Context, list []string, actor string) (bool, error) {
	return bot.MemberOf(ctx, r.cfg.Directory, list, actor)
}

// recordRefusal puts a refused approval or denial on the timeline. It is a
// transaction of its own: the refusal is what happened, the run is
// unchanged.
func (r *Runs) recordRefusal(ctx context.Context, run bot.RunbookRun, actor string, to bot.RunState, cause error) {
	verb := decisionVerb(to)
	err := r.svc.Update(ctx, func(tx bot.Tx) error {
		return r.event(tx, run, bot.KindRunbookApprovalRefused, actor,
			fmt.Sprintf("refused to let %s %s %s: %s", mention(actor), verb, run.Key(), bot.ErrorMessage(cause)),
			map[string]any{"attempted": verb})
	})
	if err != nil {
		r.log.Error("record refused approval", "run", run.ID, "actor", actor, "err", err)
	}
}

func decisionVerb(to bot.RunState) string {
	if to == bot.RunDenied {
		return "deny"
	}
	return "approve"
}

func alreadyDecided(run bot.RunbookRun) error {
	switch run.State {
	case bot.RunExpired:
		return bot.Errorf(bot.EINVALID, "%s expired at %s without approval: request it again with /incident run %s",
			run.Key(), clock(run.ExpiresAt), run.Runbook)
	case bot.RunDenied:
		return bot.Errorf(bot.ECONFLICT, "%s was already denied by %s", run.Key(), mention(run.DecidedBy))
	case bot.RunCancelled:
		return bot.Errorf(bot.EINVALID, "%s was cancelled (%s): nothing runs; re-open the incident and request it again with /incident run %s",
			run.Key(), run.Reason, run.Runbook)
	}
	if run.DecidedBy == "" {
		return bot.Errorf(bot.ECONFLICT, "%s needs no approval (it is %s)", run.Key(), run.State)
	}
	return bot.Errorf(bot.ECONFLICT, "%s was already approved by %s (it is %s)", run.Key(), mention(run.DecidedBy), run.State)
}

// approversText names who may approve, for people.
func approversText(run bot.RunbookRun) string {
	var names []string
	for _, list := range run.Approvers {
		for _, id := range list {
			if m := mention(id); !slices.Contains(names, m) {
				names = append(names, m)
			}
		}
	}
	text := strings.Join(names, ", ")
	if len(run.Approvers) > 1 {
		text = "someone allowed by every gated step: " + text
	}
	return text
}

// mention renders a Slack user or user-group id as a mention.
func mention(id string) string {
	switch {
	case id == "" || id == bot.SystemActor:
		return "sitrep"
	case isGroupID(id):
		return bot.GroupMention(id)
	}
	return bot.Mention(id)
}

// isGroupID reports whether id is a Slack user-group id (S…), as the
// runbook validator accepts them.
func isGroupID(id string) bool { return approverRE.MatchString(id) && bot.IsUserGroupID(id) }
