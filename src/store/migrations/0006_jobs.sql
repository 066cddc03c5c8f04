-- Room jobs (POST /rooms): queued by any gateway, claimed by one worker at a time
-- (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite serialises writers anyway).
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL CHECK (status IN ('pending', 'running', 'done', 'failed')),
    request TEXT NOT NULL,                -- JSON: image_b64, prompt, options
    result TEXT,                          -- JSON, when done
    error TEXT,                           -- when failed
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jobs_pending ON jobs (status, created_at);
