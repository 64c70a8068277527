//! Which cameras are recorded: the config's `recording.cameras`, then the settings set through
//! the API (`camera_recording` rows). The config wins: a camera it lists cannot be changed
//! through the API, and a row for it (written before the config listed it) is ignored.

use crate::config::{CameraRecording, RecordingConfig};
use crate::db::{Db, DbError, RecordingSettingsRow};

/// Where a camera's recording settings come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SettingsSource {
    /// `recording.cameras` in the config file: changed by editing it and restarting.
    Config,
    /// `PUT /api/v1/cameras/{id}/recording`.
    Api,
}

/// One recorded camera's settings and their source.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedCamera {
    pub settings: CameraRecording,
    pub source: SettingsSource,
}

/// The settings an API row stands for (values the API checked; out-of-range ones are clamped
/// rather than trusted, as the row could have been edited by hand).
pub fn from_row(row: &RecordingSettingsRow) -> CameraRecording {
    CameraRecording {
        camera_id: row.camera_id.clone(),
        segment_s: u32::try_from(row.segment_s.clamp(1, 3600)).unwrap_or(10),
        max_age_s: row.max_age_s.and_then(|s| u64::try_from(s).ok()),
        max_bytes: row.max_bytes.and_then(|b| u64::try_from(b).ok()),
    }
}

/// Every recorded camera: the config's, then the API's not in the config.
pub async fn recorded_cameras(config: &RecordingConfig, db: &Db) -> Result<Vec<RecordedCamera>, DbError> {
    let mut out: Vec<RecordedCamera> =
        config.cameras.iter().map(|c| RecordedCamera { settings: c.clone(), source: SettingsSource::Config }).collect();
    for row in db.all_recording_settings().await? {
        if config.camera(&row.camera_id).is_none() {
            out.push(RecordedCamera { settings: from_row(&row), source: SettingsSource::Api });
        }
    }
    Ok(out)
}
