package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"

	"github.com/sitrep-io/sitrep/internal/app"
	"github.com/sitrep-io/sitrep/runbooks"
)

// defaultRunbooksDir is runbooks.dir's default: when it is missing sitrep
// starts without runbooks; a configured directory that is missing is an
// error.
const defaultRunbooksDir = "./runbooks"

// runbooksConfig loads the runbooks and turns on their commands, buttons
// and outbox handlers in ac. exec configures the step executors (its zero
// value: production defaults); its WorkDir is set here. It returns the
// loaded catalog (the Slack edge builds parameter forms from it).
func runbooksConfig(cfg Config, ac *app.Config, log *slog.Logger, exec runbooks.Options) (*runbooks.Catalog, error) {
	cat, err := loadRunbooks(cfg.Runbooks.Dir, log)
	if err != nil {
		return nil, err
	}
	workDir, err := filepath.Abs(cfg.Runbooks.Dir)
	if err != nil {
		return nil, fmt.Errorf("runbooks directory %s: %w", cfg.Runbooks.Dir, err)
	}
	exec.WorkDir = workDir
	ac.Runbooks = &runbooks.RunsConfig{Catalog: cat, Logger: log,
		DefaultExpiry: cfg.Runbooks.ApprovalExpires, Executor: runbooks.NewExecutors(exec),
		Shared: cfg.onPostgres(), HeartbeatTimeout: cfg.Runbooks.HeartbeatTimeout}
	log.Info("runbooks loaded", "dir", workDir, "count", len(cat.List()))
	return cat, nil
}

// startRunbooks marks runs a dead process left running as interrupted and
// starts the heartbeats of the runs this process executes. On SQLite (one
// process) every run left running is marked at start; on PostgreSQL
// (replicas) only runs whose heartbeat is stale, at start and then
// periodically: a replica starting never marks another live replica's
// runs. Call it before the dispatcher runs. It returns a stop that waits
// for runs in flight (up to the shutdown timeout) and then cuts them off.
func startRunbooks(ctx context.Context, cfg Config, runs *runbooks.Runs, log *slog.Logger) (stop func(), err error) {
	recoverDead := runs.Recover
	if cfg.onPostgres() {
		recoverDead = runs.Beat
	}
	n, err := recoverDead(ctx)
	if err != nil {
		return nil, fmt.Errorf("recover runbook runs: %w", err)
	}
	if n > 0 {
		log.Warn("runbook runs were running when sitrep stopped; marked interrupted, not re-run", "count", n)
	}
	runs.StartHeartbeats()
	return func() {
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		if err := runs.Shutdown(sctx); err != nil {
			log.Warn("runbook runs were cut off at shutdown and marked interrupted", "err", err)
		}
	}, nil
}

// loadRunbooks loads the catalog; every problem in the files is reported
// with file:line.
func loadRunbooks(dir string, log *slog.Logger) (*runbooks.Catalog, error) {
	cat, err := runbooks.Load(dir)
	if errors.Is(err, fs.ErrNotExist) && dir == defaultRunbooksDir {
		log.Warn("no runbooks directory; runbooks are off", "dir", dir)
		return runbooks.NewCatalog("", nil)
	}
	if err != nil {
		return nil, fmt.Errorf("runbooks in %s (check them with `sitrep runbooks validate`):\n%w", dir, err)
	}
	for _, w := range cat.Warnings() {
		log.Warn("runbook: " + w)
	}
	return cat, nil
}
