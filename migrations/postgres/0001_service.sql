-- The service's metadata store (ifc serve), PostgreSQL flavour. The SQLite flavour
-- (../sqlite/0001_service.sql) has the same tables, columns and meaning; only types differ.
-- Times are Unix milliseconds (`*_ms`); ids are UUID strings unless they are sequences.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    -- argon2id PHC string.
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    created_at_ms BIGINT NOT NULL
);

CREATE TABLE refresh_tokens (
    -- sha256 of the token, hex; the token itself is shown to the client once.
    token_hash    TEXT PRIMARY KEY,
    user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    expires_at_ms BIGINT NOT NULL,
    used          BIGINT NOT NULL DEFAULT 0
);

CREATE TABLE api_keys (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    -- sha256 of the key, hex (keys are 256 random bits: a slow hash adds nothing).
    key_hash      TEXT NOT NULL UNIQUE,
    -- The first characters of the key, to tell keys apart in listings.
    prefix        TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'viewer')),
    created_by    TEXT,
    created_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT
);

CREATE TABLE cameras (
    id            TEXT PRIMARY KEY,
    name          TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL CHECK (kind IN ('rtsp', 'file')),
    -- Without credentials (they live in the two columns below and never leave the server).
    url           TEXT NOT NULL,
    username      TEXT,
    password      TEXT,
    product       TEXT,
    lot           TEXT,
    serial        TEXT,
    created_at_ms BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);

CREATE TABLE pipelines (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL UNIQUE,
    latest_version BIGINT NOT NULL,
    created_at_ms  BIGINT NOT NULL
);

CREATE TABLE pipeline_versions (
    pipeline_id   TEXT NOT NULL REFERENCES pipelines(id) ON DELETE CASCADE,
    version       BIGINT NOT NULL,
    -- The pipeline document, as JSON.
    document      TEXT NOT NULL,
    created_by    TEXT,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (pipeline_id, version)
);

CREATE TABLE inspections (
    id               TEXT PRIMARY KEY,
    camera_id        TEXT NOT NULL REFERENCES cameras(id) ON DELETE CASCADE,
    pipeline_id      TEXT NOT NULL REFERENCES pipelines(id),
    pipeline_version BIGINT NOT NULL,
    -- What the operator asked for: 'running' is restarted after a restart of the service.
    desired_state    TEXT NOT NULL CHECK (desired_state IN ('running', 'stopped')),
    product          TEXT,
    lot              TEXT,
    serial           TEXT,
    created_at_ms    BIGINT NOT NULL,
    started_at_ms    BIGINT,
    stopped_at_ms    BIGINT
);

CREATE TABLE results (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    inspection_id  TEXT NOT NULL REFERENCES inspections(id) ON DELETE CASCADE,
    camera_id      TEXT NOT NULL,
    frame_index    BIGINT NOT NULL,
    pts_90k        BIGINT,
    wall_ms        BIGINT NOT NULL,
    verdict        TEXT NOT NULL CHECK (verdict IN ('ok', 'ng')),
    -- JSON: the record as `ifc run` writes it (detections, verdict with fired rules, window).
    record         TEXT NOT NULL,
    snapshot_key   TEXT,
    product        TEXT,
    lot            TEXT,
    serial         TEXT
);
CREATE INDEX results_camera_time ON results (camera_id, wall_ms);
CREATE INDEX results_inspection ON results (inspection_id, id);
CREATE INDEX results_lot ON results (lot, wall_ms);

-- The transactional outbox: an event row commits with the data it describes; the relay
-- publishes it and sets published_at_ms only after the bus acknowledged it.
CREATE TABLE outbox (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id        TEXT NOT NULL UNIQUE,
    topic           TEXT NOT NULL,
    event_key       TEXT NOT NULL,
    payload         TEXT NOT NULL,
    created_at_ms   BIGINT NOT NULL,
    published_at_ms BIGINT
);
CREATE INDEX outbox_unpublished ON outbox (published_at_ms, seq);
