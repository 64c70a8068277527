//! Inspections: a pipeline version attached to a camera, with the state the operator asked
//! for (`running` inspections are started again when the service restarts).

use super::{now_ms, Db, DbError};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct InspectionRow {
    pub id: String,
    pub camera_id: String,
    pub pipeline_id: String,
    pub pipeline_version: i64,
    /// `running` or `stopped`.
    pub desired_state: String,
    pub product: Option<String>,
    pub lot: Option<String>,
    pub serial: Option<String>,
    pub created_at_ms: i64,
    pub started_at_ms: Option<i64>,
    pub stopped_at_ms: Option<i64>,
}

const COLUMNS: &str = "id, camera_id, pipeline_id, pipeline_version, desired_state, product, lot, serial, \
                       created_at_ms, started_at_ms, stopped_at_ms";

impl Db {
    pub async fn create_inspection(
        &self,
        camera_id: &str,
        pipeline_id: &str,
        pipeline_version: i64,
        product: Option<&str>,
        lot: Option<&str>,
        serial: Option<&str>,
    ) -> Result<InspectionRow, DbError> {
        let now = now_ms();
        let row: InspectionRow = sqlx::query_as(&format!(
            "INSERT INTO inspections ({COLUMNS}) VALUES ($1, $2, $3, $4, 'running', $5, $6, $7, $8, $8, NULL) RETURNING {COLUMNS}"
        ))
        .bind(super::new_id())
        .bind(camera_id)
        .bind(pipeline_id)
        .bind(pipeline_version)
        .bind(product)
        .bind(lot)
        .bind(serial)
        .bind(now)
        .fetch_one(self.pool())
        .await?;
        Ok(row)
    }

    pub async fn inspection(&self, id: &str) -> Result<InspectionRow, DbError> {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM inspections WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| DbError::not_found(format!("inspection {id}")))
    }

    pub async fn list_inspections(&self) -> Result<Vec<InspectionRow>, DbError> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM inspections ORDER BY created_at_ms"))
            .fetch_all(self.pool())
            .await?)
    }

    /// The inspections to (re)start when the service starts.
    pub async fn running_inspections(&self) -> Result<Vec<InspectionRow>, DbError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM inspections WHERE desired_state = 'running' ORDER BY created_at_ms"
        ))
        .fetch_all(self.pool())
        .await?)
    }

    /// Records what the operator asked for.
    pub async fn set_inspection_state(&self, id: &str, running: bool) -> Result<InspectionRow, DbError> {
        let now = now_ms();
        let sql = if running {
            format!("UPDATE inspections SET desired_state = 'running', started_at_ms = $1, stopped_at_ms = NULL WHERE id = $2 RETURNING {COLUMNS}")
        } else {
            format!("UPDATE inspections SET desired_state = 'stopped', stopped_at_ms = $1 WHERE id = $2 RETURNING {COLUMNS}")
        };
        sqlx::query_as(&sql)
            .bind(now)
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| DbError::not_found(format!("inspection {id}")))
    }

    /// The current product, lot and serial (a line system sends them per item).
    pub async fn set_inspection_item(
        &self,
        id: &str,
        product: Option<&str>,
        lot: Option<&str>,
        serial: Option<&str>,
    ) -> Result<InspectionRow, DbError> {
        sqlx::query_as(&format!(
            "UPDATE inspections SET product = $1, lot = $2, serial = $3 WHERE id = $4 RETURNING {COLUMNS}"
        ))
        .bind(product)
        .bind(lot)
        .bind(serial)
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| DbError::not_found(format!("inspection {id}")))
    }
}
