-- A revoke DigiLocker has yet to confirm. The user's withdrawal is honoured
-- locally at once (everything of the request erased in the same transaction
-- that adds this row); the DigiLocker token, sealed with the master key, waits
-- here only until DigiLocker accepts its revocation or the token expires by
-- itself, then the row goes.
CREATE TABLE upstream_revokes (
    request_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    token_sealed BYTEA NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX upstream_revokes_due ON upstream_revokes (next_attempt_at);
