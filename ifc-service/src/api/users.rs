//! Users and API keys (admin only).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::extract::{ApiJson, ApiPath};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::views::{ApiKeyView, NewApiKeyRequest, NewApiKeyResponse, NewUserRequest, UserView};
use super::AppState;
use crate::auth::{hash_password, hash_secret, new_secret, Principal, Role, API_KEY_PREFIX};

#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = [UserView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_users(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Vec<UserView>>> {
    users(&state, &principal).await.map(Json)
}

#[utoipa::path(post, path = "/api/v1/users", tag = "users", security(("bearer" = [])), request_body = NewUserRequest,
    responses((status = 201, body = UserView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create_user(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<NewUserRequest>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    Ok((StatusCode::CREATED, Json(new_user(&state, &principal, req).await?)))
}

#[utoipa::path(delete, path = "/api/v1/users/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody)))]
pub async fn delete_user(State(state): State<AppState>, principal: Principal, ApiPath(id): ApiPath<String>) -> ApiResult<StatusCode> {
    remove_user(&state, &principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/api-keys", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = [ApiKeyView]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
pub async fn list_keys(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Vec<ApiKeyView>>> {
    keys(&state, &principal).await.map(Json)
}

#[utoipa::path(post, path = "/api/v1/api-keys", tag = "users", security(("bearer" = [])), request_body = NewApiKeyRequest,
    responses((status = 201, body = NewApiKeyResponse), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn create_key(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<NewApiKeyRequest>,
) -> ApiResult<(StatusCode, Json<NewApiKeyResponse>)> {
    Ok((StatusCode::CREATED, Json(new_key(&state, &principal, req).await?)))
}

#[utoipa::path(delete, path = "/api/v1/api-keys/{id}", tag = "users", security(("bearer" = [])),
    params(("id" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn revoke_key(State(state): State<AppState>, principal: Principal, ApiPath(id): ApiPath<String>) -> ApiResult<StatusCode> {
    revoke(&state, &principal, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

// The operations themselves, shared by the REST handlers above and the gRPC service.

pub(crate) async fn users(state: &AppState, principal: &Principal) -> ApiResult<Vec<UserView>> {
    principal.require(Role::Admin)?;
    Ok(state.db.list_users().await?.iter().map(UserView::from_row).collect())
}

pub(crate) async fn new_user(state: &AppState, principal: &Principal, req: NewUserRequest) -> ApiResult<UserView> {
    principal.require(Role::Admin)?;
    check_name("username", &req.username)?;
    if req.password.chars().count() < 12 {
        return Err(ApiError::invalid("password", "must be at least 12 characters"));
    }
    let password = req.password;
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let row = state.db.create_user(&req.username, &hash, req.role.as_str()).await?;
    Ok(UserView::from_row(&row))
}

pub(crate) async fn remove_user(state: &AppState, principal: &Principal, id: &str) -> ApiResult<()> {
    principal.require(Role::Admin)?;
    if id == principal.subject {
        return Err(ApiError::Conflict("an admin cannot delete itself".into()));
    }
    state.db.delete_user(id).await?;
    Ok(())
}

pub(crate) async fn keys(state: &AppState, principal: &Principal) -> ApiResult<Vec<ApiKeyView>> {
    principal.require(Role::Admin)?;
    Ok(state.db.list_api_keys().await?.iter().map(ApiKeyView::from_row).collect())
}

pub(crate) async fn new_key(state: &AppState, principal: &Principal, req: NewApiKeyRequest) -> ApiResult<NewApiKeyResponse> {
    principal.require(Role::Admin)?;
    check_name("name", &req.name)?;
    let secret = new_secret(API_KEY_PREFIX).map_err(|e| ApiError::Internal(e.to_string()))?;
    let prefix: String = secret.chars().take(API_KEY_PREFIX.len() + 6).collect();
    let row = state
        .db
        .create_api_key(&req.name, &hash_secret(&secret), &prefix, req.role.as_str(), Some(&principal.subject))
        .await?;
    Ok(NewApiKeyResponse { key: ApiKeyView::from_row(&row), secret })
}

pub(crate) async fn revoke(state: &AppState, principal: &Principal, id: &str) -> ApiResult<()> {
    principal.require(Role::Admin)?;
    state.db.revoke_api_key(id).await?;
    Ok(())
}

/// Names: 1–128 characters, no control characters.
pub(super) fn check_name(field: &str, name: &str) -> ApiResult<()> {
    if name.trim().is_empty() || name.chars().count() > 128 || name.chars().any(char::is_control) {
        return Err(ApiError::invalid(field, "must be 1–128 characters without control characters"));
    }
    Ok(())
}

/// An item's product, lot and serial (cameras, inspections, items): each a name when present.
pub(super) fn check_item(product: &Option<String>, lot: &Option<String>, serial: &Option<String>) -> ApiResult<()> {
    for (field, value) in [("product", product), ("lot", lot), ("serial", serial)] {
        if let Some(v) = value {
            check_name(field, v)?;
        }
    }
    Ok(())
}
