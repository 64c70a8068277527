//! `ifc.v1.Cameras`.

use tonic::{Request, Response, Status};

use super::convert::{required, source_status};
use super::pb::{self, cameras_server::Cameras};
use super::GrpcApi;
use crate::api::cameras::{create_camera, delete_camera, get_camera, list_cameras, update_camera};
use crate::api::error::ApiError;
use crate::api::views::{CameraKind, CameraRequest, CameraView};

fn camera(c: CameraView) -> pb::Camera {
    pb::Camera {
        id: c.id,
        name: c.name,
        kind: match c.kind {
            CameraKind::Rtsp => pb::CameraKind::Rtsp,
            CameraKind::File => pb::CameraKind::File,
            CameraKind::Push => pb::CameraKind::Push,
        } as i32,
        url: c.url,
        username: c.username,
        has_password: c.has_password,
        product: c.product,
        lot: c.lot,
        serial: c.serial,
        created_at_ms: c.created_at_ms,
        updated_at_ms: c.updated_at_ms,
        status: Some(source_status(c.status)),
    }
}

fn camera_request(spec: Option<pb::CameraSpec>) -> Result<CameraRequest, ApiError> {
    let spec = required("camera", spec)?;
    let kind = match pb::CameraKind::try_from(spec.kind) {
        Ok(pb::CameraKind::Rtsp) => CameraKind::Rtsp,
        Ok(pb::CameraKind::File) => CameraKind::File,
        Ok(pb::CameraKind::Push) => CameraKind::Push,
        Ok(pb::CameraKind::Unspecified) | Err(_) => {
            return Err(ApiError::invalid(
                "camera.kind",
                "must be CAMERA_KIND_RTSP, CAMERA_KIND_FILE or CAMERA_KIND_PUSH",
            ))
        }
    };
    Ok(CameraRequest {
        name: spec.name,
        kind,
        url: spec.url,
        username: spec.username,
        password: spec.password,
        product: spec.product,
        lot: spec.lot,
        serial: spec.serial,
    })
}

#[tonic::async_trait]
impl Cameras for GrpcApi {
    async fn list_cameras(
        &self,
        request: Request<pb::ListCamerasRequest>,
    ) -> Result<Response<pb::ListCamerasResponse>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let cameras = list_cameras(&self.state, &caller).await?.into_iter().map(camera).collect();
        Ok(Response::new(pb::ListCamerasResponse { cameras }))
    }

    async fn get_camera(&self, request: Request<pb::GetCameraRequest>) -> Result<Response<pb::Camera>, Status> {
        let caller = self.caller(request.metadata()).await?;
        Ok(Response::new(camera(get_camera(&self.state, &caller, &request.into_inner().id).await?)))
    }

    async fn create_camera(&self, request: Request<pb::CreateCameraRequest>) -> Result<Response<pb::Camera>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let req = camera_request(request.into_inner().camera)?;
        Ok(Response::new(camera(create_camera(&self.state, &caller, req).await?)))
    }

    async fn update_camera(&self, request: Request<pb::UpdateCameraRequest>) -> Result<Response<pb::Camera>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let pb::UpdateCameraRequest { id, camera: spec } = request.into_inner();
        let req = camera_request(spec)?;
        Ok(Response::new(camera(update_camera(&self.state, &caller, &id, req).await?)))
    }

    async fn delete_camera(
        &self,
        request: Request<pb::DeleteCameraRequest>,
    ) -> Result<Response<pb::DeleteCameraResponse>, Status> {
        let caller = self.caller(request.metadata()).await?;
        delete_camera(&self.state, &caller, &request.into_inner().id).await?;
        Ok(Response::new(pb::DeleteCameraResponse {}))
    }
}
