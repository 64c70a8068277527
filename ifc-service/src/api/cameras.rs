//! Cameras: RTSP pull cameras and `file` sources (a clip replayed live). Credentials are
//! write-only.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::extract::{ApiJson, ApiPath};
use super::error::{ApiError, ApiResult, ErrorBody};
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
pub async fn get_one(State(state): State<AppState>, principal: Principal, ApiPath(id): ApiPath<String>) -> ApiResult<Json<CameraView>> {
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
pub async fn delete(State(state): State<AppState>, principal: Principal, ApiPath(id): ApiPath<String>) -> ApiResult<StatusCode> {
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

pub(crate) async fn create_camera(state: &AppState, principal: &Principal, req: CameraRequest) -> ApiResult<CameraView> {
    principal.require(Role::Operator)?;
    let camera = checked(state, req).await?;
    let row = state.db.create_camera(&camera).await?;
    Ok(CameraView::from_row(&row, state.media.camera_status(&row.id)))
}

pub(crate) async fn update_camera(state: &AppState, principal: &Principal, id: &str, req: CameraRequest) -> ApiResult<CameraView> {
    principal.require(Role::Operator)?;
    let old = state.db.camera(id).await?;
    let keep_password = req.password.is_none() && req.username == old.username;
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
    let policy = &state.config.cameras;
    let source = match req.kind {
        CameraKind::Rtsp => check_rtsp(policy, &req.url).await,
        CameraKind::File => check_file(policy, &req.url),
    }
    .map_err(|e| ApiError::invalid("url", e.to_string().trim_start_matches("url: ")))?;
    Ok(NewCamera {
        name: req.name,
        kind: match req.kind {
            CameraKind::Rtsp => "rtsp".into(),
            CameraKind::File => "file".into(),
        },
        url: source.url,
        username: req.username.or(source.username),
        password: req.password.or(source.password),
        product: req.product,
        lot: req.lot,
        serial: req.serial,
    })
}
