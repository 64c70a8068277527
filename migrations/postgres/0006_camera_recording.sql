-- Recording settings set through the API (`PUT /api/v1/cameras/{id}/recording`), so a camera
-- created at run time (a pushed or WHIP camera) is recorded without editing the config and
-- restarting. Cameras under the config's `recording.cameras` are not stored here: the config
-- wins, and the API refuses to change them. `who`: the user or API key that set them.
CREATE TABLE camera_recording (
    camera_id     TEXT PRIMARY KEY,
    segment_s     BIGINT NOT NULL,
    max_age_s     BIGINT,
    max_bytes     BIGINT,
    who           TEXT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
