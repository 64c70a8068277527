-- Products: the registry of what the lines make (code, name), and results by product and lot.
CREATE TABLE products (
    code          TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    description   TEXT,
    created_at_ms INTEGER NOT NULL
);

CREATE INDEX results_product_lot ON results (product, lot, wall_ms);

-- A camera's results in id order (the results API's paging): read from the index, no sort.
CREATE INDEX results_camera_id ON results (camera_id, id);
