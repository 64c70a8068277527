//! Products (a registry: code, name, description) and lots (what the results carry, with
//! their OK/NG counts). Results and statistics filter by `product` and `lot`.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;

use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::results::rate;
use super::users::check_name;
use super::views::{LotView, LotsQuery, ProductRequest, ProductView};
use super::AppState;
use crate::auth::{Principal, Role};

#[utoipa::path(get, path = "/api/v1/products", tag = "products", security(("bearer" = [])),
    responses((status = 200, body = [ProductView]), (status = 401, body = ErrorBody)))]
pub async fn list(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Vec<ProductView>>> {
    list_products(&state, &principal).await.map(Json)
}

#[utoipa::path(post, path = "/api/v1/products", tag = "products", security(("bearer" = [])), request_body = ProductRequest,
    responses((status = 201, body = ProductView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    ApiJson(req): ApiJson<ProductRequest>,
) -> ApiResult<(StatusCode, Json<ProductView>)> {
    Ok((StatusCode::CREATED, Json(create_product(&state, &principal, req).await?)))
}

#[utoipa::path(get, path = "/api/v1/products/{code}", tag = "products", security(("bearer" = [])), params(("code" = String, Path)),
    responses((status = 200, body = ProductView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_one(State(state): State<AppState>, principal: Principal, ApiPath(code): ApiPath<String>) -> ApiResult<Json<ProductView>> {
    get_product(&state, &principal, &code).await.map(Json)
}

#[utoipa::path(delete, path = "/api/v1/products/{code}", tag = "products", security(("bearer" = [])), params(("code" = String, Path)),
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn delete(State(state): State<AppState>, principal: Principal, ApiPath(code): ApiPath<String>) -> ApiResult<StatusCode> {
    delete_product(&state, &principal, &code).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/lots", tag = "products", security(("bearer" = [])), params(LotsQuery),
    responses((status = 200, body = [LotView]), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn lots(State(state): State<AppState>, principal: Principal, ApiQuery(q): ApiQuery<LotsQuery>) -> ApiResult<Json<Vec<LotView>>> {
    list_lots(&state, &principal, q).await.map(Json)
}

// The operations themselves, shared by the REST handlers above and the gRPC service.

pub(crate) async fn list_products(state: &AppState, principal: &Principal) -> ApiResult<Vec<ProductView>> {
    principal.require(Role::Viewer)?;
    Ok(state.db.products().await?.iter().map(ProductView::from_row).collect())
}

pub(crate) async fn create_product(state: &AppState, principal: &Principal, req: ProductRequest) -> ApiResult<ProductView> {
    principal.require(Role::Operator)?;
    check_name("code", &req.code)?;
    check_name("name", &req.name)?;
    if req.description.as_ref().is_some_and(|d| d.chars().count() > 2000) {
        return Err(ApiError::invalid("description", "must be at most 2000 characters"));
    }
    let row = state.db.create_product(&req.code, &req.name, req.description.as_deref()).await?;
    Ok(ProductView::from_row(&row))
}

pub(crate) async fn get_product(state: &AppState, principal: &Principal, code: &str) -> ApiResult<ProductView> {
    principal.require(Role::Viewer)?;
    Ok(ProductView::from_row(&state.db.product(code).await?))
}

pub(crate) async fn delete_product(state: &AppState, principal: &Principal, code: &str) -> ApiResult<()> {
    principal.require(Role::Operator)?;
    Ok(state.db.delete_product(code).await?)
}

pub(crate) async fn list_lots(state: &AppState, principal: &Principal, q: LotsQuery) -> ApiResult<Vec<LotView>> {
    principal.require(Role::Viewer)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be 1–1000"));
    }
    let rows = state.db.lots(q.product.as_deref(), limit).await?;
    Ok(rows
        .into_iter()
        .map(|r| LotView {
            ng_rate: rate(r.ok, r.ng),
            product: r.product,
            lot: r.lot,
            ok: r.ok,
            ng: r.ng,
            first_ms: r.first_ms,
            last_ms: r.last_ms,
        })
        .collect())
}
