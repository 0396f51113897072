-- Clients of the gateway (the businesses). Secrets are stored as SHA-256 only.
CREATE TABLE clients (
    client_id TEXT PRIMARY KEY,
    secret_hash BLOB NOT NULL,
    product_instance_id TEXT NOT NULL,
    name TEXT NOT NULL,
    allowed_origins TEXT NOT NULL DEFAULT '',
    disabled INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL
);

-- One consent journey. Tokens, user details and the PKCE verifier are encrypted.
CREATE TABLE requests (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL REFERENCES clients(client_id),
    status TEXT NOT NULL,
    redirect_url TEXT NOT NULL,
    doc_types TEXT NOT NULL DEFAULT '',
    state_hash BLOB NOT NULL UNIQUE,
    pkce_verifier BLOB NOT NULL,
    callback_used INTEGER NOT NULL DEFAULT 0,
    consent_error_code TEXT,
    consent_error_message TEXT,
    token BLOB,
    user_details BLOB,
    scope TEXT,
    idempotency_key TEXT,
    response_cache TEXT,
    created_at INTEGER NOT NULL,
    valid_upto INTEGER NOT NULL
);
CREATE INDEX requests_valid_upto ON requests(valid_upto);
CREATE UNIQUE INDEX requests_idempotency ON requests(client_id, idempotency_key);

-- Fetched files, encrypted, reachable by the SHA-256 of an unguessable link token.
CREATE TABLE files (
    token_hash BLOB PRIMARY KEY,
    request_id TEXT NOT NULL REFERENCES requests(id) ON DELETE CASCADE,
    client_id TEXT NOT NULL,
    content_type TEXT NOT NULL,
    filename TEXT NOT NULL,
    data BLOB NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX files_request ON files(request_id);
CREATE INDEX files_expires ON files(expires_at);

-- The stored copy of DigiLocker's catalogue; a build writes a new version, then switches.
CREATE TABLE catalogue (
    version INTEGER NOT NULL,
    org_id TEXT NOT NULL,
    doc_type TEXT NOT NULL,
    org_name TEXT NOT NULL,
    description TEXT NOT NULL,
    formats TEXT NOT NULL,
    parameters TEXT NOT NULL,
    PRIMARY KEY (version, org_id, doc_type)
);
CREATE TABLE catalogue_meta (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    built_at INTEGER NOT NULL,
    entries INTEGER NOT NULL
);

-- Leases make background work run on one instance at a time.
CREATE TABLE leases (
    name TEXT PRIMARY KEY,
    holder TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);

-- Erasure log: which request was erased, when, by which instance. No PII.
CREATE TABLE erasures (
    request_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    erased_at INTEGER NOT NULL,
    instance TEXT NOT NULL
);
