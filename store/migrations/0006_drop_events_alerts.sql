-- Why: every event insert wrote an entry to events_alerts (incident_id,
-- kind) as well as to events_incident (incident_id, occurred_at, id) and
-- the table itself. In an alert storm those entries are most of what a
-- commit writes to the WAL, on the one writer every webhook waits for
-- (docs/benchmarks.md). events_alerts served a single query, AlertCounts'
-- count of an incident's alert events, run once per alert summary (at most
-- once per summary window per incident); events_incident serves it as well
-- by reading the incident's events, which in a storm are nearly all alert
-- events anyway. The latest-alert query already used events_incident.
-- EXPLAIN QUERY PLAN of both AlertCounts queries after this:
-- SEARCH events USING INDEX events_incident (incident_id=?).

DROP INDEX IF EXISTS events_alerts;
