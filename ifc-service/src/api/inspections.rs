//! Inspections: a pipeline version on a camera, started and stopped through the API.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::extract::{ApiJson, ApiPath};
use super::error::{ApiResult, ErrorBody};
use super::users::check_item;
use super::views::{InspectionRequest, InspectionView, ItemRequest};
use super::AppState;
use crate::auth::{Principal, Role};

#[utoipa::path(get, path = "/api/v1/inspections", tag = "inspections", security(("bearer" = [])),
    responses((status = 200, body = [InspectionView]), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Vec<InspectionView>>> {
    list_inspections(&state, &principal).await.map(Json)
}

#[utoipa::path(get, path = "/api/v1/inspections/{id}", tag = "inspections", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = InspectionView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_one(State(state): State<AppState>, principal: Principal, ApiPath(id): ApiPath<String>) -> ApiResult<Json<InspectionView>> {
    get_inspection(&state, &principal, &id).await.map(Json)
}

#[utoipa::path(post, path = "/api/v1/inspections", tag = "inspections", security(("bearer" = [])),
    request_body = InspectionRequest,
    responses((status = 201, body = InspectionView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<InspectionRequest>,
) -> ApiResult<(StatusCode, Json<InspectionView>)> {
    Ok((StatusCode::CREATED, Json(create_inspection(&state, &principal, req).await?)))
}

#[utoipa::path(post, path = "/api/v1/inspections/{id}/start", tag = "inspections", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = InspectionView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn start(State(state): State<AppState>, principal: Principal, ApiPath(id): ApiPath<String>) -> ApiResult<Json<InspectionView>> {
    start_inspection(&state, &principal, &id).await.map(Json)
}

#[utoipa::path(post, path = "/api/v1/inspections/{id}/stop", tag = "inspections", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = InspectionView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
pub async fn stop(State(state): State<AppState>, principal: Principal, ApiPath(id): ApiPath<String>) -> ApiResult<Json<InspectionView>> {
    stop_inspection(&state, &principal, &id).await.map(Json)
}

#[utoipa::path(put, path = "/api/v1/inspections/{id}/item", tag = "inspections", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = ItemRequest,
    responses((status = 200, body = InspectionView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn set_item(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<ItemRequest>,
) -> ApiResult<Json<InspectionView>> {
    set_inspection_item(&state, &principal, &id, req).await.map(Json)
}

// The operations themselves, shared by the REST handlers above and the gRPC service.

pub(crate) async fn list_inspections(state: &AppState, principal: &Principal) -> ApiResult<Vec<InspectionView>> {
    principal.require(Role::Viewer)?;
    let rows = state.db.list_inspections().await?;
    Ok(rows.iter().map(|r| InspectionView::from_row(r, state.manager.live_state(&r.id))).collect())
}

pub(crate) async fn get_inspection(state: &AppState, principal: &Principal, id: &str) -> ApiResult<InspectionView> {
    principal.require(Role::Viewer)?;
    let row = state.db.inspection(id).await?;
    Ok(InspectionView::from_row(&row, state.manager.live_state(&row.id)))
}

pub(crate) async fn create_inspection(
    state: &AppState,
    principal: &Principal,
    req: InspectionRequest,
) -> ApiResult<InspectionView> {
    principal.require(Role::Operator)?;
    check_item(&req.product, &req.lot, &req.serial)?;
    let camera = state.db.camera(&req.camera_id).await?;
    let version = state.db.pipeline_version(&req.pipeline_id, req.pipeline_version).await?;
    let product = req.product.or(camera.product);
    let lot = req.lot.or(camera.lot);
    let serial = req.serial.or(camera.serial);
    let row = state
        .db
        .create_inspection(&camera.id, &version.pipeline_id, version.version, product.as_deref(), lot.as_deref(), serial.as_deref())
        .await?;
    let row = if req.start.unwrap_or(true) {
        state.manager.start(state, &row).await?;
        row
    } else {
        state.db.set_inspection_state(&row.id, false).await?
    };
    Ok(InspectionView::from_row(&row, state.manager.live_state(&row.id)))
}

pub(crate) async fn start_inspection(state: &AppState, principal: &Principal, id: &str) -> ApiResult<InspectionView> {
    principal.require(Role::Operator)?;
    let row = state.db.set_inspection_state(id, true).await?;
    state.manager.start(state, &row).await?;
    Ok(InspectionView::from_row(&row, state.manager.live_state(&row.id)))
}

pub(crate) async fn stop_inspection(state: &AppState, principal: &Principal, id: &str) -> ApiResult<InspectionView> {
    principal.require(Role::Operator)?;
    let row = state.db.set_inspection_state(id, false).await?;
    state.manager.stop(id).await;
    Ok(InspectionView::from_row(&row, state.manager.live_state(&row.id)))
}

pub(crate) async fn set_inspection_item(
    state: &AppState,
    principal: &Principal,
    id: &str,
    req: ItemRequest,
) -> ApiResult<InspectionView> {
    principal.require(Role::Operator)?;
    check_item(&req.product, &req.lot, &req.serial)?;
    let row = state.db.set_inspection_item(id, req.product.as_deref(), req.lot.as_deref(), req.serial.as_deref()).await?;
    state.manager.set_item(id, req.product, req.lot, req.serial);
    Ok(InspectionView::from_row(&row, state.manager.live_state(&row.id)))
}
