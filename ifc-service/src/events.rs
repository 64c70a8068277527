//! Events: the bus they are published on, and the outbox relay that feeds it.
//!
//! Topics and payloads (JSON; schema in `schema/events.schema.json`):
//! - `verdicts`: one per inferred frame ([`VerdictEvent`]);
//! - `camera-status`: a camera's source connecting, live, in backoff or failed;
//! - `inspection-status`: an inspection started, stopped or failed;
//! - `alarms`: something an operator must look at.
//!
//! Every event has a stable `id` (UUID v7) and a `seq` (its outbox row); consumers drop
//! duplicates by `id`, since the relay publishes again after a crash between publishing and
//! marking, and after a publish that failed part way.
//!
//! Buses: [`InProcessBus`] (the default) and [`KafkaBus`] (`kafka.rs`).

mod kafka;
pub mod schema;

pub use kafka::KafkaBus;
pub use schema::events_json_schema;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{broadcast, Notify};

use crate::config::OutboxConfig;
use crate::db::{Db, OutboxRow};

pub const TOPIC_VERDICTS: &str = "verdicts";
pub const TOPIC_CAMERA_STATUS: &str = "camera-status";
pub const TOPIC_INSPECTION_STATUS: &str = "inspection-status";
pub const TOPIC_ALARMS: &str = "alarms";
/// Every topic, as a bus creates them.
pub const ALL_TOPICS: [&str; 4] = [TOPIC_VERDICTS, TOPIC_CAMERA_STATUS, TOPIC_INSPECTION_STATUS, TOPIC_ALARMS];

/// An event as consumers see it (WebSocket frames, bus messages).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct EventEnvelope {
    pub id: String,
    pub seq: i64,
    pub topic: String,
    /// The camera (or other subject) the event is about; events of one key stay in order.
    pub key: String,
    pub created_at_ms: i64,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// The feed's order (`published_seq`, set once published; 0 before): not part of the
    /// event as consumers see it, where `seq` and `id` identify it.
    #[serde(skip)]
    pub published_seq: i64,
}

impl EventEnvelope {
    pub fn from_row(row: &OutboxRow) -> Self {
        Self {
            id: row.event_id.clone(),
            seq: row.seq,
            topic: row.topic.clone(),
            key: row.event_key.clone(),
            created_at_ms: row.created_at_ms,
            payload: serde_json::from_str(&row.payload).unwrap_or(serde_json::Value::Null),
            published_seq: row.published_seq.unwrap_or(0),
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("event bus {bus}: {message}")]
pub struct BusError {
    pub bus: &'static str,
    pub message: String,
}

pub type BusFuture<'a> = Pin<Box<dyn Future<Output = Result<(), BusError>> + Send + 'a>>;

/// Where the relay publishes. `publish` returns once the bus has acknowledged every event
/// (for Kafka: the delivery reports), so the relay may mark them.
pub trait EventBus: Send + Sync {
    fn name(&self) -> &'static str;
    fn publish<'a>(&'a self, events: &'a [EventEnvelope]) -> BusFuture<'a>;
    /// Whether the bus is reachable now (`/readyz`); bounded in time.
    fn check(&self) -> BusFuture<'_> {
        Box::pin(async { Ok(()) })
    }
}

/// The in-process bus (the default): its consumers are this process's [`LocalFeed`]
/// subscribers, which the relay feeds after marking; nothing leaves the process.
pub struct InProcessBus;

/// What local subscribers (the WebSocket feeds) listen to, whatever the bus.
#[derive(Clone)]
pub struct LocalFeed {
    sender: broadcast::Sender<Arc<EventEnvelope>>,
}

impl LocalFeed {
    pub fn new(capacity: usize) -> Self {
        Self { sender: broadcast::channel(capacity).0 }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<EventEnvelope>> {
        self.sender.subscribe()
    }

    fn send(&self, e: EventEnvelope) {
        // No subscriber is not an error: the outbox keeps every event for later readers.
        let _ = self.sender.send(Arc::new(e));
    }
}

impl EventBus for InProcessBus {
    fn name(&self) -> &'static str {
        "in-process"
    }

    fn publish<'a>(&'a self, _events: &'a [EventEnvelope]) -> BusFuture<'a> {
        Box::pin(async { Ok(()) })
    }
}

/// Moves outbox rows to the bus, in order, marking them only after the bus acknowledged them;
/// prunes published rows past their retention.
pub struct OutboxRelay {
    db: Db,
    bus: Arc<dyn EventBus>,
    feed: LocalFeed,
    wake: Arc<Notify>,
    outbox: OutboxConfig,
}

/// Events per publish: one bus round trip, and one UPDATE marking them.
const BATCH: i64 = 500;

impl OutboxRelay {
    pub fn new(db: Db, bus: Arc<dyn EventBus>, feed: LocalFeed, wake: Arc<Notify>) -> Self {
        Self { db, bus, feed, wake, outbox: OutboxConfig::default() }
    }

    /// Retention and pruning of published rows (default: [`OutboxConfig::default`]).
    pub fn with_outbox(mut self, outbox: OutboxConfig) -> Self {
        self.outbox = outbox;
        self
    }

    /// Publishes until `shutdown` fires, then drains what is left (best effort: whatever is
    /// not acknowledged stays in the outbox for the next start). A publish in flight is
    /// abandoned at shutdown: its rows are not marked, so the next start publishes them again.
    pub async fn run(self, shutdown: crate::shutdown::Shutdown) {
        // Pruning on its own task: deleting a large backlog of old rows never delays publishing.
        let pruner = tokio::spawn(prune_loop(self.db.clone(), self.outbox.clone(), shutdown.clone()));
        let mut backoff = Duration::from_millis(100);
        loop {
            let drained = tokio::select! {
                r = self.drain_once() => r,
                () = shutdown.wait() => break,
            };
            match drained {
                Ok(0) => {
                    backoff = Duration::from_millis(100);
                    tokio::select! {
                        () = self.wake.notified() => {}
                        () = tokio::time::sleep(Duration::from_millis(500)) => {}
                        () = shutdown.wait() => break,
                    }
                }
                Ok(_) => backoff = Duration::from_millis(100),
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "outbox relay: publish failed; events wait in the outbox");
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        () = shutdown.wait() => break,
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                }
            }
        }
        pruner.abort();
        // Flush on shutdown, bounded so a dead bus cannot hold the process.
        let _ = tokio::time::timeout(Duration::from_secs(5), async {
            while let Ok(n) = self.drain_once().await {
                if n == 0 {
                    break;
                }
            }
        })
        .await;
    }

    /// Publishes one batch; returns how many events it moved.
    pub async fn drain_once(&self) -> Result<usize, RelayError> {
        let rows = self.db.unpublished_events(BATCH).await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let events: Vec<EventEnvelope> = rows.iter().map(EventEnvelope::from_row).collect();
        self.bus.publish(&events).await?;
        // Exactly the rows published: a row committed late with a lower seq (PostgreSQL hands
        // out sequence numbers before commit) stays unpublished for the next batch, and is
        // numbered after these in the feed's order.
        let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
        let marked: HashMap<i64, i64> = self.db.mark_published(&seqs).await?.into_iter().collect();
        for mut e in events {
            // A row another relay marked meanwhile reaches the feed through that relay.
            if let Some(&published_seq) = marked.get(&e.seq) {
                e.published_seq = published_seq;
                self.feed.send(e);
            }
        }
        Ok(rows.len())
    }
}

/// Deletes published rows past the retention every `prune_interval_s`, batch by batch;
/// failures are only logged (the next round tries again).
async fn prune_loop(db: Db, outbox: OutboxConfig, shutdown: crate::shutdown::Shutdown) {
    if outbox.retention_s == 0 {
        return;
    }
    let retention_ms = i64::try_from(outbox.retention_s.saturating_mul(1000)).unwrap_or(i64::MAX);
    loop {
        let before_ms = crate::db::now_ms().saturating_sub(retention_ms);
        match db.prune_published_events(before_ms, i64::from(outbox.prune_batch.max(1))).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(deleted = n, "outbox: pruned published events past their retention"),
            Err(e) => tracing::warn!(error = %e, "outbox: pruning failed"),
        }
        tokio::select! {
            () = tokio::time::sleep(Duration::from_secs(outbox.prune_interval_s.max(1))) => {}
            () = shutdown.wait() => return,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error(transparent)]
    Db(#[from] crate::db::DbError),
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// A payload's JSON (the types in [`schema`], so what is sent is what the schema says).
pub fn payload_text(payload: &impl serde::Serialize) -> String {
    // Plain structs of strings and numbers cannot fail to serialise; `null` keeps the event.
    serde_json::to_string(payload).unwrap_or_else(|_| "null".to_owned())
}
