//! The `events:` and `outbox:` sections: which bus the outbox relay publishes to, and how long
//! published outbox rows are kept.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::ConfigError;

/// Where events go after the outbox.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
pub enum EventsConfig {
    /// Only this process's WebSocket feeds (the default).
    #[default]
    InProcess,
    /// A Kafka cluster (any Kafka-protocol broker), through librdkafka.
    Kafka(KafkaConfig),
}

/// The Kafka bus. The producer is always idempotent with `acks=all`; a batch of events counts
/// as published only when every delivery report is a success.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// Bootstrap brokers, `host:port[,host:port…]`.
    pub brokers: String,
    /// Put before every topic name: `{topic_prefix}verdicts`, `{topic_prefix}camera-status`, …
    pub topic_prefix: String,
    /// The client id the brokers see.
    pub client_id: String,
    /// How long one event may wait for its acknowledgement (librdkafka `message.timeout.ms`),
    /// milliseconds. A publish fails after it and the relay retries with backoff, so a dead
    /// broker never holds the relay for longer.
    pub delivery_timeout_ms: u64,
    /// `/readyz`: how long the broker metadata fetch may take, milliseconds.
    pub ready_timeout_ms: u64,
    /// Create the topics when they are missing (before the first publish, and again after a
    /// failed one, so a broker that lost them gets them back). Off: the topics are managed
    /// outside (or created by the broker on first use).
    pub create_topics: Option<CreateTopics>,
    /// More librdkafka client settings (`security.protocol`, `sasl.*`, `ssl.*`, `linger.ms`,
    /// …). The ones that carry the delivery guarantee are refused (see [`KafkaConfig::validate`]).
    pub client: BTreeMap<String, String>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            brokers: "localhost:9092".into(),
            topic_prefix: "ifc.".into(),
            client_id: "ifc-serve".into(),
            delivery_timeout_ms: 30_000,
            ready_timeout_ms: 2_000,
            create_topics: None,
            client: BTreeMap::new(),
        }
    }
}

/// Topics made by the bus when missing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CreateTopics {
    pub partitions: i32,
    pub replication_factor: i32,
}

impl Default for CreateTopics {
    fn default() -> Self {
        Self { partitions: 3, replication_factor: 1 }
    }
}

/// librdkafka settings the bus sets itself: changing them would break at-least-once delivery
/// or per-camera order, or they have their own field.
pub const RESERVED_CLIENT_SETTINGS: &[&str] = &[
    "bootstrap.servers",
    "metadata.broker.list",
    "client.id",
    "enable.idempotence",
    "acks",
    "request.required.acks",
    "message.timeout.ms",
    "delivery.timeout.ms",
    "max.in.flight.requests.per.connection",
    "max.in.flight",
    "retries",
    "message.send.max.retries",
];

impl KafkaConfig {
    /// Refuses settings that would weaken the delivery guarantee, and empty brokers.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.brokers.trim().is_empty() {
            return Err(ConfigError::Invalid { field: "events.brokers".into(), message: "no broker given".into() });
        }
        if self.delivery_timeout_ms == 0 {
            return Err(ConfigError::Invalid {
                field: "events.delivery_timeout_ms".into(),
                message: "0 would wait forever on a dead broker".into(),
            });
        }
        if let Some(key) = self.client.keys().find(|k| RESERVED_CLIENT_SETTINGS.contains(&k.as_str())) {
            return Err(ConfigError::Invalid {
                field: format!("events.client.{key}"),
                message: "set by ifc itself (idempotent producer, acks=all, bounded delivery)".into(),
            });
        }
        Ok(())
    }
}

/// The outbox table keeps published events for the WebSocket feed's resume; older ones go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct OutboxConfig {
    /// Published events older than this are deleted, seconds; 0 keeps them forever. A feed
    /// cannot resume from a deleted event (the WebSocket answers 404 for its id).
    pub retention_s: u64,
    /// How often the relay prunes, seconds.
    pub prune_interval_s: u64,
    /// Rows deleted per statement, so pruning never holds a long write lock.
    pub prune_batch: u32,
}

impl Default for OutboxConfig {
    fn default() -> Self {
        Self { retention_s: 7 * 24 * 3600, prune_interval_s: 600, prune_batch: 1000 }
    }
}
