-- Why: the incident core. Incidents with their key times, an append-only
-- timeline, and the outbox that lets chat and pager calls happen after the
-- change that caused them has committed (and survive a crash or a vendor
-- outage).

CREATE TABLE incidents (
    id              INTEGER PRIMARY KEY AUTOINCREMENT, -- INC-<id>; never reused
    title           TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    severity        INTEGER NOT NULL CHECK (severity BETWEEN 1 AND 4),
    status          TEXT NOT NULL CHECK (status IN ('triggered','investigating','identified','monitoring','resolved')),
    commander       TEXT NOT NULL DEFAULT '',
    comms_lead      TEXT NOT NULL DEFAULT '',
    private         INTEGER NOT NULL DEFAULT 0,
    channel_id      TEXT NOT NULL DEFAULT '',
    channel_name    TEXT NOT NULL DEFAULT '',
    card_ts         TEXT NOT NULL DEFAULT '',
    source          TEXT NOT NULL DEFAULT '',
    dedup_key       TEXT NOT NULL DEFAULT '',
    source_url      TEXT NOT NULL DEFAULT '',
    labels          TEXT NOT NULL DEFAULT '{}',
    -- Times are UTC, RFC 3339 with nanoseconds; '' is unset.
    detected_at     TEXT NOT NULL DEFAULT '',
    declared_at     TEXT NOT NULL DEFAULT '',
    acknowledged_at TEXT NOT NULL DEFAULT '',
    mitigated_at    TEXT NOT NULL DEFAULT '',
    resolved_at     TEXT NOT NULL DEFAULT '',
    last_update_at  TEXT NOT NULL DEFAULT '',
    updated_at      TEXT NOT NULL DEFAULT ''
);

-- Dedup is the database's job: at most one open incident per source key, so
-- concurrent deliveries of one alert cannot open two incidents.
CREATE UNIQUE INDEX incidents_open_dedup ON incidents (source, dedup_key)
    WHERE status <> 'resolved' AND dedup_key <> '';
CREATE INDEX incidents_channel ON incidents (channel_id) WHERE channel_id <> '';
CREATE INDEX incidents_status ON incidents (status, resolved_at);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id INTEGER NOT NULL REFERENCES incidents (id),
    occurred_at TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    kind        TEXT NOT NULL,
    actor       TEXT NOT NULL,
    text        TEXT NOT NULL,
    data        TEXT NOT NULL DEFAULT '{}',
    source_url  TEXT NOT NULL DEFAULT '',
    dedup_key   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX events_incident ON events (incident_id, occurred_at, id);
-- A redelivered alert or a second reaction on a pinned message is stored once.
CREATE UNIQUE INDEX events_dedup ON events (incident_id, dedup_key) WHERE dedup_key <> '';

CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    key             TEXT NOT NULL,  -- entries of one key are delivered in id order
    op              TEXT NOT NULL,
    incident_id     INTEGER NOT NULL DEFAULT 0,
    payload         TEXT NOT NULL DEFAULT '{}',
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending','sending','delivered','failed','superseded')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    last_error      TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    delivered_at    TEXT NOT NULL DEFAULT '',
    result          TEXT NOT NULL DEFAULT '',
    uncertain       INTEGER NOT NULL DEFAULT 0, -- an attempt was in flight when the process died
    coalesce_key    TEXT NOT NULL DEFAULT ''
);
CREATE INDEX outbox_unfinished ON outbox (key, id) WHERE state IN ('pending','sending');
CREATE INDEX outbox_due ON outbox (next_attempt_at, id) WHERE state = 'pending';
CREATE INDEX outbox_coalesce ON outbox (coalesce_key) WHERE state = 'pending' AND coalesce_key <> '';
