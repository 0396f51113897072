-- Deliveries are claimed a few per client in turn, so one client's backlog
-- (or a receiver that hangs) never holds up another's events: each claim
-- reads every due client's first pending deliveries through this index.
-- Partial: it holds only pending deliveries, not the delivered history.
-- Not CONCURRENTLY: two instances' (or test schemas') concurrent builds of
-- a partial index wait for each other's snapshots and can deadlock. The
-- build holds writes to `deliveries` while it scans the table (see
-- docs/production.md, "Upgrading").
CREATE INDEX deliveries_pending_client
    ON deliveries (client_id, next_attempt_at, event_id) WHERE state = 'pending';
