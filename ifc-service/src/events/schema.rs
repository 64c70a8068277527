//! The events' payloads as types: the writer serialises these, and `schema/events.schema.json`
//! is generated from them ([`events_json_schema`]), so the published schema is what is sent.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One event: the value of a Kafka message (topic `{topic_prefix}{topic}`, key = `key`,
/// headers `event-id`, `event-seq`) and a WebSocket text frame. `topic` says which payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "topic")]
pub enum Event {
    /// One per inferred frame.
    #[serde(rename = "verdicts")]
    Verdicts(Envelope<VerdictPayload>),
    /// A camera's source changed state while an inspection ran on it.
    #[serde(rename = "camera-status")]
    CameraStatus(Envelope<CameraStatusPayload>),
    /// An inspection started, stopped, ended or failed.
    #[serde(rename = "inspection-status")]
    InspectionStatus(Envelope<InspectionStatusPayload>),
    /// Something an operator must look at (the recorder's disk and protection alarms).
    #[serde(rename = "alarms")]
    Alarms(Envelope<AlarmPayload>),
}

/// The fields every event has besides `topic` (open to new fields: the tag sits beside them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Envelope<P> {
    /// Stable id (UUID v7): the same when the event is delivered again; drop duplicates by it.
    pub id: String,
    /// The event's outbox row: increasing in commit order on SQLite, in allocation order on
    /// PostgreSQL.
    pub seq: i64,
    /// The camera the event is about (the Kafka message key): one key's events keep their order.
    pub key: String,
    /// When the event was written, Unix ms.
    pub created_at_ms: i64,
    pub payload: P,
}

/// `ok` or `ng`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Ok,
    Ng,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VerdictPayload {
    /// The stored result (`/api/v1/results/{result_id}`).
    pub result_id: i64,
    pub inspection_id: String,
    pub camera_id: String,
    /// The frame's index in the camera's stream since the inspection started.
    pub frame_index: u64,
    /// Presentation time, 90 kHz ticks, when the stream has one.
    pub pts_90k: Option<i64>,
    /// When the frame was inferred, Unix ms.
    pub wall_ms: i64,
    pub verdict: Verdict,
    /// The frame's record exactly as `ifc run` writes it to results.jsonl (detections,
    /// verdict, window).
    pub record: serde_json::Value,
    /// The annotated NG snapshot, when one was stored.
    pub snapshot_url: Option<String>,
    /// The product, lot and serial the result is stamped with.
    pub product: Option<String>,
    pub lot: Option<String>,
    pub serial: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CameraStatusPayload {
    pub camera_id: String,
    pub status: SourceStatus,
}

/// Where a camera's source stands (as `status` in `/api/v1/cameras/{id}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceStatus {
    /// `connecting`, `live`, `backoff`, `error`, `ended`; `stalled` for a push camera whose
    /// publisher sent no media for `ingest.rtsp.idle_timeout_ms` (its session was closed).
    pub state: String,
    /// For `backoff`: when the next attempt starts, Unix ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_retry_at_ms: Option<i64>,
    /// For `backoff` and `error`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub since_ms: i64,
}

impl From<crate::api::views::SourceStatusView> for SourceStatus {
    fn from(v: crate::api::views::SourceStatusView) -> Self {
        Self { state: v.state, next_retry_at_ms: v.next_retry_at_ms, reason: v.reason, since_ms: v.since_ms }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectionStatusPayload {
    pub inspection_id: String,
    pub camera_id: String,
    /// The inspection's new state (`running`, `stopped`, `failed`, …).
    pub state: String,
    /// Why it failed.
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AlarmPayload {
    pub camera_id: Option<String>,
    /// What kind of alarm (a short code).
    pub kind: String,
    pub message: String,
    /// Recording alarms (`recording-disk-full`, `recording-stopped-protected`,
    /// `recording-resumed`): the recording filesystem's state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recording: Option<RecordingAlarm>,
}

/// The recording filesystem when a recording alarm fired.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordingAlarm {
    /// Free bytes (statvfs `f_bavail`).
    pub free_bytes: u64,
    /// The configured floor (`recording.min_free_bytes`).
    pub min_free_bytes: u64,
}

/// The events' JSON Schema (draft 7), as published in `schema/events.schema.json`.
pub fn events_json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(Event)).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_schema_matches_the_code() {
        let published = include_str!("../../../schema/events.schema.json");
        let published: serde_json::Value = serde_json::from_str(published).expect("valid JSON");
        assert_eq!(
            published,
            events_json_schema(),
            "schema/events.schema.json is stale: regenerate it with `ifc serve --print-events-schema`"
        );
    }

    #[test]
    fn an_envelope_reads_back_as_its_topic_payload() {
        let row = crate::db::OutboxRow {
            seq: 7,
            event_id: "e1".into(),
            topic: "camera-status".into(),
            event_key: "cam".into(),
            payload: serde_json::to_string(&CameraStatusPayload {
                camera_id: "cam".into(),
                status: SourceStatus { state: "live".into(), next_retry_at_ms: None, reason: None, since_ms: 1 },
            })
            .expect("serialises"),
            created_at_ms: 1,
            published_seq: Some(3),
        };
        let text = serde_json::to_string(&super::super::EventEnvelope::from_row(&row)).expect("serialises");
        let event: Event = serde_json::from_str(&text).expect("matches the schema's types");
        assert!(matches!(event, Event::CameraStatus(e) if e.payload.status.state == "live" && e.seq == 7));
    }
}
