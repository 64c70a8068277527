//! `ifc run`'s results file (`results.sqlite`): a `runs` table and one `results` row per
//! inferred frame (schema: `migrations/0001_results.sql`, applied when `PRAGMA user_version`
//! is below it). On sqlx, like the service's store: one SQL layer and one SQLite library in the
//! whole product.
//!
//! [`ResultStore`] is blocking: it owns a current-thread runtime and a single connection, for
//! the CLI and for [`SqliteSink`] on libifc's inference thread. Never call it from inside an
//! async task (the service writes through [`crate::db`] instead).

use std::path::Path;
use std::str::FromStr;

use ifc::decode::Frame;
use ifc::runner::{FrameRecord, ResultSink, RunStats, SinkError};
use ifc::verdict::Status;
use sqlx::sqlite::{SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqliteQueryResult, SqliteRow, SqliteSynchronous};
use sqlx::{ConnectOptions, Row, Sqlite, SqliteConnection};

type Query<'q> = sqlx::query::Query<'q, Sqlite, SqliteArguments<'q>>;

/// Migrations in order; migration `i` brings `PRAGMA user_version` to `i + 1`.
const MIGRATIONS: &[&str] = &[include_str!("../../migrations/0001_results.sql")];

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("results store {path}: {source}")]
    Sqlite { path: String, source: sqlx::Error },
    #[error("results store {path}: schema version {found} is newer than this build's {known}")]
    NewerSchema { path: String, found: i64, known: usize },
    #[error("results store {path}: {message}")]
    Data { path: String, message: String },
    #[error("results store {path}: cannot start its runtime: {source}")]
    Runtime { path: String, source: std::io::Error },
}

/// What a `runs` row says about the run when it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct RunInfo {
    pub started_at_unix_ms: Option<i64>,
    pub pipeline_name: Option<String>,
    pub pipeline_json: String,
    pub source: String,
    pub backend: String,
    pub model: String,
}

/// A `results` row read back.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredFrame {
    pub frame_index: u64,
    pub pts_90k: Option<i64>,
    pub pts_s: Option<f64>,
    pub verdict: Status,
    pub fired_rules: serde_json::Value,
    pub detections: serde_json::Value,
    pub window: Option<serde_json::Value>,
}

/// Totals of a `runs` row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunTotals {
    pub finished: bool,
    pub frames_inferred: Option<i64>,
    pub ok_frames: Option<i64>,
    pub ng_frames: Option<i64>,
}

/// An open results database.
pub struct ResultStore {
    runtime: tokio::runtime::Runtime,
    conn: SqliteConnection,
    path: String,
}

impl ResultStore {
    /// Opens (creating when missing) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::connect(SqliteConnectOptions::new().filename(path).create_if_missing(true), path.display().to_string())
    }

    pub fn open_in_memory() -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(|source| StoreError::Sqlite { path: ":memory:".into(), source })?;
        Self::connect(options, ":memory:".into())
    }

    fn connect(options: SqliteConnectOptions, path: String) -> Result<Self, StoreError> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .map_err(|source| StoreError::Runtime { path: path.clone(), source })?;
        // WAL: readers (a dashboard) never block the run; NORMAL sync is durable across a
        // crash of ifc, which is what a results log needs.
        let options = options
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .disable_statement_logging();
        let conn = runtime
            .block_on(options.connect())
            .map_err(|source| StoreError::Sqlite { path: path.clone(), source })?;
        let mut store = Self { runtime, conn, path };
        store.migrate()?;
        Ok(store)
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let version: i64 = self.one("PRAGMA user_version", |q| q)?.try_get(0).map_err(|e| self.err(e))?;
        if version > MIGRATIONS.len() as i64 {
            return Err(StoreError::NewerSchema { path: self.path.clone(), found: version, known: MIGRATIONS.len() });
        }
        for (i, migration) in MIGRATIONS.iter().enumerate().skip(usize::try_from(version).unwrap_or(0)) {
            let sql = format!("BEGIN; {migration}; PRAGMA user_version = {}; COMMIT;", i + 1);
            let result = self.runtime.block_on(sqlx::raw_sql(&sql).execute(&mut self.conn));
            result.map_err(|e| self.err(e))?;
        }
        Ok(())
    }

    fn err(&self, source: sqlx::Error) -> StoreError {
        StoreError::Sqlite { path: self.path.clone(), source }
    }

    fn data(&self, message: String) -> StoreError {
        StoreError::Data { path: self.path.clone(), message }
    }

    fn exec<'q>(&mut self, sql: &'q str, bind: impl FnOnce(Query<'q>) -> Query<'q>) -> Result<SqliteQueryResult, StoreError> {
        let result = self.runtime.block_on(bind(sqlx::query(sql)).execute(&mut self.conn));
        result.map_err(|e| self.err(e))
    }

    fn one<'q>(&mut self, sql: &'q str, bind: impl FnOnce(Query<'q>) -> Query<'q>) -> Result<SqliteRow, StoreError> {
        let result = self.runtime.block_on(bind(sqlx::query(sql)).fetch_one(&mut self.conn));
        result.map_err(|e| self.err(e))
    }

    fn all<'q>(&mut self, sql: &'q str, bind: impl FnOnce(Query<'q>) -> Query<'q>) -> Result<Vec<SqliteRow>, StoreError> {
        let result = self.runtime.block_on(bind(sqlx::query(sql)).fetch_all(&mut self.conn));
        result.map_err(|e| self.err(e))
    }

    /// Adds a `runs` row and returns its id.
    pub fn begin_run(&mut self, info: &RunInfo) -> Result<i64, StoreError> {
        let done = self.exec(
            "INSERT INTO runs (started_at_unix_ms, pipeline_name, pipeline_json, source, backend, model)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            |q| {
                q.bind(info.started_at_unix_ms)
                    .bind(info.pipeline_name.clone())
                    .bind(info.pipeline_json.clone())
                    .bind(info.source.clone())
                    .bind(info.backend.clone())
                    .bind(info.model.clone())
            },
        )?;
        Ok(done.last_insert_rowid())
    }

    /// Adds one frame's row.
    pub fn insert_frame(&mut self, run_id: i64, record: &FrameRecord) -> Result<(), StoreError> {
        let json = |v: Result<String, serde_json::Error>| v.map_err(|e| self.data(e.to_string()));
        let fired = json(serde_json::to_string(&record.verdict.fired))?;
        let detections = json(serde_json::to_string(&record.detections))?;
        let window = record.window.as_ref().map(|w| json(serde_json::to_string(w))).transpose()?;
        let frame_index = i64::try_from(record.frame_index).map_err(|_| self.data("frame index past 2^63".into()))?;
        self.exec(
            "INSERT INTO results (run_id, frame_index, pts_90k, pts_s, verdict, fired_rules, detections, window)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            |q| {
                q.bind(run_id)
                    .bind(frame_index)
                    .bind(record.pts_90k)
                    .bind(record.pts_s)
                    .bind(status_name(record.verdict.status))
                    .bind(fired)
                    .bind(detections)
                    .bind(window)
            },
        )
        .map(|_| ())
    }

    /// Fills in the run's totals.
    pub fn finish_run(&mut self, run_id: i64, stats: &RunStats) -> Result<(), StoreError> {
        let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
        self.exec(
            "UPDATE runs SET finished = 1, frames_decoded = ?2, frames_inferred = ?3, frames_not_inferred = ?4,
             ok_frames = ?5, ng_frames = ?6 WHERE id = ?1",
            |q| {
                q.bind(run_id)
                    .bind(n(stats.frames_decoded))
                    .bind(n(stats.frames_inferred))
                    .bind(n(stats.frames_not_inferred))
                    .bind(n(stats.ok_frames))
                    .bind(n(stats.ng_frames))
            },
        )
        .map(|_| ())
    }

    /// A run's frames, in frame order.
    pub fn frames(&mut self, run_id: i64) -> Result<Vec<StoredFrame>, StoreError> {
        let rows = self.all(
            "SELECT frame_index, pts_90k, pts_s, verdict, fired_rules, detections, window
             FROM results WHERE run_id = ?1 ORDER BY frame_index",
            |q| q.bind(run_id),
        )?;
        let parse = |s: &str| serde_json::from_str::<serde_json::Value>(s).map_err(|e| self.data(e.to_string()));
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let get = |e: sqlx::Error| self.err(e);
            let index: i64 = row.try_get(0).map_err(get)?;
            let verdict: String = row.try_get(3).map_err(get)?;
            let fired: String = row.try_get(4).map_err(get)?;
            let detections: String = row.try_get(5).map_err(get)?;
            let window: Option<String> = row.try_get(6).map_err(get)?;
            out.push(StoredFrame {
                frame_index: u64::try_from(index).map_err(|_| self.data(format!("frame_index {index}")))?,
                pts_90k: row.try_get(1).map_err(get)?,
                pts_s: row.try_get(2).map_err(get)?,
                verdict: match verdict.as_str() {
                    "ok" => Status::Ok,
                    "ng" => Status::Ng,
                    other => return Err(self.data(format!("verdict {other:?}"))),
                },
                fired_rules: parse(&fired)?,
                detections: parse(&detections)?,
                window: window.as_deref().map(parse).transpose()?,
            });
        }
        Ok(out)
    }

    /// The latest run's id, if any.
    pub fn last_run_id(&mut self) -> Result<Option<i64>, StoreError> {
        self.one("SELECT max(id) FROM runs", |q| q)?.try_get(0).map_err(|e| self.err(e))
    }

    /// A run's row: whether it finished, and its totals (absent until it finishes).
    pub fn run_totals(&mut self, run_id: i64) -> Result<RunTotals, StoreError> {
        let row = self.one("SELECT finished, frames_inferred, ok_frames, ng_frames FROM runs WHERE id = ?1", |q| {
            q.bind(run_id)
        })?;
        let get = |e: sqlx::Error| self.err(e);
        Ok(RunTotals {
            finished: row.try_get::<i64, _>(0).map_err(get)? != 0,
            frames_inferred: row.try_get(1).map_err(get)?,
            ok_frames: row.try_get(2).map_err(get)?,
            ng_frames: row.try_get(3).map_err(get)?,
        })
    }
}

fn status_name(s: Status) -> &'static str {
    match s {
        Status::Ok => "ok",
        Status::Ng => "ng",
    }
}

/// A [`ResultSink`] writing one run into a [`ResultStore`].
pub struct SqliteSink {
    store: ResultStore,
    run_id: i64,
}

impl SqliteSink {
    pub fn new(mut store: ResultStore, info: &RunInfo) -> Result<Self, StoreError> {
        let run_id = store.begin_run(info)?;
        Ok(Self { store, run_id })
    }

    pub fn run_id(&self) -> i64 {
        self.run_id
    }
}

impl ResultSink for SqliteSink {
    fn write(&mut self, record: &FrameRecord, _frame: &Frame) -> Result<bool, SinkError> {
        self.store.insert_frame(self.run_id, record).map_err(|e| SinkError::new("sqlite", e.to_string()))?;
        Ok(false)
    }

    fn finish(&mut self, stats: &RunStats) -> Result<(), SinkError> {
        self.store.finish_run(self.run_id, stats).map_err(|e| SinkError::new("sqlite", e.to_string()))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use ifc::postprocess::{BoxXyxy, Detection};
    use ifc::verdict::{RuleHit, Verdict};

    fn record(i: u64, ng: bool) -> FrameRecord {
        let det = Detection {
            class_id: 1,
            class_name: "scratch".into(),
            score: 0.75,
            bbox: BoxXyxy { x1: 1.5, y1: 2.0, x2: 30.25, y2: 40.0 },
        };
        FrameRecord {
            frame_index: i,
            pts_90k: Some(i as i64 * 3600),
            pts_s: Some(i as f64 * 0.04),
            detections: if ng { vec![det] } else { vec![] },
            verdict: Verdict {
                status: if ng { Status::Ng } else { Status::Ok },
                fired: if ng {
                    vec![RuleHit {
                        rule_id: "ng-scratch".into(),
                        message: "scratch detected".into(),
                        detection_indices: vec![0],
                        detail: "1 × \"scratch\"".into(),
                    }]
                } else {
                    vec![]
                },
            },
            window: None,
        }
    }

    fn info() -> RunInfo {
        RunInfo {
            started_at_unix_ms: Some(1),
            pipeline_name: None,
            pipeline_json: "{}".into(),
            source: "clip.mp4".into(),
            backend: "fake".into(),
            model: "m".into(),
        }
    }

    #[test]
    fn rows_read_back_as_the_records_serialise() {
        let mut store = ResultStore::open_in_memory().unwrap();
        let run = store.begin_run(&info()).unwrap();
        let records = [record(0, false), record(3, true)];
        for r in &records {
            store.insert_frame(run, r).unwrap();
        }
        let rows = store.frames(run).unwrap();
        assert_eq!(rows.len(), 2);
        for (row, r) in rows.iter().zip(&records) {
            let json: serde_json::Value = serde_json::from_str(&r.to_json_line().unwrap()).unwrap();
            assert_eq!(row.frame_index, r.frame_index);
            assert_eq!((row.pts_90k, row.pts_s), (r.pts_90k, r.pts_s));
            assert_eq!(row.verdict, r.verdict.status);
            assert_eq!(row.detections, json["detections"]);
            assert_eq!(row.fired_rules, json["verdict"]["fired"]);
        }
        // One row per frame: a second insert of the same frame is refused.
        assert!(store.insert_frame(run, &records[0]).is_err());
        let stats = RunStats { frames_inferred: 2, ok_frames: 1, ng_frames: 1, ..RunStats::default() };
        store.finish_run(run, &stats).unwrap();
        let totals = store.run_totals(run).unwrap();
        assert_eq!(
            totals,
            RunTotals { finished: true, frames_inferred: Some(2), ok_frames: Some(1), ng_frames: Some(1) }
        );
        assert_eq!(store.last_run_id().unwrap(), Some(run));
    }

    #[test]
    fn reopening_keeps_runs_and_refuses_a_newer_schema() {
        let dir = std::env::temp_dir().join(format!("ifc-store-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("results.sqlite");
        let _ = std::fs::remove_file(&path);
        let first = {
            let mut store = ResultStore::open(&path).unwrap();
            store.begin_run(&info()).unwrap()
        };
        let mut store = ResultStore::open(&path).unwrap();
        assert_eq!(store.last_run_id().unwrap(), Some(first), "migrations are not re-applied");
        assert!(store.begin_run(&info()).unwrap() > first);
        store.exec("PRAGMA user_version = 99", |q| q).unwrap();
        drop(store);
        assert!(matches!(ResultStore::open(&path), Err(StoreError::NewerSchema { found: 99, .. })));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_file_that_is_not_a_database_is_an_error() {
        let dir = std::env::temp_dir().join(format!("ifc-store-junk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("junk.sqlite");
        std::fs::write(&path, vec![0xA5u8; 4096]).unwrap();
        let err = ResultStore::open(&path).err().unwrap();
        assert!(err.to_string().contains("junk.sqlite"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
