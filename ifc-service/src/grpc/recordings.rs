//! `ifc.v1.Recordings`: segments, exports, protected ranges and recording settings, through the
//! functions the REST handlers call.

use std::pin::Pin;

use bytes::Bytes;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::pb::{self, recordings_server::Recordings};
use super::GrpcApi;
use crate::api::recording_settings::{
    get_recording_settings, put_recording_settings, stop_recording, RecordingSettingsRequest, RecordingSettingsView,
};
use crate::api::recordings::{
    create_export_link, create_protection, delete_protection, export_recording, get_protections, list_recordings,
    ProtectionRequest, ProtectionView, RangeRequest, RecordingView, RecordingsQuery,
};
use crate::config::default_segment_s;
use crate::recorder::SettingsSource;

/// The largest piece of an export in one message: well under the 4 MiB clients accept by
/// default.
const EXPORT_CHUNK_BYTES: usize = 1 << 20;

type ExportStream = Pin<Box<dyn Stream<Item = Result<pb::ExportChunk, Status>> + Send + 'static>>;

fn recording(r: RecordingView) -> pb::Recording {
    pb::Recording {
        id: r.id,
        camera_id: r.camera_id,
        start_ms: r.start_ms,
        end_ms: r.end_ms,
        media_start_90k: r.media_start_90k,
        media_end_90k: r.media_end_90k,
        frame_count: r.frame_count,
        bytes: r.bytes,
        key_frames_90k: r.key_frames_90k,
        sha256: r.sha256,
        codec: r.codec,
        uploaded: r.uploaded,
        object_key: r.object_key,
    }
}

fn protection(p: ProtectionView) -> pb::Protection {
    pb::Protection {
        id: p.id,
        camera_id: p.camera_id,
        from_ms: p.from_ms,
        to_ms: p.to_ms,
        reason: p.reason,
        who: p.who,
        result_id: p.result_id,
        created_at_ms: p.created_at_ms,
    }
}

fn settings(s: RecordingSettingsView) -> pb::RecordingSettings {
    pb::RecordingSettings {
        camera_id: s.camera_id,
        segment_s: s.segment_s,
        max_age_s: s.max_age_s,
        max_bytes: s.max_bytes,
        source: match s.source {
            SettingsSource::Config => "config",
            SettingsSource::Api => "api",
        }
        .into(),
        who: s.who,
        updated_at_ms: s.updated_at_ms,
        recording: s.recording,
        halted: s.halted,
        segments_written: s.segments_written,
        segments_lost: s.segments_lost,
    }
}

/// The export's pieces as messages of at most [`EXPORT_CHUNK_BYTES`], sharing the export's
/// buffers (slices, no copies); the first carries the start time and the length.
fn export_chunks(payload: Vec<Bytes>, start_ms: i64, total_bytes: u64) -> Vec<pb::ExportChunk> {
    let mut chunks = Vec::new();
    for piece in payload {
        let mut at = 0;
        while at < piece.len() {
            let end = piece.len().min(at + EXPORT_CHUNK_BYTES);
            chunks.push(pb::ExportChunk { start_ms: None, total_bytes: None, data: piece.slice(at..end) });
            at = end;
        }
    }
    match chunks.first_mut() {
        Some(first) => {
            first.start_ms = Some(start_ms);
            first.total_bytes = Some(total_bytes);
        }
        None => chunks.push(pb::ExportChunk { start_ms: Some(start_ms), total_bytes: Some(0), data: Bytes::new() }),
    }
    chunks
}

#[tonic::async_trait]
impl Recordings for GrpcApi {
    type ExportRangeStream = ExportStream;

    async fn list_recordings(
        &self,
        request: Request<pb::ListRecordingsRequest>,
    ) -> Result<Response<pb::ListRecordingsResponse>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let r = request.into_inner();
        let query = RecordingsQuery { from_ms: r.from_ms, to_ms: r.to_ms, limit: r.limit };
        let recordings = list_recordings(&self.state, &caller, &r.camera_id, query).await?;
        Ok(Response::new(pb::ListRecordingsResponse { recordings: recordings.into_iter().map(recording).collect() }))
    }

    async fn export_range(&self, request: Request<pb::ExportRangeRequest>) -> Result<Response<ExportStream>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let r = request.into_inner();
        let exported = export_recording(&self.state, &caller, &r.camera_id, r.from_ms, r.to_ms).await?;
        let chunks = export_chunks(exported.payload, exported.start_ms, exported.bytes);
        Ok(Response::new(Box::pin(tokio_stream::iter(chunks.into_iter().map(Ok)))))
    }

    async fn create_export_link(
        &self,
        request: Request<pb::CreateExportLinkRequest>,
    ) -> Result<Response<pb::DownloadLink>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let r = request.into_inner();
        let range = RangeRequest { from_ms: r.from_ms, to_ms: r.to_ms };
        let link = create_export_link(&self.state, &caller, &r.camera_id, range).await?;
        Ok(Response::new(pb::DownloadLink { url: link.url, expires_at_ms: link.expires_at_ms }))
    }

    async fn list_protections(
        &self,
        request: Request<pb::ListProtectionsRequest>,
    ) -> Result<Response<pb::ListProtectionsResponse>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let protections = get_protections(&self.state, &caller, &request.into_inner().camera_id).await?;
        Ok(Response::new(pb::ListProtectionsResponse {
            protections: protections.into_iter().map(protection).collect(),
        }))
    }

    async fn protect(&self, request: Request<pb::ProtectRequest>) -> Result<Response<pb::Protection>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let r = request.into_inner();
        let req = ProtectionRequest { from_ms: r.from_ms, to_ms: r.to_ms, reason: r.reason };
        Ok(Response::new(protection(create_protection(&self.state, &caller, &r.camera_id, req).await?)))
    }

    async fn unprotect(
        &self,
        request: Request<pb::UnprotectRequest>,
    ) -> Result<Response<pb::UnprotectResponse>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let r = request.into_inner();
        delete_protection(&self.state, &caller, &r.camera_id, &r.protection_id).await?;
        Ok(Response::new(pb::UnprotectResponse {}))
    }

    async fn get_recording_settings(
        &self,
        request: Request<pb::GetRecordingSettingsRequest>,
    ) -> Result<Response<pb::RecordingSettings>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let view = get_recording_settings(&self.state, &caller, &request.into_inner().camera_id).await?;
        Ok(Response::new(settings(view)))
    }

    async fn put_recording_settings(
        &self,
        request: Request<pb::PutRecordingSettingsRequest>,
    ) -> Result<Response<pb::PutRecordingSettingsResponse>, Status> {
        let caller = self.caller(request.metadata()).await?;
        let r = request.into_inner();
        let req = RecordingSettingsRequest {
            segment_s: r.segment_s.unwrap_or_else(default_segment_s),
            max_age_s: r.max_age_s,
            max_bytes: r.max_bytes,
        };
        let (view, created) = put_recording_settings(&self.state, &caller, &r.camera_id, req).await?;
        Ok(Response::new(pb::PutRecordingSettingsResponse { settings: Some(settings(view)), created }))
    }

    async fn stop_recording(
        &self,
        request: Request<pb::StopRecordingRequest>,
    ) -> Result<Response<pb::StopRecordingResponse>, Status> {
        let caller = self.caller(request.metadata()).await?;
        stop_recording(&self.state, &caller, &request.into_inner().camera_id).await?;
        Ok(Response::new(pb::StopRecordingResponse {}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_is_cut_into_pieces_that_join_to_the_file() {
        let big: Vec<u8> = (0..(2 * EXPORT_CHUNK_BYTES + 5)).map(|i| (i % 251) as u8).collect();
        let payload = vec![Bytes::from_static(b"init"), Bytes::from(big.clone()), Bytes::from_static(b"tail")];
        let total = 4 + big.len() as u64 + 4;
        let chunks = export_chunks(payload, 1234, total);
        assert_eq!(
            chunks.iter().map(|c| c.data.len()).collect::<Vec<_>>(),
            [4, EXPORT_CHUNK_BYTES, EXPORT_CHUNK_BYTES, 5, 4]
        );
        assert_eq!((chunks[0].start_ms, chunks[0].total_bytes), (Some(1234), Some(total)));
        assert!(chunks[1..].iter().all(|c| c.start_ms.is_none() && c.total_bytes.is_none()));
        let joined: Vec<u8> = chunks.iter().flat_map(|c| c.data.to_vec()).collect();
        assert_eq!(joined, [b"init".as_slice(), &big, b"tail"].concat());
        let empty = export_chunks(Vec::new(), 7, 0);
        assert_eq!((empty.len(), empty[0].start_ms), (1, Some(7)));
    }
}
