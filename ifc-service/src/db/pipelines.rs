//! Pipelines: named, versioned pipeline documents (each save is a new version).

use super::{now_ms, Db, DbError};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PipelineRow {
    pub id: String,
    pub name: String,
    pub latest_version: i64,
    pub created_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct PipelineVersionRow {
    pub pipeline_id: String,
    pub version: i64,
    /// The document as JSON.
    pub document: String,
    pub created_by: Option<String>,
    pub created_at_ms: i64,
}

impl Db {
    /// A new pipeline with its first version.
    pub async fn create_pipeline(
        &self,
        name: &str,
        document_json: &str,
        created_by: Option<&str>,
    ) -> Result<PipelineRow, DbError> {
        let now = now_ms();
        let row = PipelineRow { id: super::new_id(), name: name.to_owned(), latest_version: 1, created_at_ms: now };
        let mut tx = self.pool().begin().await?;
        sqlx::query("INSERT INTO pipelines (id, name, latest_version, created_at_ms) VALUES ($1, $2, $3, $4)")
            .bind(&row.id)
            .bind(&row.name)
            .bind(row.latest_version)
            .bind(now)
            .execute(&mut *tx)
            .await
            .map_err(|e| DbError::conflict_or(e, format!("pipeline {name:?}")))?;
        insert_version(&mut tx, &row.id, 1, document_json, created_by, now).await?;
        tx.commit().await?;
        Ok(row)
    }

    /// Saves `document_json` as the next version; returns it.
    pub async fn add_pipeline_version(
        &self,
        id: &str,
        document_json: &str,
        created_by: Option<&str>,
    ) -> Result<PipelineVersionRow, DbError> {
        let now = now_ms();
        let mut tx = self.pool().begin().await?;
        let version: Option<(i64,)> =
            sqlx::query_as("UPDATE pipelines SET latest_version = latest_version + 1 WHERE id = $1 RETURNING latest_version")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let (version,) = version.ok_or_else(|| DbError::not_found(format!("pipeline {id}")))?;
        let row = insert_version(&mut tx, id, version, document_json, created_by, now).await?;
        tx.commit().await?;
        Ok(row)
    }

    pub async fn pipeline(&self, id: &str) -> Result<PipelineRow, DbError> {
        sqlx::query_as("SELECT id, name, latest_version, created_at_ms FROM pipelines WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| DbError::not_found(format!("pipeline {id}")))
    }

    pub async fn list_pipelines(&self) -> Result<Vec<PipelineRow>, DbError> {
        Ok(sqlx::query_as("SELECT id, name, latest_version, created_at_ms FROM pipelines ORDER BY name")
            .fetch_all(self.pool())
            .await?)
    }

    /// One version (`None`: the latest).
    pub async fn pipeline_version(&self, id: &str, version: Option<i64>) -> Result<PipelineVersionRow, DbError> {
        let version = match version {
            Some(v) => v,
            None => self.pipeline(id).await?.latest_version,
        };
        sqlx::query_as(
            "SELECT pipeline_id, version, document, created_by, created_at_ms FROM pipeline_versions \
             WHERE pipeline_id = $1 AND version = $2",
        )
        .bind(id)
        .bind(version)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| DbError::not_found(format!("pipeline {id} version {version}")))
    }

    pub async fn list_pipeline_versions(&self, id: &str) -> Result<Vec<PipelineVersionRow>, DbError> {
        self.pipeline(id).await?;
        Ok(sqlx::query_as(
            "SELECT pipeline_id, version, document, created_by, created_at_ms FROM pipeline_versions \
             WHERE pipeline_id = $1 ORDER BY version",
        )
        .bind(id)
        .fetch_all(self.pool())
        .await?)
    }
}

async fn insert_version(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    id: &str,
    version: i64,
    document_json: &str,
    created_by: Option<&str>,
    now: i64,
) -> Result<PipelineVersionRow, DbError> {
    sqlx::query(
        "INSERT INTO pipeline_versions (pipeline_id, version, document, created_by, created_at_ms) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(id)
    .bind(version)
    .bind(document_json)
    .bind(created_by)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(PipelineVersionRow {
        pipeline_id: id.to_owned(),
        version,
        document: document_json.to_owned(),
        created_by: created_by.map(str::to_owned),
        created_at_ms: now,
    })
}
