package runbooks

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"
	"unicode/utf8"

	"github.com/sitrep-io/sitrep/bot"
)

// timelineExcerpt caps the output kept on the timeline; the run record
// keeps the executor's (larger) capped output.
const timelineExcerpt = 1024

// execute is the OpExecute handler. It moves the run from approved to
// running in a transaction and starts its steps outside any transaction,
// then returns at once (steps may outlast an outbox attempt). A run it
// finds already running that this process is not running was cut off by a
// process that died after starting it: it is marked interrupted and
// reported, never run again. Any other state means the run was handled.
func (r *Runs) execute(ctx context.Context, d bot.Delivery) (any, error) {
	var p runPayload
	if err := json.Unmarshal(d.Payload, &p); err != nil {
		return nil, fmt.Errorf("decode %s: %w", d.Op, err)
	}
	var start *bot.RunbookRun
	err := r.svc.Update(ctx, func(tx bot.Tx) error {
		start = nil
		run, err := tx.RunbookRun(p.Run)
		if err != nil {
			return err
		}
		switch run.State {
		case bot.RunApproved:
			now := r.svc.Now()
			run.State, run.StartedAt, run.UpdatedAt = bot.RunRunning, now, now
			ok, err := tx.UpdateRunbookRun(run, bot.RunApproved)
			if err != nil || !ok {
				return err
			}
			start = &run
			return refresh(tx, run)
		case bot.RunRunning:
			if r.isActive(run.ID) {
				return nil // a repeated delivery while this process runs it
			}
			return r.interrupt(tx, run, "sitrep stopped while it ran; its execution was retried")
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", bot.RunKey(p.Run), err)
	}
	if start != nil {
		r.launch(*start)
	}
	return nil, nil
}

// launch runs the steps of a running run in the background.
func (r *Runs) launch(run bot.RunbookRun) {
	r.mu.Lock()
	r.active[run.ID] = true
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		defer func() {
			r.mu.Lock()
			delete(r.active, run.ID)
			r.mu.Unlock()
		}()
		r.runSteps(run)
	}()
}

func (r *Runs) isActive(id int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.active[id]
}

// runSteps executes the steps in order, recording each; the first failure
// fails the run and the rest are skipped.
func (r *Runs) runSteps(run bot.RunbookRun) {
	log := r.log.With("run", run.ID, "runbook", run.Runbook)
	for i := range run.Steps {
		var rs RenderedStep
		if err := json.Unmarshal(run.Steps[i].Spec, &rs); err != nil {
			r.record(log, run.ID, func(tx bot.Tx, cur *bot.RunbookRun) error {
				return r.finishStep(tx, cur, i, Result{Status: StatusFailed, ExitCode: -1,
					Summary: fmt.Sprintf("the stored step cannot be read: %v", err)})
			})
			return
		}
		if !r.record(log, run.ID, func(tx bot.Tx, cur *bot.RunbookRun) error { return r.startStep(tx, cur, i) }) {
			return
		}
		res, err := r.cfg.Executor.Execute(r.ctx, rs)
		if err != nil {
			res = Result{Status: StatusFailed, ExitCode: -1, Summary: err.Error()}
		}
		if r.ctx.Err() != nil { // shutting down: the step was cut short
			r.record(log, run.ID, func(tx bot.Tx, cur *bot.RunbookRun) error {
				return r.interrupt(tx, *cur, "sitrep was stopped while step "+rs.Step+" ran")
			})
			return
		}
		var more bool
		if !r.record(log, run.ID, func(tx bot.Tx, cur *bot.RunbookRun) error {
			more = res.Succeeded() && i+1 < len(cur.Steps)
			return r.finishStep(tx, cur, i, res)
		}) || !more {
			return
		}
	}
}

// record applies fn to the run in a transaction if it is still running,
// and reports whether it did. Records are written even while shutting down.
// While the storage fails (a full disk) the record is retried, with a
// backoff, until it is stored or sitrep shuts down: a step that ran must
// not lose its result (then the run comes back interrupted at the next
// start).
func (r *Runs) record(log *slog.Logger, id int64, fn func(tx bot.Tx, run *bot.RunbookRun) error) bool {
	for wait := recordRetryFirst; ; wait = min(2*wait, recordRetryMax) {
		applied, err := r.recordOnce(id, fn)
		if err == nil {
			return applied
		}
		if temp, _ := bot.IsTemporary(err); !temp {
			log.Error("record runbook step", "err", err)
			return false
		}
		log.Warn("record runbook step: the storage is failing; retrying", "err", err)
		select {
		case <-r.ctx.Done():
			log.Error("record runbook step: gave up at shutdown; the run will be marked interrupted", "err", err)
			return false
		case <-time.After(wait):
		}
	}
}

// The backoff of record's retries.
const (
	recordRetryFirst = 100 * time.Millisecond
	recordRetryMax   = 10 * time.Second
)

func (r *Runs) recordOnce(id int64, fn func(tx bot.Tx, run *bot.RunbookRun) error) (bool, error) {
	applied := false
	err := r.svc.Update(context.WithoutCancel(r.ctx), func(tx bot.Tx) error {
		applied = false
		run, err := tx.RunbookRun(id)
		if err != nil {
			return err
		}
		if run.State != bot.RunRunning {
			return nil // interrupted by someone else: stop here
		}
		if err := fn(tx, &run); err != nil {
			return err
		}
		applied = true
		return nil
	})
	return applied, err
}

func (r *Runs) startStep(tx bot.Tx, run *bot.RunbookRun, i int) error {
	now := r.svc.Now()
	st := &run.Steps[i]
	st.State, st.StartedAt = bot.StepRunning, now
	run.UpdatedAt = now
	if err := r.save(tx, *run); err != nil {
		return err
	}
	text := fmt.Sprintf("%s step %d/%d %s started: %s", run.Key(), i+1, len(run.Steps), st.Name, st.Display)
	if err := r.event(tx, *run, bot.KindRunbookStepStarted, bot.SystemActor, text, map[string]any{"step": st.Name}); err != nil {
		return err
	}
	return refresh(tx, *run)
}

// finishStep records a step's result, and the run's end when it failed or
// was the last.
func (r *Runs) finishStep(tx bot.Tx, run *bot.RunbookRun, i int, res Result) error {
	now := r.svc.Now()
	st := &run.Steps[i]
	st.State, st.FinishedAt = bot.StepSucceeded, now
	if !res.Succeeded() {
		st.State = bot.StepFailed
	}
	st.Summary, st.Output, st.OutputDropped, st.ExitCode = res.Summary, res.Output, res.OutputDropped, res.ExitCode
	run.UpdatedAt = now
	last := i+1 == len(run.Steps)
	if !res.Succeeded() {
		for j := i + 1; j < len(run.Steps); j++ {
			run.Steps[j].State = bot.StepSkipped
		}
	}
	if !res.Succeeded() || last {
		run.State, run.FinishedAt = bot.RunSucceeded, now
		if !res.Succeeded() {
			run.State, run.Reason = bot.RunFailed, fmt.Sprintf("step %s failed: %s", st.Name, res.Summary)
		}
	}
	if _, err := tx.UpdateRunbookRun(*run, bot.RunRunning); err != nil {
		return err
	}
	excerpt := Excerpt(res.Output, timelineExcerpt)
	text := fmt.Sprintf("%s step %d/%d %s %s: %s", run.Key(), i+1, len(run.Steps), st.Name, st.State, res.Summary)
	if excerpt != "" {
		text += "\noutput: " + excerpt
	}
	if err := r.event(tx, *run, bot.KindRunbookStepFinished, bot.SystemActor, text, map[string]any{
		"step": st.Name, "status": string(st.State), "exit_code": res.ExitCode, "output": excerpt}); err != nil {
		return err
	}
	if run.State.Final() {
		if err := r.finished(tx, *run); err != nil {
			return err
		}
	}
	return refresh(tx, *run)
}

// finished records the end of a run and says so in the channel.
func (r *Runs) finished(tx bot.Tx, run bot.RunbookRun) error {
	kind, text := bot.KindRunbookSucceeded, fmt.Sprintf("%s (%s) succeeded", run.Key(), run.Runbook)
	if run.State == bot.RunFailed {
		kind, text = bot.KindRunbookFailed, fmt.Sprintf("%s (%s) failed: %s", run.Key(), run.Runbook, run.Reason)
	}
	if err := r.event(tx, run, kind, bot.SystemActor, text, nil); err != nil {
		return err
	}
	return enqueue(tx, incidentKey(run.IncidentID), OpNotify, run, text)
}

// interrupt marks a running run interrupted: the step that was running may
// or may not have done its work, so nobody runs it again without looking.
func (r *Runs) interrupt(tx bot.Tx, run bot.RunbookRun, why string) error {
	now := r.svc.Now()
	step := ""
	for i := range run.Steps {
		switch run.Steps[i].State {
		case bot.StepRunning:
			run.Steps[i].State, run.Steps[i].FinishedAt = bot.StepInterrupted, now
			step = run.Steps[i].Name
		case bot.StepPending:
			run.Steps[i].State = bot.StepSkipped
		}
	}
	run.State, run.Reason, run.FinishedAt, run.UpdatedAt = bot.RunInterrupted, why, now, now
	ok, err := tx.UpdateRunbookRun(run, bot.RunRunning)
	if err != nil || !ok {
		return err
	}
	text := fmt.Sprintf("%s (%s) was interrupted: %s", run.Key(), run.Runbook, why)
	if step != "" {
		text += fmt.Sprintf(". Step %s may or may not have done its work: check before requesting the runbook again; sitrep will not re-run it", step)
	}
	if err := r.event(tx, run, bot.KindRunbookInterrupted, bot.SystemActor, text, map[string]any{"step": step}); err != nil {
		return err
	}
	if err := enqueue(tx, incidentKey(run.IncidentID), OpNotify, run, text); err != nil {
		return err
	}
	return refresh(tx, run)
}

// save writes a running run's progress.
func (r *Runs) save(tx bot.Tx, run bot.RunbookRun) error {
	ok, err := tx.UpdateRunbookRun(run, bot.RunRunning)
	if err == nil && !ok {
		err = fmt.Errorf("save %s: it is no longer running", run.Key())
	}
	return err
}

// Recover marks every run a dead process left running as interrupted and
// reports each in its channel; call it at start, before the dispatcher
// runs. It returns how many it marked.
func (r *Runs) Recover(ctx context.Context) (int, error) {
	runs, err := r.store.RunbookRuns(ctx, bot.RunbookRunFilter{States: []bot.RunState{bot.RunRunning}})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, run := range runs {
		if r.isActive(run.ID) {
			continue
		}
		err := r.svc.Update(ctx, func(tx bot.Tx) error {
			cur, err := tx.RunbookRun(run.ID)
			if err != nil || cur.State != bot.RunRunning {
				return err
			}
			n++
			return r.interrupt(tx, cur, "sitrep stopped while it ran")
		})
		if err != nil {
			return n, fmt.Errorf("mark %s interrupted: %w", run.Key(), err)
		}
	}
	return n, nil
}

// Wait blocks until the runs executing in this process have finished.
func (r *Runs) Wait() { r.wg.Wait() }

// Shutdown waits for runs in flight until ctx ends, then cancels them:
// their steps are killed and the runs recorded interrupted. It returns
// ctx's error when it had to cancel.
func (r *Runs) Shutdown(ctx context.Context) error {
	done := make(chan struct{})
	go func() { r.wg.Wait(); close(done) }()
	select {
	case <-done:
		r.cancel()
		return nil
	case <-ctx.Done():
	}
	r.cancel()
	<-done
	return ctx.Err()
}

// Excerpt returns at most max bytes of s, cut at a character boundary,
// marked when cut.
func Excerpt(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + fmt.Sprintf("… (%d more bytes)", len(s)-cut)
}
