//! Recordings: the segment index of a camera by time range, protected ranges, downloads of a
//! segment or of a range exported as one MP4 (HTTP range requests), an HLS VOD playlist of a
//! range, and signed, expiring download links that need no token.

use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use ifc::hls::{MediaPlaylist, PlaylistEntry};
use ifc::record::segment_file_name;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::AppState;
use crate::auth::{Principal, Role};
use crate::db::{now_ms, ProtectionRow, RecordingRow};
use crate::recorder::export::{export_range, ExportError, Exported};
use crate::recorder::Recorder;

/// The longest range one export, playlist or listing may span: a day.
const MAX_RANGE_MS: i64 = 24 * 3600 * 1000;
const MP4: &str = "video/mp4";
/// The largest export built (it is built in memory): 1 GiB of segments.
const MAX_EXPORT_BYTES: i64 = 1 << 30;

// ---- views ----

/// One recorded segment: a self-contained fragmented MP4 file.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordingView {
    pub id: i64,
    pub camera_id: String,
    /// Wall time of the first picture, ms since the epoch.
    pub start_ms: i64,
    /// Wall time the segment ends (its last picture plus one frame), ms.
    pub end_ms: i64,
    /// Media time (the feed's 90 kHz clock) of the first picture and of the end.
    pub media_start_90k: i64,
    pub media_end_90k: i64,
    pub frame_count: i64,
    pub bytes: i64,
    /// Media times of the segment's key frames.
    pub key_frames_90k: Vec<i64>,
    /// sha256 of the file, hex.
    pub sha256: String,
    /// RFC 6381 codec string.
    pub codec: String,
    /// Whether the object store (or its spool) has it, under `object_key`.
    pub uploaded: bool,
    pub object_key: Option<String>,
}

impl RecordingView {
    fn from_row(r: &RecordingRow) -> Self {
        Self {
            id: r.id,
            camera_id: r.camera_id.clone(),
            start_ms: r.start_ms,
            end_ms: r.end_ms,
            media_start_90k: r.media_start_90k,
            media_end_90k: r.media_end_90k,
            frame_count: r.frame_count,
            bytes: r.bytes,
            key_frames_90k: r.key_frame_times_90k(),
            sha256: r.sha256.clone(),
            codec: r.codec.clone(),
            uploaded: r.uploaded != 0,
            object_key: r.object_key.clone(),
        }
    }
}

/// A time range of a camera, wall ms since the epoch, `from_ms` < `to_ms`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RangeQuery {
    pub from_ms: i64,
    pub to_ms: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RecordingsQuery {
    pub from_ms: i64,
    pub to_ms: i64,
    /// At most this many segments (1–10000); default 1000.
    pub limit: Option<i64>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProtectionRequest {
    /// Wall ms since the epoch; `from_ms` < `to_ms`.
    pub from_ms: i64,
    pub to_ms: i64,
    /// Why (1–500 characters).
    pub reason: String,
}

/// A protected range: retention and a full disk never delete what overlaps it.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProtectionView {
    pub id: String,
    pub camera_id: String,
    pub from_ms: i64,
    pub to_ms: i64,
    pub reason: String,
    /// The user or API key that protected it, or `ng-verdict`.
    pub who: String,
    /// The NG result an automatic protection was made for (the first one, when merged).
    pub result_id: Option<i64>,
    pub created_at_ms: i64,
}

impl ProtectionView {
    fn from_row(p: &ProtectionRow) -> Self {
        Self {
            id: p.id.clone(),
            camera_id: p.camera_id.clone(),
            from_ms: p.from_ms,
            to_ms: p.to_ms,
            reason: p.reason.clone(),
            who: p.who.clone(),
            result_id: p.result_id,
            created_at_ms: p.created_at_ms,
        }
    }
}

/// A download link that needs no token, until it expires.
#[derive(Debug, Serialize, ToSchema)]
pub struct DownloadLinkView {
    /// Path and query on this server (`/api/v1/signed/export?…`).
    pub url: String,
    pub expires_at_ms: i64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SignedExportQuery {
    pub camera_id: String,
    pub from_ms: i64,
    pub to_ms: i64,
    pub expires_ms: i64,
    /// HMAC-SHA256 of the other parameters, base64url.
    pub sig: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SignedQuery {
    pub expires_ms: i64,
    pub sig: String,
}

// ---- handlers ----

#[utoipa::path(get, path = "/api/v1/cameras/{id}/recordings", tag = "recordings", security(("bearer" = [])),
    params(("id" = String, Path), RecordingsQuery),
    responses((status = 200, body = [RecordingView]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<RecordingsQuery>,
) -> ApiResult<Json<Vec<RecordingView>>> {
    list_recordings(&state, &principal, &id, q).await.map(Json)
}

#[utoipa::path(get, path = "/api/v1/recordings/{id}/file", tag = "recordings", security(("bearer" = [])),
    params(("id" = i64, Path), ("Range" = Option<String>, Header, description = "bytes=FIRST-LAST (one range)")),
    responses((status = 200, description = "The segment file", content_type = "video/mp4", body = Vec<u8>),
        (status = 206, description = "The requested bytes", content_type = "video/mp4", body = Vec<u8>),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 416, description = "Range outside the file")))]
pub async fn file(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (row, bytes) = get_segment_file(&state, &principal, id).await?;
    Ok(ranged(bytes, &headers, MP4, &format!("{}-{}", row.camera_id, segment_file_name(row.id))))
}

#[utoipa::path(get, path = "/api/v1/cameras/{id}/export", tag = "recordings", security(("bearer" = [])),
    params(("id" = String, Path), RangeQuery, ("Range" = Option<String>, Header, description = "bytes=FIRST-LAST (one range)")),
    responses((status = 200, description = "One MP4 from the key frame at or before from_ms", content_type = "video/mp4", body = Vec<u8>),
        (status = 206, description = "The requested bytes", content_type = "video/mp4", body = Vec<u8>),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 416, description = "Range outside the file")))]
pub async fn export(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<RangeQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let exported = export_recording(&state, &principal, &id, q.from_ms, q.to_ms).await?;
    Ok(export_response(&id, &exported, &headers))
}

#[utoipa::path(post, path = "/api/v1/cameras/{id}/export-links", tag = "recordings", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = RangeRequest,
    responses((status = 201, body = DownloadLinkView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn create_link(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<RangeRequest>,
) -> ApiResult<(StatusCode, Json<DownloadLinkView>)> {
    Ok((StatusCode::CREATED, Json(create_export_link(&state, &principal, &id, req).await?)))
}

/// A time range in a body.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RangeRequest {
    pub from_ms: i64,
    pub to_ms: i64,
}

#[utoipa::path(get, path = "/api/v1/signed/export", tag = "recordings",
    params(SignedExportQuery, ("Range" = Option<String>, Header, description = "bytes=FIRST-LAST (one range)")),
    responses((status = 200, description = "The exported MP4", content_type = "video/mp4", body = Vec<u8>),
        (status = 206, description = "The requested bytes", content_type = "video/mp4", body = Vec<u8>),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 416, description = "Range outside the file")))]
pub async fn signed_export(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<SignedExportQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let message = export_link_message(&q.camera_id, q.from_ms, q.to_ms, q.expires_ms);
    check_signature(&state, &message, q.expires_ms, &q.sig)?;
    let exported = build_export(&state, &q.camera_id, q.from_ms, q.to_ms).await?;
    Ok(export_response(&q.camera_id, &exported, &headers))
}

#[utoipa::path(get, path = "/api/v1/cameras/{id}/playlist.m3u8", tag = "recordings", security(("bearer" = [])),
    params(("id" = String, Path), RangeQuery),
    responses((status = 200, description = "HLS VOD media playlist; its URIs are signed links", content_type = "application/vnd.apple.mpegurl", body = String),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn playlist(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<RangeQuery>,
) -> ApiResult<Response> {
    let (text, _) = hls_playlist(&state, &principal, &id, q.from_ms, q.to_ms, "../..").await?;
    Ok(([(header::CONTENT_TYPE, "application/vnd.apple.mpegurl")], text).into_response())
}

#[utoipa::path(get, path = "/api/v1/signed/recordings/{id}/{part}", tag = "recordings",
    params(("id" = i64, Path), ("part" = String, Path, description = "`init.mp4` (the segment's ftyp + moov) or `media.m4s` (its moof + mdat)"), SignedQuery),
    responses((status = 200, description = "The part of the segment file", content_type = "video/mp4", body = Vec<u8>),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn signed_part(
    State(state): State<AppState>,
    ApiPath((id, part)): ApiPath<(i64, String)>,
    ApiQuery(q): ApiQuery<SignedQuery>,
) -> ApiResult<Response> {
    check_signature(&state, &part_link_message(id, &part, q.expires_ms), q.expires_ms, &q.sig)?;
    let row = state.db.recording(id).await?;
    let bytes = read_segment(&state, &row).await?;
    let split = init_len(&bytes).ok_or_else(|| ApiError::Internal(format!("segment {id}: no moof")))?;
    let body = match part.as_str() {
        "init.mp4" => bytes.slice(..split),
        "media.m4s" => bytes.slice(split..),
        _ => return Err(ApiError::NotFound(format!("part {part:?}"))),
    };
    Ok(([(header::CONTENT_TYPE, MP4)], body).into_response())
}

#[utoipa::path(get, path = "/api/v1/cameras/{id}/protections", tag = "recordings", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = [ProtectionView]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn list_protections(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<ProtectionView>>> {
    get_protections(&state, &principal, &id).await.map(Json)
}

#[utoipa::path(post, path = "/api/v1/cameras/{id}/protections", tag = "recordings", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = ProtectionRequest,
    responses((status = 201, body = ProtectionView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn protect(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<ProtectionRequest>,
) -> ApiResult<(StatusCode, Json<ProtectionView>)> {
    Ok((StatusCode::CREATED, Json(create_protection(&state, &principal, &id, req).await?)))
}

#[utoipa::path(delete, path = "/api/v1/cameras/{id}/protections/{protection_id}", tag = "recordings", security(("bearer" = [])),
    params(("id" = String, Path), ("protection_id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn unprotect(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, protection_id)): ApiPath<(String, String)>,
) -> ApiResult<StatusCode> {
    delete_protection(&state, &principal, &id, &protection_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- operations (shared with gRPC when it grows them) ----

pub(crate) fn check_range(from_ms: i64, to_ms: i64) -> ApiResult<()> {
    if from_ms >= to_ms {
        return Err(ApiError::invalid("to_ms", "must be after from_ms"));
    }
    if to_ms.saturating_sub(from_ms) > MAX_RANGE_MS {
        return Err(ApiError::invalid("to_ms", "the range may span at most 24 hours"));
    }
    Ok(())
}

pub(crate) async fn list_recordings(
    state: &AppState,
    principal: &Principal,
    camera_id: &str,
    q: RecordingsQuery,
) -> ApiResult<Vec<RecordingView>> {
    principal.require(Role::Viewer)?;
    if q.from_ms >= q.to_ms {
        return Err(ApiError::invalid("to_ms", "must be after from_ms"));
    }
    let limit = q.limit.unwrap_or(1000);
    if !(1..=10_000).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be 1–10000"));
    }
    state.db.camera(camera_id).await?;
    let rows = state.db.recordings_in_range(camera_id, q.from_ms, q.to_ms, limit).await?;
    Ok(rows.iter().map(RecordingView::from_row).collect())
}

async fn read_segment(state: &AppState, row: &RecordingRow) -> ApiResult<Bytes> {
    let path = Recorder::camera_dir(&Recorder::root(state), &row.camera_id).join(segment_file_name(row.id));
    match tokio::fs::read(&path).await {
        Ok(data) => Ok(Bytes::from(data)),
        // Deleted by retention between the row and the read.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ApiError::NotFound(format!("recording {}", row.id))),
        Err(e) => {
            tracing::error!(path = %path.display(), error = %e, "recording unreadable");
            Err(ApiError::Internal(format!("recording {} unreadable", row.id)))
        }
    }
}

pub(crate) async fn get_segment_file(
    state: &AppState,
    principal: &Principal,
    id: i64,
) -> ApiResult<(RecordingRow, Bytes)> {
    principal.require(Role::Viewer)?;
    let row = state.db.recording(id).await?;
    let bytes = read_segment(state, &row).await?;
    Ok((row, bytes))
}

async fn build_export(state: &AppState, camera_id: &str, from_ms: i64, to_ms: i64) -> ApiResult<Exported> {
    check_range(from_ms, to_ms)?;
    state.db.camera(camera_id).await?;
    let rows = state.db.recordings_in_range(camera_id, from_ms, to_ms, 100_000).await?;
    if rows.is_empty() {
        return Err(ApiError::NotFound("no recording in the range".into()));
    }
    if rows.iter().map(|r| r.bytes).fold(0i64, i64::saturating_add) > MAX_EXPORT_BYTES {
        return Err(ApiError::TooLarge("the range holds more than 1 GiB of recording: export shorter ranges".into()));
    }
    let root = Recorder::root(state);
    let result = tokio::task::spawn_blocking(move || export_range(&root, &rows, from_ms))
        .await
        .map_err(|e| ApiError::Internal(format!("export task: {e}")))?;
    result.map_err(|e| match e {
        ExportError::Empty => ApiError::NotFound("no recording in the range".into()),
        ExportError::ConfigChange { .. } => ApiError::Conflict(e.to_string()),
        other => {
            tracing::error!(camera = %camera_id, error = %other, "export failed");
            ApiError::Internal(other.to_string())
        }
    })
}

pub(crate) async fn export_recording(
    state: &AppState,
    principal: &Principal,
    camera_id: &str,
    from_ms: i64,
    to_ms: i64,
) -> ApiResult<Exported> {
    principal.require(Role::Viewer)?;
    build_export(state, camera_id, from_ms, to_ms).await
}

fn export_response(camera_id: &str, exported: &Exported, headers: &HeaderMap) -> Response {
    let name = format!("{camera_id}-{}.mp4", exported.start_ms);
    let mut response = ranged(exported.to_bytes(), headers, MP4, &name);
    if let Ok(v) = HeaderValue::from_str(&exported.start_ms.to_string()) {
        response.headers_mut().insert("x-ifc-start-ms", v);
    }
    response
}

fn export_link_message(camera_id: &str, from_ms: i64, to_ms: i64, expires_ms: i64) -> String {
    format!("export\n{camera_id}\n{from_ms}\n{to_ms}\n{expires_ms}")
}

fn part_link_message(id: i64, part: &str, expires_ms: i64) -> String {
    format!("segment\n{id}\n{part}\n{expires_ms}")
}

pub(crate) fn check_signature(state: &AppState, message: &str, expires_ms: i64, sig: &str) -> ApiResult<()> {
    if !state.jwt.verify_link(message, sig) {
        return Err(ApiError::Forbidden("the link's signature does not match".into()));
    }
    if expires_ms < now_ms() {
        return Err(ApiError::Forbidden("the link has expired".into()));
    }
    Ok(())
}

/// Query strings of camera ids: ids are UUIDs or names of `[A-Za-z0-9._-]`; anything else is
/// percent-encoded.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

pub(crate) async fn create_export_link(
    state: &AppState,
    principal: &Principal,
    camera_id: &str,
    req: RangeRequest,
) -> ApiResult<DownloadLinkView> {
    principal.require(Role::Viewer)?;
    check_range(req.from_ms, req.to_ms)?;
    state.db.camera(camera_id).await?;
    let ttl_ms = i64::try_from(state.config.recording.link_ttl_s.saturating_mul(1000)).unwrap_or(i64::MAX);
    let expires_at_ms = now_ms().saturating_add(ttl_ms);
    let sig = state.jwt.sign_link(&export_link_message(camera_id, req.from_ms, req.to_ms, expires_at_ms));
    let url = format!(
        "/api/v1/signed/export?camera_id={}&from_ms={}&to_ms={}&expires_ms={expires_at_ms}&sig={sig}",
        query_escape(camera_id),
        req.from_ms,
        req.to_ms
    );
    Ok(DownloadLinkView { url, expires_at_ms })
}

/// The VOD playlist of a camera's segments in a range, and how many it lists. `to_api` is
/// the path from the playlist's URL to `/api/v1` (its URIs are relative, so a proxy's path
/// prefix is kept).
pub(crate) async fn hls_playlist(
    state: &AppState,
    principal: &Principal,
    camera_id: &str,
    from_ms: i64,
    to_ms: i64,
    to_api: &str,
) -> ApiResult<(String, usize)> {
    principal.require(Role::Viewer)?;
    check_range(from_ms, to_ms)?;
    state.db.camera(camera_id).await?;
    let rows = state.db.recordings_in_range(camera_id, from_ms, to_ms, 100_000).await?;
    let ttl_ms = i64::try_from(state.config.recording.link_ttl_s.saturating_mul(1000)).unwrap_or(i64::MAX);
    let expires_ms = now_ms().saturating_add(ttl_ms);
    let link = |id: i64, part: &str| {
        let sig = state.jwt.sign_link(&part_link_message(id, part, expires_ms));
        format!("{to_api}/signed/recordings/{id}/{part}?expires_ms={expires_ms}&sig={sig}")
    };
    let mut playlist = MediaPlaylist { independent_segments: true, ended: true, ..MediaPlaylist::default() };
    let mut previous_end_ms: Option<i64> = None;
    for r in &rows {
        // Each segment carries its own init segment; a gap (another feed session, a lost
        // segment) restarts the timeline.
        playlist.entries.push(PlaylistEntry::Map { uri: link(r.id, "init.mp4") });
        playlist.entries.push(PlaylistEntry::Segment {
            uri: link(r.id, "media.m4s"),
            duration_s: (r.media_end_90k - r.media_start_90k) as f64 / 90_000.0,
            program_date_time_ms: Some(r.start_ms),
            discontinuity: previous_end_ms.is_some_and(|end| (r.start_ms - end).abs() > 1),
        });
        previous_end_ms = Some(r.end_ms);
    }
    Ok((playlist.render(), rows.len()))
}

pub(crate) async fn get_protections(
    state: &AppState,
    principal: &Principal,
    camera_id: &str,
) -> ApiResult<Vec<ProtectionView>> {
    principal.require(Role::Viewer)?;
    state.db.camera(camera_id).await?;
    Ok(state.db.protections(camera_id).await?.iter().map(ProtectionView::from_row).collect())
}

pub(crate) async fn create_protection(
    state: &AppState,
    principal: &Principal,
    camera_id: &str,
    req: ProtectionRequest,
) -> ApiResult<ProtectionView> {
    principal.require(Role::Operator)?;
    if req.from_ms >= req.to_ms {
        return Err(ApiError::invalid("to_ms", "must be after from_ms"));
    }
    let reason_chars = req.reason.chars().count();
    if !(1..=500).contains(&reason_chars) || req.reason.chars().any(char::is_control) {
        return Err(ApiError::invalid("reason", "must be 1–500 characters, no control characters"));
    }
    state.db.camera(camera_id).await?;
    let row =
        state.db.insert_protection(camera_id, req.from_ms, req.to_ms, &req.reason, &principal.subject, None).await?;
    Ok(ProtectionView::from_row(&row))
}

pub(crate) async fn delete_protection(
    state: &AppState,
    principal: &Principal,
    camera_id: &str,
    id: &str,
) -> ApiResult<()> {
    principal.require(Role::Operator)?;
    Ok(state.db.delete_protection(camera_id, id).await?)
}

/// Where the init segment ends in a segment file: the offset of its first `moof`.
fn init_len(file: &[u8]) -> Option<usize> {
    let mut at = 0usize;
    while at + 8 <= file.len() {
        let size = u32::from_be_bytes(file[at..at + 4].try_into().ok()?) as usize;
        if &file[at + 4..at + 8] == b"moof" {
            return Some(at);
        }
        if size < 8 {
            return None;
        }
        at = at.checked_add(size)?;
    }
    None
}

/// One `bytes=` range of a body of `len` bytes: `Ok(None)` for no (or an unsupported
/// multi-range) header, `Err(())` when it is unsatisfiable.
fn parse_range(value: &str, len: u64) -> Result<Option<(u64, u64)>, ()> {
    let Some(spec) = value.trim().strip_prefix("bytes=") else { return Ok(None) };
    if spec.contains(',') {
        return Ok(None);
    }
    let (first, last) = spec.split_once('-').ok_or(())?;
    let (first, last) = (first.trim(), last.trim());
    let range = if first.is_empty() {
        let n: u64 = last.parse().map_err(|_| ())?;
        if n == 0 {
            return Err(());
        }
        (len.saturating_sub(n), len.checked_sub(1).ok_or(())?)
    } else {
        let a: u64 = first.parse().map_err(|_| ())?;
        let b: u64 = if last.is_empty() {
            len.saturating_sub(1)
        } else {
            last.parse::<u64>().map_err(|_| ())?.min(len.saturating_sub(1))
        };
        (a, b)
    };
    if range.0 >= len || range.0 > range.1 {
        return Err(());
    }
    Ok(Some(range))
}

/// A download: the whole body, or the one range asked for (RFC 9110 14).
fn ranged(body: Bytes, headers: &HeaderMap, content_type: &'static str, file_name: &str) -> Response {
    let len = body.len() as u64;
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok()).map(|v| parse_range(v, len));
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{file_name}\""))
        .unwrap_or(HeaderValue::from_static("attachment"));
    let common = [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (header::ACCEPT_RANGES, HeaderValue::from_static("bytes")),
        (header::CONTENT_DISPOSITION, disposition),
    ];
    match range {
        Some(Ok(Some((a, b)))) => {
            let part = body.slice(usize::try_from(a).unwrap_or(0)..usize::try_from(b + 1).unwrap_or(body.len()));
            let content_range =
                HeaderValue::from_str(&format!("bytes {a}-{b}/{len}")).unwrap_or(HeaderValue::from_static("bytes */0"));
            (StatusCode::PARTIAL_CONTENT, common, [(header::CONTENT_RANGE, content_range)], part).into_response()
        }
        Some(Err(())) => {
            let content_range =
                HeaderValue::from_str(&format!("bytes */{len}")).unwrap_or(HeaderValue::from_static("bytes */0"));
            (StatusCode::RANGE_NOT_SATISFIABLE, [(header::CONTENT_RANGE, content_range)]).into_response()
        }
        _ => (StatusCode::OK, common, body).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_ranges_follow_rfc_9110() {
        assert_eq!(parse_range("bytes=0-99", 1000), Ok(Some((0, 99))));
        assert_eq!(parse_range("bytes=900-", 1000), Ok(Some((900, 999))));
        assert_eq!(parse_range("bytes=-100", 1000), Ok(Some((900, 999))));
        assert_eq!(parse_range("bytes=-5000", 1000), Ok(Some((0, 999))), "a suffix longer than the body is all of it");
        assert_eq!(parse_range("bytes=500-5000", 1000), Ok(Some((500, 999))), "the last byte is clamped");
        assert_eq!(parse_range("bytes=1000-", 1000), Err(()), "starts past the end");
        assert_eq!(parse_range("bytes=5-4", 1000), Err(()));
        assert_eq!(parse_range("bytes=-0", 1000), Err(()));
        assert_eq!(parse_range("bytes=0-1,5-6", 1000), Ok(None), "multi-range: the whole body");
        assert_eq!(parse_range("items=0-1", 1000), Ok(None));
        assert_eq!(parse_range("bytes=x-1", 1000), Err(()));
    }

    #[test]
    fn init_segments_end_at_the_first_moof() {
        let mut f = Vec::new();
        f.extend_from_slice(&[0, 0, 0, 8]);
        f.extend_from_slice(b"ftyp");
        f.extend_from_slice(&[0, 0, 0, 12]);
        f.extend_from_slice(b"moov\0\0\0\0");
        f.extend_from_slice(&[0, 0, 0, 8]);
        f.extend_from_slice(b"moof");
        assert_eq!(init_len(&f), Some(20));
        assert_eq!(init_len(&f[..20]), None);
        assert_eq!(init_len(&[0, 0, 0, 0, b'f', b't', b'y', b'p']), None, "a zero size does not loop");
    }
}
