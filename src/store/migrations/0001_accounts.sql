-- Accounts. Times are microseconds since the Unix epoch (UTC) in BIGINT on both backends.
CREATE TABLE users (
    id TEXT PRIMARY KEY,                  -- uuid4
    email TEXT NOT NULL UNIQUE,           -- normalised: trimmed, ASCII lower case
    name TEXT NOT NULL,
    password_hash TEXT NOT NULL,          -- crypto_pwhash_str: $argon2id$v=19$m=...,t=...,p=1$salt$hash
    created_at BIGINT NOT NULL,
    designs_count BIGINT NOT NULL DEFAULT 0
);

-- Bearer tokens, kept only as the hex SHA-256 of the token text: a copy of this table
-- lets no one in. 256 random bits need no slow hash.
CREATE TABLE tokens (
    hash TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX tokens_user ON tokens (user_id, expires_at);

-- Failed logins per subject ('email:<normalised email>' or 'addr:<client address>') in a
-- window that starts with the first failure.
CREATE TABLE login_failures (
    subject TEXT PRIMARY KEY,
    failures BIGINT NOT NULL,
    window_start BIGINT NOT NULL
);
