package runbooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/sitrep-io/sitrep/bot"
)

// Outbox operations of runbook runs, delivered by the [Runs] feature.
const (
	OpExecute     = "runbook.execute"      // move an approved run to running and start its steps
	OpExpire      = "runbook.expire"       // scheduled at a request's expiry
	OpPostCard    = "runbook.post_card"    // post the approval card
	OpRefreshCard = "runbook.refresh_card" // redraw it in place (coalesced)
	OpNotify      = "runbook.notify"       // say something about a run in the incident channel
)

// DefaultApprovalExpiry is how long an approval request stays open when
// neither the runbook nor the configuration says.
const DefaultApprovalExpiry = 15 * time.Minute

// RunsConfig configures [Runs].
type RunsConfig struct {
	Catalog *Catalog
	// Chat posts and redraws approval cards and says what runs did;
	// required.
	Chat bot.Chat
	// Executor runs rendered steps; normally [NewExecutors].
	Executor Executor
	// Directory resolves user-group members (S… approvers); nil: groups
	// have no members.
	Directory bot.Directory
	// DefaultExpiry applies to approval steps without expires; default
	// DefaultApprovalExpiry.
	DefaultExpiry time.Duration
	Logger        *slog.Logger
	// Runner names this process in the runs it executes (a replica's
	// identity); default: host name and process id.
	Runner string
	// HeartbeatTimeout is how old the heartbeat of a running run must be
	// before another process (replica) marks it interrupted; default
	// DefaultHeartbeatTimeout. The executing process renews its heartbeats
	// every HeartbeatTimeout/4, at most every 10 s.
	HeartbeatTimeout time.Duration
	// Shared says that several processes (replicas) serve the database: a
	// run another process started is left to it while its heartbeat is
	// fresh. Without it this is the only process, and a run it finds
	// running that it does not run is a dead process's (SQLite).
	Shared bool
}

// DefaultHeartbeatTimeout is RunsConfig.HeartbeatTimeout's default.
const DefaultHeartbeatTimeout = 45 * time.Second

// heartbeatEvery is how often a process renews the heartbeats of its runs
// and looks for runs whose process died.
func (c RunsConfig) heartbeatEvery() time.Duration { return min(10*time.Second, c.HeartbeatTimeout/4) }

// Runs is the runbook run service: it turns requests into persisted runs,
// decides approvals on the server, and executes approved runs exactly once,
// recording every transition on the incident's timeline in the same
// transaction as the state change and the card redraw it causes.
type Runs struct {
	svc   *bot.Service
	store bot.Store
	cfg   RunsConfig
	log   *slog.Logger

	mu sync.Mutex
	// active holds the runs whose steps execute in this process, each with
	// the cancel of its steps (a no-op until they start).
	active map[int64]context.CancelFunc
	wg     sync.WaitGroup
	ctx    context.Context // steps run under it; cancelled by Shutdown
	cancel context.CancelFunc
}

// NewRuns returns the run service, a bot.Feature: Wire it to use it. A nil
// Catalog is an empty one.
func NewRuns(cfg RunsConfig) *Runs {
	if cfg.Catalog == nil {
		cfg.Catalog, _ = NewCatalog("", nil)
	}
	if cfg.DefaultExpiry <= 0 {
		cfg.DefaultExpiry = DefaultApprovalExpiry
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HeartbeatTimeout <= 0 {
		cfg.HeartbeatTimeout = DefaultHeartbeatTimeout
	}
	if cfg.Runner == "" {
		host, _ := os.Hostname()
		cfg.Runner = fmt.Sprintf("%s:%d", host, os.Getpid())
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Runs{cfg: cfg, log: cfg.Logger, active: map[int64]context.CancelFunc{}, ctx: ctx, cancel: cancel}
}

// Catalog is the runbooks the service offers.
func (r *Runs) Catalog() *Catalog { return r.cfg.Catalog }

// Request is what a person asks to run.
type Request struct {
	Actor      string
	IncidentID int64
	Runbook    string
	Params     map[string]string
}

// Plan binds the request's parameters and renders every step: exactly what
// would run. It changes nothing, so it is also the dry run. Errors are
// ENOTFOUND for an unknown runbook and EINVALID naming the parameter at
// fault.
func (r *Runs) Plan(req Request) (*Runbook, []RenderedStep, error) {
	rb, ok := r.cfg.Catalog.Get(req.Runbook)
	if !ok {
		return nil, nil, bot.Errorf(bot.ENOTFOUND, "there is no runbook %q: /incident runbooks lists them", req.Runbook)
	}
	params, err := rb.Bind(req.Params)
	if err != nil {
		return nil, nil, paramError(rb, err)
	}
	steps, err := rb.RenderAll(params)
	if err != nil {
		return nil, nil, paramError(rb, err)
	}
	return rb, steps, nil
}

// Request creates a run in the incident and posts its approval card. A
// runbook with a step that needs approval waits in state requested for one
// approval covering the whole run; one without is created approved and its
// execution queued at once. Errors: those of Plan, ENOTFOUND for a missing
// incident, EINVALID for a resolved one.
func (r *Runs) Request(ctx context.Context, req Request) (bot.RunbookRun, error) {
	rb, steps, err := r.Plan(req)
	if err != nil {
		return bot.RunbookRun{}, err
	}
	run, err := r.newRun(req, rb, steps)
	if err != nil {
		return bot.RunbookRun{}, err
	}
	err = r.svc.Update(ctx, func(tx bot.Tx) error {
		inc, err := tx.Incident(req.IncidentID)
		if err != nil {
			return err
		}
		if !inc.Open() {
			return bot.Errorf(bot.EINVALID, "%s is resolved: re-open it (/incident status investigating) before running runbooks", inc.Key())
		}
		return r.create(tx, &run)
	})
	return run, err
}

// newRun builds the run record: rendered steps and the approval policy.
func (r *Runs) newRun(req Request, rb *Runbook, steps []RenderedStep) (bot.RunbookRun, error) {
	now := r.svc.Now()
	run := bot.RunbookRun{IncidentID: req.IncidentID, Runbook: rb.Name, Title: rb.Title, Params: map[string]string{},
		State: bot.RunApproved, RequestedBy: req.Actor, RequestedAt: now, UpdatedAt: now}
	for k, v := range req.Params {
		run.Params[k] = v
	}
	var expiry time.Duration
	for _, rs := range steps {
		spec, err := json.Marshal(rs)
		if err != nil {
			return bot.RunbookRun{}, fmt.Errorf("encode step %s of %s: %w", rs.Step, rb.Name, err)
		}
		run.Steps = append(run.Steps, bot.RunStep{Name: rs.Step, Action: rs.Action, Display: rs.String(),
			NeedsApproval: rs.Approval != nil, Spec: spec, State: bot.StepPending})
		if a := rs.Approval; a != nil {
			run.NeedsApproval = true
			run.Approvers = append(run.Approvers, append([]string(nil), a.Approvers...))
			run.TwoPerson = run.TwoPerson || a.TwoPerson
			exp := a.Expires
			if exp <= 0 {
				exp = r.cfg.DefaultExpiry
			}
			if expiry == 0 || exp < expiry { // the strictest step decides
				expiry = exp
			}
		}
	}
	if run.NeedsApproval {
		run.State, run.ExpiresAt = bot.RunRequested, now.Add(expiry)
	}
	return run, nil
}

// create stores run with its requested event, its card and either its
// expiry (when it waits for approval) or its execution.
func (r *Runs) create(tx bot.Tx, run *bot.RunbookRun) error {
	if err := tx.CreateRunbookRun(run); err != nil {
		return err
	}
	text := fmt.Sprintf("requested %s: %s (%s)", run.Key(), run.Runbook, paramsText(run.Params))
	if run.NeedsApproval {
		text += "; waiting for approval until " + clock(run.ExpiresAt)
	} else {
		text += "; no approval needed"
	}
	steps := make([]string, len(run.Steps))
	for i, s := range run.Steps {
		steps[i] = s.Display
	}
	if err := r.event(tx, *run, bot.KindRunbookRequested, run.RequestedBy, text,
		map[string]any{"params": run.Params, "steps": steps, "needs_approval": run.NeedsApproval}); err != nil {
		return err
	}
	if err := enqueue(tx, incidentKey(run.IncidentID), OpPostCard, *run, ""); err != nil {
		return err
	}
	if !run.NeedsApproval {
		return enqueue(tx, executeKey(run.ID), OpExecute, *run, "")
	}
	d, err := bot.NewDelivery(fmt.Sprintf("runbook-expiry:%d", run.ID), OpExpire, run.IncidentID, runPayload{Run: run.ID})
	if err != nil {
		return err
	}
	d.NextAttemptAt = run.ExpiresAt
	return tx.Enqueue(d)
}

// runPayload is the payload of every runbook outbox op.
type runPayload struct {
	Run  int64  `json:"run"`
	Text string `json:"text,omitempty"` // OpNotify
}

func incidentKey(id int64) string { return fmt.Sprintf("incident:%d", id) }

// executeKey is per run, so one run's steps never wait behind another's.
func executeKey(runID int64) string { return fmt.Sprintf("runbook-run:%d", runID) }

func enqueue(tx bot.Tx, key, op string, run bot.RunbookRun, text string) error {
	d, err := bot.NewDelivery(key, op, run.IncidentID, runPayload{Run: run.ID, Text: text})
	if err != nil {
		return err
	}
	return tx.Enqueue(d)
}

// refresh queues a redraw of the run's card; only the newest queued redraw
// is sent.
func refresh(tx bot.Tx, run bot.RunbookRun) error {
	d, err := bot.NewDelivery(incidentKey(run.IncidentID), OpRefreshCard, run.IncidentID, runPayload{Run: run.ID})
	if err != nil {
		return err
	}
	d.Coalesce = fmt.Sprintf("runbook-card:%d", run.ID)
	return tx.Enqueue(d)
}

// event appends a timeline event about run.
func (r *Runs) event(tx bot.Tx, run bot.RunbookRun, kind bot.EventKind, actor, text string, data map[string]any) error {
	now := r.svc.Now()
	if data == nil {
		data = map[string]any{}
	}
	data["run"], data["runbook"] = run.ID, run.Runbook
	ev := bot.Event{IncidentID: run.IncidentID, OccurredAt: now, RecordedAt: now, Kind: kind, Actor: actor, Text: text, Data: data}
	if _, err := tx.AppendEvent(&ev); err != nil {
		return fmt.Errorf("append %s event: %w", kind, err)
	}
	return nil
}

// paramError turns Bind and Render errors into one EINVALID error naming
// every parameter at fault.
func paramError(rb *Runbook, err error) error {
	var msgs []string
	field := ""
	for _, e := range flatten(err) {
		var pe *ParamError
		if errors.As(e, &pe) && field == "" {
			field = pe.Param
		}
		msgs = append(msgs, e.Error())
	}
	return &bot.Error{Code: bot.EINVALID, Field: field,
		Message: strings.Join(msgs, "; ") + ". Usage: /incident run " + Syntax(rb)}
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// Syntax is how to run rb from the command line: its name and parameters,
// optional ones in brackets.
func Syntax(rb *Runbook) string {
	parts := []string{rb.Name}
	for _, p := range rb.Params {
		switch {
		case p.Required:
			parts = append(parts, p.Name+"=…")
		default:
			parts = append(parts, "["+p.Name+"=…]")
		}
	}
	return strings.Join(parts, " ")
}

func paramsText(params map[string]string) string {
	if len(params) == 0 {
		return "no parameters"
	}
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + params[k]
	}
	return strings.Join(parts, " ")
}

func clock(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }
