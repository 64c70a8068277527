//! What the API reads and writes (JSON), with their OpenAPI schemas.

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Role;
use crate::db::{ApiKeyRow, CameraRow, InspectionRow, PipelineRow, PipelineVersionRow, ProductRow, ResultRow, UserRow};

/// Names (users, keys, cameras, pipelines; product, lot and serial) as `check_name` accepts
/// them, said in the schema so that clients (and schemathesis) generate what the server takes.
const NAME_PATTERN: &str = r"^[^\u0000-\u001f\u007f-\u009f]*[^\s\u0000-\u001f\u007f-\u009f][^\u0000-\u001f\u007f-\u009f]*$";

fn name_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .min_length(Some(1))
        .max_length(Some(128))
        .pattern(Some(NAME_PATTERN))
        .build()
}

fn optional_name_schema() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([utoipa::openapi::Type::String, utoipa::openapi::Type::Null]))
        .min_length(Some(1))
        .max_length(Some(128))
        .pattern(Some(NAME_PATTERN))
        .build()
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TokenResponse {
    /// A JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// Good once, for `/auth/refresh`.
    pub refresh_token: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct MeView {
    pub subject: String,
    pub role: Role,
    /// `access_token` or `api_key`.
    pub credential: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub id: String,
    pub username: String,
    pub role: Role,
    pub created_at_ms: i64,
}

impl UserView {
    pub fn from_row(r: &UserRow) -> Self {
        Self {
            id: r.id.clone(),
            username: r.username.clone(),
            role: Role::parse(&r.role).unwrap_or(Role::Viewer),
            created_at_ms: r.created_at_ms,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserRequest {
    #[schema(schema_with = name_schema)]
    pub username: String,
    /// At least 12 characters.
    #[schema(min_length = 12)]
    pub password: String,
    pub role: Role,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewApiKeyRequest {
    /// What the key is for (`line3-camera`, `mes-bridge`).
    #[schema(schema_with = name_schema)]
    pub name: String,
    pub role: Role,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    /// The key's first characters, to tell keys apart.
    pub prefix: String,
    pub role: Role,
    pub created_at_ms: i64,
    pub revoked: bool,
}

impl ApiKeyView {
    pub fn from_row(r: &ApiKeyRow) -> Self {
        Self {
            id: r.id.clone(),
            name: r.name.clone(),
            prefix: r.prefix.clone(),
            role: Role::parse(&r.role).unwrap_or(Role::Viewer),
            created_at_ms: r.created_at_ms,
            revoked: r.revoked_at_ms.is_some(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct NewApiKeyResponse {
    #[serde(flatten)]
    pub key: ApiKeyView,
    /// The key itself: shown this once, stored only as a hash.
    pub secret: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CameraKind {
    /// An RTSP camera the server pulls from.
    Rtsp,
    /// A clip replayed in real time in a loop (demos, line simulation).
    File,
    /// A camera that publishes to the server over RTSP (ANNOUNCE/RECORD, TCP or UDP) at
    /// `rtsp://HOST:PORT/cameras/<name>` (the `ingest.rtsp.listen` address), authenticating
    /// with Digest as `username`/`password` (both required). Its name must be URL-safe
    /// (letters, digits, `-`, `_`, `.`, `~`).
    Push,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CameraRequest {
    #[schema(schema_with = name_schema)]
    pub name: String,
    pub kind: CameraKind,
    /// `rtsp://host[:port]/path` (credentials here are moved to the stored credentials), or
    /// for `file` a path under the configured file root; for `push`, empty or left out (the
    /// server sets it to the publish path `/cameras/<name>`).
    #[serde(default)]
    pub url: String,
    /// For `push`: the user name the publisher authenticates with.
    pub username: Option<String>,
    /// Stored, never returned. For `push`: the publisher's password (Digest).
    pub password: Option<String>,
    #[schema(schema_with = optional_name_schema)]
    pub product: Option<String>,
    #[schema(schema_with = optional_name_schema)]
    pub lot: Option<String>,
    #[schema(schema_with = optional_name_schema)]
    pub serial: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CameraView {
    pub id: String,
    pub name: String,
    pub kind: CameraKind,
    /// Without credentials.
    pub url: String,
    pub username: Option<String>,
    pub has_password: bool,
    pub product: Option<String>,
    pub lot: Option<String>,
    pub serial: Option<String>,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// The source's state while an inspection runs on it; `idle` otherwise.
    pub status: SourceStatusView,
}

impl CameraView {
    pub fn from_row(r: &CameraRow, status: SourceStatusView) -> Self {
        Self {
            id: r.id.clone(),
            name: r.name.clone(),
            kind: match r.kind.as_str() {
                "file" => CameraKind::File,
                "push" => CameraKind::Push,
                _ => CameraKind::Rtsp,
            },
            url: r.url.clone(),
            username: r.username.clone(),
            has_password: r.password.is_some(),
            product: r.product.clone(),
            lot: r.lot.clone(),
            serial: r.serial.clone(),
            created_at_ms: r.created_at_ms,
            updated_at_ms: r.updated_at_ms,
            status,
        }
    }
}

/// Where a camera's source stands.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct SourceStatusView {
    /// `idle`, `connecting`, `live`, `backoff`, `error`, `ended`, `stalled` (a push camera's
    /// publisher sent no media for `ingest.rtsp.idle_timeout_ms`). An `error` stays after the
    /// ingest it stopped has gone, until the camera is started again.
    pub state: String,
    /// For `backoff`: when the next attempt starts, Unix ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_retry_at_ms: Option<i64>,
    /// For `backoff` and `error`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub since_ms: i64,
}

impl SourceStatusView {
    pub fn idle() -> Self {
        Self { state: "idle".into(), next_retry_at_ms: None, reason: None, since_ms: 0 }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineRequest {
    #[schema(schema_with = name_schema)]
    pub name: String,
    /// The pipeline document (schema: `schema/pipeline.schema.json`).
    #[schema(value_type = Object)]
    pub document: serde_json::Value,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DocumentRequest {
    #[schema(value_type = Object)]
    pub document: serde_json::Value,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ValidationView {
    pub valid: bool,
    pub errors: Vec<super::error::FieldError>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PipelineView {
    pub id: String,
    pub name: String,
    pub latest_version: i64,
    pub created_at_ms: i64,
}

impl PipelineView {
    pub fn from_row(r: &PipelineRow) -> Self {
        Self { id: r.id.clone(), name: r.name.clone(), latest_version: r.latest_version, created_at_ms: r.created_at_ms }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PipelineVersionView {
    pub pipeline_id: String,
    pub version: i64,
    #[schema(value_type = Object)]
    pub document: serde_json::Value,
    pub created_by: Option<String>,
    pub created_at_ms: i64,
}

impl PipelineVersionView {
    pub fn from_row(r: &PipelineVersionRow) -> Self {
        Self {
            pipeline_id: r.pipeline_id.clone(),
            version: r.version,
            document: serde_json::from_str(&r.document).unwrap_or(serde_json::Value::Null),
            created_by: r.created_by.clone(),
            created_at_ms: r.created_at_ms,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InspectionRequest {
    pub camera_id: String,
    pub pipeline_id: String,
    /// Default: the latest version.
    pub pipeline_version: Option<i64>,
    /// Default: the camera's.
    #[schema(schema_with = optional_name_schema)]
    pub product: Option<String>,
    #[schema(schema_with = optional_name_schema)]
    pub lot: Option<String>,
    #[schema(schema_with = optional_name_schema)]
    pub serial: Option<String>,
    /// Start at once (default true).
    pub start: Option<bool>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemRequest {
    #[schema(schema_with = optional_name_schema)]
    pub product: Option<String>,
    #[schema(schema_with = optional_name_schema)]
    pub lot: Option<String>,
    #[schema(schema_with = optional_name_schema)]
    pub serial: Option<String>,
}

/// Counters of a running inspection.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct InspectionCounters {
    pub packets_received: u64,
    pub frames_decoded: u64,
    pub frames_inferred: u64,
    pub frames_dropped: u64,
    pub frames_not_inferred: u64,
    pub decode_errors: u64,
    /// Decoded pictures found damaged and dropped (see `ErrorPolicy`).
    pub frames_damaged: u64,
    pub reconnects: u64,
    pub queue_depth: u64,
    /// Decode-to-verdict latency of the frames inferred so far, milliseconds (absent before
    /// the first).
    pub verdict_latency_p50_ms: Option<f64>,
    pub verdict_latency_p99_ms: Option<f64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InspectionView {
    pub id: String,
    pub camera_id: String,
    pub pipeline_id: String,
    pub pipeline_version: i64,
    /// What the operator asked for: `running` or `stopped`.
    pub desired_state: String,
    /// What is happening: `running`, `stopped`, `failed`.
    pub state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    pub source: SourceStatusView,
    pub counters: InspectionCounters,
    pub product: Option<String>,
    pub lot: Option<String>,
    pub serial: Option<String>,
    pub created_at_ms: i64,
    pub started_at_ms: Option<i64>,
    pub stopped_at_ms: Option<i64>,
}

impl InspectionView {
    pub fn from_row(r: &InspectionRow, live: crate::inspections::LiveState) -> Self {
        Self {
            id: r.id.clone(),
            camera_id: r.camera_id.clone(),
            pipeline_id: r.pipeline_id.clone(),
            pipeline_version: r.pipeline_version,
            desired_state: r.desired_state.clone(),
            state: live.state,
            error: live.error,
            source: live.source,
            counters: live.counters,
            product: r.product.clone(),
            lot: r.lot.clone(),
            serial: r.serial.clone(),
            created_at_ms: r.created_at_ms,
            started_at_ms: r.started_at_ms,
            stopped_at_ms: r.stopped_at_ms,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum VerdictFilter {
    Ok,
    Ng,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ResultQuery {
    pub camera_id: Option<String>,
    pub inspection_id: Option<String>,
    pub verdict: Option<VerdictFilter>,
    pub product: Option<String>,
    pub lot: Option<String>,
    /// Wall time, Unix ms, inclusive.
    pub from_ms: Option<i64>,
    /// Wall time, Unix ms, exclusive.
    pub to_ms: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// 1–1000, default 100.
    pub limit: Option<u32>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResultView {
    pub id: i64,
    pub inspection_id: String,
    pub camera_id: String,
    pub frame_index: i64,
    pub pts_90k: Option<i64>,
    pub wall_ms: i64,
    pub verdict: VerdictFilter,
    /// The frame's record as `ifc run` writes it: detections, verdict, window. Sent as
    /// stored (already JSON), not parsed and written again: the largest part of a page.
    #[schema(value_type = Object)]
    pub record: Box<serde_json::value::RawValue>,
    /// `/api/v1/results/{id}/snapshot` when an annotated snapshot was stored.
    pub snapshot_url: Option<String>,
    pub product: Option<String>,
    pub lot: Option<String>,
    pub serial: Option<String>,
}

impl ResultView {
    pub fn from_row(r: ResultRow) -> Self {
        Self {
            snapshot_url: r.snapshot_key.as_ref().map(|_| format!("/api/v1/results/{}/snapshot", r.id)),
            id: r.id,
            inspection_id: r.inspection_id,
            camera_id: r.camera_id,
            frame_index: r.frame_index,
            pts_90k: r.pts_90k,
            wall_ms: r.wall_ms,
            verdict: if r.verdict == "ng" { VerdictFilter::Ng } else { VerdictFilter::Ok },
            record: r.record,
            product: r.product,
            lot: r.lot,
            serial: r.serial,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ResultsPage {
    pub items: Vec<ResultView>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    pub camera_id: Option<String>,
    pub inspection_id: Option<String>,
    pub product: Option<String>,
    pub lot: Option<String>,
    pub from_ms: Option<i64>,
    pub to_ms: Option<i64>,
    /// Window length, ms (1000 – 31 days); default 60000.
    pub window_ms: Option<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatsWindow {
    pub window_start_ms: i64,
    pub ok: i64,
    pub ng: i64,
    /// ng / (ok + ng).
    pub ng_rate: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct StatsView {
    pub window_ms: i64,
    pub windows: Vec<StatsWindow>,
    pub ok: i64,
    pub ng: i64,
    pub ng_rate: f64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    /// Resume after this event id (events after it are sent first, from the store).
    pub after: Option<String>,
    /// Comma-separated topics (`verdicts,camera-status`); default all.
    pub topics: Option<String>,
    /// The token, for browsers that cannot set headers on a WebSocket.
    pub access_token: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductRequest {
    /// The product's code as lines and results carry it (`product` on cameras, inspections,
    /// items and results).
    #[schema(schema_with = name_schema)]
    pub code: String,
    #[schema(schema_with = name_schema)]
    pub name: String,
    #[schema(max_length = 2000)]
    pub description: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductView {
    pub code: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at_ms: i64,
}

impl ProductView {
    pub fn from_row(r: &ProductRow) -> Self {
        Self { code: r.code.clone(), name: r.name.clone(), description: r.description.clone(), created_at_ms: r.created_at_ms }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LotsQuery {
    /// Only this product's lots.
    pub product: Option<String>,
    /// At most this many lots (1–1000); default 100.
    pub limit: Option<i64>,
}

/// A lot as its results tell it: counts and when it was inspected.
#[derive(Debug, Serialize, ToSchema)]
pub struct LotView {
    pub product: Option<String>,
    pub lot: String,
    pub ok: i64,
    pub ng: i64,
    /// ng / (ok + ng).
    pub ng_rate: f64,
    /// The first and the last result's wall time, Unix ms.
    pub first_ms: i64,
    pub last_ms: i64,
}
