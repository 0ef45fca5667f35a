-- Why: a status update can state when the next one will come ("Next
-- update by 01:30"); the reminder schedule follows that promise, also
-- across a severity change or a restart, so it is part of the incident.
-- RFC 3339 UTC like the other times; '' is unset.
ALTER TABLE incidents ADD COLUMN next_update_at TEXT NOT NULL DEFAULT '';
