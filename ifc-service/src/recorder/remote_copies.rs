//! Uploaded copies follow the local index: when retention deletes a segment, its copy in the
//! object store goes too. The object store keeps no longer window than the local disk (one
//! rule, one budget per camera; protected segments are never deleted, so neither are their
//! copies).
//!
//! The durable record of a pending remote deletion is the garbage row itself: a row marked
//! garbage that names an object (`object_key`) stays after its local file is gone until the
//! store confirms the delete. Retention retries on every pass, so a store that is down at
//! that moment is caught up with later, across restarts too (recovery keeps these rows).
//! Deleting through the spooling store removes a copy still waiting in the spool instead, so
//! a deleted segment is never uploaded and the spool never outgrows the camera's budget.

use crate::api::AppState;
use crate::db::{DbError, RecordingRow};

/// Whether recovery must keep a garbage row: its object may still be in the store.
pub(super) fn awaits_remote_delete(row: &RecordingRow) -> bool {
    row.garbage != 0 && row.object_key.is_some()
}

/// Deletes the remote copies of `camera_id`'s garbage rows, then those rows. After the first
/// failure (the store is down: the rest would fail too) only copies still waiting in the spool
/// are removed; the others wait for the next pass. Returns how many are left.
pub(super) async fn finish_remote_deletes(state: &AppState, camera_id: &str) -> Result<usize, DbError> {
    let pending: Vec<RecordingRow> =
        state.db.camera_recordings_all(camera_id).await?.into_iter().filter(awaits_remote_delete).collect();
    let mut done = Vec::new();
    let mut store_down = false;
    for row in &pending {
        let Some(key) = &row.object_key else { continue };
        let deleted = if store_down {
            state.objects.remove_waiting(key).await
        } else {
            state.objects.delete(key).await.map(|()| true)
        };
        match deleted {
            Ok(true) => done.push(row.id),
            Ok(false) => {}
            Err(e) => {
                if !store_down {
                    tracing::warn!(camera = %camera_id, segment = row.id, pending = pending.len(), error = %e,
                        "recording: the object store did not delete a segment's copy; retried at the next retention pass");
                }
                store_down = true;
            }
        }
    }
    state.db.delete_recording_rows(&done).await?;
    Ok(pending.len() - done.len())
}
