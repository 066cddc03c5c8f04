-- The commerce catalog (src/catalog). seq keeps the order products were first added in;
-- a product replaced by id keeps its place. Full-text relevance: FTS5 with the porter
-- stemmer, kept in step with the table by triggers.
CREATE TABLE catalog_products (
    id TEXT PRIMARY KEY,
    seq BIGINT NOT NULL,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    style TEXT NOT NULL,
    material TEXT NOT NULL,
    color TEXT NOT NULL,
    price TEXT NOT NULL,
    price_usd DOUBLE PRECISION NOT NULL,
    price_inr BIGINT,
    budget_tier TEXT NOT NULL,
    vendor TEXT NOT NULL,
    url TEXT NOT NULL,
    image_url TEXT NOT NULL,
    affiliate BIGINT NOT NULL,
    description TEXT NOT NULL
);
CREATE INDEX catalog_products_category ON catalog_products (category);
CREATE INDEX catalog_products_seq ON catalog_products (seq);
CREATE VIRTUAL TABLE catalog_products_fts USING fts5(
    name, category, style, material, color, description,
    content='catalog_products', content_rowid='rowid', tokenize='porter unicode61');
CREATE TRIGGER catalog_products_ai AFTER INSERT ON catalog_products BEGIN
    INSERT INTO catalog_products_fts(rowid, name, category, style, material, color, description)
    VALUES (new.rowid, new.name, new.category, new.style, new.material, new.color, new.description);
END;
CREATE TRIGGER catalog_products_ad AFTER DELETE ON catalog_products BEGIN
    INSERT INTO catalog_products_fts(catalog_products_fts, rowid, name, category, style, material, color, description)
    VALUES ('delete', old.rowid, old.name, old.category, old.style, old.material, old.color, old.description);
END;
CREATE TRIGGER catalog_products_au AFTER UPDATE ON catalog_products BEGIN
    INSERT INTO catalog_products_fts(catalog_products_fts, rowid, name, category, style, material, color, description)
    VALUES ('delete', old.rowid, old.name, old.category, old.style, old.material, old.color, old.description);
    INSERT INTO catalog_products_fts(rowid, name, category, style, material, color, description)
    VALUES (new.rowid, new.name, new.category, new.style, new.material, new.color, new.description);
END;
