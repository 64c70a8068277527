//! Cameras: where video comes from. Credentials are stored here and never leave the server.

use super::{now_ms, Db, DbError};

#[derive(Clone, PartialEq, sqlx::FromRow)]
pub struct CameraRow {
    pub id: String,
    pub name: String,
    /// `rtsp` or `file`.
    pub kind: String,
    /// Without credentials.
    pub url: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub product: Option<String>,
    pub lot: Option<String>,
    pub serial: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
}

impl std::fmt::Debug for CameraRow {
    // The password is a credential: never in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CameraRow")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("url", &self.url)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

/// What a new camera (or an update) says.
#[derive(Clone, Default)]
pub struct NewCamera {
    pub name: String,
    pub kind: String,
    pub url: String,
    pub username: Option<String>,
    pub password: Option<String>,
    pub product: Option<String>,
    pub lot: Option<String>,
    pub serial: Option<String>,
}

const COLUMNS: &str = "id, name, kind, url, username, password, product, lot, serial, created_at_ms, updated_at_ms";

impl Db {
    pub async fn create_camera(&self, c: &NewCamera) -> Result<CameraRow, DbError> {
        let now = now_ms();
        let row = CameraRow {
            id: super::new_id(),
            name: c.name.clone(),
            kind: c.kind.clone(),
            url: c.url.clone(),
            username: c.username.clone(),
            password: c.password.clone(),
            product: c.product.clone(),
            lot: c.lot.clone(),
            serial: c.serial.clone(),
            created_at_ms: now,
            updated_at_ms: now,
        };
        sqlx::query(&format!("INSERT INTO cameras ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"))
            .bind(&row.id)
            .bind(&row.name)
            .bind(&row.kind)
            .bind(&row.url)
            .bind(&row.username)
            .bind(&row.password)
            .bind(&row.product)
            .bind(&row.lot)
            .bind(&row.serial)
            .bind(row.created_at_ms)
            .bind(row.updated_at_ms)
            .execute(self.pool())
            .await
            .map_err(|e| DbError::conflict_or(e, format!("camera {:?}", c.name)))?;
        Ok(row)
    }

    pub async fn camera(&self, id: &str) -> Result<CameraRow, DbError> {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM cameras WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| DbError::not_found(format!("camera {id}")))
    }

    /// The camera named `name` (names are unique): how a publisher's URI finds its camera.
    pub async fn camera_by_name(&self, name: &str) -> Result<CameraRow, DbError> {
        sqlx::query_as(&format!("SELECT {COLUMNS} FROM cameras WHERE name = $1"))
            .bind(name)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| DbError::not_found(format!("camera named {name:?}")))
    }

    pub async fn list_cameras(&self) -> Result<Vec<CameraRow>, DbError> {
        Ok(sqlx::query_as(&format!("SELECT {COLUMNS} FROM cameras ORDER BY name")).fetch_all(self.pool()).await?)
    }

    /// Replaces every field but the id and creation time.
    pub async fn update_camera(&self, id: &str, c: &NewCamera) -> Result<CameraRow, DbError> {
        let done = sqlx::query(
            "UPDATE cameras SET name = $1, kind = $2, url = $3, username = $4, password = $5, product = $6, lot = $7, \
             serial = $8, updated_at_ms = $9 WHERE id = $10",
        )
        .bind(&c.name)
        .bind(&c.kind)
        .bind(&c.url)
        .bind(&c.username)
        .bind(&c.password)
        .bind(&c.product)
        .bind(&c.lot)
        .bind(&c.serial)
        .bind(now_ms())
        .bind(id)
        .execute(self.pool())
        .await
        .map_err(|e| DbError::conflict_or(e, format!("camera {:?}", c.name)))?;
        if done.rows_affected() == 0 {
            return Err(DbError::not_found(format!("camera {id}")));
        }
        self.camera(id).await
    }

    pub async fn delete_camera(&self, id: &str) -> Result<(), DbError> {
        let done = sqlx::query("DELETE FROM cameras WHERE id = $1").bind(id).execute(self.pool()).await?;
        if done.rows_affected() == 0 {
            return Err(DbError::not_found(format!("camera {id}")));
        }
        Ok(())
    }
}
