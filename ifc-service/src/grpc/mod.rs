//! The gRPC API (`proto/ifc/v1/ifc.proto`, package `ifc.v1`): the REST API's operations and
//! a server-streaming event feed, served by the same listener as REST (tonic's services become
//! axum routes under `/ifc.v1.<Service>/`, so HTTP/2 requests to those paths are gRPC and
//! everything else is REST). Each method authenticates from its `authorization` metadata and
//! then calls the very function the REST handler calls; [`ApiError`]s become status codes.
//!
//! Server reflection (v1 and v1alpha; like the OpenAPI document, it needs no token) is on, so
//! `grpcurl` needs no proto file.

mod auth;
mod cameras;
mod convert;
mod events;
mod inspections;
mod pipelines;
mod products;
mod recordings;
mod results;
mod status;

use std::convert::Infallible;

use axum::Router;
use tonic::body::BoxBody;
use tonic::metadata::MetadataMap;
use tonic::server::NamedService;
use tower::{Service, ServiceExt};

use crate::api::error::ApiError;
use crate::api::principal::{authenticate, parse_bearer};
use crate::api::AppState;
use crate::auth::Principal;

/// The code tonic-build generated from `proto/ifc/v1/ifc.proto`.
#[allow(clippy::all, clippy::pedantic, unreachable_pub, rust_2018_idioms)]
pub mod pb {
    tonic::include_proto!("ifc.v1");

    /// For gRPC reflection.
    pub(crate) const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("ifc_v1_descriptor");
}

use pb::auth_server::AuthServer;
use pb::cameras_server::CamerasServer;
use pb::events_server::EventsServer;
use pb::inspections_server::InspectionsServer;
use pb::pipelines_server::PipelinesServer;
use pb::products_server::ProductsServer;
use pb::recordings_server::RecordingsServer;
use pb::results_server::ResultsServer;
use pb::users_server::UsersServer;

/// Every gRPC service; one value implements them all over the shared [`AppState`].
#[derive(Clone)]
pub struct GrpcApi {
    state: AppState,
}

#[derive(Debug, thiserror::Error)]
#[error("gRPC reflection: {0}")]
pub struct ReflectionError(#[from] tonic_reflection::server::Error);

/// The gRPC services as axum routes, to merge with the REST router.
pub fn routes(state: AppState) -> Result<Router, ReflectionError> {
    // Requests larger than the REST API's body limit are refused here too.
    let limit = state.config.max_body_bytes;
    let api = GrpcApi { state };
    let reflection =
        || tonic_reflection::server::Builder::configure().register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET);
    let router = Router::new();
    let router = add(router, AuthServer::new(api.clone()).max_decoding_message_size(limit));
    let router = add(router, UsersServer::new(api.clone()).max_decoding_message_size(limit));
    let router = add(router, CamerasServer::new(api.clone()).max_decoding_message_size(limit));
    let router = add(router, PipelinesServer::new(api.clone()).max_decoding_message_size(limit));
    let router = add(router, InspectionsServer::new(api.clone()).max_decoding_message_size(limit));
    let router = add(router, ProductsServer::new(api.clone()).max_decoding_message_size(limit));
    let router = add(router, ResultsServer::new(api.clone()).max_decoding_message_size(limit));
    let router = add(router, RecordingsServer::new(api.clone()).max_decoding_message_size(limit));
    let router = add(router, EventsServer::new(api).max_decoding_message_size(limit));
    let router = add(router, reflection().build_v1()?);
    Ok(add(router, reflection().build_v1alpha()?))
}

/// What tonic's `Routes::add_service` does, without its router's catch-all fallback (which
/// would answer unknown REST paths with a gRPC `UNIMPLEMENTED`).
fn add<S>(router: Router, svc: S) -> Router
where
    S: Service<axum::http::Request<BoxBody>, Response = axum::http::Response<BoxBody>, Error = Infallible>
        + NamedService
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    router.route_service(
        &format!("/{}/*rest", S::NAME),
        svc.map_request(|req: axum::http::Request<axum::body::Body>| req.map(tonic::body::boxed)),
    )
}

impl GrpcApi {
    /// The caller, from `authorization: Bearer <access token or API key>` metadata.
    async fn caller(&self, metadata: &MetadataMap) -> Result<Principal, ApiError> {
        let value = metadata
            .get("authorization")
            .ok_or_else(|| ApiError::Unauthorized("no bearer token".into()))?
            .to_str()
            .map_err(|_| ApiError::Unauthorized("the authorization metadata is not text".into()))?;
        let token =
            parse_bearer(value).ok_or_else(|| ApiError::Unauthorized("authorization: not a bearer token".into()))?;
        authenticate(&self.state, token).await
    }
}
