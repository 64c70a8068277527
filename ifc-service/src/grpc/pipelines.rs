//! `ifc.v1.Pipelines`: documents travel as JSON text (`document_json`).

use tonic::{Request, Response, Status};

use super::convert::{field_error, json_text, parse_json};
use super::pb::{self, pipelines_server::Pipelines};
use super::GrpcApi;
use crate::api::pipelines::{
    add_pipeline_version, create_pipeline, get_pipeline, get_version, list_pipelines, list_versions, validate_pipeline,
};
use crate::api::views::{PipelineRequest, PipelineVersionView, PipelineView};

fn pipeline(p: PipelineView) -> pb::Pipeline {
    pb::Pipeline { id: p.id, name: p.name, latest_version: p.latest_version, created_at_ms: p.created_at_ms }
}

fn version(v: PipelineVersionView) -> pb::PipelineVersion {
    pb::PipelineVersion {
        pipeline_id: v.pipeline_id,
        version: v.version,
        document_json: json_text(&v.document),
        created_by: v.created_by,
        created_at_ms: v.created_at_ms,
    }
}

#[tonic::async_trait]
impl Pipelines for GrpcApi {
    async fn list_pipelines(
        &self,
        request: Request<pb::ListPipelinesRequest>,
    ) -> Result<Response<pb::ListPipelinesResponse>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let pipelines = list_pipelines(&self.state, &caller).await?.into_iter().map(pipeline).collect();
        Ok(Response::new(pb::ListPipelinesResponse { pipelines }))
    }

    async fn get_pipeline(&self, request: Request<pb::GetPipelineRequest>) -> Result<Response<pb::Pipeline>, Status> {
        let caller = self.caller(request.metadata()).await?;
        Ok(Response::new(pipeline(get_pipeline(&self.state, &caller, &request.into_inner().id).await?)))
    }

    async fn create_pipeline(
        &self,
        request: Request<pb::CreatePipelineRequest>,
    ) -> Result<Response<pb::Pipeline>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let pb::CreatePipelineRequest { name, document_json } = request.into_inner();
        let req = PipelineRequest { name, document: parse_json("document_json", &document_json)? };
        Ok(Response::new(pipeline(create_pipeline(&self.state, &caller, req).await?)))
    }

    async fn validate_pipeline(
        &self,
        request: Request<pb::ValidatePipelineRequest>,
    ) -> Result<Response<pb::ValidatePipelineResponse>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let document = parse_json("document_json", &request.into_inner().document_json)?;
        let view = validate_pipeline(&caller, document)?;
        Ok(Response::new(pb::ValidatePipelineResponse {
            valid: view.valid,
            errors: view.errors.into_iter().map(field_error).collect(),
        }))
    }

    async fn list_pipeline_versions(
        &self,
        request: Request<pb::ListPipelineVersionsRequest>,
    ) -> Result<Response<pb::ListPipelineVersionsResponse>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let versions = list_versions(&self.state, &caller, &request.into_inner().pipeline_id).await?;
        Ok(Response::new(pb::ListPipelineVersionsResponse { versions: versions.into_iter().map(version).collect() }))
    }

    async fn add_pipeline_version(
        &self,
        request: Request<pb::AddPipelineVersionRequest>,
    ) -> Result<Response<pb::PipelineVersion>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let pb::AddPipelineVersionRequest { pipeline_id, document_json } = request.into_inner();
        let document = parse_json("document_json", &document_json)?;
        Ok(Response::new(version(add_pipeline_version(&self.state, &caller, &pipeline_id, document).await?)))
    }

    async fn get_pipeline_version(
        &self,
        request: Request<pb::GetPipelineVersionRequest>,
    ) -> Result<Response<pb::PipelineVersion>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let pb::GetPipelineVersionRequest { pipeline_id, version: number } = request.into_inner();
        Ok(Response::new(version(get_version(&self.state, &caller, &pipeline_id, number).await?)))
    }
}
