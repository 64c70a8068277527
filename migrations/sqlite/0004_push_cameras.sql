-- Push cameras (kind 'push'): the camera publishes to the server over RTSP (ANNOUNCE/RECORD)
-- at rtsp://HOST:PORT/cameras/<name>; `username`/`password` hold its publish credentials
-- (write-only, like a pull camera's), `url` the publish path.
--
-- Only the kind CHECK changes, and SQLite cannot alter a CHECK: the table is rebuilt (SQLite's
-- procedure, https://sqlite.org/lang_altertable.html#otheralter). It needs foreign keys off,
-- or dropping the old table would cascade into inspections; PRAGMA foreign_keys cannot change
-- inside the migration's transaction, so `Db::migrate` runs SQLite's migrations on one
-- connection with foreign keys off (and checks them after).
-- Lines marked `sqlite only` / `postgres only` are one flavour's (checked by ifc-service's
-- schema_flavours_say_the_same_thing, which compares the rest).
CREATE TABLE cameras_new ( -- sqlite only
    id            TEXT PRIMARY KEY, -- sqlite only
    name          TEXT NOT NULL UNIQUE, -- sqlite only
    kind          TEXT NOT NULL CHECK (kind IN ('rtsp', 'file', 'push')), -- sqlite only
    url           TEXT NOT NULL, -- sqlite only
    username      TEXT, -- sqlite only
    password      TEXT, -- sqlite only
    product       TEXT, -- sqlite only
    lot           TEXT, -- sqlite only
    serial        TEXT, -- sqlite only
    created_at_ms INTEGER NOT NULL, -- sqlite only
    updated_at_ms INTEGER NOT NULL -- sqlite only
); -- sqlite only
INSERT INTO cameras_new (id, name, kind, url, username, password, product, lot, serial, created_at_ms, updated_at_ms) -- sqlite only
    SELECT id, name, kind, url, username, password, product, lot, serial, created_at_ms, updated_at_ms FROM cameras; -- sqlite only
DROP TABLE cameras; -- sqlite only
ALTER TABLE cameras_new RENAME TO cameras; -- sqlite only
