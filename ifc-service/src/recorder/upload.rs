//! Hands finished segments to the object store (`recordings/CAMERA_ID/ID.m4s`). The store is
//! the spooling one: a store that is down takes the segment into the durable spool, which
//! uploads it later; the row is marked once the spool or the store has it. Rows not marked
//! (a crash in between) are sent again at the next start; putting twice is harmless. A segment
//! that retention deletes meanwhile loses its copy too (`remote_copies`).

use std::path::PathBuf;

use ifc::record::segment_file_name;
use tokio::sync::mpsc;

use super::Recorder;
use crate::api::AppState;
use crate::db::DbError;
use crate::objects::ObjectError;

/// The object key of a segment.
pub fn object_key(camera_id: &str, id: i64) -> String {
    format!("recordings/{camera_id}/{}", segment_file_name(id))
}

pub(super) async fn run(state: AppState, root: PathBuf, mut ids: mpsc::UnboundedReceiver<i64>) {
    while let Some(id) = ids.recv().await {
        let row = match state.db.recording(id).await {
            Ok(row) => row,
            // Deleted by retention before its turn.
            Err(DbError::NotFound { .. }) => continue,
            Err(e) => {
                tracing::warn!(segment = id, error = %e, "recording upload: cannot read the index");
                continue;
            }
        };
        let path = Recorder::camera_dir(&root, &row.camera_id).join(segment_file_name(id));
        let key = object_key(&row.camera_id, id);
        // Streamed from the file (S3: in parts when it is large), or linked into the spool.
        match state.objects.put_file(&key, &path, "video/mp4").await {
            Ok(()) => {
                if let Err(e) = state.db.mark_recording_uploaded(id, &key).await {
                    tracing::warn!(segment = id, error = %e, "recording upload: stored, but not marked (sent again at restart)");
                }
                // Retention may have deleted the segment while it went up (after the row was
                // read): its copy must not outlive it.
                if let Err(DbError::NotFound { .. }) = state.db.recording(id).await {
                    if let Err(e) = state.objects.delete(&key).await {
                        tracing::warn!(segment = id, error = %e, "recording upload: a deleted segment's copy was not deleted");
                    }
                }
            }
            // Deleted by retention before it could be read.
            Err(ObjectError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::error!(segment = id, error = %e, "recording upload: the store and the spool refused the segment")
            }
        }
    }
}
