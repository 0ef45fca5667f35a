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
	}
}
