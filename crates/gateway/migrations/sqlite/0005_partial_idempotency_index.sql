-- Only keyed creates need the (client, key) index. As a full index over
-- every request it could win the planner's choice for lookups by id and
-- client (a plan cached on a fresh table then read a client's every row);
-- partial, it holds only the keyed requests and serves only key lookups.
DROP INDEX requests_idempotency;
CREATE UNIQUE INDEX requests_idempotency ON requests(client_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
