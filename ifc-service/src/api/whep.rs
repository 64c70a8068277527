//! WHEP's HTTP resources (draft-ietf-wish-whep, shaped like WHIP's RFC 9725), thin: check the
//! request, authorize it, hand it to [`crate::distribute::whep`], answer. CORS headers on every
//! response, as for WHIP (the credential is a bearer token, never a cookie).
//!
//! - `POST /api/v1/whep/cameras/{id}`, `application/sdp` offer (receive-only video) → 201,
//!   `Location` (the session), `ETag`, `Link: <…>; rel="ice-server"` per configured ICE server
//!   (`ingest.whip.ice_servers`), the answer. A camera whose stream has B-frames: 422 saying
//!   why; no video yet: 503.
//! - `PATCH /api/v1/whep/sessions/{id}` (trickle ICE) → 204; ICE restarts: 422.
//! - `DELETE /api/v1/whep/sessions/{id}` → 200 once the session has ended.
//!
//! Who may watch: any caller with the viewer role (an access token or an API key).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use tokio::time::Instant;

use super::error::ApiError;
use super::extract::ApiPath;
use super::principal::{authenticate, parse_bearer};
use super::whip::{
    apply_trickle, body_bytes, preflight_endpoint, preflight_session, require_content_type, session_created, with_cors,
    WhipError, WhipResult,
};
use super::AppState;
use crate::auth::Role;
use crate::distribute::whep::{Viewer, WhepError};
use crate::ingest::whip::{Command, OfferError};

const SDP: &str = "application/sdp";
/// How long a new viewer waits for the camera's first pictures before a 503.
const START_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// The WHEP routes, CORS headers on every response.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/whep/cameras/:id", post(watch).options(preflight_endpoint))
        .route("/whep/sessions/:id", axum::routing::patch(trickle).delete(end).options(preflight_session))
        .layer(axum::middleware::map_response(with_cors))
}

impl From<WhepError> for WhipError {
    fn from(e: WhepError) -> Self {
        match e {
            WhepError::Offer(OfferError::NoVideo | OfferError::SeveralVideos(_)) | WhepError::BFrames => {
                Self::Unprocessable(e.to_string())
            }
            WhepError::Offer(_) | WhepError::Negotiation(_) => Self::BadRequest(e.to_string()),
            WhepError::Socket(_) => {
                tracing::error!(error = %e, "whep: no socket for a session");
                Self::Api(ApiError::Unavailable("no UDP socket for the session; try again".into()))
            }
        }
    }
}

async fn authorize(state: &AppState, headers: &HeaderMap) -> WhipResult<()> {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_bearer)
        .ok_or_else(|| ApiError::Unauthorized("no bearer token".into()))?;
    authenticate(state, token).await?.require(Role::Viewer)?;
    Ok(())
}

async fn watch(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> WhipResult<Response> {
    authorize(&state, &headers).await?;
    require_content_type(&headers, SDP)?;
    let udp = &state.config.ingest.whip;
    let offer = body_bytes(body)?;
    if offer.len() > udp.max_offer_bytes {
        return Err(ApiError::TooLarge(format!("the offer is over ingest.whip.max_offer_bytes ({})", udp.max_offer_bytes)).into());
    }
    let camera = state.db.camera(&id).await?;
    let channel = state.live.open(&camera).await?;
    // Whether the stream has B-frames is known from its first pictures.
    let frames = channel.frames();
    let reorders = channel
        .wait_for(Instant::now() + START_WAIT, |w| w.latest_init().map(|i| i.reorders))
        .await
        .ok_or_else(|| ApiError::Unavailable(format!("camera {id}: no video yet")))?;
    let slot = state.live.admit(&channel)?;
    let viewer = Viewer { camera_id: camera.id.clone(), frames, slot, reorders, feed: state.media.feed(&camera.id) };
    let connect_timeout = std::time::Duration::from_millis(udp.connect_timeout_ms);
    let (answer, entry) = state.whep.start(udp, &state.shutdown, viewer, &offer, connect_timeout).await?;
    Ok(session_created(answer, &format!("/api/v1/whep/sessions/{}", entry.id), &entry.etag, &udp.ice_servers))
}

async fn trickle(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> WhipResult<Response> {
    authorize(&state, &headers).await?;
    let entry = state.whep.get(&id).ok_or_else(|| ApiError::NotFound(format!("WHEP session {id} not found")))?;
    let ended = || ApiError::NotFound(format!("WHEP session {id} has ended"));
    apply_trickle(&headers, body, &entry.etag, &entry.remote_ufrag, |c| entry.send(Command::Candidates(c)), ended)
}

async fn end(State(state): State<AppState>, ApiPath(id): ApiPath<String>, headers: HeaderMap) -> WhipResult<Response> {
    authorize(&state, &headers).await?;
    let entry = state.whep.get(&id).ok_or_else(|| ApiError::NotFound(format!("WHEP session {id} not found")))?;
    let mut ended = entry.ended();
    entry.send(Command::Stop);
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), ended.wait_for(|done| *done)).await;
    Ok(StatusCode::OK.into_response())
}
