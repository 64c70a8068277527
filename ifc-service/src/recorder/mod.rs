//! The recorder of `ifc serve`: each camera listed under `recording.cameras`, or recorded
//! through the API (`PUT /api/v1/cameras/{id}/recording`, `settings`), is recorded from its
//! live feed (`media::MediaHub`) into self-contained fMP4 segment files, indexed in the
//! metadata store, uploaded to the object store when configured, and pruned by retention.
//!
//! ```text
//! MediaHub feed ─subscribe─▶ camera thread (ifc-rec-CAMERA): SegmentWriter ─▶ ID.m4s.part
//!   ─fsync─▶ rename ID.m4s ─fsync dir─▶ index row ─▶ uploader task ─▶ SpoolingStore
//! retention task (timer, or woken by a full disk): plan_camera (age, bytes) and, below
//!   `min_free_bytes`, plan_space; deletes through garbage rows (uploaded copies too: a
//!   garbage row naming an object stays until the store deleted it); alarms; halts a camera
//!   rather than delete protected data
//! ```
//!
//! The decisions are libifc's (`ifc::record`), sans-IO and tested there; this module does the
//! files, the rows and the threads.

mod camera;
mod clock;
pub mod export;
mod remote_copies;
mod retention;
mod settings;
mod upload;

pub use camera::{CameraCounters, RecoverySummary};
pub use clock::WallClock;
pub use retention::free_bytes;
pub use settings::{from_row, recorded_cameras, RecordedCamera, SettingsSource};
pub use upload::object_key;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use ifc::record::SegmentWriterOptions;
use tokio::sync::{mpsc, Notify};

use crate::api::AppState;
use crate::config::{CameraPolicy, CameraRecording};
use crate::db::{Db, DbError};
use crate::media::MediaHub;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RecorderError {
    #[error("{path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error(transparent)]
    Db(#[from] DbError),
    #[error("cannot start a recording thread: {0}")]
    Thread(std::io::Error),
}

impl RecorderError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        Self::Io { path: path.display().to_string(), source }
    }
}

/// Runs crash recovery (see `ifc::record::recovery`) on the directory of every recorded camera
/// (the config's and the API's) without recording: for tools and tests that check a data dir
/// after a crash. Blocking; call outside the runtime's worker threads (e.g. in `spawn_blocking`).
pub fn recover_all(state: &AppState, handle: &tokio::runtime::Handle) -> Result<RecoverySummary, RecorderError> {
    let root = Recorder::root(state);
    let mut total = RecoverySummary::default();
    for cam in handle.block_on(recorded_cameras(&state.config.recording, &state.db))? {
        let id = &cam.settings.camera_id;
        total += camera::recover(id, &Recorder::camera_dir(&root, id), &state.db, handle)?;
    }
    Ok(total)
}

/// Protects the configured pre/post-roll window around an NG verdict of a recorded camera.
pub async fn protect_ng(state: &AppState, camera_id: &str, wall_ms: i64, result_id: i64) {
    let config = &state.config.recording;
    let recorded = state.recorder.get().is_some_and(|r| r.records(camera_id));
    if !recorded || (config.ng_pre_roll_ms <= 0 && config.ng_post_roll_ms <= 0) {
        return;
    }
    let (from_ms, to_ms) =
        ifc::record::ProtectedRanges::ng_window(wall_ms, config.ng_pre_roll_ms, config.ng_post_roll_ms);
    if let Err(e) = state.db.protect_ng_window(camera_id, from_ms, to_ms, result_id).await {
        tracing::error!(camera = %camera_id, result_id, error = %e, "recording: NG window not protected");
    }
}

/// One recorded camera's thread and flags.
struct CameraHandle {
    settings: CameraRecording,
    thread: Option<std::thread::JoinHandle<()>>,
    stop: Arc<AtomicBool>,
    halted: Arc<AtomicBool>,
    counters: Arc<CameraCounters>,
}

/// What the API can ask about a camera's recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordingStatus {
    pub halted: bool,
    pub segments_written: u64,
    pub segments_lost: u64,
}

/// See the module docs.
pub struct Recorder {
    dir: PathBuf,
    cameras: Mutex<HashMap<String, CameraHandle>>,
    retention_wake: Arc<Notify>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    /// Serialises starting and stopping cameras (a restart must not interleave with another).
    changes: tokio::sync::Mutex<()>,
    // What each camera thread is given.
    db: Db,
    media: Arc<MediaHub>,
    policy: CameraPolicy,
    next_id: Arc<AtomicI64>,
    uploads: Option<mpsc::UnboundedSender<i64>>,
    handle: tokio::runtime::Handle,
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder").field("dir", &self.dir).finish_non_exhaustive()
    }
}

impl Recorder {
    /// The directory of `camera_id`'s segments.
    pub fn camera_dir(root: &Path, camera_id: &str) -> PathBuf {
        root.join(camera_id)
    }

    /// The recording root of a configuration.
    pub fn root(state: &AppState) -> PathBuf {
        state.config.in_data_dir(&state.config.recording.dir)
    }

    /// Recovers every recorded camera's directory and starts its thread (the config's cameras
    /// and those recorded through the API), the uploader and retention. Call inside the runtime.
    pub async fn start(state: &AppState) -> Result<Arc<Self>, RecorderError> {
        let config = &state.config.recording;
        let dir = Self::root(state);
        std::fs::create_dir_all(&dir).map_err(|source| RecorderError::io(&dir, source))?;
        // Ids are chosen before the file is written; recovery deletes files without rows, so
        // the index's largest id is the last one that can exist.
        let next_id = Arc::new(AtomicI64::new(state.db.max_recording_id().await?.saturating_add(1)));
        let mut tasks = Vec::new();
        let uploads = if config.upload {
            let (tx, rx) = mpsc::unbounded_channel();
            tasks.push(tokio::spawn(upload::run(state.clone(), dir.clone(), rx)));
            // Segments committed before a restart and not yet handed over.
            match state.db.recordings_not_uploaded(100_000).await {
                Ok(rows) => rows.iter().for_each(|r| {
                    let _ = tx.send(r.id);
                }),
                Err(e) => tracing::warn!(error = %e, "recording: cannot list segments waiting for upload"),
            }
            Some(tx)
        } else {
            None
        };
        let recorder = Arc::new(Self {
            dir: dir.clone(),
            cameras: Mutex::new(HashMap::new()),
            retention_wake: Arc::new(Notify::new()),
            tasks: Mutex::new(tasks),
            changes: tokio::sync::Mutex::new(()),
            db: state.db.clone(),
            media: Arc::clone(&state.media),
            policy: state.config.cameras.clone(),
            next_id,
            uploads,
            handle: tokio::runtime::Handle::current(),
        });
        let cameras = recorded_cameras(config, &state.db).await?;
        for cam in &cameras {
            recorder.spawn(cam.settings.clone())?;
        }
        let task = tokio::spawn(retention::run(state.clone(), Arc::clone(&recorder), state.shutdown.clone()));
        recorder.tasks.lock().unwrap_or_else(PoisonError::into_inner).push(task);
        tracing::info!(cameras = cameras.len(), dir = %dir.display(), "recording: started");
        Ok(recorder)
    }

    /// Starts `settings.camera_id`'s thread (recovery of its directory first, on the thread).
    fn spawn(&self, settings: CameraRecording) -> Result<(), RecorderError> {
        let id = settings.camera_id.clone();
        let stop = Arc::new(AtomicBool::new(false));
        let halted = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(CameraCounters::default());
        let task = camera::CameraTask {
            camera_id: id.clone(),
            dir: Self::camera_dir(&self.dir, &id),
            options: SegmentWriterOptions::from_target_s(settings.segment_s),
            subscription: self.media.feed(&id).subscribe(),
            db: self.db.clone(),
            handle: self.handle.clone(),
            next_id: Arc::clone(&self.next_id),
            stop: Arc::clone(&stop),
            halted: Arc::clone(&halted),
            retention_wake: Arc::clone(&self.retention_wake),
            uploads: self.uploads.clone(),
            counters: Arc::clone(&counters),
            media: Arc::clone(&self.media),
            policy: self.policy.clone(),
        };
        let thread = std::thread::Builder::new()
            .name(format!("ifc-rec-{}", id.chars().take(8).collect::<String>()))
            .spawn(move || camera::run(task))
            .map_err(RecorderError::Thread)?;
        self.cameras
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, CameraHandle { settings, thread: Some(thread), stop, halted, counters });
        Ok(())
    }

    /// Records a camera with `settings`, now: a camera already recorded with the same segment
    /// length keeps its thread (only its budget changes); another length restarts it (its open
    /// segment is written first).
    pub async fn record(&self, settings: CameraRecording) -> Result<(), RecorderError> {
        let _change = self.changes.lock().await;
        {
            let mut cameras = self.cameras.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(c) = cameras.get_mut(&settings.camera_id) {
                let running = c.thread.as_ref().is_some_and(|t| !t.is_finished());
                if running && c.settings.segment_s == settings.segment_s {
                    c.settings = settings;
                    // The new budget applies now, not at the next timer.
                    self.retention_wake.notify_one();
                    return Ok(());
                }
            }
        }
        self.stop_thread(&settings.camera_id).await;
        self.spawn(settings)?;
        // The new budget applies now, not at the next timer.
        self.retention_wake.notify_one();
        Ok(())
    }

    /// Stops recording `camera_id` (its open segment is written first); its segments stay,
    /// deleted only by the free-space floor. Returns whether it was recorded.
    pub async fn stop_camera(&self, camera_id: &str) -> bool {
        let _change = self.changes.lock().await;
        self.stop_thread(camera_id).await
    }

    async fn stop_thread(&self, camera_id: &str) -> bool {
        let Some(mut c) = self.cameras.lock().unwrap_or_else(PoisonError::into_inner).remove(camera_id) else {
            return false;
        };
        c.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = c.thread.take() {
            let _ = tokio::task::spawn_blocking(move || thread.join()).await;
        }
        true
    }

    /// Whether `camera_id` is being recorded.
    pub fn records(&self, camera_id: &str) -> bool {
        self.cameras.lock().unwrap_or_else(PoisonError::into_inner).contains_key(camera_id)
    }

    /// The settings of every recorded camera.
    pub fn recorded(&self) -> Vec<CameraRecording> {
        let cameras = self.cameras.lock().unwrap_or_else(PoisonError::into_inner);
        let mut out: Vec<CameraRecording> = cameras.values().map(|c| c.settings.clone()).collect();
        out.sort_by(|a, b| a.camera_id.cmp(&b.camera_id));
        out
    }

    pub fn status(&self, camera_id: &str) -> Option<RecordingStatus> {
        let cameras = self.cameras.lock().unwrap_or_else(PoisonError::into_inner);
        cameras.get(camera_id).map(|c| RecordingStatus {
            halted: c.halted.load(Ordering::Relaxed),
            segments_written: c.counters.segments_written.load(Ordering::Relaxed),
            segments_lost: c.counters.segments_lost.load(Ordering::Relaxed),
        })
    }

    /// Halts or resumes writing `camera_id`'s segments; returns the previous state.
    fn set_halted(&self, camera_id: &str, halted: bool) -> bool {
        let cameras = self.cameras.lock().unwrap_or_else(PoisonError::into_inner);
        cameras.get(camera_id).is_some_and(|c| c.halted.swap(halted, Ordering::Relaxed))
    }

    /// Stops every camera thread (each writes its open segment first) and the tasks.
    pub async fn stop(&self) {
        let threads: Vec<std::thread::JoinHandle<()>> = {
            let mut cameras = self.cameras.lock().unwrap_or_else(PoisonError::into_inner);
            cameras
                .values_mut()
                .filter_map(|c| {
                    c.stop.store(true, Ordering::Relaxed);
                    c.thread.take()
                })
                .collect()
        };
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(PoisonError::into_inner));
        for t in tasks {
            t.abort();
        }
    }
}
