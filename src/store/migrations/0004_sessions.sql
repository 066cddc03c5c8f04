-- Design preferences collected per workflow session (POST /api/collect-preferences).
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    budget_range TEXT NOT NULL,
    design_tips TEXT NOT NULL,
    item_replacement TEXT NOT NULL,       -- JSON array as sent
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
