-- Content-addressed bytes (design images), each kept once and counted by its users.
CREATE TABLE blobs (
    hash TEXT PRIMARY KEY,                -- hex SHA-256 of data
    size BIGINT NOT NULL,
    refs BIGINT NOT NULL CHECK (refs >= 0),
    data BLOB NOT NULL
);

-- Small records of other modules, by namespace and key.
CREATE TABLE kv (
    ns TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    expires_at BIGINT,                    -- NULL: never
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (ns, key)
);
