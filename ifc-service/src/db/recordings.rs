//! The recording index (one row per finished segment file) and protected ranges.
//!
//! A row exists exactly when its file was written, fsynced and renamed (the recorder's write
//! protocol, `ifc::record::recovery`); deleting marks the row garbage first, then deletes the
//! file, then the row.

use super::{new_id, now_ms, Db, DbError};

/// One segment of the index.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RecordingRow {
    pub id: i64,
    pub camera_id: String,
    pub start_ms: i64,
    pub end_ms: i64,
    pub media_start_90k: i64,
    pub media_end_90k: i64,
    pub frame_count: i64,
    pub bytes: i64,
    /// Comma-separated media times of the key frames.
    pub key_frames_90k: String,
    pub sha256: String,
    pub codec: String,
    pub garbage: i64,
    pub object_key: Option<String>,
    pub uploaded: i64,
    pub created_at_ms: i64,
}

impl RecordingRow {
    pub fn key_frame_times_90k(&self) -> Vec<i64> {
        self.key_frames_90k.split(',').filter_map(|t| t.parse().ok()).collect()
    }
}

/// A protected range.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProtectionRow {
    pub id: String,
    pub camera_id: String,
    pub from_ms: i64,
    pub to_ms: i64,
    pub reason: String,
    pub who: String,
    pub result_id: Option<i64>,
    pub created_at_ms: i64,
}

/// The `who` of automatic NG protections.
pub const NG_PROTECTOR: &str = "ng-verdict";

const RECORDING_COLUMNS: &str = "id, camera_id, start_ms, end_ms, media_start_90k, media_end_90k, frame_count, bytes, \
     key_frames_90k, sha256, codec, garbage, object_key, uploaded, created_at_ms";
const PROTECTION_COLUMNS: &str = "id, camera_id, from_ms, to_ms, reason, who, result_id, created_at_ms";

impl Db {
    /// Commits a finished segment (the last step of the write protocol).
    pub async fn insert_recording(&self, r: &RecordingRow) -> Result<(), DbError> {
        sqlx::query(&format!(
            "INSERT INTO recordings ({RECORDING_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
        ))
        .bind(r.id)
        .bind(&r.camera_id)
        .bind(r.start_ms)
        .bind(r.end_ms)
        .bind(r.media_start_90k)
        .bind(r.media_end_90k)
        .bind(r.frame_count)
        .bind(r.bytes)
        .bind(&r.key_frames_90k)
        .bind(&r.sha256)
        .bind(&r.codec)
        .bind(r.garbage)
        .bind(&r.object_key)
        .bind(r.uploaded)
        .bind(r.created_at_ms)
        .execute(self.pool())
        .await
        .map_err(|e| DbError::conflict_or(e, format!("recording {}", r.id)))?;
        Ok(())
    }

    /// The largest segment id in the index (ids are chosen by the recorder before the file is
    /// written).
    pub async fn max_recording_id(&self) -> Result<i64, DbError> {
        let (max,): (Option<i64>,) = sqlx::query_as("SELECT MAX(id) FROM recordings").fetch_one(self.pool()).await?;
        Ok(max.unwrap_or(0))
    }

    /// Every row of a camera, garbage included (recovery, retention), oldest first.
    pub async fn camera_recordings_all(&self, camera_id: &str) -> Result<Vec<RecordingRow>, DbError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {RECORDING_COLUMNS} FROM recordings WHERE camera_id = $1 ORDER BY start_ms, id"
        ))
        .bind(camera_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// Live segments of a camera overlapping `[from_ms, to_ms)`, oldest first.
    pub async fn recordings_in_range(
        &self,
        camera_id: &str,
        from_ms: i64,
        to_ms: i64,
        limit: i64,
    ) -> Result<Vec<RecordingRow>, DbError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {RECORDING_COLUMNS} FROM recordings WHERE camera_id = $1 AND garbage = 0 AND end_ms > $2 AND start_ms < $3 \
             ORDER BY start_ms, id LIMIT $4"
        ))
        .bind(camera_id)
        .bind(from_ms)
        .bind(to_ms)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn recording(&self, id: i64) -> Result<RecordingRow, DbError> {
        sqlx::query_as(&format!("SELECT {RECORDING_COLUMNS} FROM recordings WHERE id = $1 AND garbage = 0"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| DbError::not_found(format!("recording {id}")))
    }

    /// Step one of deleting: the row stays, marked, until its file is gone.
    pub async fn mark_recordings_garbage(&self, ids: &[i64]) -> Result<(), DbError> {
        let mut tx = self.pool().begin().await?;
        for id in ids {
            sqlx::query("UPDATE recordings SET garbage = 1 WHERE id = $1").bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The last step of deleting (the file is gone).
    pub async fn delete_recording_rows(&self, ids: &[i64]) -> Result<(), DbError> {
        let mut tx = self.pool().begin().await?;
        for id in ids {
            sqlx::query("DELETE FROM recordings WHERE id = $1").bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn mark_recording_uploaded(&self, id: i64, object_key: &str) -> Result<(), DbError> {
        sqlx::query("UPDATE recordings SET uploaded = 1, object_key = $2 WHERE id = $1")
            .bind(id)
            .bind(object_key)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Live segments not yet handed to the object store (after a restart).
    pub async fn recordings_not_uploaded(&self, limit: i64) -> Result<Vec<RecordingRow>, DbError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {RECORDING_COLUMNS} FROM recordings WHERE uploaded = 0 AND garbage = 0 ORDER BY id LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn insert_protection(
        &self,
        camera_id: &str,
        from_ms: i64,
        to_ms: i64,
        reason: &str,
        who: &str,
        result_id: Option<i64>,
    ) -> Result<ProtectionRow, DbError> {
        let row = ProtectionRow {
            id: new_id(),
            camera_id: camera_id.to_owned(),
            from_ms,
            to_ms,
            reason: reason.to_owned(),
            who: who.to_owned(),
            result_id,
            created_at_ms: now_ms(),
        };
        sqlx::query(&format!(
            "INSERT INTO recording_protections ({PROTECTION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(&row.id)
        .bind(&row.camera_id)
        .bind(row.from_ms)
        .bind(row.to_ms)
        .bind(&row.reason)
        .bind(&row.who)
        .bind(row.result_id)
        .bind(row.created_at_ms)
        .execute(self.pool())
        .await?;
        Ok(row)
    }

    /// Protects `[from_ms, to_ms)` around an NG verdict: the camera's latest NG protection is
    /// extended when the window overlaps or touches it (a run of NG frames is one range, not
    /// one row per frame), else a new one is made.
    pub async fn protect_ng_window(
        &self,
        camera_id: &str,
        from_ms: i64,
        to_ms: i64,
        result_id: i64,
    ) -> Result<(), DbError> {
        let mut tx = self.pool().begin().await?;
        let latest: Option<(String, i64, i64)> = sqlx::query_as(
            "SELECT id, from_ms, to_ms FROM recording_protections WHERE camera_id = $1 AND who = $2 \
             ORDER BY to_ms DESC LIMIT 1",
        )
        .bind(camera_id)
        .bind(NG_PROTECTOR)
        .fetch_optional(&mut *tx)
        .await?;
        match latest {
            Some((id, from, to)) if from_ms <= to && to_ms >= from => {
                sqlx::query("UPDATE recording_protections SET from_ms = $2, to_ms = $3 WHERE id = $1")
                    .bind(&id)
                    .bind(from.min(from_ms))
                    .bind(to.max(to_ms))
                    .execute(&mut *tx)
                    .await?;
            }
            _ => {
                sqlx::query(&format!(
                    "INSERT INTO recording_protections ({PROTECTION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                ))
                .bind(new_id())
                .bind(camera_id)
                .bind(from_ms)
                .bind(to_ms)
                .bind("NG verdict")
                .bind(NG_PROTECTOR)
                .bind(result_id)
                .bind(now_ms())
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn protections(&self, camera_id: &str) -> Result<Vec<ProtectionRow>, DbError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {PROTECTION_COLUMNS} FROM recording_protections WHERE camera_id = $1 ORDER BY from_ms, id"
        ))
        .bind(camera_id)
        .fetch_all(self.pool())
        .await?)
    }

    pub async fn delete_protection(&self, camera_id: &str, id: &str) -> Result<(), DbError> {
        let done = sqlx::query("DELETE FROM recording_protections WHERE camera_id = $1 AND id = $2")
            .bind(camera_id)
            .bind(id)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(DbError::not_found(format!("protection {id}")));
        }
        Ok(())
    }
}
