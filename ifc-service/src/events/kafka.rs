//! The Kafka bus: librdkafka (built from source and linked statically by `rdkafka`) with an
//! idempotent producer and `acks=all`.
//!
//! Each event goes to `{topic_prefix}{topic}` with the event's key (the camera id) as the
//! message key, so one camera's events land in one partition and keep their order; the value
//! is the JSON [`EventEnvelope`], and the headers carry `event-id` and `event-seq` so consumers
//! can drop duplicates without parsing the value. [`KafkaBus::publish`] returns only when every
//! event's delivery report is a success: the relay marks rows after that and never before.
//!
//! A failed publish is retried whole by the relay, so a consumer may see a run of events
//! again (never a gap); it drops them by `id`. Within one producer the idempotent protocol
//! keeps retries from duplicating or reordering.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::ClientContext;
use rdkafka::config::{ClientConfig, RDKafkaLogLevel};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};

use super::{BusError, BusFuture, EventBus, EventEnvelope, ALL_TOPICS};
use crate::config::{CreateTopics, KafkaConfig};

const BUS: &str = "kafka";

type BusProducer = FutureProducer<LogContext>;

pub struct KafkaBus {
    client: ClientConfig,
    /// Replaced after every failed publish: librdkafka's idempotent producer keeps its producer
    /// id and sequence numbers, and a broker that lost its state (restarted, or an empty
    /// replacement) answers "unknown producer id" to them; librdkafka then bumps the epoch
    /// locally, forever. A new producer asks the broker for a new id.
    producer: Mutex<BusProducer>,
    admin: AdminClient<LogContext>,
    prefix: String,
    delivery_timeout: Duration,
    ready_timeout: Duration,
    create_topics: Option<CreateTopics>,
    /// Whether the topics were made (or found) since the last failed publish.
    topics_ready: AtomicBool,
}

fn err(message: impl std::fmt::Display) -> BusError {
    BusError { bus: BUS, message: message.to_string() }
}

impl KafkaBus {
    /// Makes the clients; connects lazily, so a broker that is down now is not an error.
    pub fn new(config: &KafkaConfig) -> Result<Self, BusError> {
        config.validate().map_err(err)?;
        let mut client = ClientConfig::new();
        for (k, v) in &config.client {
            client.set(k, v);
        }
        client
            .set("bootstrap.servers", &config.brokers)
            .set("client.id", &config.client_id)
            // At-least-once without reordering: retries cannot duplicate or reorder within a
            // partition, and a message counts only once every in-sync replica has it.
            .set("enable.idempotence", "true")
            .set("acks", "all")
            // Bounded: a delivery report (success or failure) comes within this time, so a dead
            // broker fails a publish instead of holding the relay.
            .set("message.timeout.ms", config.delivery_timeout_ms.to_string());
        if config.create_topics.is_some() && !config.client.contains_key("allow.auto.create.topics") {
            // The bus makes the topics with their partition count: the producer's metadata
            // requests must not let the broker make them first with its default count (which
            // would move a camera to another partition than before).
            client.set("allow.auto.create.topics", "false");
        }
        let producer = new_producer(&client)?;
        let admin: AdminClient<LogContext> =
            client.create_with_context(LogContext).map_err(|e| err(format!("admin client: {e}")))?;
        Ok(Self {
            client,
            producer: Mutex::new(producer),
            admin,
            prefix: config.topic_prefix.clone(),
            delivery_timeout: Duration::from_millis(config.delivery_timeout_ms),
            ready_timeout: Duration::from_millis(config.ready_timeout_ms),
            create_topics: config.create_topics.clone(),
            topics_ready: AtomicBool::new(false),
        })
    }

    fn producer(&self) -> BusProducer {
        self.producer.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// After a failed publish: a new producer (a new producer id) for the next try. What the
    /// old one still held is dropped with it; the relay sends those events again.
    fn renew_producer(&self) {
        if let Some((code, reason)) = self.producer().client().fatal_error() {
            tracing::warn!(%code, %reason, "kafka: the producer failed fatally");
        }
        match new_producer(&self.client) {
            Ok(fresh) => *self.producer.lock().unwrap_or_else(PoisonError::into_inner) = fresh,
            Err(e) => tracing::error!(error = %e, "kafka: cannot make a new producer; keeping the old one"),
        }
    }

    /// The broker-side name of one of the topics in [`super`].
    pub fn topic_name(&self, topic: &str) -> String {
        format!("{}{topic}", self.prefix)
    }

    /// Creates the topics that are missing (when configured to); existing ones are fine.
    async fn ensure_topics(&self) -> Result<(), BusError> {
        let Some(spec) = &self.create_topics else { return Ok(()) };
        if self.topics_ready.load(Ordering::Acquire) {
            return Ok(());
        }
        let names: Vec<String> = ALL_TOPICS.iter().map(|t| self.topic_name(t)).collect();
        let topics: Vec<NewTopic<'_>> = names
            .iter()
            .map(|n| NewTopic::new(n, spec.partitions, TopicReplication::Fixed(spec.replication_factor)))
            .collect();
        let options = AdminOptions::new().request_timeout(Some(self.delivery_timeout));
        let results = self.admin.create_topics(&topics, &options).await.map_err(|e| err(format!("create topics: {e}")))?;
        for result in results {
            match result {
                Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
                Err((topic, code)) => return Err(err(format!("create topic {topic}: {code}"))),
            }
        }
        self.topics_ready.store(true, Ordering::Release);
        Ok(())
    }

    async fn publish_all(&self, events: &[EventEnvelope]) -> Result<(), BusError> {
        self.ensure_topics().await?;
        // Queue every event first (librdkafka batches them), then wait for every report.
        let producer = self.producer();
        let mut pending = Vec::with_capacity(events.len());
        for e in events {
            let value = serde_json::to_vec(e).map_err(|x| err(format!("event {}: {x}", e.id)))?;
            let seq = e.seq.to_string();
            let headers = OwnedHeaders::new()
                .insert(Header { key: "event-id", value: Some(e.id.as_str()) })
                .insert(Header { key: "event-seq", value: Some(seq.as_str()) })
                .insert(Header { key: "content-type", value: Some("application/json") });
            let topic = self.topic_name(&e.topic);
            let record = FutureRecord::to(&topic).key(e.key.as_str()).payload(&value).headers(headers);
            match producer.send_result(record) {
                Ok(delivery) => pending.push((e.id.as_str(), delivery)),
                // The local queue is full or the client is failing: what was queued may still
                // be delivered (a duplicate later, which consumers drop by id).
                Err((e2, _)) => return Err(err(format!("event {}: {e2}", e.id))),
            }
        }
        for (id, delivery) in pending {
            match delivery.await {
                Ok(Ok(_)) => {}
                Ok(Err((e, _))) => return Err(err(format!("event {id} not acknowledged: {e}"))),
                Err(_) => return Err(err(format!("event {id}: the producer dropped its delivery report"))),
            }
        }
        Ok(())
    }

    /// Asks the broker for its metadata (blocking in librdkafka, so off the runtime).
    async fn check_broker(&self) -> Result<(), BusError> {
        let producer = self.producer();
        let timeout = self.ready_timeout;
        let metadata = tokio::task::spawn_blocking(move || {
            producer.client().fetch_metadata(None, timeout).map(|m| m.brokers().len())
        })
        .await
        .map_err(|e| err(format!("metadata task: {e}")))?;
        match metadata {
            Ok(0) => Err(err("the cluster lists no broker")),
            Ok(_) => Ok(()),
            Err(KafkaError::MetadataFetch(code)) => Err(err(format!("broker unreachable: {code}"))),
            Err(e) => Err(err(format!("broker unreachable: {e}"))),
        }
    }
}

impl EventBus for KafkaBus {
    fn name(&self) -> &'static str {
        BUS
    }

    fn publish<'a>(&'a self, events: &'a [EventEnvelope]) -> BusFuture<'a> {
        Box::pin(async move {
            // The reports come within message.timeout.ms; the margin covers queueing and topic
            // creation, so even a wedged client cannot hold the relay forever.
            let limit = self.delivery_timeout * 2 + Duration::from_secs(5);
            let result = match tokio::time::timeout(limit, self.publish_all(events)).await {
                Ok(r) => r,
                Err(_) => Err(err(format!("no delivery reports within {} ms", limit.as_millis()))),
            };
            if result.is_err() {
                // The broker may have lost its topics (a restarted in-memory broker): make them
                // again before the next try.
                self.topics_ready.store(false, Ordering::Release);
                self.renew_producer();
            }
            result
        })
    }

    fn check(&self) -> BusFuture<'_> {
        Box::pin(self.check_broker())
    }
}

fn new_producer(client: &ClientConfig) -> Result<BusProducer, BusError> {
    client.create_with_context(LogContext).map_err(|e| err(format!("producer: {e}")))
}

/// librdkafka's log and error callbacks into tracing. A broker that is down makes librdkafka
/// report every failed connection attempt (several a second); the relay already warns once per
/// failed publish with the reason, so those reports go to `debug`.
pub struct LogContext;

impl ClientContext for LogContext {
    fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg | RDKafkaLogLevel::Alert | RDKafkaLogLevel::Critical => {
                tracing::error!(target: "librdkafka", facility, "{message}");
            }
            _ => tracing::debug!(target: "librdkafka", facility, "{message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::debug!(target: "librdkafka", %error, "{reason}");
    }
}
