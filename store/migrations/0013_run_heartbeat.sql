-- Why: with several replicas on one database a run left running is not
-- necessarily a dead process's: the replica executing a run records itself
-- (runner) and renews a heartbeat while its steps run, and another replica
-- marks the run interrupted only when that heartbeat is older than the
-- heartbeat timeout. Runs from before this migration have no heartbeat: if
-- one is still running, it counts as stale (its process is gone).

ALTER TABLE runbook_runs ADD COLUMN runner TEXT NOT NULL DEFAULT '';
ALTER TABLE runbook_runs ADD COLUMN heartbeat_at TEXT NOT NULL DEFAULT '';
