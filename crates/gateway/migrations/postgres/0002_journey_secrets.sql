-- The column holds the journey's sealed secrets (state and PKCE pair), not
-- only the verifier; the response cache was never used. The key fingerprint
-- lets a reused Idempotency-Key with a different body be refused.
-- Not rolling-compatible: see docs/production.md ("Upgrading to 0.2").
ALTER TABLE requests RENAME COLUMN pkce_verifier TO journey_secrets;
ALTER TABLE requests DROP COLUMN response_cache;
ALTER TABLE requests ADD COLUMN idempotency_fingerprint BYTEA;
