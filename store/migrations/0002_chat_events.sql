-- Why: Slack redelivers an event it thinks failed (X-Slack-Retry-Num over
-- HTTP, retry_attempt in Socket Mode) and may deliver one twice. Its
-- event_id is globally unique, so it is remembered here, in the same
-- transaction as the event's effect: a redelivery finds its mark and changes
-- nothing. Marks are pruned after a retention longer than Slack's retries.

CREATE TABLE chat_events (
    source      TEXT NOT NULL, -- the chat platform, e.g. 'slack'
    event_id    TEXT NOT NULL, -- the platform's delivery id (Slack's event_id)
    received_at TEXT NOT NULL, -- UTC RFC 3339; pruning goes by it
    PRIMARY KEY (source, event_id)
);
CREATE INDEX chat_events_received ON chat_events (received_at);
