-- From store/migrations/0014_run_heartbeat.sql:
-- Why: with several replicas on one database a run left running is not
-- necessarily a dead process's: the replica executing a run records itself
-- (runner) and renews a heartbeat while its steps run, and another replica
-- marks the run interrupted only when that heartbeat is older than the
-- heartbeat timeout. Times are UTC, RFC 3339 with nanoseconds; '' is unset
-- (a run from before this migration: counts as stale).

ALTER TABLE runbook_runs ADD COLUMN runner TEXT NOT NULL DEFAULT '';
ALTER TABLE runbook_runs ADD COLUMN heartbeat_at TEXT NOT NULL DEFAULT '';
