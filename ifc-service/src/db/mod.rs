//! The metadata store: one SQL layer (sqlx's `Any` driver) over SQLite (the embedded default)
//! and PostgreSQL. Queries are written once with `$1` placeholders, which both accept; the
//! two schema flavours live in `migrations/sqlite` and `migrations/postgres` and are embedded
//! in the binary.
//!
//! Migrations run at start and are safe when two processes start at once: PostgreSQL takes
//! sqlx's advisory lock; SQLite (which sqlx does not lock) is serialised by an exclusive lock
//! on a file beside the database.

mod cameras;
mod inspections;
mod keys;
mod outbox;
mod pipelines;
mod products;
mod recording_settings;
mod recordings;
mod results;
mod users;

pub use cameras::{CameraRow, NewCamera};
pub use inspections::InspectionRow;
pub use keys::ApiKeyRow;
pub use outbox::{OutboxEvent, OutboxRow};
pub use pipelines::{PipelineRow, PipelineVersionRow};
pub use products::{LotRow, ProductRow};
pub use recording_settings::RecordingSettingsRow;
pub use recordings::{ProtectionRow, RecordingRow, NG_PROTECTOR};
pub use results::{NewResult, ResultFilter, ResultRow, StatsBucket};
pub use users::UserRow;

use std::path::PathBuf;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DbKind {
    Sqlite,
    Postgres,
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DbError {
    #[error("database: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("database migrations: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database URL {url:?}: only sqlite:// and postgres:// are supported")]
    UnsupportedUrl { url: String },
    #[error("database migration lock {path}: {source}")]
    Lock { path: String, source: std::io::Error },
    #[error("{what} not found")]
    NotFound { what: String },
    #[error("{what} already exists")]
    Conflict { what: String },
    #[error("stored data is damaged: {0}")]
    Corrupt(String),
}

impl DbError {
    pub(crate) fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    /// A unique-constraint violation as [`DbError::Conflict`]; anything else as it is.
    pub(crate) fn conflict_or(e: sqlx::Error, what: impl Into<String>) -> Self {
        match &e {
            sqlx::Error::Database(d) if d.is_unique_violation() => Self::Conflict { what: what.into() },
            _ => Self::Sql(e),
        }
    }
}

/// A connection pool to the metadata store.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    kind: DbKind,
}

impl Db {
    /// Connects and applies the migrations this build knows.
    pub async fn open(url: &str) -> Result<Self, DbError> {
        sqlx::any::install_default_drivers();
        let kind = if url.starts_with("sqlite:") {
            DbKind::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            DbKind::Postgres
        } else {
            return Err(DbError::UnsupportedUrl { url: redact(url) });
        };
        let options: AnyConnectOptions = url.parse()?;
        let mut pool = AnyPoolOptions::new().acquire_timeout(Duration::from_secs(10));
        if kind == DbKind::Sqlite {
            // WAL: readers never wait for the writer; NORMAL sync is durable across a process
            // crash (kill -9), which is what WAL needs for committed transactions.
            pool = pool.max_connections(8).after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;")
                        .await?;
                    Ok(())
                })
            });
        } else {
            pool = pool.max_connections(16);
        }
        let pool = pool.connect_with(options).await?;
        let db = Self { pool, kind };
        db.migrate(url).await?;
        Ok(db)
    }

    pub fn kind(&self) -> DbKind {
        self.kind
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), DbError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }

    async fn migrate(&self, url: &str) -> Result<(), DbError> {
        match self.kind {
            DbKind::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
            DbKind::Sqlite => {
                let Some(path) = sqlite_path(url) else {
                    // In memory: a database of this pool alone, new and empty, so a rebuild has
                    // nothing to cascade into (and another pool would see another database).
                    SQLITE_MIGRATIONS.run(&self.pool).await?;
                    return Ok(());
                };
                let _lock = lock_file(path.with_extension("migrate-lock")).await?;
                // A migration that rebuilds a table (0004: a CHECK changed) drops the old one,
                // which with foreign keys on would cascade into the tables referencing it.
                // SQLite's procedure turns foreign keys off, which cannot happen inside the
                // transaction sqlx runs each migration in: so the migrations run on a
                // one-connection pool of their own with foreign keys off, checked afterwards.
                let options: AnyConnectOptions = url.parse()?;
                let migrations_pool = AnyPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(10))
                    .after_connect(|conn, _| {
                        Box::pin(async move {
                            conn.execute("PRAGMA foreign_keys = OFF; PRAGMA busy_timeout = 10000;").await?;
                            Ok(())
                        })
                    })
                    .connect_with(options)
                    .await?;
                let migrated = SQLITE_MIGRATIONS.run(&migrations_pool).await;
                let violations = sqlx::query("PRAGMA foreign_key_check").fetch_all(&migrations_pool).await;
                migrations_pool.close().await;
                migrated?;
                if !violations?.is_empty() {
                    return Err(DbError::Migrate(sqlx::migrate::MigrateError::Execute(sqlx::Error::Protocol(
                        "foreign key violations after the SQLite migrations".into(),
                    ))));
                }
            }
        }
        Ok(())
    }
}

/// The file of a `sqlite://PATH?...` URL (none for in-memory databases).
fn sqlite_path(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// An exclusive advisory lock on `path`, held until the returned file is dropped.
async fn lock_file(path: PathBuf) -> Result<std::fs::File, DbError> {
    let shown = path.display().to_string();
    let locked = tokio::task::spawn_blocking(move || {
        let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path)?;
        file.lock()?;
        Ok::<_, std::io::Error>(file)
    })
    .await
    .map_err(|e| DbError::Lock { path: shown.clone(), source: std::io::Error::other(e) })?;
    locked.map_err(|source| DbError::Lock { path: shown, source })
}

/// A URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..])
        }
        _ => url.to_owned(),
    }
}

/// Milliseconds since the Unix epoch (the service's wall clock; 0 before 1970).
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .ok()
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .unwrap_or(0)
}

/// A fresh time-ordered id (UUID v7) as text.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schema_flavours_say_the_same_thing() {
        // A statement one flavour needs and the other cannot run (SQLite's table rebuild with
        // foreign keys off, PostgreSQL's foreign key made again) is marked at its line's end;
        // everything else must match.
        let norm = |s: &str| {
            s.lines()
                .filter(|l| !l.starts_with("--"))
                .filter(|l| !l.ends_with("-- sqlite only") && !l.ends_with("-- postgres only"))
                .map(|l| {
                    l.replace("BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "INTEGER PRIMARY KEY AUTOINCREMENT")
                        .replace("BIGINT", "INTEGER")
                })
                .collect::<Vec<_>>()
                .join("\n")
        };
        // Relative to the crate, where cargo runs its tests (a binary from a shared build cache
        // may have been compiled in another checkout).
        let dir = std::path::Path::new("../migrations");
        let mut names: Vec<_> = std::fs::read_dir(dir.join("sqlite"))
            .expect("migrations/sqlite")
            .map(|e| e.expect("entry").file_name())
            .collect();
        names.sort();
        assert!(names.len() >= 3, "{names:?}");
        for name in names {
            let read = |flavour: &str| std::fs::read_to_string(dir.join(flavour).join(&name)).expect("both flavours");
            assert_eq!(norm(&read("sqlite")), norm(&read("postgres")), "{name:?}");
            // Flavour-only lines still must agree on what they constrain.
            assert_eq!(checks(&read("sqlite")), checks(&read("postgres")), "{name:?}: CHECK constraints");
        }
    }

    /// Every `CHECK (…)` clause of a migration, in order.
    fn checks(sql: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut rest = sql;
        while let Some(at) = rest.find("CHECK (") {
            let clause = &rest[at..];
            let mut depth = 0usize;
            let mut end = clause.len();
            for (i, c) in clause.char_indices() {
                match c {
                    '(' => depth += 1,
                    ')' => {
                        depth -= 1;
                        if depth == 0 {
                            end = i + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            out.push(clause[..end].to_owned());
            rest = &clause[end..];
        }
        out
    }

    #[test]
    fn urls_lose_their_password_in_messages() {
        assert_eq!(redact("postgres://ifc:s3cret@db:5432/ifc"), "postgres://ifc:***@db:5432/ifc");
        assert_eq!(redact("sqlite://x.db"), "sqlite://x.db");
        assert_eq!(sqlite_path("sqlite://data/ifc.sqlite?mode=rwc"), Some(PathBuf::from("data/ifc.sqlite")));
        assert_eq!(sqlite_path("sqlite::memory:"), None);
    }
}
