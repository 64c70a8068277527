-- Results of `ifc run`: one row per run, one row per inferred frame.
-- Applied by ifc-service's run_store when PRAGMA user_version is below 1.

CREATE TABLE runs (
    id                  INTEGER PRIMARY KEY,
    -- Caller-supplied wall-clock start, Unix milliseconds (the library reads no clock).
    started_at_unix_ms  INTEGER,
    pipeline_name       TEXT,
    -- The pipeline document the run executed, as JSON.
    pipeline_json       TEXT NOT NULL,
    source              TEXT NOT NULL,
    backend             TEXT NOT NULL,
    model               TEXT NOT NULL,
    -- Filled in when the run finishes (NULL while it runs or when it died).
    finished            INTEGER NOT NULL DEFAULT 0,
    frames_decoded      INTEGER,
    frames_inferred     INTEGER,
    frames_not_inferred INTEGER,
    ok_frames           INTEGER,
    ng_frames           INTEGER
);

CREATE TABLE results (
    run_id         INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    frame_index    INTEGER NOT NULL,
    pts_90k        INTEGER,
    pts_s          REAL,
    verdict        TEXT NOT NULL CHECK (verdict IN ('ok', 'ng')),
    -- JSON arrays: the rules that fired (RuleHit) and the detections (class, score, box).
    fired_rules    TEXT NOT NULL,
    detections     TEXT NOT NULL,
    -- The rule node's window ending at this frame, as JSON (NULL without a window).
    window         TEXT,
    PRIMARY KEY (run_id, frame_index)
);

CREATE INDEX results_ng ON results (run_id, verdict);
