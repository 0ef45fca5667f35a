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
// finds already running that no process is running (this one is not, and
// its heartbeat is stale) was cut off by a process that died after starting
// it: it is marked interrupted and reported, never run again. A run another
// live replica runs is left to it. Any other state means the run was
// handled.
func (r *Runs) execute(ctx context.Context, d bot.Delivery) (any, error) {
	var p runPayload
	if err := json.Unmarshal(d.Payload, &p); err != nil {
		return nil, fmt.Errorf("decode %s: %w", d.Op, err)
	}
	var start *bot.RunbookRun
	// The run counts as this process's from before the transaction that
	// starts it commits: a heartbeat pass in between must not take it for
	// a dead process's.
	reserved := r.reserve(p.Run)
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
			run.Runner, run.HeartbeatAt = r.cfg.Runner, now
			ok, err := tx.UpdateRunbookRun(run, bot.RunApproved)
			if err != nil || !ok {
				return err
			}
			start = &run
			return refresh(tx, run)
		case bot.RunRunning:
			if !reserved || !r.stale(run) {
				return nil // a repeated delivery while this process or another live one runs it
			}
			return r.interrupt(tx, run, "sitrep stopped while it ran; its execution was retried")
		}
		return nil
	})
	if err != nil || start == nil {
		if reserved {
			r.release(p.Run)
		}
		if err != nil {
			return nil, fmt.Errorf("start %s: %w", bot.RunKey(p.Run), err)
		}
		return nil, nil
	}
	r.launch(*start)
	return nil, nil
}

// reserve marks run id as executing in this process, and reports false if
// it already was (a repeated delivery while it runs here).
func (r *Runs) reserve(id int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.active[id]; ok {
		return false
	}
	r.active[id] = func() {}
	return true
}

func (r *Runs) release(id int64) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.active, id)
}

// launch runs the steps of a run reserved and moved to running in the
// background.
func (r *Runs) launch(run bot.RunbookRun) {
	ctx, cancel := context.WithCancel(r.ctx)
	r.mu.Lock()
	r.active[run.ID] = cancel
	r.wg.Add(1)
	r.mu.Unlock()
	go func() {
		defer r.wg.Done()
		defer func() {
			r.mu.Lock()
			delete(r.active, run.ID)
			r.mu.Unlock()
			cancel()
		}()
		r.runSteps(ctx, run)
	}()
}

func (r *Runs) isActive(id int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.active[id]
	return ok
}

// runSteps executes the steps in order, recording each; the first failure
// fails the run and the rest are skipped. Steps run under ctx, cancelled
// at shutdown or when another process has marked the run interrupted.
func (r *Runs) runSteps(ctx context.Context, run bot.RunbookRun) {
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
		res, err := r.cfg.Executor.Execute(ctx, rs)
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
	run.UpdatedAt, run.HeartbeatAt = now, now
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
// runs, when this is the only process on the database (SQLite): every run
// it finds running is then a dead process's, whatever its heartbeat. With
// several replicas call [Runs.Beat] instead. It returns how many it marked.
func (r *Runs) Recover(ctx context.Context) (int, error) {
	return r.interruptDead(ctx, func(bot.RunbookRun) bool { return true }, "sitrep stopped while it ran")
}

// stale reports whether the process that ran run (not this one) is gone:
// its heartbeat is older than the heartbeat timeout. A run without a
// heartbeat (from before heartbeats were recorded) is stale. With one
// process on the database every run it does not run is.
func (r *Runs) stale(run bot.RunbookRun) bool {
	if !r.cfg.Shared {
		return true // the only process, and not running it
	}
	return !run.HeartbeatAt.After(r.svc.Now().Add(-r.cfg.HeartbeatTimeout))
}

// Beat renews the heartbeats of the runs this process executes, then marks
// interrupted, and reports, every running run whose heartbeat is stale: its
// replica died while a step ran. A run whose replica is alive is never
// marked. It returns how many it marked; [Runs.StartHeartbeats] calls it
// periodically.
func (r *Runs) Beat(ctx context.Context) (int, error) {
	r.mu.Lock()
	mine := make([]int64, 0, len(r.active))
	for id := range r.active {
		mine = append(mine, id)
	}
	r.mu.Unlock()
	for _, id := range mine {
		renewed, err := r.recordOnce(id, func(tx bot.Tx, run *bot.RunbookRun) error {
			run.Runner, run.HeartbeatAt = r.cfg.Runner, r.svc.Now()
			return r.save(tx, *run)
		})
		if err != nil {
			return 0, fmt.Errorf("renew the heartbeat of %s: %w", bot.RunKey(id), err)
		}
		if !renewed {
			r.stopTakenOver(id)
		}
	}
	return r.interruptDead(ctx, r.stale, "")
}

// stopTakenOver kills the steps of a run this process executes that is no
// longer running in the database: another replica found its heartbeat
// stale (this process lost the database for longer than the timeout) and
// reported it interrupted, so nothing more of it may run here. A run still
// being started (reserved, its start not committed) is left alone.
func (r *Runs) stopTakenOver(id int64) {
	run, err := r.store.RunbookRun(context.WithoutCancel(r.ctx), id)
	if err != nil || run.State == bot.RunRunning || run.State == bot.RunApproved {
		return
	}
	r.mu.Lock()
	cancel := r.active[id]
	r.mu.Unlock()
	if cancel != nil {
		r.log.Warn("runbook run was marked interrupted by another sitrep process; stopping its step here", "run", id, "state", run.State)
		cancel()
	}
}

// interruptDead marks interrupted the running runs this process does not
// run for which dead holds, re-checked in the transaction that marks them
// (so a heartbeat renewed meanwhile wins). why "" says that the runner's
// heartbeat stopped.
func (r *Runs) interruptDead(ctx context.Context, dead func(bot.RunbookRun) bool, why string) (int, error) {
	runs, err := r.store.RunbookRuns(ctx, bot.RunbookRunFilter{States: []bot.RunState{bot.RunRunning}})
	if err != nil {
		return 0, err
	}
	n := 0
	for _, run := range runs {
		if r.isActive(run.ID) || !dead(run) {
			continue
		}
		err := r.svc.Update(ctx, func(tx bot.Tx) error {
			cur, err := tx.RunbookRun(run.ID)
			if err != nil || cur.State != bot.RunRunning || r.isActive(cur.ID) || !dead(cur) {
				return err
			}
			n++
			reason := why
			if reason == "" {
				reason = fmt.Sprintf("the sitrep process running it (%s) stopped: no heartbeat since %s",
					cur.Runner, clock(cur.HeartbeatAt))
				if cur.HeartbeatAt.IsZero() {
					reason = "sitrep stopped while it ran"
				}
			}
			return r.interrupt(tx, cur, reason)
		})
		if err != nil {
			return n, fmt.Errorf("mark %s interrupted: %w", run.Key(), err)
		}
	}
	return n, nil
}

// StartHeartbeats calls [Runs.Beat] every quarter of the heartbeat timeout
// (at most every 10 s) until [Runs.Shutdown] has stopped the runs: while
// runs finish at shutdown their heartbeats go on.
func (r *Runs) StartHeartbeats() {
	every := r.cfg.heartbeatEvery()
	go func() {
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-r.ctx.Done():
				return
			case <-t.C:
			}
			n, err := r.Beat(r.ctx)
			switch {
			case err != nil && r.ctx.Err() == nil:
				r.log.Warn("runbook heartbeats", "err", err)
			case n > 0:
				r.log.Warn("runbook runs whose sitrep process stopped were marked interrupted, not re-run", "count", n)
			}
		}
	}()
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
