//! Users and refresh tokens.

use super::{now_ms, Db, DbError};

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub password_hash: String,
    pub role: String,
    pub created_at_ms: i64,
}

impl Db {
    pub async fn create_user(&self, username: &str, password_hash: &str, role: &str) -> Result<UserRow, DbError> {
        let row = UserRow {
            id: super::new_id(),
            username: username.to_owned(),
            password_hash: password_hash.to_owned(),
            role: role.to_owned(),
            created_at_ms: now_ms(),
        };
        sqlx::query("INSERT INTO users (id, username, password_hash, role, created_at_ms) VALUES ($1, $2, $3, $4, $5)")
            .bind(&row.id)
            .bind(&row.username)
            .bind(&row.password_hash)
            .bind(&row.role)
            .bind(row.created_at_ms)
            .execute(self.pool())
            .await
            .map_err(|e| DbError::conflict_or(e, format!("user {username:?}")))?;
        Ok(row)
    }

    pub async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>, DbError> {
        Ok(sqlx::query_as("SELECT id, username, password_hash, role, created_at_ms FROM users WHERE username = $1")
            .bind(username)
            .fetch_optional(self.pool())
            .await?)
    }

    pub async fn user_by_id(&self, id: &str) -> Result<Option<UserRow>, DbError> {
        Ok(sqlx::query_as("SELECT id, username, password_hash, role, created_at_ms FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?)
    }

    pub async fn list_users(&self) -> Result<Vec<UserRow>, DbError> {
        Ok(sqlx::query_as("SELECT id, username, password_hash, role, created_at_ms FROM users ORDER BY username")
            .fetch_all(self.pool())
            .await?)
    }

    pub async fn count_users(&self) -> Result<i64, DbError> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users").fetch_one(self.pool()).await?;
        Ok(n)
    }

    pub async fn delete_user(&self, id: &str) -> Result<(), DbError> {
        let done = sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(self.pool()).await?;
        if done.rows_affected() == 0 {
            return Err(DbError::not_found(format!("user {id}")));
        }
        Ok(())
    }

    pub async fn store_refresh_token(&self, token_hash: &str, user_id: &str, expires_at_ms: i64) -> Result<(), DbError> {
        sqlx::query("INSERT INTO refresh_tokens (token_hash, user_id, expires_at_ms) VALUES ($1, $2, $3)")
            .bind(token_hash)
            .bind(user_id)
            .bind(expires_at_ms)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Marks a refresh token used (each is good once) and returns its user, when it was
    /// valid: known, unused and not expired at `now_ms`.
    pub async fn take_refresh_token(&self, token_hash: &str, now_ms: i64) -> Result<Option<String>, DbError> {
        let row: Option<(String,)> = sqlx::query_as(
            "UPDATE refresh_tokens SET used = 1 WHERE token_hash = $1 AND used = 0 AND expires_at_ms > $2 RETURNING user_id",
        )
        .bind(token_hash)
        .bind(now_ms)
        .fetch_optional(self.pool())
        .await?;
        Ok(row.map(|(u,)| u))
    }
}
