-- Facts about the database itself, set once: `mode` is the mode
-- (sandbox or production) of the first start that used this database. A
-- database that has served production never starts in sandbox mode, nor
-- the reverse (their clients and requests are of a different kind).
CREATE TABLE gateway_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    set_at BIGINT NOT NULL
);
