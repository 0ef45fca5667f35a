-- From store/migrations/0010_run_cancelled.sql:
-- Why: resolving an incident cancels its runbook requests that still wait
-- for approval, which needs a state of its own: requested → cancelled.

ALTER TABLE runbook_runs DROP CONSTRAINT runbook_runs_state_check;
ALTER TABLE runbook_runs ADD CONSTRAINT runbook_runs_state_check
    CHECK (state IN ('requested','approved','denied','expired','cancelled',
                     'running','succeeded','failed','interrupted'));
