-- Events are appended in time order; purging past retention walks them by
-- `seq`, so the index on `at` only cost every insert a b-tree write. The
-- per-client index served only the operator's export, which can scan.
DROP INDEX events_at;
DROP INDEX events_client;
