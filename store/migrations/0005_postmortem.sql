-- Why: the postmortem is drafted from the record, so what people add for it
-- is recorded too: action items (follow-ups) with their owners, the user-
-- impact times people set explicitly (the defaults are only lower bounds),
-- and what an export created at GitHub, so that exporting again updates the
-- same file, pull request and issues instead of opening new ones.

CREATE TABLE followups (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id  INTEGER NOT NULL REFERENCES incidents (id),
    text         TEXT NOT NULL,
    owner        TEXT NOT NULL DEFAULT '', -- chat user id or name; '' when unowned
    created_by   TEXT NOT NULL,
    created_at   TEXT NOT NULL,            -- UTC, RFC 3339 with nanoseconds
    event_id     INTEGER NOT NULL DEFAULT 0, -- the timeline event that recorded it
    issue_number INTEGER NOT NULL DEFAULT 0, -- its tracker issue, once exported
    issue_url    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX followups_incident ON followups (incident_id, id);

-- One row per incident; '' is unset (the draft then uses a labelled default).
CREATE TABLE impact_anchors (
    incident_id INTEGER PRIMARY KEY REFERENCES incidents (id),
    started_at  TEXT NOT NULL DEFAULT '',
    started_by  TEXT NOT NULL DEFAULT '',
    ended_at    TEXT NOT NULL DEFAULT '',
    ended_by    TEXT NOT NULL DEFAULT ''
);

-- One row per incident: the export target a re-export updates.
CREATE TABLE postmortem_exports (
    incident_id  INTEGER PRIMARY KEY REFERENCES incidents (id),
    mode         TEXT NOT NULL CHECK (mode IN ('file','issue')),
    path         TEXT NOT NULL DEFAULT '',
    branch       TEXT NOT NULL DEFAULT '',
    file_url     TEXT NOT NULL DEFAULT '',
    pr_number    INTEGER NOT NULL DEFAULT 0,
    pr_url       TEXT NOT NULL DEFAULT '',
    issue_number INTEGER NOT NULL DEFAULT 0,
    issue_url    TEXT NOT NULL DEFAULT '',
    exported_at  TEXT NOT NULL
);
