-- The commerce catalog (src/catalog). seq keeps the order products were first added in;
-- a product replaced by id keeps its place. Full-text relevance: an english tsvector
-- generated from the product's text, with a GIN index.
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
    description TEXT NOT NULL,
    search tsvector GENERATED ALWAYS AS (to_tsvector('english', name || ' ' || category
        || ' ' || style || ' ' || material || ' ' || color || ' ' || description)) STORED
);
CREATE INDEX catalog_products_category ON catalog_products (category);
CREATE INDEX catalog_products_seq ON catalog_products (seq);
CREATE INDEX catalog_products_search ON catalog_products USING gin (search);
