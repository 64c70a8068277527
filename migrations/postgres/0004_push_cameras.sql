-- Push cameras (kind 'push'): the camera publishes to the server over RTSP (ANNOUNCE/RECORD)
-- at rtsp://HOST:PORT/cameras/<name>; `username`/`password` hold its publish credentials
-- (write-only, like a pull camera's), `url` the publish path.
--
-- Only the kind CHECK changes: PostgreSQL alters the constraint in place (SQLite's flavour must
-- rebuild the table). Lines marked `sqlite only` / `postgres only` are one flavour's (checked by
-- ifc-service's schema_flavours_say_the_same_thing, which compares the rest).
ALTER TABLE cameras DROP CONSTRAINT cameras_kind_check; -- postgres only
ALTER TABLE cameras ADD CONSTRAINT cameras_kind_check CHECK (kind IN ('rtsp', 'file', 'push')); -- postgres only
