//! `ifc.v1.Results`: results (filters, cursor paging), snapshots, statistics.

use tonic::{Request, Response, Status};

use super::pb::{self, results_server::Results};
use super::GrpcApi;
use crate::api::error::ApiError;
use crate::api::results::{get_result, get_snapshot, get_statistics, list_results, SNAPSHOT_CONTENT_TYPE};
use crate::api::views::{ResultQuery, ResultView, StatsQuery, VerdictFilter};

fn result(r: ResultView) -> pb::Result {
    pb::Result {
        id: r.id,
        inspection_id: r.inspection_id,
        camera_id: r.camera_id,
        frame_index: r.frame_index,
        pts_90k: r.pts_90k,
        wall_ms: r.wall_ms,
        verdict: match r.verdict {
            VerdictFilter::Ok => pb::Verdict::Ok,
            VerdictFilter::Ng => pb::Verdict::Ng,
        } as i32,
        record_json: r.record.get().to_owned(),
        snapshot_url: r.snapshot_url,
        product: r.product,
        lot: r.lot,
        serial: r.serial,
    }
}

/// Unspecified: no verdict filter.
fn verdict_filter(value: i32) -> Result<Option<VerdictFilter>, ApiError> {
    match pb::Verdict::try_from(value) {
        Ok(pb::Verdict::Unspecified) => Ok(None),
        Ok(pb::Verdict::Ok) => Ok(Some(VerdictFilter::Ok)),
        Ok(pb::Verdict::Ng) => Ok(Some(VerdictFilter::Ng)),
        Err(_) => Err(ApiError::invalid("verdict", format!("unknown verdict {value}"))),
    }
}

#[tonic::async_trait]
impl Results for GrpcApi {
    async fn list_results(
        &self,
        request: Request<pb::ListResultsRequest>,
    ) -> Result<Response<pb::ResultsPage>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let r = request.into_inner();
        let query = ResultQuery {
            camera_id: r.camera_id,
            inspection_id: r.inspection_id,
            verdict: verdict_filter(r.verdict)?,
            product: r.product,
            lot: r.lot,
            from_ms: r.from_ms,
            to_ms: r.to_ms,
            cursor: r.cursor,
            limit: r.limit,
        };
        let page = list_results(&self.state, &caller, query).await?;
        Ok(Response::new(pb::ResultsPage {
            items: page.items.into_iter().map(result).collect(),
            next_cursor: page.next_cursor,
        }))
    }

    async fn get_result(&self, request: Request<pb::GetResultRequest>) -> Result<Response<pb::Result>, Status> {
        let caller = self.caller(request.metadata()).await?;
        Ok(Response::new(result(get_result(&self.state, &caller, request.into_inner().id).await?)))
    }

    async fn get_snapshot(&self, request: Request<pb::GetSnapshotRequest>) -> Result<Response<pb::Snapshot>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let data = get_snapshot(&self.state, &caller, request.into_inner().id).await?;
        Ok(Response::new(pb::Snapshot { content_type: SNAPSHOT_CONTENT_TYPE.into(), data: data.to_vec() }))
    }

    async fn get_statistics(
        &self,
        request: Request<pb::GetStatisticsRequest>,
    ) -> Result<Response<pb::Statistics>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let r = request.into_inner();
        let query = StatsQuery {
            camera_id: r.camera_id,
            inspection_id: r.inspection_id,
            product: r.product,
            lot: r.lot,
            from_ms: r.from_ms,
            to_ms: r.to_ms,
            window_ms: r.window_ms,
        };
        let stats = get_statistics(&self.state, &caller, query).await?;
        Ok(Response::new(pb::Statistics {
            window_ms: stats.window_ms,
            windows: stats
                .windows
                .into_iter()
                .map(|w| pb::StatisticsWindow {
                    window_start_ms: w.window_start_ms,
                    ok: w.ok,
                    ng: w.ng,
                    ng_rate: w.ng_rate,
                })
                .collect(),
            ok: stats.ok,
            ng: stats.ng,
            ng_rate: stats.ng_rate,
        }))
    }
}
