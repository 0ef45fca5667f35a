-- Why: runbook runs are a persisted state machine (requested → approved |
-- denied | expired → running → succeeded | failed | interrupted). The state
-- lives in the database so that a double click, a Slack retry or two
-- approvers racing change it once (a conditional UPDATE on state), and so
-- that a run left running by a process that died is found and marked
-- interrupted at the next start instead of being run again.

CREATE TABLE runbook_runs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT, -- RUN-<id>; never reused
    incident_id    INTEGER NOT NULL REFERENCES incidents (id),
    runbook        TEXT NOT NULL,
    title          TEXT NOT NULL DEFAULT '',
    params         TEXT NOT NULL DEFAULT '{}', -- JSON object of the bound values
    -- JSON array: each step rendered (exactly what runs) and its outcome,
    -- with output capped by the executor.
    steps          TEXT NOT NULL DEFAULT '[]',
    state          TEXT NOT NULL CHECK (state IN ('requested','approved','denied','expired',
                                                  'running','succeeded','failed','interrupted')),
    needs_approval INTEGER NOT NULL DEFAULT 0,
    approvers      TEXT NOT NULL DEFAULT '[]', -- JSON array of id lists, one per gated step
    two_person     INTEGER NOT NULL DEFAULT 0,
    -- Times are UTC, RFC 3339 with nanoseconds; '' is unset.
    expires_at     TEXT NOT NULL DEFAULT '',
    requested_by   TEXT NOT NULL,
    requested_at   TEXT NOT NULL,
    decided_by     TEXT NOT NULL DEFAULT '',
    decided_at     TEXT NOT NULL DEFAULT '',
    reason         TEXT NOT NULL DEFAULT '',
    started_at     TEXT NOT NULL DEFAULT '',
    finished_at    TEXT NOT NULL DEFAULT '',
    card_channel   TEXT NOT NULL DEFAULT '',
    card_ts        TEXT NOT NULL DEFAULT '',
    updated_at     TEXT NOT NULL DEFAULT ''
);
CREATE INDEX runbook_runs_incident ON runbook_runs (incident_id, id);
-- The start-up scan for runs a dead process left running.
CREATE INDEX runbook_runs_unfinished ON runbook_runs (state) WHERE state IN ('requested','approved','running');
