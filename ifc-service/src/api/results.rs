//! Results (cursor paging, filters) and statistics (OK/NG per window).

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::extract::{ApiPath, ApiQuery};
use super::error::{ApiError, ApiResult, ErrorBody};
use super::views::{ResultQuery, ResultView, ResultsPage, StatsQuery, StatsView, StatsWindow, VerdictFilter};
use super::AppState;
use crate::auth::{Principal, Role};
use crate::db::ResultFilter;
use crate::objects::ObjectError;

#[utoipa::path(get, path = "/api/v1/results", tag = "results", security(("bearer" = [])), params(ResultQuery),
    responses((status = 200, body = ResultsPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<ResultQuery>,
) -> ApiResult<Json<ResultsPage>> {
    list_results(&state, &principal, q).await.map(Json)
}

#[utoipa::path(get, path = "/api/v1/results/{id}", tag = "results", security(("bearer" = [])), params(("id" = i64, Path)),
    responses((status = 200, body = ResultView), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn get_one(State(state): State<AppState>, principal: Principal, ApiPath(id): ApiPath<i64>) -> ApiResult<Json<ResultView>> {
    get_result(&state, &principal, id).await.map(Json)
}

#[utoipa::path(get, path = "/api/v1/results/{id}/snapshot", tag = "results", security(("bearer" = [])),
    params(("id" = i64, Path)),
    responses((status = 200, description = "The annotated snapshot", content_type = "image/jpeg", body = Vec<u8>),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
pub async fn snapshot(
    State(state): State<AppState>,
    principal: Principal,
    ApiPath(id): ApiPath<i64>,
) -> ApiResult<impl IntoResponse> {
    let bytes = get_snapshot(&state, &principal, id).await?;
    Ok(([(header::CONTENT_TYPE, SNAPSHOT_CONTENT_TYPE)], bytes))
}

#[utoipa::path(get, path = "/api/v1/statistics", tag = "results", security(("bearer" = [])), params(StatsQuery),
    responses((status = 200, body = StatsView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
pub async fn statistics(
    State(state): State<AppState>,
    principal: Principal,
    ApiQuery(q): ApiQuery<StatsQuery>,
) -> ApiResult<Json<StatsView>> {
    get_statistics(&state, &principal, q).await.map(Json)
}

/// What snapshots are (the one encoder is `ifc::runner::encode_jpeg`).
pub(crate) const SNAPSHOT_CONTENT_TYPE: &str = "image/jpeg";

// The operations themselves, shared by the REST handlers above and the gRPC service.

pub(crate) async fn list_results(state: &AppState, principal: &Principal, q: ResultQuery) -> ApiResult<ResultsPage> {
    principal.require(Role::Viewer)?;
    let limit = i64::from(q.limit.unwrap_or(100));
    if !(1..=1000).contains(&limit) {
        return Err(ApiError::invalid("limit", "must be 1–1000"));
    }
    let after_id = q.cursor.as_deref().map(decode_cursor).transpose()?;
    let filter = ResultFilter {
        camera_id: q.camera_id,
        inspection_id: q.inspection_id,
        verdict: q.verdict.map(verdict_str),
        product: q.product,
        lot: q.lot,
        from_ms: q.from_ms,
        to_ms: q.to_ms,
        after_id,
    };
    // One more than asked tells whether there is a next page.
    let mut rows = state.db.query_results(&filter, limit + 1).await?;
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    let next_cursor = if more { rows.last().map(|r| encode_cursor(r.id)) } else { None };
    Ok(ResultsPage { items: rows.into_iter().map(ResultView::from_row).collect(), next_cursor })
}

pub(crate) async fn get_result(state: &AppState, principal: &Principal, id: i64) -> ApiResult<ResultView> {
    principal.require(Role::Viewer)?;
    Ok(ResultView::from_row(state.db.result(id).await?))
}

/// The snapshot's JPEG bytes.
pub(crate) async fn get_snapshot(state: &AppState, principal: &Principal, id: i64) -> ApiResult<bytes::Bytes> {
    principal.require(Role::Viewer)?;
    let row = state.db.result(id).await?;
    let key = row.snapshot_key.ok_or_else(|| ApiError::NotFound(format!("result {id} has no snapshot")))?;
    state.objects.get(&key).await.map_err(|e| match e {
        ObjectError::NotFound { .. } => ApiError::NotFound(format!("result {id}: the snapshot is not stored (yet)")),
        other => ApiError::Unavailable(format!("object store: {other}")),
    })
}

pub(crate) async fn get_statistics(state: &AppState, principal: &Principal, q: StatsQuery) -> ApiResult<StatsView> {
    principal.require(Role::Viewer)?;
    let window_ms = q.window_ms.unwrap_or(60_000);
    if !(1000..=31 * 24 * 3_600_000).contains(&window_ms) {
        return Err(ApiError::invalid("window_ms", "must be 1000 ms – 31 days"));
    }
    let filter = ResultFilter {
        camera_id: q.camera_id,
        inspection_id: q.inspection_id,
        verdict: None,
        product: q.product,
        lot: q.lot,
        from_ms: q.from_ms,
        to_ms: q.to_ms,
        after_id: None,
    };
    let buckets = state.db.result_stats(&filter, window_ms).await?;
    let (ok, ng) = buckets.iter().fold((0, 0), |(ok, ng), b| (ok + b.ok, ng + b.ng));
    let windows = buckets
        .into_iter()
        .map(|b| StatsWindow { window_start_ms: b.window_start_ms, ok: b.ok, ng: b.ng, ng_rate: rate(b.ok, b.ng) })
        .collect();
    Ok(StatsView { window_ms, windows, ok, ng, ng_rate: rate(ok, ng) })
}

pub(super) fn rate(ok: i64, ng: i64) -> f64 {
    if ok + ng == 0 {
        0.0
    } else {
        ng as f64 / (ok + ng) as f64
    }
}

fn verdict_str(v: VerdictFilter) -> String {
    match v {
        VerdictFilter::Ok => "ok".into(),
        VerdictFilter::Ng => "ng".into(),
    }
}

/// Cursors are opaque to clients: the last id seen, base64url.
fn encode_cursor(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("r{id}"))
}

fn decode_cursor(cursor: &str) -> ApiResult<i64> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.strip_prefix('r').and_then(|n| n.parse().ok()))
        .ok_or_else(|| ApiError::invalid("cursor", "not a cursor this server gave"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        assert_eq!(decode_cursor(&encode_cursor(42)).ok(), Some(42));
        assert!(decode_cursor("not-base64!").is_err());
        assert!(decode_cursor(&URL_SAFE_NO_PAD.encode("x1")).is_err());
    }
}
