-- ANALYZE (autovacuum's too) copies up to a hundred sampled values of each
-- column into the catalog `pg_statistic`, where no erasure reaches them:
-- sealed data keys among them, which the master key opens. The planner has
-- no use for this column's samples (no query filters on its value), so none
-- are taken any more, and those taken already are dropped (changing a
-- column to its own type drops its statistics without rewriting the table).
ALTER TABLE requests ALTER COLUMN data_key SET STATISTICS 0;
ALTER TABLE requests ALTER COLUMN data_key TYPE BYTEA;

-- The dropped samples' bytes stay in pg_statistic's pages (as those of
-- release 0.1's scope column do, dropped by migration 0004) until it is
-- rewritten: the gateway does it at start when its role may (a superuser,
-- or the database's owner), else it says what to run.
INSERT INTO rewrites_due (table_name, reason, since)
    SELECT 'pg_statistic', 'upgrade', EXTRACT(EPOCH FROM now())::BIGINT
    WHERE EXISTS (SELECT 1 FROM clients)
    ON CONFLICT (table_name) DO NOTHING;
