//! The transactional outbox, which is also the event log the WebSocket feed resumes from.
//!
//! Invariant: an event row is inserted in the same transaction as the data it describes, so
//! an event exists exactly when its data does. The relay ([`crate::events`]) publishes rows in
//! `seq` order and sets `published_at_ms` only after the bus acknowledged them; a crash between
//! the two publishes the row again, and consumers drop duplicates by `event_id`.

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

    /// Marks events up to and including `last_seq` published (the relay publishes in order).
    pub async fn mark_published_through(&self, last_seq: i64) -> Result<(), DbError> {
        sqlx::query("UPDATE outbox SET published_at_ms = $1 WHERE seq <= $2 AND published_at_ms IS NULL")
            .bind(now_ms())
            .bind(last_seq)
            .execute(self.pool())
            .await?;
        Ok(())
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
