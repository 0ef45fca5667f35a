package main

import (
	"fmt"
	"time"
)

// RunbooksConfig says where the runbooks are and how approvals behave.
type RunbooksConfig struct {
	// Dir holds the runbook YAML files; exec steps run in it.
	Dir string
	// ApprovalExpires applies to approval steps that set no expires.
	ApprovalExpires time.Duration
	// HeartbeatTimeout: on PostgreSQL, how long a running run's heartbeat
	// may be silent before another replica marks it interrupted.
	HeartbeatTimeout time.Duration
}

func runbooksSettings() []setting {
	return []setting{
		{Key: "runbooks.dir", Env: "SITREP_RUNBOOKS", Default: "./runbooks",
			Help:  "directory of runbook YAML files, loaded at start (invalid files stop the start); commands run in it",
			apply: func(c *Config, v string) error { return nonEmpty(&c.Runbooks.Dir, v, "a directory") }},
		{Key: "runbooks.approval_expires", Env: "SITREP_RUNBOOK_APPROVAL_EXPIRES", Default: "15m",
			Help: "how long a runbook approval request stays open when the runbook sets no `expires`",
			apply: func(c *Config, v string) error {
				if err := duration(&c.Runbooks.ApprovalExpires, v); err != nil {
					return err
				}
				if c.Runbooks.ApprovalExpires <= 0 {
					return fmt.Errorf("%q: must be positive (e.g. 15m)", v)
				}
				return nil
			}},
		{Key: "runbooks.heartbeat_timeout", Env: "SITREP_RUNBOOK_HEARTBEAT_TIMEOUT", Default: "45s",
			Help: "with several replicas (PostgreSQL): how long the replica running a runbook may be silent before another marks the run interrupted; heartbeats go every quarter of it, at most every 10s",
			apply: func(c *Config, v string) error {
				if err := duration(&c.Runbooks.HeartbeatTimeout, v); err != nil {
					return err
				}
				if c.Runbooks.HeartbeatTimeout < time.Second {
					return fmt.Errorf("%q: must be at least 1s (e.g. 45s)", v)
				}
				return nil
			}},
	}
}
