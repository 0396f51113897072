-- Tables whose files may still hold bytes of rows that are gone. PostgreSQL
-- keeps an updated or deleted row's old version in the table's pages, and
-- vacuum frees that space without overwriting it: only a rewrite of the
-- table (VACUUM FULL) takes the bytes out of its files. The gateway rewrites
-- each table named here and removes its row: at start for `upgrade`, and
-- after erasures (`erased`: the old versions hold data keys) at most once per
-- `erasure_rewrite_interval_seconds`. See docs/production.md.
CREATE TABLE rewrites_due (
    table_name TEXT PRIMARY KEY,
    reason TEXT NOT NULL,
    since BIGINT NOT NULL
);

-- A database used before this release may hold, in pages no statement reads,
-- what release 0.1 kept in clear (the scope's document URIs with their
-- numbers, file names) or sealed with the master key alone (tokens, user
-- details, files): migration 0004 emptied and dropped those columns, but a
-- dropped column stays in every row written before it was dropped, and the
-- emptied rows' old versions stay in the pages. (A fresh database has no
-- client yet when this runs, and nothing to rewrite.)
INSERT INTO rewrites_due (table_name, reason, since)
    SELECT t, 'upgrade', EXTRACT(EPOCH FROM now())::BIGINT
    FROM (VALUES ('requests'), ('files')) AS v(t)
    WHERE EXISTS (SELECT 1 FROM clients);
