-- Tables whose files may still hold bytes of rows that are gone. Release 0.1
-- wrote without `secure_delete`: the pages and cells it freed may still hold
-- what it kept in clear (the scope's document URIs with their numbers, file
-- names) or sealed with the master key alone (tokens, user details, files),
-- and migration 0004's changes left earlier versions of those rows in the
-- WAL. At start the gateway rebuilds the database file (VACUUM) when a row
-- is here, removes the rows, and truncates the WAL. See docs/production.md.
CREATE TABLE rewrites_due (
    table_name TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    since INTEGER NOT NULL
);

-- Only a database used before this release: a fresh one has no client yet
-- when this runs, and nothing to rewrite.
INSERT INTO rewrites_due (table_name, reason, since)
    SELECT t, 'upgrade', CAST(strftime('%s', 'now') AS INTEGER)
    FROM (SELECT 'requests' AS t UNION ALL SELECT 'files')
    WHERE EXISTS (SELECT 1 FROM clients);
