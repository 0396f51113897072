-- Crypto-shredding: every request gets its own data key, stored only sealed
-- by the master key; everything of the request is sealed with it. Erasing the
-- key makes every copy of the rest unreadable. Requests and files from before
-- this release were sealed without one: their user data is erased here (their
-- journeys end; they expire as before).
ALTER TABLE requests ADD COLUMN data_key BYTEA;
UPDATE requests SET token = NULL, user_details = NULL, journey_secrets = ''::bytea, callback_used = 1;
DELETE FROM files;

-- The scope lists document URIs (with document numbers) and file names can
-- hold them: both are sealed now.
ALTER TABLE requests DROP COLUMN scope;
ALTER TABLE requests ADD COLUMN scope_sealed BYTEA;
ALTER TABLE files DROP COLUMN filename;
ALTER TABLE files ADD COLUMN name_sealed BYTEA NOT NULL DEFAULT ''::bytea;

-- One append-only stream of what happened to each request: ids, kinds, doc
-- types, codes, times; never personal data. The consent audit trail reads it;
-- webhook deliveries are its outbox. It outlives the requests.
CREATE TABLE events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    request_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    detail TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX events_request ON events(request_id, seq);
CREATE INDEX events_client ON events(client_id, seq);
CREATE INDEX events_at ON events(at);

-- The erasure log becomes events.
INSERT INTO events (id, request_id, client_id, kind, detail, at)
    SELECT 'evt_' || replace(gen_random_uuid()::text, '-', ''), request_id, client_id, 'erased',
           '{"reason":"expired"}', erased_at FROM erasures;
DROP TABLE erasures;

-- Webhooks: a client's endpoint and signing secrets (sealed by the master key).
ALTER TABLE clients ADD COLUMN webhook_url TEXT;
ALTER TABLE clients ADD COLUMN webhook_secret BYTEA;
ALTER TABLE clients ADD COLUMN webhook_previous_secret BYTEA;
ALTER TABLE clients ADD COLUMN webhook_previous_until BIGINT;

-- Each announced event on its way to its client's webhook.
CREATE TABLE deliveries (
    event_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    state TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    locked_until BIGINT NOT NULL DEFAULT 0,
    last_status BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX deliveries_due ON deliveries(state, next_attempt_at);
CREATE INDEX deliveries_client ON deliveries(client_id, created_at);

-- Changes whenever a client does: instances cache clients and compare it.
CREATE TABLE client_generation (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO client_generation (id, generation) VALUES (1, 0);

-- Catalogue versions are allocated before a build writes its rows.
CREATE TABLE catalogue_sequence (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    next_version BIGINT NOT NULL
);
INSERT INTO catalogue_sequence (id, next_version)
    VALUES (1, COALESCE((SELECT MAX(version) FROM catalogue_meta), 0));
