//! API keys for devices and services (stored as sha256 hashes; the key is shown once).

use super::{now_ms, Db, DbError};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ApiKeyRow {
    pub id: String,
    pub name: String,
    pub prefix: String,
    pub role: String,
    pub created_by: Option<String>,
    pub created_at_ms: i64,
    pub revoked_at_ms: Option<i64>,
}

const COLUMNS: &str = "id, name, prefix, role, created_by, created_at_ms, revoked_at_ms";

impl Db {
    pub async fn create_api_key(
        &self,
        name: &str,
        key_hash: &str,
        prefix: &str,
        role: &str,
        created_by: Option<&str>,
    ) -> Result<ApiKeyRow, DbError> {
        let row = ApiKeyRow {
            id: super::new_id(),
            name: name.to_owned(),
            prefix: prefix.to_owned(),
            role: role.to_owned(),
            created_by: created_by.map(str::to_owned),
            created_at_ms: now_ms(),
            revoked_at_ms: None,
        };
        sqlx::query(
            "INSERT INTO api_keys (id, name, key_hash, prefix, role, created_by, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&row.id)
        .bind(&row.name)
        .bind(key_hash)
        .bind(&row.prefix)
        .bind(&row.role)
        .bind(&row.created_by)
        .bind(row.created_at_ms)
        .execute(self.pool())
        .await?;
        Ok(row)
    }

    /// The live (not revoked) key with this hash.
    pub async fn api_key_by_hash(&self, key_hash: &str) -> Result<Option<ApiKeyRow>, DbError> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM api_keys WHERE key_hash = $1 AND revoked_at_ms IS NULL"))
            .bind(key_hash)
            .fetch_optional(self.pool())
            .await?)
    }

    pub async fn list_api_keys(&self) -> Result<Vec<ApiKeyRow>, DbError> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM api_keys ORDER BY created_at_ms"))
            .fetch_all(self.pool())
            .await?)
    }

    pub async fn revoke_api_key(&self, id: &str) -> Result<(), DbError> {
        let done = sqlx::query("UPDATE api_keys SET revoked_at_ms = $1 WHERE id = $2 AND revoked_at_ms IS NULL")
            .bind(now_ms())
            .bind(id)
            .execute(self.pool())
            .await?;
        if done.rows_affected() == 0 {
            return Err(DbError::not_found(format!("API key {id}")));
        }
        Ok(())
    }
}
