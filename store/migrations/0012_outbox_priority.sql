-- Why: people before automation (issue 14, item 2). During an alert storm
-- the outbox holds dozens of alert-opened incidents' channels, cards and
-- summaries waiting for Slack's per-method limits; a channel a person
-- declares at that moment must not queue behind them. Each entry gets a
-- priority at enqueue (bot.DeliveryPriority: a person's action above
-- automation's, then the incident's severity), claims take the highest
-- priority first, and an entry is raised to the priority of any later
-- entry of its key, so per-key order never holds a person's action behind
-- a low-priority head. Existing entries keep priority 0 (automation,
-- lowest), the order they had before.
-- No index: a claim reads the due entries through outbox_due and sorts
-- them, a few hundred at most even in a storm.

ALTER TABLE outbox ADD COLUMN priority INTEGER NOT NULL DEFAULT 0;
