//! The transactional outbox, which is also the event log the WebSocket feed resumes from.
//!
//! Invariant: an event row is inserted in the same transaction as the data it describes, so
//! an event exists exactly when its data does. The relay ([`crate::events`]) publishes rows in
//! `seq` order and sets `published_at_ms` only after the bus acknowledged them; a crash between
//! the two publishes the row again, and consumers drop duplicates by `event_id`. Published
//! rows stay for the WebSocket feed's resume until the relay prunes them (`outbox.retention_s`).
//!
//! The feed follows `published_seq`, the order rows were marked in, not `seq`: on PostgreSQL
//! a row can commit after a row with a higher `seq` was published, and a feed ordered by `seq`
//! would skip it (live, as "already seen") or miss it on resume.

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
    /// Set when published: the feed's order.
    pub published_seq: Option<i64>,
}

const COLUMNS: &str = "seq, event_id, topic, event_key, payload, created_at_ms, published_seq";

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
    /// commit after a higher one was published, and must not be marked unseen), numbering them
    /// in the given order after every row published before. Returns `(seq, published_seq)` of
    /// the rows this call marked (a row another relay marked meanwhile is not among them).
    pub async fn mark_published(&self, seqs: &[i64]) -> Result<Vec<(i64, i64)>, DbError> {
        let now = now_ms();
        let count = i64::try_from(seqs.len()).unwrap_or(i64::MAX);
        let mut tx = self.pool().begin().await?;
        // The counter row's lock is held to the commit, so concurrent relays' numbers commit in
        // the order they were drawn.
        let (last,): (i64,) =
            sqlx::query_as("UPDATE outbox_publish_counter SET last = last + $1 WHERE id = 1 RETURNING last")
                .bind(count)
                .fetch_one(&mut *tx)
                .await?;
        let mut next = last - count;
        let mut marked = Vec::with_capacity(seqs.len());
        // Bounded statements: both databases cap the number of bound parameters.
        for chunk in seqs.chunks(300) {
            // CASE seq WHEN $2 THEN $3 … : each row's number, in one statement.
            let mut cases = String::new();
            let mut list = Vec::with_capacity(chunk.len());
            for i in 0..chunk.len() {
                let p = 2 + 2 * i;
                cases.push_str(&format!(" WHEN ${p} THEN ${}", p + 1));
                list.push(format!("${p}"));
            }
            let sql = format!(
                "UPDATE outbox SET published_at_ms = $1, published_seq = CASE seq{cases} END \
                 WHERE published_at_ms IS NULL AND seq IN ({}) RETURNING seq, published_seq",
                list.join(", ")
            );
            let mut query = sqlx::query_as::<_, (i64, i64)>(&sql).bind(now);
            for seq in chunk {
                next += 1;
                query = query.bind(*seq).bind(next);
            }
            marked.extend(query.fetch_all(&mut *tx).await?);
        }
        tx.commit().await?;
        marked.sort_by_key(|&(_, published)| published);
        Ok(marked)
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

    /// Where an event stands in the feed's order (to resume a feed after it): `None` when
    /// there is no such event, `Some(None)` while it is not yet published.
    pub async fn event_published_seq(&self, event_id: &str) -> Result<Option<Option<i64>>, DbError> {
        let row: Option<(Option<i64>,)> = sqlx::query_as("SELECT published_seq FROM outbox WHERE event_id = $1")
            .bind(event_id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|(s,)| s))
    }

    /// Events published after `after_published_seq`, in the order they were published.
    pub async fn published_events_after(&self, after_published_seq: i64, limit: i64) -> Result<Vec<OutboxRow>, DbError> {
        Ok(sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM outbox WHERE published_seq > $1 ORDER BY published_seq LIMIT $2"
        ))
        .bind(after_published_seq)
        .bind(limit)
        .fetch_all(self.pool())
        .await?)
    }
}
