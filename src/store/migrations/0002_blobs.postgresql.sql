-- Content-addressed bytes (design images), each kept once and counted by its users.
-- Differs from SQLite in the byte type only, and in storing images uncompressed out of
-- line: they are JPEG/PNG already, so pglz would spend time for nothing.
CREATE TABLE blobs (
    hash TEXT PRIMARY KEY,                -- hex SHA-256 of data
    size BIGINT NOT NULL,
    refs BIGINT NOT NULL CHECK (refs >= 0),
    data BYTEA NOT NULL
);
ALTER TABLE blobs ALTER COLUMN data SET STORAGE EXTERNAL;

-- Small records of other modules, by namespace and key.
CREATE TABLE kv (
    ns TEXT NOT NULL,
    key TEXT NOT NULL,
    value BYTEA NOT NULL,
    expires_at BIGINT,                    -- NULL: never
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (ns, key)
);
