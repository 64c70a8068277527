-- no-transaction
-- Push cameras (kind 'push'): the camera publishes to the server over RTSP (ANNOUNCE/RECORD)
-- at rtsp://HOST:PORT/cameras/<name>; `username`/`password` hold its publish credentials
-- (write-only, like a pull camera's), `url` the publish path.
--
-- Only the kind CHECK changes. SQLite cannot alter a CHECK, so the table is rebuilt (SQLite's
-- procedure, https://sqlite.org/lang_altertable.html#otheralter): with foreign keys off, so that
-- dropping the old table does not cascade into inspections, in one transaction of its own
-- (hence `no-transaction` above: PRAGMA foreign_keys is a no-op inside a transaction).
-- Lines marked `sqlite only` / `postgres only` are one flavour's; the rest is identical in both
-- (checked by ifc-service's schema_flavours_say_the_same_thing).
PRAGMA foreign_keys = OFF; -- sqlite only
BEGIN; -- sqlite only
DROP TABLE IF EXISTS cameras_new;
CREATE TABLE cameras_new (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL CHECK (kind IN ('rtsp', 'file', 'push')),
    url           TEXT NOT NULL,
    username      TEXT,
    password      TEXT,
    product       TEXT,
    lot           TEXT,
    serial        TEXT,
    created_at_ms INTEGER NOT NULL,
    updated_at_ms INTEGER NOT NULL
);
INSERT INTO cameras_new (id, name, kind, url, username, password, product, lot, serial, created_at_ms, updated_at_ms)
    SELECT id, name, kind, url, username, password, product, lot, serial, created_at_ms, updated_at_ms FROM cameras;
DROP TABLE cameras; -- sqlite only
ALTER TABLE cameras_new RENAME TO cameras;
PRAGMA foreign_key_check; -- sqlite only
COMMIT; -- sqlite only
PRAGMA foreign_keys = ON; -- sqlite only
