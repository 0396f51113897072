-- The catalogue is a merge of per-issuer results (DigiLocker fronts about two
-- thousand issuers, some failing on any day): each issuer has its own state,
-- a failing one is retried on its own with backoff, and keeps the entries of
-- its last good answer. The row with org_id '' is the issuer list itself.
CREATE TABLE catalogue_issuers (
    org_id TEXT PRIMARY KEY,
    org_name TEXT NOT NULL,
    issuer_id TEXT NOT NULL,
    ok BIGINT NOT NULL,
    attempts BIGINT NOT NULL,
    failing_since BIGINT,
    last_ok_at BIGINT,
    last_error TEXT,
    next_try_at BIGINT NOT NULL
);
-- How complete the current version is: issuers listed, failing, not yet asked.
ALTER TABLE catalogue_meta ADD COLUMN issuers BIGINT NOT NULL DEFAULT 0;
ALTER TABLE catalogue_meta ADD COLUMN failing BIGINT NOT NULL DEFAULT 0;
ALTER TABLE catalogue_meta ADD COLUMN pending BIGINT NOT NULL DEFAULT 0;
