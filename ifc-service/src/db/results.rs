//! Inspection results: one row per inferred frame, written with its verdict event.

use serde::Deserialize;
use serde_json::value::RawValue;

use super::outbox::{insert_event, OutboxEvent};
use super::{Db, DbError, DbKind};

/// A result to store.
#[derive(Debug, Clone, PartialEq)]
pub struct NewResult {
    pub inspection_id: String,
    pub camera_id: String,
    pub frame_index: i64,
    pub pts_90k: Option<i64>,
    pub wall_ms: i64,
    /// `ok` or `ng`.
    pub verdict: String,
    /// The frame's record as JSON (what `ifc run` writes to results.jsonl).
    pub record: String,
    pub snapshot_key: Option<String>,
    pub product: Option<String>,
    pub lot: Option<String>,
    pub serial: Option<String>,
}

/// A stored result. Read from a JSON array of its columns in [`COLUMNS`] order (see
/// [`Db::query_results`]).
#[derive(Debug, Deserialize)]
pub struct ResultRow {
    pub id: i64,
    pub inspection_id: String,
    pub camera_id: String,
    pub frame_index: i64,
    pub pts_90k: Option<i64>,
    pub wall_ms: i64,
    pub verdict: String,
    /// The record, JSON (checked once, as the page was read).
    pub record: Box<RawValue>,
    pub snapshot_key: Option<String>,
    pub product: Option<String>,
    pub lot: Option<String>,
    pub serial: Option<String>,
}

const COLUMNS: &str =
    "id, inspection_id, camera_id, frame_index, pts_90k, wall_ms, verdict, record, snapshot_key, product, lot, serial";

/// Which results a query wants; every field narrows it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ResultFilter {
    pub camera_id: Option<String>,
    pub inspection_id: Option<String>,
    pub verdict: Option<String>,
    pub product: Option<String>,
    pub lot: Option<String>,
    /// Wall time, Unix ms: `from_ms <= wall_ms < to_ms`.
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// Cursor: results with `id > after_id` (ascending pages).
    pub after_id: Option<i64>,
}

/// One window of the statistics.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct StatsBucket {
    pub window_start_ms: i64,
    pub ok: i64,
    pub ng: i64,
}

/// `WHERE` clause and its text binds, in `$n` order starting at `$1`.
fn where_clause(f: &ResultFilter) -> (String, Vec<Bind>) {
    let mut parts = Vec::new();
    let mut binds = Vec::new();
    let mut add = |sql: &str, b: Bind| {
        binds.push(b);
        parts.push(sql.replace('?', &format!("${}", binds.len())));
    };
    if let Some(v) = &f.camera_id {
        add("camera_id = ?", Bind::Text(v.clone()));
    }
    if let Some(v) = &f.inspection_id {
        add("inspection_id = ?", Bind::Text(v.clone()));
    }
    if let Some(v) = &f.verdict {
        add("verdict = ?", Bind::Text(v.clone()));
    }
    if let Some(v) = &f.product {
        add("product = ?", Bind::Text(v.clone()));
    }
    if let Some(v) = &f.lot {
        add("lot = ?", Bind::Text(v.clone()));
    }
    if let Some(v) = f.from_ms {
        add("wall_ms >= ?", Bind::Int(v));
    }
    if let Some(v) = f.to_ms {
        add("wall_ms < ?", Bind::Int(v));
    }
    if let Some(v) = f.after_id {
        add("id > ?", Bind::Int(v));
    }
    let clause = if parts.is_empty() { String::new() } else { format!("WHERE {}", parts.join(" AND ")) };
    (clause, binds)
}

enum Bind {
    Text(String),
    Int(i64),
}

impl Db {
    /// Stores a result and its verdict event in one transaction; returns the result's id.
    /// `make_event` builds the event from the new result's id.
    pub async fn insert_result(
        &self,
        r: &NewResult,
        make_event: impl Fn(i64) -> OutboxEvent,
    ) -> Result<i64, DbError> {
        let mut tx = self.pool().begin().await?;
        let (id,): (i64,) = sqlx::query_as(
            "INSERT INTO results (inspection_id, camera_id, frame_index, pts_90k, wall_ms, verdict, record, snapshot_key, \
             product, lot, serial) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
        )
        .bind(&r.inspection_id)
        .bind(&r.camera_id)
        .bind(r.frame_index)
        .bind(r.pts_90k)
        .bind(r.wall_ms)
        .bind(&r.verdict)
        .bind(&r.record)
        .bind(&r.snapshot_key)
        .bind(&r.product)
        .bind(&r.lot)
        .bind(&r.serial)
        .fetch_one(&mut *tx)
        .await?;
        insert_event(&mut tx, &make_event(id), r.wall_ms).await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn result(&self, id: i64) -> Result<ResultRow, DbError> {
        let rows = self.select_results("WHERE id = $1".into(), vec![Bind::Int(id)], 1).await?;
        rows.into_iter().next().ok_or_else(|| DbError::not_found(format!("result {id}")))
    }

    /// Up to `limit` results matching `filter`, oldest first.
    pub async fn query_results(&self, filter: &ResultFilter, limit: i64) -> Result<Vec<ResultRow>, DbError> {
        let (clause, binds) = where_clause(filter);
        self.select_results(clause, binds, limit).await
    }

    /// The rows come back as one JSON array (of arrays of their columns) in one row, made by
    /// concatenation: sqlx's SQLite driver hands every row from its worker thread to the
    /// runtime through a channel and converts it to an `Any` row, which for a page of 50 cost
    /// more than the query, and the database's JSON functions would parse each record again.
    /// The record is stored JSON and goes in as it is; it is checked here, once, as the page
    /// is parsed, and sent on as it is.
    async fn select_results(&self, clause: String, binds: Vec<Bind>, limit: i64) -> Result<Vec<ResultRow>, DbError> {
        let quote = |column: &str| match (column, self.kind()) {
            ("record", _) => "record".to_owned(),
            (c, DbKind::Sqlite) => format!("json_quote({c})"),
            (c, DbKind::Postgres) => format!("COALESCE(to_json({c})::text, 'null')"),
        };
        // `concat` and `concat_ws` write each row once (a chain of `||` copies it per column).
        let row = format!("concat('[', concat_ws(',', {}), ']')", COLUMNS.split(", ").map(quote).collect::<Vec<_>>().join(", "));
        let aggregate = match self.kind() {
            DbKind::Sqlite => format!("concat('[', group_concat({row}, ','), ']')"),
            DbKind::Postgres => format!("concat('[', string_agg({row}, ','), ']')"),
        };
        let sql = format!(
            "SELECT {aggregate} FROM (SELECT {COLUMNS} FROM results {clause} ORDER BY id LIMIT ${}) AS page",
            binds.len() + 1
        );
        let mut q = sqlx::query_scalar::<_, String>(&sql);
        for b in binds {
            q = match b {
                Bind::Text(s) => q.bind(s),
                Bind::Int(i) => q.bind(i),
            };
        }
        let page = q.bind(limit).fetch_one(self.pool()).await?;
        let mut rows: Vec<ResultRow> = serde_json::from_str(&page).map_err(|e| DbError::Corrupt(format!("results page: {e}")))?;
        // Aggregates keep no order of their own.
        rows.sort_unstable_by_key(|r| r.id);
        Ok(rows)
    }

    /// OK and NG counts per window of `window_ms` (aligned to the Unix epoch) over the results
    /// matching `filter` (its cursor is ignored).
    pub async fn result_stats(&self, filter: &ResultFilter, window_ms: i64) -> Result<Vec<StatsBucket>, DbError> {
        let filter = ResultFilter { after_id: None, ..filter.clone() };
        let (clause, binds) = where_clause(&filter);
        let w = binds.len() + 1;
        let sql = format!(
            "SELECT (wall_ms / ${w}) * ${w} AS window_start_ms, \
             SUM(CASE WHEN verdict = 'ok' THEN 1 ELSE 0 END) AS ok, \
             SUM(CASE WHEN verdict = 'ng' THEN 1 ELSE 0 END) AS ng \
             FROM results {clause} GROUP BY 1 ORDER BY 1"
        );
        let mut q = sqlx::query_as::<_, StatsBucket>(&sql);
        for b in binds {
            q = match b {
                Bind::Text(s) => q.bind(s),
                Bind::Int(i) => q.bind(i),
            };
        }
        Ok(q.bind(window_ms).fetch_all(self.pool()).await?)
    }
}
