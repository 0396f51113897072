-- Deliveries are claimed a few per client in turn, so one client's backlog
-- (or a receiver that hangs) never holds up another's events: each claim
-- reads every due client's first pending deliveries through this index.
CREATE INDEX deliveries_pending_client
    ON deliveries (client_id, next_attempt_at, event_id) WHERE state = 'pending';
