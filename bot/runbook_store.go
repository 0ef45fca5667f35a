package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// RunState is where a runbook run is in its life:
//
//	requested → approved | denied | expired | cancelled
//	approved  → running
//	running   → succeeded | failed | interrupted
//
// A run whose steps need no approval is created approved.
type RunState string

const (
	RunRequested   RunState = "requested"   // waiting for an approver
	RunApproved    RunState = "approved"    // approved; its execution is queued
	RunDenied      RunState = "denied"      // an approver said no
	RunExpired     RunState = "expired"     // nobody approved in time
	RunCancelled   RunState = "cancelled"   // its incident was resolved before anyone approved it
	RunRunning     RunState = "running"     // its steps are executing
	RunSucceeded   RunState = "succeeded"   // every step succeeded
	RunFailed      RunState = "failed"      // a step failed; later steps did not run
	RunInterrupted RunState = "interrupted" // sitrep stopped while a step ran; never re-run by itself
)

// Final reports whether nothing more will happen to a run in state s.
func (s RunState) Final() bool {
	switch s {
	case RunDenied, RunExpired, RunCancelled, RunSucceeded, RunFailed, RunInterrupted:
		return true
	}
	return false
}

// StepState is where one step of a run is.
type StepState string

const (
	StepPending     StepState = "pending"
	StepRunning     StepState = "running"
	StepSucceeded   StepState = "succeeded"
	StepFailed      StepState = "failed"
	StepSkipped     StepState = "skipped"     // an earlier step failed
	StepInterrupted StepState = "interrupted" // sitrep stopped while it ran
)

// Timeline event kinds of runbook runs.
const (
	KindRunbookRequested       EventKind = "runbook_requested"
	KindRunbookApproved        EventKind = "runbook_approved"
	KindRunbookDenied          EventKind = "runbook_denied"
	KindRunbookExpired         EventKind = "runbook_expired"
	KindRunbookCancelled       EventKind = "runbook_cancelled"
	KindRunbookApprovalRefused EventKind = "runbook_approval_refused"
	KindRunbookStepStarted     EventKind = "runbook_step_started"
	KindRunbookStepFinished    EventKind = "runbook_step_finished"
	KindRunbookSucceeded       EventKind = "runbook_succeeded"
	KindRunbookFailed          EventKind = "runbook_failed"
	KindRunbookInterrupted     EventKind = "runbook_interrupted"
)

// RunbookRun is one request to run a runbook in an incident, and what came
// of it. The steps are stored rendered: what the approver saw is exactly
// what runs.
type RunbookRun struct {
	ID         int64
	IncidentID int64
	Runbook    string // the runbook's name
	Title      string // the runbook's title
	Params     map[string]string
	Steps      []RunStep
	State      RunState

	NeedsApproval bool
	// Approvers holds one list of Slack user (U…/W…) and user-group (S…)
	// ids per step that needs approval; an approver must be allowed by
	// every list.
	Approvers [][]string
	// TwoPerson: the requester may not approve their own request.
	TwoPerson bool
	ExpiresAt time.Time // zero: no approval needed

	RequestedBy string
	RequestedAt time.Time
	DecidedBy   string // who approved or denied; "" when approval was not needed
	DecidedAt   time.Time
	Reason      string // why it was denied, expired or interrupted
	StartedAt   time.Time
	FinishedAt  time.Time

	// Runner names the process (replica) executing a running run, and
	// HeartbeatAt is when it last said it still is. With several replicas
	// on one database another replica marks the run interrupted only once
	// the heartbeat is older than the heartbeat timeout: never while the
	// replica running it is alive.
	Runner      string
	HeartbeatAt time.Time

	// The approval card, once posted.
	CardChannel string
	CardTS      string
	UpdatedAt   time.Time
}

// Key is the human id, "RUN-<n>".
func (r RunbookRun) Key() string { return RunKey(r.ID) }

// RunKey formats a run number as "RUN-<n>".
func RunKey(id int64) string { return fmt.Sprintf("RUN-%d", id) }

// ParseRunKey accepts "RUN-7", "run-7" and "7".
func ParseRunKey(s string) (int64, error) {
	t := strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "RUN-")
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 1 {
		return 0, FieldErrorf("run", "%q is not a run id: use RUN-<n> (shown on the approval card)", s)
	}
	return n, nil
}

// RunStep is one step of a run: what it will do, as the approver saw it,
// and its outcome.
type RunStep struct {
	Name          string `json:"name"`
	Action        string `json:"action"`
	Display       string `json:"display"` // the rendered step for people
	NeedsApproval bool   `json:"needs_approval,omitempty"`
	// Spec is the rendered step as the runbooks package encodes it: exactly
	// what is executed.
	Spec          json.RawMessage `json:"spec"`
	State         StepState       `json:"state"`
	Summary       string          `json:"summary,omitempty"`
	Output        string          `json:"output,omitempty"` // capped by the executor
	OutputDropped int64           `json:"output_dropped,omitempty"`
	ExitCode      int             `json:"exit_code,omitempty"`
	StartedAt     time.Time       `json:"started_at,omitzero"`
	FinishedAt    time.Time       `json:"finished_at,omitzero"`
}

// RunbookRunFilter selects runs. The zero value selects every run.
type RunbookRunFilter struct {
	IncidentID int64      // 0: any incident
	States     []RunState // empty: any state
}

// RunbookTx is the runbook side of a write transaction.
type RunbookTx interface {
	// CreateRunbookRun stores a new run and sets its ID.
	CreateRunbookRun(r *RunbookRun) error
	// RunbookRun returns a run, or ENOTFOUND.
	RunbookRun(id int64) (RunbookRun, error)
	// UpdateRunbookRun saves r only if the stored run is still in state
	// from, and reports whether it did: the guard that makes double clicks
	// and racing approvers change a run once, also when they reach
	// different processes (it compares against the committed state).
	// A read of a run by RunbookRun and the update that follows in one
	// transaction are isolated from other processes' transactions: a
	// replica that finds a heartbeat stale and marks the run interrupted
	// cannot interleave with the owner's heartbeat renewal, and the owner's
	// renewal after the takeover is not applied (the run is no longer
	// running).
	UpdateRunbookRun(r RunbookRun, from RunState) (bool, error)
}

// RunbookStore is the runbook side of the store's reads.
type RunbookStore interface {
	// RunbookRun returns a run, or ENOTFOUND.
	RunbookRun(ctx context.Context, id int64) (RunbookRun, error)
	// RunbookRuns lists the runs f selects, oldest first.
	RunbookRuns(ctx context.Context, f RunbookRunFilter) ([]RunbookRun, error)
}
