package runbooks

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// baseEnv are the variables every exec step gets from the bot's
// environment (when set there).
var baseEnv = []string{"PATH", "HOME", "LANG"}

// ExecExecutor runs exec steps: the argv is executed directly (never via a
// shell) in its own process group, with an allowlisted environment, a
// timeout that kills the whole process group, and capped output.
type ExecExecutor struct{ opts Options }

// NewExecExecutor returns an exec executor (see [Options]).
func NewExecExecutor(opts Options) *ExecExecutor { return &ExecExecutor{opts: opts.withDefaults()} }

// ExecDetails are the Result.Details of an exec step.
type ExecDetails struct {
	Argv     []string
	Dir      string
	Duration time.Duration
	TimedOut bool // killed because the step timeout elapsed
	Canceled bool // killed because the caller's context was canceled
	// EnvNames are the names of the variables passed to the process
	// (values are never reported).
	EnvNames []string
}

// Execute runs step.Exec.Argv. The child's environment contains only PATH,
// HOME and LANG and the variables named in step.Env, copied from
// Options.LookupEnv when set; nothing else is inherited. Stdout and stderr
// are captured together, keeping Options.OutputLimit bytes and counting
// the rest. When the step's timeout elapses or ctx is canceled the whole
// process group is killed with SIGKILL; any process of the group still
// alive after the command exits is killed too, so steps must not leave
// background processes behind.
//
// A non-zero exit, a kill or a failure to start yields a failed Result and
// a nil error; see [Executor] for when an error is returned.
func (e *ExecExecutor) Execute(ctx context.Context, step RenderedStep) (Result, error) {
	if step.Action != ActionExec || step.Exec == nil {
		return Result{}, wrongAction(ActionExec, step)
	}
	argv := step.Exec.Argv
	if len(argv) == 0 || argv[0] == "" {
		return Result{}, errors.New("runbooks: exec step has an empty argv")
	}
	o := e.opts
	timeout := step.Exec.Timeout
	if timeout <= 0 {
		timeout = DefaultExecTimeout
	}
	dir := step.Exec.Dir
	if o.WorkDir != "" {
		dir = o.WorkDir
	}

	env := []string{} // non-nil: a nil Env would inherit the bot's environment
	var names []string
	var secrets redactor
	seen := map[string]bool{}
	for i, name := range append(append([]string(nil), baseEnv...), step.Env...) {
		if seen[name] {
			continue
		}
		seen[name] = true
		if v, ok := o.LookupEnv(name); ok {
			env = append(env, name+"="+v)
			names = append(names, name)
			if i >= len(baseEnv) {
				secrets = append(secrets, v)
			}
		}
	}

	details := &ExecDetails{Argv: append([]string(nil), argv...), Dir: dir, EnvNames: names}
	res := Result{ExitCode: -1, Details: details, Started: o.Now()}
	t0 := time.Now()

	runCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(runCtx, argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		// Kill the whole process group, not just the leader.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = o.KillGrace
	out := &cappedBuffer{limit: o.OutputLimit}
	cmd.Stdout = out
	cmd.Stderr = out

	if err := cmd.Start(); err != nil {
		res.Finished = o.Now()
		res.Status = StatusFailed
		res.Summary = "could not start " + argv[0] + ": " + secrets.apply(err.Error())
		details.Duration = time.Since(t0)
		return res, nil
	}
	pgid := cmd.Process.Pid
	waitErr := cmd.Wait()
	// Reap stragglers left in the process group (best effort; ESRCH when
	// the group is already gone).
	_ = syscall.Kill(-pgid, syscall.SIGKILL)

	details.Duration = time.Since(t0)
	res.Finished = o.Now()
	res.Output = secrets.apply(out.String())
	res.OutputDropped = out.dropped
	if cmd.ProcessState != nil {
		res.ExitCode = cmd.ProcessState.ExitCode()
	}
	dur := details.Duration.Round(time.Millisecond)
	switch {
	case runCtx.Err() != nil && ctx.Err() != nil:
		details.Canceled = true
		res.Status = StatusFailed
		res.Summary = fmt.Sprintf("canceled after %s (process group killed)", dur)
	case runCtx.Err() != nil:
		details.TimedOut = true
		res.Status = StatusFailed
		res.Summary = fmt.Sprintf("timed out after %s (process group killed)", timeout)
	case waitErr == nil:
		res.Status = StatusSucceeded
		res.Summary = fmt.Sprintf("exited 0 after %s", dur)
	case errors.Is(waitErr, exec.ErrWaitDelay) && res.ExitCode == 0:
		res.Status = StatusSucceeded
		res.Summary = fmt.Sprintf("exited 0 after %s (left background processes holding its output; they were killed)", dur)
	case res.ExitCode > 0:
		res.Status = StatusFailed
		res.Summary = fmt.Sprintf("exited %d after %s", res.ExitCode, dur)
	default:
		res.Status = StatusFailed
		res.Summary = fmt.Sprintf("failed after %s: %s", dur, secrets.apply(waitErr.Error()))
	}
	if res.Status == StatusFailed {
		if l := lastLine(res.Output); l != "" {
			res.Summary += ": " + l
		}
	}
	return res, nil
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := strings.TrimSpace(lines[i]); l != "" && !strings.HasPrefix(l, "… ") {
			return firstLine(l, 200)
		}
	}
	return ""
}
