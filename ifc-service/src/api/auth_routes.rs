//! Log in, refresh, who am I.

use axum::extract::State;
use axum::Json;

use super::extract::ApiJson;
use super::error::{ApiError, ApiResult, ErrorBody};
use super::views::{LoginRequest, MeView, RefreshRequest, TokenResponse};
use super::AppState;
use crate::auth::{hash_secret, new_secret, verify_password, Credential, Principal, Role, REFRESH_TOKEN_PREFIX};
use crate::db::{now_ms, UserRow};

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn login(State(state): State<AppState>, ApiJson(req): ApiJson<LoginRequest>) -> ApiResult<Json<TokenResponse>> {
    log_in(&state, req).await.map(Json)
}

/// Shared by REST and gRPC.
pub(crate) async fn log_in(state: &AppState, req: LoginRequest) -> ApiResult<TokenResponse> {
    let user = state.db.user_by_name(&req.username).await?;
    // Verify against a fixed hash when the user is unknown, so timing does not tell.
    let stored = user.as_ref().map_or(DUMMY_HASH, |u| u.password_hash.as_str()).to_owned();
    let password = req.password;
    let ok = tokio::task::spawn_blocking(move || verify_password(&stored, &password))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    match user {
        Some(user) if ok => issue(state, &user).await,
        _ => Err(ApiError::Unauthorized("wrong username or password".into())),
    }
}

/// argon2id of a random password nobody knows.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$1nR4G9pOLqkb3xpmqlZ8xxzqrLqWAXdrV4F3PGN3a1c";

#[utoipa::path(post, path = "/api/v1/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses((status = 200, body = TokenResponse), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn refresh(State(state): State<AppState>, ApiJson(req): ApiJson<RefreshRequest>) -> ApiResult<Json<TokenResponse>> {
    refresh_tokens(&state, req).await.map(Json)
}

/// Shared by REST and gRPC.
pub(crate) async fn refresh_tokens(state: &AppState, req: RefreshRequest) -> ApiResult<TokenResponse> {
    let user_id = state
        .db
        .take_refresh_token(&hash_secret(&req.refresh_token), now_ms())
        .await?
        .ok_or_else(|| ApiError::Unauthorized("unknown, used or expired refresh token".into()))?;
    let user = state.db.user_by_id(&user_id).await?.ok_or_else(|| ApiError::Unauthorized("the user is gone".into()))?;
    issue(state, &user).await
}

async fn issue(state: &AppState, user: &UserRow) -> ApiResult<TokenResponse> {
    let role = Role::parse(&user.role).ok_or_else(|| ApiError::Internal(format!("user {}: bad role", user.id)))?;
    let now_s = u64::try_from(now_ms() / 1000).unwrap_or(0);
    let access_token = state.jwt.issue(&user.id, role, now_s).map_err(|e| ApiError::Internal(e.to_string()))?;
    let refresh_token = new_secret(REFRESH_TOKEN_PREFIX).map_err(|e| ApiError::Internal(e.to_string()))?;
    let ttl_ms = i64::try_from(state.config.auth.refresh_token_ttl_s.saturating_mul(1000)).unwrap_or(i64::MAX);
    state.db.store_refresh_token(&hash_secret(&refresh_token), &user.id, now_ms().saturating_add(ttl_ms)).await?;
    Ok(TokenResponse { access_token, token_type: "Bearer".into(), expires_in: state.jwt.ttl_s(), refresh_token })
}

#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", security(("bearer" = [])),
    responses((status = 200, body = MeView), (status = 401, body = ErrorBody)))]
pub async fn me(principal: Principal) -> Json<MeView> {
    Json(who(principal))
}

/// Shared by REST and gRPC.
pub(crate) fn who(principal: Principal) -> MeView {
    let credential = match principal.credential {
        Credential::AccessToken => "access_token",
        Credential::ApiKey => "api_key",
    };
    MeView { subject: principal.subject, role: principal.role, credential: credential.into() }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_dummy_hash_is_a_real_argon2id_hash() {
        assert!(argon2::password_hash::PasswordHash::new(super::DUMMY_HASH).is_ok());
        assert!(!crate::auth::verify_password(super::DUMMY_HASH, ""));
    }
}
