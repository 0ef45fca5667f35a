-- Why: see store/migrations/0009_next_update.sql (the promised time of the
-- next status update, which the reminder schedule follows).
ALTER TABLE incidents ADD COLUMN next_update_at TEXT NOT NULL DEFAULT '';
