//! The `Principal` extractor: `Authorization: Bearer <JWT or API key>` (or, for WebSocket
//! upgrades, which browsers cannot give headers, `?access_token=`).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use super::error::ApiError;
use super::AppState;
use crate::auth::{hash_secret, Credential, Principal, Role, API_KEY_PREFIX};

#[axum::async_trait]
impl FromRequestParts<AppState> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = bearer(parts).ok_or_else(|| ApiError::Unauthorized("no bearer token".into()))?;
        authenticate(state, &token).await
    }
}

fn bearer(parts: &Parts) -> Option<String> {
    if let Some(value) = parts.headers.get(axum::http::header::AUTHORIZATION) {
        return parse_bearer(value.to_str().ok()?).map(str::to_owned);
    }
    let query = parts.uri.query()?;
    query.split('&').find_map(|pair| pair.strip_prefix("access_token=").map(str::to_owned))
}

/// The token of an `Authorization: Bearer <token>` value (the scheme in any case); shared by
/// HTTP headers and gRPC metadata.
pub(crate) fn parse_bearer(value: &str) -> Option<&str> {
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

pub(crate) async fn authenticate(state: &AppState, token: &str) -> Result<Principal, ApiError> {
    if token.starts_with(API_KEY_PREFIX) {
        let key = state
            .db
            .api_key_by_hash(&hash_secret(token))
            .await?
            .ok_or_else(|| ApiError::Unauthorized("unknown or revoked API key".into()))?;
        let role = Role::parse(&key.role).ok_or_else(|| ApiError::Internal(format!("API key {}: bad role", key.id)))?;
        return Ok(Principal { subject: key.id, role, credential: Credential::ApiKey });
    }
    let claims = state.jwt.verify(token).map_err(|e| ApiError::Unauthorized(format!("invalid access token: {e}")))?;
    Ok(Principal { subject: claims.sub, role: claims.role, credential: Credential::AccessToken })
}

impl Principal {
    /// Forbidden unless the caller has `role` or a higher one.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role >= role {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("needs the {} role; this caller is {}", role.as_str(), self.role.as_str())))
        }
    }
}
