-- Saved designs from all three request shapes. Images are references into blobs plus the
-- form that turns the bytes back into the string the client sent: 'text' (the bytes are
-- the string) or 'base64:<prefix>' (prefix, e.g. 'data:image/png;base64,', then the
-- bytes in standard base64).
CREATE TABLE designs (
    id TEXT PRIMARY KEY,                  -- uuid4
    user_id TEXT REFERENCES users (id),   -- NULL: a guest design
    kind TEXT NOT NULL CHECK (kind IN ('script', 'app', 'legacy')),
    original_blob TEXT REFERENCES blobs (hash),
    original_form TEXT,
    generated_blob TEXT REFERENCES blobs (hash),
    generated_form TEXT,
    segmented_blob TEXT REFERENCES blobs (hash),
    segmented_form TEXT,
    budget TEXT,
    design_tips TEXT,
    total_cost_inr BIGINT,
    detected_objects TEXT,                -- JSON as sent
    metadata TEXT,                        -- JSON as sent
    extra TEXT,                           -- JSON object: the other fields of its shape
    created_at BIGINT NOT NULL,
    views BIGINT NOT NULL DEFAULT 0,
    shares BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX designs_user_created ON designs (user_id, created_at DESC, id DESC);
