-- Why: resolving an incident cancels its runbook requests that still wait
-- for approval (a click on an old card must not run anything in a resolved
-- incident), which needs a state of its own: requested → cancelled. SQLite
-- cannot change a CHECK constraint in place, so the table is rebuilt with
-- the same columns and indexes, its rows and its AUTOINCREMENT counter
-- (RUN-<id> is never reused) carried over.

CREATE TABLE runbook_runs_new (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id    INTEGER NOT NULL REFERENCES incidents (id),
    runbook        TEXT NOT NULL,
    title          TEXT NOT NULL DEFAULT '',
    params         TEXT NOT NULL DEFAULT '{}',
    steps          TEXT NOT NULL DEFAULT '[]',
    state          TEXT NOT NULL CHECK (state IN ('requested','approved','denied','expired','cancelled',
                                                  'running','succeeded','failed','interrupted')),
    needs_approval INTEGER NOT NULL DEFAULT 0,
    approvers      TEXT NOT NULL DEFAULT '[]',
    two_person     INTEGER NOT NULL DEFAULT 0,
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
INSERT INTO runbook_runs_new (id, incident_id, runbook, title, params, steps, state, needs_approval, approvers,
    two_person, expires_at, requested_by, requested_at, decided_by, decided_at, reason, started_at, finished_at,
    card_channel, card_ts, updated_at)
SELECT id, incident_id, runbook, title, params, steps, state, needs_approval, approvers,
    two_person, expires_at, requested_by, requested_at, decided_by, decided_at, reason, started_at, finished_at,
    card_channel, card_ts, updated_at
FROM runbook_runs;
DELETE FROM sqlite_sequence WHERE name = 'runbook_runs_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'runbook_runs_new', seq FROM sqlite_sequence WHERE name = 'runbook_runs';
DROP TABLE runbook_runs;
ALTER TABLE runbook_runs_new RENAME TO runbook_runs;
CREATE INDEX runbook_runs_incident ON runbook_runs (incident_id, id);
CREATE INDEX runbook_runs_unfinished ON runbook_runs (state) WHERE state IN ('requested','approved','running');
