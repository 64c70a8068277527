//! The HTTP API, versioned under `/api/v1`: REST resources, the WebSocket event feed, the
//! OpenAPI document, the live view ([`live`]: LL-HLS, WebSockets, `/player`), and `/livez`,
//! `/readyz`, `/metrics` at the root. WHIP's and WHEP's resources (`/api/v1/whip/…`,
//! `/api/v1/whep/…`, [`whip`], [`whep`]) speak SDP, not JSON, and are not in the OpenAPI
//! document.
//!
//! [`app`] builds the whole router from an [`AppState`]; tests drive it with `oneshot` or
//! over a real socket. Every endpoint but the health ones (and `/metrics` unless configured)
//! requires a bearer token: an access token from `/api/v1/auth/login` or an API key.
//!
//! Each operation is one `pub(crate)` function taking the state, the caller and the request
//! (`cameras::create_camera`, `results::list_results`, …): the axum handler here and the gRPC
//! method in [`crate::grpc`] both call it, so REST and gRPC cannot drift apart.

pub(crate) mod auth_routes;
pub(crate) mod cameras;
pub mod error;
mod extract;
pub(crate) mod feed;
mod health;
pub(crate) mod inspections;
pub(crate) mod live;
pub mod openapi;
pub(crate) mod pipelines;
pub(crate) mod principal;
pub(crate) mod products;
pub(crate) mod recording_settings;
pub(crate) mod recordings;
pub(crate) mod results;
pub(crate) mod users;
pub mod views;
pub(crate) mod whep;
pub(crate) mod whip;
mod ws;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post, put};
use axum::Router;
use tokio::sync::Notify;

use crate::auth::JwtKeys;
use crate::config::ServeConfig;
use crate::db::Db;
use crate::events::{EventBus, LocalFeed};
use crate::inspections::Manager;
use crate::media::MediaHub;
use crate::objects::ObjectStore;
use crate::shutdown::Shutdown;

/// Everything a handler needs; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub jwt: JwtKeys,
    pub objects: Arc<dyn ObjectStore>,
    pub bus: Arc<dyn EventBus>,
    pub feed: LocalFeed,
    /// Wakes the outbox relay after a write.
    pub outbox_wake: Arc<Notify>,
    pub manager: Arc<Manager>,
    /// Each camera's live feed (ingest → inspection, recording, distribution).
    pub media: Arc<MediaHub>,
    /// The cameras being watched live (LL-HLS, WebSocket).
    pub live: Arc<crate::distribute::LiveChannels>,
    pub config: Arc<ServeConfig>,
    /// Ends the long-lived responses (event feeds), so a graceful shutdown does not wait on them.
    pub shutdown: Shutdown,
    /// The recorder, once started (after the state exists: it needs the feeds and stores).
    pub recorder: Arc<std::sync::OnceLock<Arc<crate::recorder::Recorder>>>,
    /// Running WHIP sessions (`ingest.whip`).
    pub whip: Arc<crate::ingest::whip::WhipSessions>,
    /// Running WHEP viewers.
    pub whep: Arc<crate::distribute::whep::WhepSessions>,
}

/// The whole API.
pub fn app(state: AppState) -> Router {
    let limit = state.config.max_body_bytes;
    let v1 = Router::new()
        .route("/auth/login", post(auth_routes::login))
        .route("/auth/refresh", post(auth_routes::refresh))
        .route("/auth/me", get(auth_routes::me))
        .route("/users", get(users::list_users).post(users::create_user))
        .route("/users/:id", axum::routing::delete(users::delete_user))
        .route("/api-keys", get(users::list_keys).post(users::create_key))
        .route("/api-keys/:id", axum::routing::delete(users::revoke_key))
        .route("/cameras", get(cameras::list).post(cameras::create))
        .route("/cameras/:id", get(cameras::get_one).put(cameras::update).delete(cameras::delete))
        .route("/pipelines", get(pipelines::list).post(pipelines::create))
        .route("/pipelines/validate", post(pipelines::validate))
        .route("/pipelines/:id", get(pipelines::get_one))
        .route("/pipelines/:id/versions", get(pipelines::versions).post(pipelines::add_version))
        .route("/pipelines/:id/versions/:version", get(pipelines::version))
        .route("/inspections", get(inspections::list).post(inspections::create))
        .route("/inspections/:id", get(inspections::get_one))
        .route("/inspections/:id/start", post(inspections::start))
        .route("/inspections/:id/stop", post(inspections::stop))
        .route("/inspections/:id/item", put(inspections::set_item))
        .route("/products", get(products::list).post(products::create))
        .route("/products/:code", get(products::get_one).delete(products::delete))
        .route("/lots", get(products::lots))
        .route("/results", get(results::list))
        .route("/results/:id", get(results::get_one))
        .route("/results/:id/snapshot", get(results::snapshot))
        .route("/statistics", get(results::statistics))
        .route("/cameras/:id/recordings", get(recordings::list))
        .route("/cameras/:id/export", get(recordings::export))
        .route("/cameras/:id/export-links", post(recordings::create_link))
        .route("/cameras/:id/playlist.m3u8", get(recordings::playlist))
        .route(
            "/cameras/:id/recording",
            get(recording_settings::get_settings)
                .put(recording_settings::put_settings)
                .delete(recording_settings::delete_settings),
        )
        .route("/cameras/:id/protections", get(recordings::list_protections).post(recordings::protect))
        .route("/cameras/:id/protections/:protection_id", axum::routing::delete(recordings::unprotect))
        .route("/recordings/:id/file", get(recordings::file))
        .route("/signed/export", get(recordings::signed_export))
        .route("/signed/recordings/:id/:part", get(recordings::signed_part))
        .route("/cameras/:id/live/index.m3u8", get(live::playlist))
        .route("/cameras/:id/live/history.m3u8", get(live::history))
        .route("/cameras/:id/live/:file", get(live::file))
        .route("/cameras/:id/live.ws", get(live::websocket))
        .route("/cameras/:id/overlays", get(live::overlays))
        .route("/events", get(ws::events))
        .route("/openapi.json", get(openapi::document))
        .merge(whip::routes())
        .merge(whep::routes());
    Router::new()
        .nest("/api/v1", v1)
        .route("/player", get(live::player))
        .route("/livez", get(health::livez))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}
