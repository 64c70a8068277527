//! Cameras: RTSP pull cameras, `file` sources (a clip replayed live) and `push` cameras (they
//! publish to the server's RTSP ingest). Credentials are write-only.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{ApiJson, ApiPath};
use super::users::{check_item, check_name};
use super::views::{CameraKind, CameraRequest, CameraView};
use super::AppState;
use crate::auth::{Principal, Role};
use crate::camera_policy::{check_file, check_rtsp};
use crate::db::NewCamera;

#[utoipa::path(get, path = "/api/v1/cameras", tag = "cameras", security(("bearer" = [])),
    responses((status = 200, body = [CameraView]), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Vec<CameraView>>> {
    list_cameras(&state, &principal).await.map(Json)
}

#[utoipa::path(get, path = "/api/v1/cameras/{id}", tag = "cameras", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = CameraView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_one(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<CameraView>> {
    get_camera(&state, &principal, &id).await.map(Json)
}

#[utoipa::path(post, path = "/api/v1/cameras", tag = "cameras", security(("bearer" = [])), request_body = CameraRequest,
    responses((status = 201, body = CameraView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<CameraRequest>,
) -> ApiResult<(StatusCode, Json<CameraView>)> {
    Ok((StatusCode::CREATED, Json(create_camera(&state, &principal, req).await?)))
}

#[utoipa::path(put, path = "/api/v1/cameras/{id}", tag = "cameras", security(("bearer" = [])), params(("id" = String, Path)),
    request_body = CameraRequest,
    responses((status = 200, body = CameraView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<CameraRequest>,
) -> ApiResult<Json<CameraView>> {
    update_camera(&state, &principal, &id, req).await.map(Json)
}

#[utoipa::path(delete, path = "/api/v1/cameras/{id}", tag = "cameras", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<StatusCode> {
    delete_camera(&state, &principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// The operations themselves, shared by the REST handlers above and the gRPC service.

pub(crate) async fn list_cameras(state: &AppState, principal: &Principal) -> ApiResult<Vec<CameraView>> {
    principal.require(Role::Viewer)?;
    let rows = state.db.list_cameras().await?;
    Ok(rows.iter().map(|r| CameraView::from_row(r, state.media.camera_status(&r.id))).collect())
}

pub(crate) async fn get_camera(state: &AppState, principal: &Principal, id: &str) -> ApiResult<CameraView> {
    principal.require(Role::Viewer)?;
    let row = state.db.camera(id).await?;
    Ok(CameraView::from_row(&row, state.media.camera_status(&row.id)))
}

pub(crate) async fn create_camera(
    state: &AppState,
    principal: &Principal,
    req: CameraRequest,
) -> ApiResult<CameraView> {
    principal.require(Role::Operator)?;
    let camera = checked(state, req).await?;
    let row = state.db.create_camera(&camera).await?;
    Ok(CameraView::from_row(&row, state.media.camera_status(&row.id)))
}

pub(crate) async fn update_camera(
    state: &AppState,
    principal: &Principal,
    id: &str,
    req: CameraRequest,
) -> ApiResult<CameraView> {
    principal.require(Role::Operator)?;
    let old = state.db.camera(id).await?;
    let keep_password = req.password.is_none() && req.username == old.username;
    let mut req = req;
    if keep_password && req.kind == CameraKind::Push {
        // Write-only: an update that leaves the password out keeps it (checked_push needs it).
        req.password.clone_from(&old.password);
    }
    let mut camera = checked(state, req).await?;
    if keep_password && camera.password.is_none() {
        camera.password = old.password;
    }
    let row = state.db.update_camera(id, &camera).await?;
    Ok(CameraView::from_row(&row, state.media.camera_status(&row.id)))
}

pub(crate) async fn delete_camera(state: &AppState, principal: &Principal, id: &str) -> ApiResult<()> {
    principal.require(Role::Operator)?;
    if state.manager.camera_in_use(id) {
        return Err(ApiError::Conflict(format!("camera {id} is being inspected: stop its inspections first")));
    }
    super::recording_settings::refuse_if_recorded(state, id).await?;
    state.db.delete_camera(id).await?;
    // Whatever still consumes the camera's feed (nothing should) ends with it.
    state.media.remove(id);
    Ok(())
}

/// The request as stored: names checked, the source through the address policy, credentials
/// in the URL moved to the credential fields.
async fn checked(state: &AppState, req: CameraRequest) -> ApiResult<NewCamera> {
    check_name("name", &req.name)?;
    check_item(&req.product, &req.lot, &req.serial)?;
    if req.kind == CameraKind::Push {
        return checked_push(req);
    }
    let policy = &state.config.cameras;
    let source = match req.kind {
        CameraKind::Rtsp => check_rtsp(policy, &req.url).await,
        CameraKind::File | CameraKind::Push => check_file(policy, &req.url),
    }
    .map_err(|e| ApiError::invalid("url", e.to_string().trim_start_matches("url: ")))?;
    Ok(NewCamera {
        name: req.name,
        kind: match req.kind {
            CameraKind::Rtsp => "rtsp".into(),
            CameraKind::File | CameraKind::Push => "file".into(),
        },
        url: source.url,
        username: req.username.or(source.username),
        password: req.password.or(source.password),
        product: req.product,
        lot: req.lot,
        serial: req.serial,
    })
}

/// A push camera: its name is its publish path (so URL-safe), and a publisher must prove a
/// user name and password (Digest needs the password on the server; it is never returned).
fn checked_push(req: CameraRequest) -> ApiResult<NewCamera> {
    if !req.name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b)) {
        return Err(ApiError::invalid(
            "name",
            "a push camera's name is its publish path: letters, digits, '-', '_', '.', '~' only",
        ));
    }
    let path = format!("/cameras/{}", req.name);
    if !req.url.is_empty() && req.url != path {
        return Err(ApiError::invalid("url", format!("a push camera's URL is its publish path {path}; leave it out")));
    }
    let credential_ok = |v: &Option<String>| {
        v.as_deref().is_some_and(|v| !v.is_empty() && v.len() <= 256 && !v.chars().any(|c| c.is_control() || c == '"'))
    };
    if !credential_ok(&req.username) || req.username.as_deref().is_some_and(|u| u.contains(':')) {
        return Err(ApiError::invalid(
            "username",
            "a push camera needs a publish user name (no ':', '\"' or control characters)",
        ));
    }
    if !credential_ok(&req.password) {
        return Err(ApiError::invalid(
            "password",
            "a push camera needs a publish password (no '\"' or control characters)",
        ));
    }
    Ok(NewCamera {
        name: req.name,
        kind: "push".into(),
        url: path,
        username: req.username,
        password: req.password,
        product: req.product,
        lot: req.lot,
        serial: req.serial,
    })
}
