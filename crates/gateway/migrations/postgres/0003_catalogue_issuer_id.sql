-- The issuer's id as DigiLocker writes it in document URIs (in.gov.pan):
-- after a pull answers uri_exists, the gateway finds the document among the
-- user's issued files by doc type and this id.
ALTER TABLE catalogue ADD COLUMN issuer_id TEXT NOT NULL DEFAULT '';
