-- Push cameras (kind 'push'): the camera publishes to the server over RTSP (ANNOUNCE/RECORD)
-- at rtsp://HOST:PORT/cameras/<name>; `username`/`password` hold its publish credentials
-- (write-only, like a pull camera's), `url` the publish path.
--
-- Only the kind CHECK changes. The table is rebuilt as SQLite's flavour must be, so both
-- flavours share the new table's text; here inside the migration's transaction, the old
-- table's dependent foreign key dropped with it and made again on the new one.
-- Lines marked `sqlite only` / `postgres only` are one flavour's; the rest is identical in both
-- (checked by ifc-service's schema_flavours_say_the_same_thing).
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
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
INSERT INTO cameras_new (id, name, kind, url, username, password, product, lot, serial, created_at_ms, updated_at_ms)
    SELECT id, name, kind, url, username, password, product, lot, serial, created_at_ms, updated_at_ms FROM cameras;
DROP TABLE cameras CASCADE; -- postgres only
ALTER TABLE cameras_new RENAME TO cameras;
ALTER TABLE inspections ADD CONSTRAINT inspections_camera_id_fkey FOREIGN KEY (camera_id) REFERENCES cameras(id) ON DELETE CASCADE; -- postgres only
