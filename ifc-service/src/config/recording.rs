//! `recording:`: which cameras are recorded, how segments are cut, and how long they stay.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The recorder. No cameras listed: nothing is recorded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct RecordingConfig {
    /// Where segment files go (`DIR/CAMERA_ID/ID.m4s`); relative paths are inside the data dir.
    pub dir: PathBuf,
    /// The cameras recorded, by camera id (more can be recorded through the API:
    /// `PUT /api/v1/cameras/{id}/recording`; a camera listed here is read-only there).
    pub cameras: Vec<CameraRecording>,
    /// How often retention runs, seconds.
    pub retention_interval_s: u64,
    /// Keep at least this much free on the recording filesystem: below it, the oldest
    /// unprotected segments of any camera are deleted and a `disk-full` alarm fires.
    pub min_free_bytes: u64,
    /// Protect this much recording before each NG verdict, milliseconds (0 and 0: no
    /// automatic protection).
    pub ng_pre_roll_ms: i64,
    /// …and this much after it.
    pub ng_post_roll_ms: i64,
    /// Hand each finished segment to the object store (through the spool) as
    /// `recordings/CAMERA_ID/ID.m4s`.
    pub upload: bool,
    /// Lifetime of a signed download link, seconds.
    pub link_ttl_s: u64,
}

impl Default for RecordingConfig {
    fn default() -> Self {
        Self {
            dir: PathBuf::from("recordings"),
            cameras: Vec::new(),
            retention_interval_s: 60,
            min_free_bytes: 512 << 20,
            ng_pre_roll_ms: 10_000,
            ng_post_roll_ms: 10_000,
            upload: false,
            link_ttl_s: 3600,
        }
    }
}

/// One recorded camera.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CameraRecording {
    pub camera_id: String,
    /// Target segment length, seconds (a segment ends at the first key frame past it).
    #[serde(default = "default_segment_s")]
    pub segment_s: u32,
    /// Delete unprotected segments older than this, seconds; none: no age limit.
    #[serde(default)]
    pub max_age_s: Option<u64>,
    /// Keep this camera's segments under this many bytes (oldest unprotected first); none: no
    /// limit.
    #[serde(default)]
    pub max_bytes: Option<u64>,
}

/// 10 s: the default segment length (the config's and the API's).
pub(crate) fn default_segment_s() -> u32 {
    10
}

impl RecordingConfig {
    /// The settings of `camera_id`, when it is recorded.
    pub fn camera(&self, camera_id: &str) -> Option<&CameraRecording> {
        self.cameras.iter().find(|c| c.camera_id == camera_id)
    }
}
