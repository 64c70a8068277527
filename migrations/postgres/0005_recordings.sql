-- Recording: each camera's segment index, operator and NG protections. A camera's recording
-- settings live in the config (`recording.cameras`), so the cameras table is untouched.

-- One finished segment file `ID.m4s` in the camera's directory. The id is chosen before the
-- file is written (its name), so it is not generated here. `garbage`: being deleted (the file
-- may still exist; recovery finishes the deletion). Times: wall in ms since the epoch, media in
-- the feed's 90 kHz clock; key-frame times are media times, comma-separated.
CREATE TABLE recordings (
    id              BIGINT PRIMARY KEY,
    camera_id       TEXT NOT NULL,
    start_ms        BIGINT NOT NULL,
    end_ms          BIGINT NOT NULL,
    media_start_90k BIGINT NOT NULL,
    media_end_90k   BIGINT NOT NULL,
    frame_count     BIGINT NOT NULL,
    bytes           BIGINT NOT NULL,
    key_frames_90k  TEXT NOT NULL,
    sha256          TEXT NOT NULL,
    codec           TEXT NOT NULL,
    garbage         BIGINT NOT NULL DEFAULT 0,
    object_key      TEXT,
    uploaded        BIGINT NOT NULL DEFAULT 0,
    created_at_ms   BIGINT NOT NULL
);

CREATE INDEX recordings_camera_time ON recordings (camera_id, start_ms);

-- A protected time range of a camera: never deleted by retention or a full disk. `who`: the
-- user or API key that protected it, or `ng-verdict` (with the result) for automatic ones.
CREATE TABLE recording_protections (
    id            TEXT PRIMARY KEY,
    camera_id     TEXT NOT NULL,
    from_ms       BIGINT NOT NULL,
    to_ms         BIGINT NOT NULL,
    reason        TEXT NOT NULL,
    who           TEXT NOT NULL,
    result_id     BIGINT,
    created_at_ms BIGINT NOT NULL
);

CREATE INDEX recording_protections_camera ON recording_protections (camera_id, from_ms);
