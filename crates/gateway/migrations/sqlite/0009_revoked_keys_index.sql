-- A revoke keeps a request's data key while a file link handed out before it
-- lives; the sweeper erases the key with the last link and finds such
-- requests through this index (few rows: only revoked requests with a key).
CREATE INDEX requests_revoked_keys ON requests (id) WHERE status = 'revoked' AND data_key IS NOT NULL;
