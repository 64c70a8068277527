//! WHIP's HTTP resources (RFC 9725), thin: check the request, authorize it, hand it to
//! [`crate::ingest::whip`], answer.
//!
//! - `POST /api/v1/whip/cameras/{name}`, `application/sdp` offer → 201, `Location` (the
//!   session), `ETag`, `Link: <…>; rel="ice-server"` per configured ICE server, the answer.
//! - `PATCH /api/v1/whip/sessions/{id}`, `application/trickle-ice-sdpfrag` → 204. ICE restarts
//!   (`If-Match: "*"`, or new ICE credentials) are not supported: 422, as RFC 9725 §4.3.2 asks
//!   of a session that trickles but does not restart. A stale `If-Match` ETag: 412.
//! - `DELETE /api/v1/whip/sessions/{id}` → 200 once the session has ended.
//! - `OPTIONS` on both → 204 with CORS headers; every response carries CORS headers, so a page
//!   on another origin can publish. `Access-Control-Allow-Origin: *` is safe here: the
//!   credential is a bearer token the page holds, never a cookie.
//!
//! Who may publish a camera: the bearer token is the `push` camera's own publish secret (its
//! `password`, the same per-device credential RTSP publish takes through Digest), or a control
//! plane token of an operator or admin (an access token or an API key). Anything else: 401; a
//! known caller without the operator role: 403.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use sha2::{Digest, Sha256};

use super::error::{ApiError, ErrorBody, ErrorDetail};
use super::extract::ApiPath;
use super::principal::{authenticate, parse_bearer};
use super::AppState;
use crate::auth::Role;
use crate::db::{CameraRow, DbError};
use crate::ingest::whip::trickle::{parse_fragment, TrickleError};
use crate::ingest::whip::{Command, OfferError, Publish, StartError};

const SDP: &str = "application/sdp";
const TRICKLE: &str = "application/trickle-ice-sdpfrag";

/// The WHIP routes, CORS headers on every response.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/whip/cameras/:name", post(publish).options(preflight_endpoint))
        .route("/whip/sessions/:id", axum::routing::patch(trickle).delete(end).options(preflight_session))
        .layer(axum::middleware::map_response(with_cors))
}

/// What a WHIP request can be refused with. Each maps to one status; the body is the API's
/// JSON error body.
#[derive(Debug, thiserror::Error)]
pub enum WhipError {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("{0}")]
    BadRequest(String),
    #[error("Content-Type must be {0}")]
    UnsupportedMediaType(&'static str),
    #[error("{0}")]
    Unprocessable(String),
    #[error("If-Match does not name the session's current ETag")]
    PreconditionFailed,
}

impl From<DbError> for WhipError {
    fn from(e: DbError) -> Self {
        Self::Api(e.into())
    }
}

impl IntoResponse for WhipError {
    fn into_response(self) -> Response {
        let (status, code) = match self {
            Self::Api(e) => return e.into_response(),
            Self::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            Self::UnsupportedMediaType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type"),
            Self::Unprocessable(_) => (StatusCode::UNPROCESSABLE_ENTITY, "unprocessable"),
            Self::PreconditionFailed => (StatusCode::PRECONDITION_FAILED, "precondition_failed"),
        };
        let body =
            ErrorBody { error: ErrorDetail { code: code.into(), message: self.to_string(), details: Vec::new() } };
        (status, Json(body)).into_response()
    }
}

impl From<StartError> for WhipError {
    fn from(e: StartError) -> Self {
        match e {
            StartError::Offer(OfferError::NoVideo | OfferError::SeveralVideos(_)) => Self::Unprocessable(e.to_string()),
            StartError::Offer(_) | StartError::Negotiation(_) => Self::BadRequest(e.to_string()),
            StartError::TooMany(_) => Self::Api(ApiError::Unavailable(e.to_string())),
            StartError::Busy(_) => Self::Api(ApiError::Conflict(e.to_string())),
            StartError::Socket { .. } => {
                tracing::error!(error = %e, "whip: no socket for a session");
                Self::Api(ApiError::Unavailable("no UDP socket for the session; try again".into()))
            }
        }
    }
}

impl From<TrickleError> for WhipError {
    fn from(e: TrickleError) -> Self {
        Self::BadRequest(format!("trickle ICE fragment: {e}"))
    }
}

pub(crate) type WhipResult<T> = Result<T, WhipError>;

async fn publish(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> WhipResult<Response> {
    let config = &state.config.ingest.whip;
    let camera = push_camera(&state, &name).await?;
    authorize(&state, &headers, &camera).await?;
    require_content_type(&headers, SDP)?;
    let offer = body_bytes(body)?;
    if offer.len() > config.max_offer_bytes {
        return Err(ApiError::TooLarge(format!(
            "the offer is over ingest.whip.max_offer_bytes ({})",
            config.max_offer_bytes
        ))
        .into());
    }
    let publish = Publish { camera_id: camera.id.clone(), camera_name: camera.name.clone() };
    let started = state.whip.start(config, &state.media, &state.shutdown, publish, &offer).await?;
    let location = format!("/api/v1/whip/sessions/{}", started.entry.id);
    Ok(session_created(started.answer_sdp, &location, &started.entry.etag, &config.ice_servers))
}

/// A 201 for a new WHIP or WHEP session: the answer, its `Location` and `ETag`, what PATCH
/// takes, and a `Link` per ICE server (RFC 9725 §4.6).
pub(crate) fn session_created(answer_sdp: String, location: &str, etag: &str, ice_servers: &[String]) -> Response {
    let mut response = (StatusCode::CREATED, answer_sdp).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(SDP));
    insert(h, header::LOCATION, location);
    insert(h, header::ETAG, etag);
    h.insert("accept-patch", HeaderValue::from_static(TRICKLE));
    for server in ice_servers {
        if let Ok(link) = HeaderValue::from_str(&format!("<{server}>; rel=\"ice-server\"")) {
            h.append(header::LINK, link);
        }
    }
    response
}

async fn trickle(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> WhipResult<Response> {
    let entry = state.whip.get(&id).ok_or_else(|| ApiError::NotFound(format!("WHIP session {id} not found")))?;
    let camera = state.db.camera(&entry.camera_id).await?;
    authorize(&state, &headers, &camera).await?;
    let ended = || ApiError::NotFound(format!("WHIP session {id} has ended"));
    apply_trickle(&headers, body, &entry.etag, &entry.remote_ufrag, |c| entry.send(Command::Candidates(c)), ended)
}

/// A trickle PATCH (RFC 8840) on a WHIP or WHEP session: the content type, `If-Match` against
/// the session's `etag`, ICE restarts (422), then the candidates handed to `send` (false: the
/// session has ended, `ended()`).
pub(crate) fn apply_trickle(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    etag: &str,
    remote_ufrag: &str,
    send: impl FnOnce(Vec<str0m::Candidate>) -> bool,
    ended: impl FnOnce() -> ApiError,
) -> WhipResult<Response> {
    require_content_type(headers, TRICKLE)?;
    match headers.get(header::IF_MATCH).map(|v| v.to_str().unwrap_or_default().trim()) {
        Some("*") => return Err(ice_restart()),
        Some(tag) if tag != etag => return Err(WhipError::PreconditionFailed),
        _ => {}
    }
    let fragment = parse_fragment(&body_bytes(body)?)?;
    if fragment.ufrag.as_deref().is_some_and(|u| u != remote_ufrag) {
        return Err(ice_restart());
    }
    if !fragment.candidates.is_empty() && !send(fragment.candidates) {
        return Err(ended().into());
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

fn ice_restart() -> WhipError {
    WhipError::Unprocessable("ICE restarts are not supported: end the session (DELETE) and start a new one".into())
}

async fn end(State(state): State<AppState>, ApiPath(id): ApiPath<String>, headers: HeaderMap) -> WhipResult<Response> {
    let entry = state.whip.get(&id).ok_or_else(|| ApiError::NotFound(format!("WHIP session {id} not found")))?;
    let camera = state.db.camera(&entry.camera_id).await?;
    authorize(&state, &headers, &camera).await?;
    let mut ended = entry.ended();
    entry.send(Command::Stop);
    // Answered once the publisher is gone, so that the camera is no longer live when the client
    // hears back (bounded: the task ends within one loop turn).
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), ended.wait_for(|done| *done)).await;
    Ok(StatusCode::OK.into_response())
}

pub(crate) async fn preflight_endpoint() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert("accept-post", HeaderValue::from_static(SDP));
    response
}

pub(crate) async fn preflight_session() -> Response {
    let mut response = StatusCode::NO_CONTENT.into_response();
    response.headers_mut().insert("accept-patch", HeaderValue::from_static(TRICKLE));
    response
}

pub(crate) async fn with_cors(mut response: Response) -> Response {
    let h = response.headers_mut();
    h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
    h.insert(header::ACCESS_CONTROL_ALLOW_METHODS, HeaderValue::from_static("POST, PATCH, DELETE, OPTIONS"));
    h.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, HeaderValue::from_static("Authorization, Content-Type, If-Match"));
    h.insert(header::ACCESS_CONTROL_EXPOSE_HEADERS, HeaderValue::from_static("Location, ETag, Link, Accept-Patch"));
    h.insert(header::ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
    response
}

/// The `push` camera named `name` (404 for other kinds too: only push cameras take publishers).
async fn push_camera(state: &AppState, name: &str) -> WhipResult<CameraRow> {
    if !state.config.ingest.whip.enabled {
        return Err(ApiError::NotFound("WHIP ingest is disabled (ingest.whip.enabled)".into()).into());
    }
    match state.db.camera_by_name(name).await {
        Ok(row) if row.kind == "push" => Ok(row),
        Ok(_) | Err(DbError::NotFound { .. }) => Err(ApiError::NotFound(format!("no push camera named {name}")).into()),
        Err(e) => Err(e.into()),
    }
}

/// See the module docs: the camera's publish secret, or an operator's token.
async fn authorize(state: &AppState, headers: &HeaderMap, camera: &CameraRow) -> WhipResult<()> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_bearer)
        .ok_or_else(|| ApiError::Unauthorized("no bearer token".into()))?;
    // Compared as digests: the time taken says nothing about the secret's bytes.
    if camera.password.as_deref().is_some_and(|secret| Sha256::digest(secret) == Sha256::digest(token)) {
        return Ok(());
    }
    let principal = authenticate(state, token)
        .await
        .map_err(|_| ApiError::Unauthorized("neither the camera's publish secret nor a valid token".into()))?;
    principal.require(Role::Operator)?;
    Ok(())
}

pub(crate) fn require_content_type(headers: &HeaderMap, expected: &'static str) -> WhipResult<()> {
    let given = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let essence = given.split(';').next().unwrap_or_default().trim();
    if essence.eq_ignore_ascii_case(expected) {
        Ok(())
    } else {
        Err(WhipError::UnsupportedMediaType(expected))
    }
}

pub(crate) fn body_bytes(body: Result<Bytes, BytesRejection>) -> WhipResult<Bytes> {
    body.map_err(|e| match e.status() {
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::TooLarge(e.body_text()).into(),
        _ => WhipError::BadRequest(e.body_text()),
    })
}

fn insert(headers: &mut HeaderMap, name: header::HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}
