//! Recording settings set through the API: which cameras beyond the config's
//! `recording.cameras` are recorded, how their segments are cut and how long they stay.

use super::{now_ms, Db, DbError};

/// One camera's recording settings, as the API stored them.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RecordingSettingsRow {
    pub camera_id: String,
    pub segment_s: i64,
    pub max_age_s: Option<i64>,
    pub max_bytes: Option<i64>,
    /// The user or API key that set them.
    pub who: String,
    pub updated_at_ms: i64,
}

const COLUMNS: &str = "camera_id, segment_s, max_age_s, max_bytes, who, updated_at_ms";

impl Db {
    /// Stores `camera_id`'s settings, replacing any; returns the row and whether it is new.
    pub async fn put_recording_settings(
        &self,
        camera_id: &str,
        segment_s: i64,
        max_age_s: Option<i64>,
        max_bytes: Option<i64>,
        who: &str,
    ) -> Result<(RecordingSettingsRow, bool), DbError> {
        let existed = self.recording_settings(camera_id).await?.is_some();
        let row = RecordingSettingsRow {
            camera_id: camera_id.to_owned(),
            segment_s,
            max_age_s,
            max_bytes,
            who: who.to_owned(),
            updated_at_ms: now_ms(),
        };
        sqlx::query(&format!(
            "INSERT INTO camera_recording ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (camera_id) DO UPDATE SET segment_s = excluded.segment_s, max_age_s = excluded.max_age_s, \
             max_bytes = excluded.max_bytes, who = excluded.who, updated_at_ms = excluded.updated_at_ms"
        ))
        .bind(&row.camera_id)
        .bind(row.segment_s)
        .bind(row.max_age_s)
        .bind(row.max_bytes)
        .bind(&row.who)
        .bind(row.updated_at_ms)
        .execute(self.pool())
        .await?;
        Ok((row, !existed))
    }

    pub async fn recording_settings(&self, camera_id: &str) -> Result<Option<RecordingSettingsRow>, DbError> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM camera_recording WHERE camera_id = $1"))
            .bind(camera_id)
            .fetch_optional(self.pool())
            .await?)
    }

    pub async fn all_recording_settings(&self) -> Result<Vec<RecordingSettingsRow>, DbError> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM camera_recording ORDER BY camera_id"))
            .fetch_all(self.pool())
            .await?)
    }

    /// Removes `camera_id`'s settings; `NotFound` when it had none.
    pub async fn delete_recording_settings(&self, camera_id: &str) -> Result<(), DbError> {
        let done = sqlx::query("DELETE FROM camera_recording WHERE camera_id = $1")
            .bind(camera_id)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(DbError::not_found(format!("recording settings of camera {camera_id}")));
        }
        Ok(())
    }

    /// The cameras that have segments in the index (recorded now or before).
    pub async fn cameras_with_recordings(&self) -> Result<Vec<String>, DbError> {
        let rows: Vec<(String,)> = sqlx::query_as("SELECT DISTINCT camera_id FROM recordings ORDER BY camera_id")
            .fetch_all(self.pool())
            .await?;
        Ok(rows.into_iter().map(|(c,)| c).collect())
    }
}
