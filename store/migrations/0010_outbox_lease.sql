-- Why: with several replicas on one database, an outbox entry left sending
-- by a replica that died must come back without waiting for that replica to
-- restart (it may never). A claim is a lease: claimed_by names the claimer,
-- lease_until (UTC RFC 3339, '' for no lease) is when another claimer may
-- take the entry over, marked uncertain. The index finds lapsed leases.
ALTER TABLE outbox ADD COLUMN claimed_by TEXT NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN lease_until TEXT NOT NULL DEFAULT '';
CREATE INDEX outbox_leased ON outbox (lease_until) WHERE state = 'sending';
