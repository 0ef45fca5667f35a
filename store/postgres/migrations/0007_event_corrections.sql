-- Why: timeline corrections (the web view and the REST API). An event can be
-- hidden (it stays, marked, and is shown struck through to anyone who asks)
-- and its time can be corrected; each correction is itself an event.
ALTER TABLE events ADD COLUMN hidden BOOLEAN NOT NULL DEFAULT false;
