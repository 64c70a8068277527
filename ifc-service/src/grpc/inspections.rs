//! `ifc.v1.Inspections`.

use tonic::{Request, Response, Status};

use super::convert::source_status;
use super::pb::{self, inspections_server::Inspections};
use super::GrpcApi;
use crate::api::inspections::{
    create_inspection, get_inspection, list_inspections, set_inspection_item, start_inspection, stop_inspection,
};
use crate::api::views::{InspectionCounters, InspectionRequest, InspectionView, ItemRequest};

fn counters(c: InspectionCounters) -> pb::InspectionCounters {
    pb::InspectionCounters {
        packets_received: c.packets_received,
        frames_decoded: c.frames_decoded,
        frames_inferred: c.frames_inferred,
        frames_dropped: c.frames_dropped,
        frames_not_inferred: c.frames_not_inferred,
        decode_errors: c.decode_errors,
        frames_damaged: c.frames_damaged,
        reconnects: c.reconnects,
        queue_depth: c.queue_depth,
    }
}

fn inspection(i: InspectionView) -> pb::Inspection {
    pb::Inspection {
        id: i.id,
        camera_id: i.camera_id,
        pipeline_id: i.pipeline_id,
        pipeline_version: i.pipeline_version,
        desired_state: i.desired_state,
        state: i.state,
        error: i.error,
        source: Some(source_status(i.source)),
        counters: Some(counters(i.counters)),
        product: i.product,
        lot: i.lot,
        serial: i.serial,
        created_at_ms: i.created_at_ms,
        started_at_ms: i.started_at_ms,
        stopped_at_ms: i.stopped_at_ms,
    }
}

#[tonic::async_trait]
impl Inspections for GrpcApi {
    async fn list_inspections(
        &self,
        request: Request<pb::ListInspectionsRequest>,
    ) -> Result<Response<pb::ListInspectionsResponse>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let inspections = list_inspections(&self.state, &caller).await?.into_iter().map(inspection).collect();
        Ok(Response::new(pb::ListInspectionsResponse { inspections }))
    }

    async fn get_inspection(
        &self,
        request: Request<pb::GetInspectionRequest>,
    ) -> Result<Response<pb::Inspection>, Status> {
        let caller = self.caller(request.metadata()).await?;
        Ok(Response::new(inspection(get_inspection(&self.state, &caller, &request.into_inner().id).await?)))
    }

    async fn create_inspection(
        &self,
        request: Request<pb::CreateInspectionRequest>,
    ) -> Result<Response<pb::Inspection>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let r = request.into_inner();
        let req = InspectionRequest {
            camera_id: r.camera_id,
            pipeline_id: r.pipeline_id,
            pipeline_version: r.pipeline_version,
            product: r.product,
            lot: r.lot,
            serial: r.serial,
            start: r.start,
        };
        Ok(Response::new(inspection(create_inspection(&self.state, &caller, req).await?)))
    }

    async fn start_inspection(
        &self,
        request: Request<pb::StartInspectionRequest>,
    ) -> Result<Response<pb::Inspection>, Status> {
        let caller = self.caller(request.metadata()).await?;
        Ok(Response::new(inspection(start_inspection(&self.state, &caller, &request.into_inner().id).await?)))
    }

    async fn stop_inspection(
        &self,
        request: Request<pb::StopInspectionRequest>,
    ) -> Result<Response<pb::Inspection>, Status> {
        let caller = self.caller(request.metadata()).await?;
        Ok(Response::new(inspection(stop_inspection(&self.state, &caller, &request.into_inner().id).await?)))
    }

    async fn set_inspection_item(
        &self,
        request: Request<pb::SetInspectionItemRequest>,
    ) -> Result<Response<pb::Inspection>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let pb::SetInspectionItemRequest { id, product, lot, serial } = request.into_inner();
        let view = set_inspection_item(&self.state, &caller, &id, ItemRequest { product, lot, serial }).await?;
        Ok(Response::new(inspection(view)))
    }
}
