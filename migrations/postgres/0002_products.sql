-- Products: the registry of what the lines make (code, name), and results by product and lot.
CREATE TABLE products (
    code          TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    description   TEXT,
    created_at_ms BIGINT NOT NULL
);

CREATE INDEX results_product_lot ON results (product, lot, wall_ms);
