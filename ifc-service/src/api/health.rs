//! `/livez` (the process answers), `/readyz` (database, object store and bus reachable),
//! `/metrics` (Prometheus text format).

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Json;
use serde::Serialize;

use super::error::ApiError;
use super::principal::authenticate;
use super::AppState;
use crate::auth::Role;

pub async fn livez() -> &'static str {
    "ok\n"
}

#[derive(Serialize)]
pub struct Readiness {
    ready: bool,
    database: String,
    objects: String,
    bus: String,
}

pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let database = match state.db.ping().await {
        Ok(()) => "ok".to_owned(),
        Err(e) => e.to_string(),
    };
    let objects = match state.objects.ping().await {
        Ok(()) => "ok".to_owned(),
        Err(e) => e.to_string(),
    };
    let bus = match state.bus.check().await {
        Ok(()) => "ok".to_owned(),
        Err(e) => e.to_string(),
    };
    let ready = database == "ok" && objects == "ok" && bus == "ok";
    let status = if ready { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, Json(Readiness { ready, database, objects, bus }))
}

pub async fn metrics(State(state): State<AppState>, headers: axum::http::HeaderMap) -> Result<impl IntoResponse, ApiError> {
    if state.config.metrics_require_auth {
        let token = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(|| ApiError::Unauthorized("no bearer token".into()))?;
        authenticate(&state, token).await?.require(Role::Viewer)?;
    }
    let backlog = state.db.outbox_backlog().await.unwrap_or(-1);
    let mut text = state.manager.render_metrics(backlog);
    text.push_str(&state.whip.render_metrics());
    text.push_str(&state.live.render_metrics());
    Ok(([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text))
}
