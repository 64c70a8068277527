//! A camera's recording settings through the API: `GET/PUT/DELETE /api/v1/cameras/{id}/recording`.
//! A camera created at run time (a pushed or WHIP camera) is recorded from the next key frame
//! without editing the config or restarting. Cameras the config records are read-only here.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{ApiJson, ApiPath};
use super::AppState;
use crate::auth::{Principal, Role};
use crate::config::CameraRecording;
use crate::recorder::{from_row, SettingsSource};

/// The longest segment, seconds.
const MAX_SEGMENT_S: u32 = 3600;

/// How a camera is recorded.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RecordingSettingsRequest {
    /// Target segment length, seconds (1–3600; a segment ends at the first key frame past it).
    #[serde(default = "crate::config::default_segment_s")]
    pub segment_s: u32,
    /// Delete unprotected segments older than this, seconds (at least 1); none: no age limit.
    #[serde(default)]
    pub max_age_s: Option<u64>,
    /// Keep the camera's segments under this many bytes, oldest unprotected first (at least
    /// 1); none: no limit. The free-space floor (`recording.min_free_bytes`) applies anyway.
    #[serde(default)]
    pub max_bytes: Option<u64>,
}

/// A recorded camera's settings and its recording's state.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordingSettingsView {
    pub camera_id: String,
    pub segment_s: u32,
    pub max_age_s: Option<u64>,
    pub max_bytes: Option<u64>,
    /// `config` (read-only here: edit `recording.cameras` and restart) or `api`.
    pub source: SettingsSource,
    /// Who set them through the API, and when (ms since the epoch).
    pub who: Option<String>,
    pub updated_at_ms: Option<i64>,
    /// Whether the recorder is writing this camera now (false while the server starts).
    pub recording: bool,
    /// Stopped by retention: the budget or the disk holds only protected segments.
    pub halted: bool,
    pub segments_written: u64,
    pub segments_lost: u64,
}

#[utoipa::path(get, path = "/api/v1/cameras/{id}/recording", tag = "recordings", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = RecordingSettingsView), (status = 401, body = ErrorBody),
        (status = 404, description = "No such camera, or it is not recorded", body = ErrorBody)))]
pub async fn get_settings(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<RecordingSettingsView>> {
    get_recording_settings(&state, &principal, &id).await.map(Json)
}

#[utoipa::path(put, path = "/api/v1/cameras/{id}/recording", tag = "recordings", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = RecordingSettingsRequest,
    responses((status = 200, description = "Settings changed", body = RecordingSettingsView),
        (status = 201, description = "The camera is recorded from now on", body = RecordingSettingsView),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The config records this camera", body = ErrorBody)))]
pub async fn put_settings(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<RecordingSettingsRequest>,
) -> ApiResult<(StatusCode, Json<RecordingSettingsView>)> {
    let (view, created) = put_recording_settings(&state, &principal, &id, req).await?;
    Ok((if created { StatusCode::CREATED } else { StatusCode::OK }, Json(view)))
}

#[utoipa::path(delete, path = "/api/v1/cameras/{id}/recording", tag = "recordings", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204, description = "Recording stopped (the open segment is written); the segments stay"),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The config records this camera", body = ErrorBody)))]
pub async fn delete_settings(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    stop_recording(&state, &principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- operations ----

fn config_owned(camera_id: &str) -> ApiError {
    ApiError::Conflict(format!(
        "camera {camera_id} is recorded by the config (`recording.cameras`): change it there and restart"
    ))
}

fn view(
    state: &AppState,
    settings: &CameraRecording,
    source: SettingsSource,
    who: Option<(String, i64)>,
) -> RecordingSettingsView {
    let status = state.recorder.get().and_then(|r| r.status(&settings.camera_id));
    let (who, updated_at_ms) = who.map_or((None, None), |(w, at)| (Some(w), Some(at)));
    RecordingSettingsView {
        camera_id: settings.camera_id.clone(),
        segment_s: settings.segment_s,
        max_age_s: settings.max_age_s,
        max_bytes: settings.max_bytes,
        source,
        who,
        updated_at_ms,
        recording: status.is_some(),
        halted: status.is_some_and(|s| s.halted),
        segments_written: status.map_or(0, |s| s.segments_written),
        segments_lost: status.map_or(0, |s| s.segments_lost),
    }
}

pub(crate) async fn get_recording_settings(
    state: &AppState,
    principal: &Principal,
    camera_id: &str,
) -> ApiResult<RecordingSettingsView> {
    principal.require(Role::Viewer)?;
    if let Some(cam) = state.config.recording.camera(camera_id) {
        return Ok(view(state, cam, SettingsSource::Config, None));
    }
    state.db.camera(camera_id).await?;
    match state.db.recording_settings(camera_id).await? {
        Some(row) => Ok(view(state, &from_row(&row), SettingsSource::Api, Some((row.who, row.updated_at_ms)))),
        None => Err(ApiError::NotFound(format!("camera {camera_id} is not recorded"))),
    }
}

fn check(req: &RecordingSettingsRequest) -> ApiResult<(i64, Option<i64>, Option<i64>)> {
    if !(1..=MAX_SEGMENT_S).contains(&req.segment_s) {
        return Err(ApiError::invalid("segment_s", format!("must be 1–{MAX_SEGMENT_S} seconds")));
    }
    // Stored as SQL BIGINT: at most i64::MAX.
    let positive = |field: &str, v: Option<u64>| -> ApiResult<Option<i64>> {
        match v {
            None => Ok(None),
            Some(n) => match i64::try_from(n) {
                Ok(n) if n >= 1 => Ok(Some(n)),
                _ => Err(ApiError::invalid(field, format!("must be 1–{}", i64::MAX))),
            },
        }
    };
    Ok((i64::from(req.segment_s), positive("max_age_s", req.max_age_s)?, positive("max_bytes", req.max_bytes)?))
}

/// Stores the settings and records the camera with them now; `true` when it was not recorded.
pub(crate) async fn put_recording_settings(
    state: &AppState,
    principal: &Principal,
    camera_id: &str,
    req: RecordingSettingsRequest,
) -> ApiResult<(RecordingSettingsView, bool)> {
    principal.require(Role::Operator)?;
    let (segment_s, max_age_s, max_bytes) = check(&req)?;
    if state.config.recording.camera(camera_id).is_some() {
        return Err(config_owned(camera_id));
    }
    // Only cameras that exist: the id also names the segment directory.
    state.db.camera(camera_id).await?;
    let (row, created) =
        state.db.put_recording_settings(camera_id, segment_s, max_age_s, max_bytes, &principal.subject).await?;
    let settings = from_row(&row);
    if let Some(recorder) = state.recorder.get() {
        recorder.record(settings.clone()).await.map_err(|e| {
            tracing::error!(camera = %camera_id, error = %e, "recording: cannot start the camera's recording");
            ApiError::Internal(format!("cannot start recording camera {camera_id}: {e}"))
        })?;
    }
    Ok((view(state, &settings, SettingsSource::Api, Some((row.who, row.updated_at_ms))), created))
}

pub(crate) async fn stop_recording(state: &AppState, principal: &Principal, camera_id: &str) -> ApiResult<()> {
    principal.require(Role::Operator)?;
    if state.config.recording.camera(camera_id).is_some() {
        return Err(config_owned(camera_id));
    }
    state.db.camera(camera_id).await?;
    state.db.delete_recording_settings(camera_id).await?;
    if let Some(recorder) = state.recorder.get() {
        recorder.stop_camera(camera_id).await;
    }
    Ok(())
}

/// Refuses to delete a camera that is recorded (its segments would lose their camera).
pub(crate) async fn refuse_if_recorded(state: &AppState, camera_id: &str) -> ApiResult<()> {
    if state.config.recording.camera(camera_id).is_some() {
        return Err(config_owned(camera_id));
    }
    if state.db.recording_settings(camera_id).await?.is_some() {
        return Err(ApiError::Conflict(format!(
            "camera {camera_id} is recorded: stop its recording first (DELETE /api/v1/cameras/{camera_id}/recording)"
        )));
    }
    Ok(())
}
