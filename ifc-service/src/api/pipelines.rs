//! Pipelines: validate, create, save new versions, read any version.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use ifc::pipeline::{DocumentError, PipelineDocument, ValidationError};

use super::extract::{ApiJson, ApiPath};
use super::error::{ApiError, ApiResult, ErrorBody, FieldError};
use super::users::check_name;
use super::views::{DocumentRequest, PipelineRequest, PipelineVersionView, PipelineView, ValidationView};
use super::AppState;
use crate::auth::{Principal, Role};

#[utoipa::path(get, path = "/api/v1/pipelines", tag = "pipelines", security(("bearer" = [])),
    responses((status = 200, body = [PipelineView]), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Vec<PipelineView>>> {
    list_pipelines(&state, &principal).await.map(Json)
}

#[utoipa::path(post, path = "/api/v1/pipelines/validate", tag = "pipelines", security(("bearer" = [])),
    request_body = DocumentRequest,
    responses((status = 200, body = ValidationView), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn validate(principal: Principal, ApiJson(req): ApiJson<DocumentRequest>) -> ApiResult<Json<ValidationView>> {
    validate_pipeline(&principal, req.document).map(Json)
}

#[utoipa::path(post, path = "/api/v1/pipelines", tag = "pipelines", security(("bearer" = [])), request_body = PipelineRequest,
    responses((status = 201, body = PipelineView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<PipelineRequest>,
) -> ApiResult<(StatusCode, Json<PipelineView>)> {
    Ok((StatusCode::CREATED, Json(create_pipeline(&state, &principal, req).await?)))
}

#[utoipa::path(get, path = "/api/v1/pipelines/{id}", tag = "pipelines", security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = PipelineView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_one(State(state): State<AppState>, principal: Principal, ApiPath(id): ApiPath<String>) -> ApiResult<Json<PipelineView>> {
    get_pipeline(&state, &principal, &id).await.map(Json)
}

#[utoipa::path(get, path = "/api/v1/pipelines/{id}/versions", tag = "pipelines", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 200, body = [PipelineVersionView]), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn versions(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Json<Vec<PipelineVersionView>>> {
    list_versions(&state, &principal, &id).await.map(Json)
}

#[utoipa::path(post, path = "/api/v1/pipelines/{id}/versions", tag = "pipelines", security(("bearer" = [])),
    params(("id" = String, Path)), request_body = DocumentRequest,
    responses((status = 201, body = PipelineVersionView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn add_version(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<DocumentRequest>,
) -> ApiResult<(StatusCode, Json<PipelineVersionView>)> {
    Ok((StatusCode::CREATED, Json(add_pipeline_version(&state, &principal, &id, req.document).await?)))
}

#[utoipa::path(get, path = "/api/v1/pipelines/{id}/versions/{version}", tag = "pipelines", security(("bearer" = [])),
    params(("id" = String, Path), ("version" = i64, Path)),
    responses((status = 200, body = PipelineVersionView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn version(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath((id, version)): ApiPath<(String, i64)>,
) -> ApiResult<Json<PipelineVersionView>> {
    get_version(&state, &principal, &id, version).await.map(Json)
}

// The operations themselves, shared by the REST handlers above and the gRPC service.

pub(crate) async fn list_pipelines(state: &AppState, principal: &Principal) -> ApiResult<Vec<PipelineView>> {
    principal.require(Role::Viewer)?;
    Ok(state.db.list_pipelines().await?.iter().map(PipelineView::from_row).collect())
}

pub(crate) fn validate_pipeline(principal: &Principal, document: serde_json::Value) -> ApiResult<ValidationView> {
    principal.require(Role::Viewer)?;
    Ok(match checked_document(document) {
        Ok(_) => ValidationView { valid: true, errors: Vec::new() },
        Err(errors) => ValidationView { valid: false, errors },
    })
}

pub(crate) async fn create_pipeline(state: &AppState, principal: &Principal, req: PipelineRequest) -> ApiResult<PipelineView> {
    principal.require(Role::Operator)?;
    check_name("name", &req.name)?;
    let json = document_json(req.document)?;
    let row = state.db.create_pipeline(&req.name, &json, Some(&principal.subject)).await?;
    Ok(PipelineView::from_row(&row))
}

pub(crate) async fn get_pipeline(state: &AppState, principal: &Principal, id: &str) -> ApiResult<PipelineView> {
    principal.require(Role::Viewer)?;
    Ok(PipelineView::from_row(&state.db.pipeline(id).await?))
}

pub(crate) async fn list_versions(state: &AppState, principal: &Principal, id: &str) -> ApiResult<Vec<PipelineVersionView>> {
    principal.require(Role::Viewer)?;
    Ok(state.db.list_pipeline_versions(id).await?.iter().map(PipelineVersionView::from_row).collect())
}

pub(crate) async fn add_pipeline_version(
    state: &AppState,
    principal: &Principal,
    id: &str,
    document: serde_json::Value,
) -> ApiResult<PipelineVersionView> {
    principal.require(Role::Operator)?;
    let json = document_json(document)?;
    let row = state.db.add_pipeline_version(id, &json, Some(&principal.subject)).await?;
    Ok(PipelineVersionView::from_row(&row))
}

pub(crate) async fn get_version(state: &AppState, principal: &Principal, id: &str, version: i64) -> ApiResult<PipelineVersionView> {
    principal.require(Role::Viewer)?;
    Ok(PipelineVersionView::from_row(&state.db.pipeline_version(id, Some(version)).await?))
}

/// A valid document as the JSON the store keeps (normalised by a round trip).
fn document_json(document: serde_json::Value) -> ApiResult<String> {
    let doc = checked_document(document)
        .map_err(|details| ApiError::Invalid { message: summary(&details), details })?;
    doc.to_json_string().map_err(|e| ApiError::Internal(e.to_string()))
}

/// The document read and validated; every problem with its node and field.
pub(super) fn checked_document(document: serde_json::Value) -> Result<PipelineDocument, Vec<FieldError>> {
    let doc = PipelineDocument::from_value(document).map_err(|e| match e {
        DocumentError::Invalid(errors) => errors.iter().map(field_error).collect(),
        other => vec![FieldError { node_index: None, node_id: None, field: String::new(), message: other.to_string() }],
    })?;
    doc.validate().map_err(|errors| errors.iter().map(field_error).collect::<Vec<_>>())?;
    Ok(doc)
}

fn field_error(e: &ValidationError) -> FieldError {
    FieldError {
        node_index: e.node.as_ref().map(|n| n.index),
        node_id: e.node.as_ref().and_then(|n| n.id.clone()),
        field: e.field.clone(),
        message: e.message.clone(),
    }
}

fn summary(details: &[FieldError]) -> String {
    let n = details.len();
    let first = details.first().map(|d| format!(": {} {}", d.field, d.message)).unwrap_or_default();
    format!("{n} problem{} in the pipeline document{first}", if n == 1 { "" } else { "s" })
}
