-- Why: alerts from PagerDuty and Alertmanager. Triage ("open a channel for
-- this alert?") is a fact about how an incident reaches chat, not a step of
-- the outage's lifecycle, so it gets its own table instead of a new incident
-- status that every listing and metric would have to learn about. The alert
-- summary is one message per incident redrawn in place, so an alert storm
-- costs chat one message, not one per alert.

CREATE TABLE alert_triage (
    incident_id INTEGER PRIMARY KEY REFERENCES incidents (id),
    state       TEXT NOT NULL CHECK (state IN ('pending','accepted','declined','closed')),
    channel_id  TEXT NOT NULL DEFAULT '', -- the triage channel
    message_ts  TEXT NOT NULL DEFAULT '', -- the triage message, once posted
    decided_by  TEXT NOT NULL DEFAULT '',
    reason      TEXT NOT NULL DEFAULT '',
    decided_at  TEXT NOT NULL DEFAULT '',
    created_at  TEXT NOT NULL
);

CREATE TABLE alert_summaries (
    incident_id INTEGER PRIMARY KEY REFERENCES incidents (id),
    channel_id  TEXT NOT NULL,
    message_ts  TEXT NOT NULL
);

-- Alert counts per incident are read on every summary redraw.
CREATE INDEX events_alerts ON events (incident_id, kind) WHERE kind IN ('alert_fired', 'alert_resolved');
-- The newest incident of a source key, open or resolved (PagerDuty events
-- about an incident sitrep already resolved).
CREATE INDEX incidents_dedup ON incidents (source, dedup_key, id) WHERE dedup_key <> '';
