//! Retention: on a timer (and when a write found the disk full), each recorded camera's budget
//! (`ifc::record::plan_camera`), then the filesystem's free-space floor
//! (`ifc::record::plan_space`, the oldest unprotected segments of any camera first).
//!
//! Protected data is never deleted: a camera whose budget or the disk cannot be met without it
//! is halted (its segments are no longer written) with an alarm, and resumes once there is
//! room again. Deleting follows the protocol recovery understands: mark the rows garbage,
//! delete the files, fsync the directory, delete the rows; a row whose segment was uploaded
//! stays until the object store has deleted its copy too (`remote_copies`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ifc::record::segment_file_name;
use ifc::record::{plan_camera, plan_space, Budget, CameraSegments, ProtectedRanges, Segment};

use super::camera::sync_dir;
use super::remote_copies::{awaits_remote_delete, finish_remote_deletes};
use super::{Recorder, RecorderError};
use crate::api::AppState;
use crate::db::{new_id, now_ms, OutboxEvent, RecordingRow};
use crate::events::schema::{AlarmPayload, RecordingAlarm};
use crate::events::TOPIC_ALARMS;
use crate::shutdown::Shutdown;

/// Free bytes for an unprivileged writer on the filesystem of `path` (statvfs `f_bavail`).
pub fn free_bytes(path: &Path) -> std::io::Result<u64> {
    let s = rustix::fs::statvfs(path).map_err(std::io::Error::from)?;
    Ok(s.f_bavail.saturating_mul(s.f_frsize))
}

/// Alarm kinds (`alarms` topic, `kind`).
pub const ALARM_DISK_FULL: &str = "recording-disk-full";
pub const ALARM_ONLY_PROTECTED: &str = "recording-stopped-protected";
pub const ALARM_RESUMED: &str = "recording-resumed";

pub(super) async fn run(state: AppState, recorder: Arc<Recorder>, shutdown: Shutdown) {
    let interval = Duration::from_secs(state.config.recording.retention_interval_s.max(1));
    let mut disk_full = false;
    loop {
        match pass(&state, &recorder, &mut disk_full).await {
            Ok(()) => {}
            Err(e) => tracing::error!(error = %e, "recording: retention pass failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = recorder.retention_wake.notified() => {}
            _ = shutdown.wait() => return,
        }
    }
}

fn segment_of(r: &RecordingRow) -> Segment {
    Segment {
        id: r.id,
        start_ms: r.start_ms,
        end_ms: r.end_ms,
        bytes: u64::try_from(r.bytes).unwrap_or(0),
        finished: true,
    }
}

/// One camera's live rows and protections.
struct CameraState {
    camera_id: String,
    segments: Vec<Segment>,
    protected: ProtectedRanges,
    over_budget: bool,
    /// Recorded now (halting and alarms apply), not only holding old segments.
    recorded: bool,
}

async fn pass(state: &AppState, recorder: &Recorder, disk_full: &mut bool) -> Result<(), RecorderError> {
    let config = &state.config.recording;
    let now = now_ms();
    // The recorded cameras with their budgets, then cameras no longer recorded that still have
    // segments (no budget: only the free-space floor deletes theirs).
    let mut budgets: Vec<(String, Option<Budget>)> = recorder
        .recorded()
        .into_iter()
        .map(|cam| {
            let budget = Budget {
                max_age_ms: cam.max_age_s.and_then(|s| i64::try_from(s.saturating_mul(1000)).ok()),
                max_bytes: cam.max_bytes,
            };
            (cam.camera_id, Some(budget))
        })
        .collect();
    for id in state.db.cameras_with_recordings().await? {
        if !budgets.iter().any(|(c, _)| *c == id) {
            budgets.push((id, None));
        }
    }
    let mut cameras = Vec::new();
    for (camera_id, budget) in budgets {
        let rows: Vec<RecordingRow> =
            state.db.camera_recordings_all(&camera_id).await?.into_iter().filter(|r| r.garbage == 0).collect();
        let protected =
            ProtectedRanges::from_ranges(state.db.protections(&camera_id).await?.iter().map(|p| (p.from_ms, p.to_ms)));
        let segments: Vec<Segment> = rows.iter().map(segment_of).collect();
        let plan = plan_camera(&segments, &protected, budget.unwrap_or_default(), now);
        delete(state, recorder, &camera_id, &plan.delete).await?;
        let segments = segments.into_iter().filter(|s| !plan.delete.contains(&s.id)).collect();
        cameras.push(CameraState {
            camera_id,
            segments,
            protected,
            over_budget: plan.over_budget,
            recorded: budget.is_some(),
        });
    }

    let root = Recorder::root(state);
    let free = free_bytes(&root).map_err(|source| RecorderError::io(&root, source))?;
    let mut disk_blocked = false;
    if free < config.min_free_bytes {
        // Below the floor: the oldest unprotected segments of any camera go first.
        let needed = config.min_free_bytes - free;
        let views: Vec<CameraSegments<'_>> =
            cameras.iter().map(|c| CameraSegments { segments: &c.segments, protected: &c.protected }).collect();
        let plan = plan_space(&views, needed);
        let mut by_camera: HashMap<usize, Vec<i64>> = HashMap::new();
        for (i, id) in &plan.delete {
            by_camera.entry(*i).or_default().push(*id);
        }
        for (i, ids) in &by_camera {
            delete(state, recorder, &cameras[*i].camera_id, ids).await?;
        }
        if !*disk_full {
            *disk_full = true;
            for c in cameras.iter().filter(|c| c.recorded) {
                let message =
                    "free space on the recording disk is below the floor: deleting the oldest unprotected segments";
                alarm(state, &c.camera_id, ALARM_DISK_FULL, message, Some((free, config.min_free_bytes))).await;
            }
        }
        // Only protected data (and the open segments) left: stop writing rather than delete it.
        disk_blocked = !plan.satisfied;
    } else {
        *disk_full = false;
    }
    let free_now = free_bytes(&root).unwrap_or(free);
    for c in cameras.iter().filter(|c| c.recorded) {
        let halt = c.over_budget || disk_blocked;
        let was = recorder.set_halted(&c.camera_id, halt);
        if halt && !was {
            let message = if disk_blocked {
                "the recording disk is full and only protected segments are left: recording stopped"
            } else {
                "the camera's byte budget holds only protected segments: recording stopped"
            };
            tracing::error!(camera = %c.camera_id, free_bytes = free_now, "recording: {message}");
            alarm(state, &c.camera_id, ALARM_ONLY_PROTECTED, message, Some((free_now, config.min_free_bytes))).await;
        } else if !halt && was {
            alarm(
                state,
                &c.camera_id,
                ALARM_RESUMED,
                "there is room again: recording resumed",
                Some((free_now, config.min_free_bytes)),
            )
            .await;
        }
    }
    // Last, as it may wait on the store: uploaded copies of deleted segments (this pass's, and
    // those a store that was down could not delete before).
    for c in &cameras {
        finish_remote_deletes(state, &c.camera_id).await?;
    }
    Ok(())
}

/// Deletes segments: garbage rows, files, directory fsync, remote copies, rows.
pub(super) async fn delete(
    state: &AppState,
    recorder: &Recorder,
    camera_id: &str,
    ids: &[i64],
) -> Result<(), RecorderError> {
    if ids.is_empty() {
        return Ok(());
    }
    state.db.mark_recordings_garbage(ids).await?;
    let dir = Recorder::camera_dir(&recorder.dir, camera_id);
    let files: Vec<_> = ids.iter().map(|id| dir.join(segment_file_name(*id))).collect();
    let dir2 = dir.clone();
    tokio::task::spawn_blocking(move || -> Result<(), RecorderError> {
        for f in &files {
            match std::fs::remove_file(f) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(RecorderError::io(f, source)),
            }
        }
        sync_dir(&dir2).map_err(|source| RecorderError::io(&dir2, source))
    })
    .await
    .map_err(|e| RecorderError::io(&dir, std::io::Error::other(e)))??;
    // Rows naming an uploaded copy stay (garbage) until the store has deleted it too, at the
    // end of the pass; a copy still waiting in the spool goes now (no store involved, so a
    // store that is down does not slow the budget's enforcement).
    let rows = state.db.camera_recordings_all(camera_id).await?;
    let mut done = Vec::new();
    for r in rows.iter().filter(|r| ids.contains(&r.id)) {
        let removed = match (&r.object_key, awaits_remote_delete(r)) {
            (Some(key), true) => state.objects.remove_waiting(key).await.unwrap_or_else(|e| {
                tracing::warn!(camera = %camera_id, segment = r.id, error = %e, "recording: a spooled copy was not removed");
                false
            }),
            _ => true,
        };
        if removed {
            done.push(r.id);
        }
    }
    state.db.delete_recording_rows(&done).await?;
    tracing::info!(camera = %camera_id, segments = ids.len(), remote_pending = ids.len().saturating_sub(done.len()), "recording: retention deleted segments");
    Ok(())
}

async fn alarm(state: &AppState, camera_id: &str, kind: &str, message: &str, disk: Option<(u64, u64)>) {
    let payload = AlarmPayload {
        camera_id: Some(camera_id.to_owned()),
        kind: kind.to_owned(),
        message: message.to_owned(),
        recording: disk.map(|(free_bytes, min_free_bytes)| RecordingAlarm { free_bytes, min_free_bytes }),
    };
    let event = OutboxEvent {
        event_id: new_id(),
        topic: TOPIC_ALARMS.into(),
        key: camera_id.to_owned(),
        payload: serde_json::to_string(&payload).unwrap_or_else(|_| "null".to_owned()),
    };
    if let Err(e) = state.db.insert_event(&event).await {
        tracing::warn!(camera = %camera_id, error = %e, "recording alarm not stored");
    }
    state.outbox_wake.notify_one();
}
