//! The transactional outbox, which is also the event log the WebSocket feed resumes from.
//!
//! Invariant: an event row is inserted in the same transaction as the data it describes, so
//! an event exists exactly when its data does. The relay ([`crate::events`]) publishes rows in
//! `seq` order and sets `published_at_ms` only after the bus acknowledged them; a crash between
//! the two publishes the row again, and consumers drop duplicates by `event_id`. Published
//! rows stay for the WebSocket feed's resume until the relay prunes them (`outbox.retention_s`).

use super::{now_ms, Db, DbError};

/// An event to write with the data it describes.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEvent {
    pub event_id: String,
    /// `verdicts`, `camera-status`, `inspection-status`, `alarms`.
    pub topic: String,
    /// Partition key (the camera id), so one camera's events stay in order.
    pub key: String,
    /// JSON.
    pub payload: String,
}

#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct OutboxRow {
    pub seq: i64,
    pub event_id: String,
    pub topic: String,
    pub event_key: String,
    pub payload: String,
    pub created_at_ms: i64,
}

const COLUMNS: &str = "seq, event_id, topic, event_key, payload, created_at_ms";

pub(crate) async fn insert_event(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    e: &OutboxEvent,
    now: i64,
) -> Result<(), DbError> {
    sqlx::query("INSERT INTO outbox (event_id, topic, event_key, payload, created_at_ms) VALUES ($1, $2, $3, $4, $5)")
        .bind(&e.event_id)
        .bind(&e.topic)
        .bind(&e.key)
        .bind(&e.payload)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

impl Db {
    /// An event with no other data (camera and inspection status, alarms).
    pub async fn insert_event(&self, e: &OutboxEvent) -> Result<(), DbError> {
        let mut tx = self.pool().begin().await?;
        insert_event(&mut tx, e, now_ms()).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The oldest unpublished events, in order.
    pub async fn unpublished_events(&self, limit: i64) -> Result<Vec<OutboxRow>, DbError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM outbox WHERE published_at_ms IS NULL ORDER BY seq LIMIT $1"
        ))
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }

    /// Marks exactly these events published (never a range: on PostgreSQL a lower `seq` can
    /// commit after a higher one was published, and must not be marked unseen).
    pub async fn mark_published(&self, seqs: &[i64]) -> Result<(), DbError> {
        let now = now_ms();
        // Bounded statements: both databases cap the number of bound parameters.
        for chunk in seqs.chunks(500) {
            let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!(
                "UPDATE outbox SET published_at_ms = $1 WHERE published_at_ms IS NULL AND seq IN ({})",
                placeholders.join(", ")
            );
            let mut query = sqlx::query(&sql).bind(now);
            for seq in chunk {
                query = query.bind(*seq);
            }
            query.execute(self.pool()).await?;
        }
        Ok(())
    }

    /// Deletes published events older than `before_ms`, `batch` rows per statement so no
    /// statement holds the write lock for long; returns how many went. Unpublished rows are
    /// never deleted, whatever their age.
    pub async fn prune_published_events(&self, before_ms: i64, batch: i64) -> Result<u64, DbError> {
        let mut deleted = 0;
        loop {
            let n = sqlx::query(
                "DELETE FROM outbox WHERE seq IN (SELECT seq FROM outbox WHERE published_at_ms IS NOT NULL \
                 AND published_at_ms < $1 ORDER BY seq LIMIT $2)",
            )
            .bind(before_ms)
            .bind(batch)
            .execute(self.pool())
            .await?
            .rows_affected();
            deleted += n;
            if n < u64::try_from(batch).unwrap_or(u64::MAX) {
                return Ok(deleted);
            }
            // Let writers in between batches.
            tokio::task::yield_now().await;
        }
    }

    pub async fn outbox_backlog(&self) -> Result<i64, DbError> {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE published_at_ms IS NULL").fetch_one(self.pool()).await?;
        Ok(n)
    }

    /// The sequence number of an event (to resume a feed after it).
    pub async fn event_seq(&self, event_id: &str) -> Result<Option<i64>, DbError> {
        let row: Option<(i64,)> =
            sqlx::query_as("SELECT seq FROM outbox WHERE event_id = $1").bind(event_id).fetch_optional(self.pool()).await?;
        Ok(row.map(|(s,)| s))
    }

    /// Published events after `after_seq`, in order.
    pub async fn published_events_after(&self, after_seq: i64, limit: i64) -> Result<Vec<OutboxRow>, DbError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM outbox WHERE seq > $1 AND published_at_ms IS NOT NULL ORDER BY seq LIMIT $2"
        ))
        .bind(after_seq)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }
}
