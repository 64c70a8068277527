//! The OpenAPI 3.1 document, generated from the handlers' annotations and served at
//! `/api/v1/openapi.json` (no auth: it is the contract, not data).

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::{
    auth_routes, cameras, inspections, live, pipelines, products, recording_settings, recordings, results, users, ws,
};

#[derive(OpenApi)]
#[openapi(
    info(title = "ifc API", description = "ImageFlowCanvas: cameras, pipelines, inspections, results and events."),
    paths(
        auth_routes::login, auth_routes::refresh, auth_routes::me,
        users::list_users, users::create_user, users::delete_user, users::list_keys, users::create_key, users::revoke_key,
        cameras::list, cameras::get_one, cameras::create, cameras::update, cameras::delete,
        pipelines::list, pipelines::validate, pipelines::create, pipelines::get_one, pipelines::versions,
        pipelines::add_version, pipelines::version,
        inspections::list, inspections::get_one, inspections::create, inspections::start, inspections::stop,
        inspections::set_item,
        products::list, products::create, products::get_one, products::delete, products::lots,
        results::list, results::get_one, results::snapshot, results::statistics,
        recordings::list, recordings::file, recordings::export, recordings::create_link, recordings::signed_export,
        recordings::playlist, recordings::signed_part, recordings::list_protections, recordings::protect,
        recordings::unprotect,
        recording_settings::get_settings, recording_settings::put_settings, recording_settings::delete_settings,
        live::playlist, live::history, live::file, live::websocket, live::overlays,
        ws::events,
    ),
    components(schemas(crate::events::EventEnvelope)),
    modifiers(&BearerAuth, &InvalidInput),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new().scheme(HttpAuthScheme::Bearer).bearer_format("JWT or API key (ifck_…)").build(),
            ),
        );
    }
}

/// Every operation that takes parameters or a body can answer 422 (a field that does not
/// parse or is out of range: [`super::error::ApiError::Invalid`]), whether or not its
/// annotation lists it; the contract says so once, here.
struct InvalidInput;

impl Modify for InvalidInput {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder};
        let invalid = ResponseBuilder::new()
            .description("A parameter or field is malformed or out of range")
            .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
            .build();
        for item in openapi.paths.paths.values_mut() {
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                let takes_input =
                    operation.parameters.as_ref().is_some_and(|p| !p.is_empty()) || operation.request_body.is_some();
                if takes_input {
                    operation.responses.responses.entry("422".into()).or_insert_with(|| invalid.clone().into());
                }
            }
        }
    }
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(ApiDoc::openapi())
}
