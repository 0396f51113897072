-- Events are appended in time order; purging past retention walks them by
-- `seq`, so the index on `at` only cost every insert a b-tree write.
DROP INDEX events_at;
