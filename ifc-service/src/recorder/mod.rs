//! The recorder of `ifc serve`: each camera listed under `recording.cameras` is recorded from
//! its live feed (`media::MediaHub`) into self-contained fMP4 segment files, indexed in the
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
mod upload;

pub use camera::{CameraCounters, RecoverySummary};
pub use clock::WallClock;
pub use retention::free_bytes;
pub use upload::object_key;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use ifc::record::SegmentWriterOptions;
use tokio::sync::{mpsc, Notify};

use crate::api::AppState;
use crate::db::DbError;

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

/// Runs crash recovery (see `ifc::record::recovery`) on the directory of every camera under
/// `recording.cameras` without recording: for tools and tests that check a data dir after a
/// crash. Blocking; call outside the runtime's worker threads (e.g. in `spawn_blocking`).
pub fn recover_all(state: &AppState, handle: &tokio::runtime::Handle) -> Result<RecoverySummary, RecorderError> {
    let root = Recorder::root(state);
    let mut total = RecoverySummary::default();
    for cam in &state.config.recording.cameras {
        total += camera::recover(&cam.camera_id, &Recorder::camera_dir(&root, &cam.camera_id), &state.db, handle)?;
    }
    Ok(total)
}

/// Protects the configured pre/post-roll window around an NG verdict of a recorded camera.
pub async fn protect_ng(state: &AppState, camera_id: &str, wall_ms: i64, result_id: i64) {
    let config = &state.config.recording;
    if config.camera(camera_id).is_none() || (config.ng_pre_roll_ms <= 0 && config.ng_post_roll_ms <= 0) {
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

    /// Recovers every recorded camera's directory and starts its thread, the uploader and
    /// retention. Call inside the runtime.
    pub async fn start(state: &AppState) -> Result<Arc<Self>, RecorderError> {
        let config = &state.config.recording;
        let dir = Self::root(state);
        std::fs::create_dir_all(&dir).map_err(|source| RecorderError::io(&dir, source))?;
        // Ids are chosen before the file is written; recovery deletes files without rows, so
        // the index's largest id is the last one that can exist.
        let next_id = Arc::new(AtomicI64::new(state.db.max_recording_id().await?.saturating_add(1)));
        let retention_wake = Arc::new(Notify::new());
        let recorder = Arc::new(Self {
            dir: dir.clone(),
            cameras: Mutex::new(HashMap::new()),
            retention_wake: Arc::clone(&retention_wake),
            tasks: Mutex::new(Vec::new()),
        });
        let uploads = if config.upload {
            let (tx, rx) = mpsc::unbounded_channel();
            let task = tokio::spawn(upload::run(state.clone(), dir.clone(), rx));
            recorder.tasks.lock().unwrap_or_else(PoisonError::into_inner).push(task);
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
        let handle = tokio::runtime::Handle::current();
        for cam in &config.cameras {
            let stop = Arc::new(AtomicBool::new(false));
            let halted = Arc::new(AtomicBool::new(false));
            let counters = Arc::new(CameraCounters::default());
            let task = camera::CameraTask {
                camera_id: cam.camera_id.clone(),
                dir: Self::camera_dir(&dir, &cam.camera_id),
                options: SegmentWriterOptions::from_target_s(cam.segment_s),
                subscription: state.media.feed(&cam.camera_id).subscribe(),
                db: state.db.clone(),
                handle: handle.clone(),
                next_id: Arc::clone(&next_id),
                stop: Arc::clone(&stop),
                halted: Arc::clone(&halted),
                retention_wake: Arc::clone(&retention_wake),
                uploads: uploads.clone(),
                counters: Arc::clone(&counters),
                media: Arc::clone(&state.media),
                policy: state.config.cameras.clone(),
            };
            let thread = std::thread::Builder::new()
                .name(format!("ifc-rec-{}", cam.camera_id.chars().take(8).collect::<String>()))
                .spawn(move || camera::run(task))
                .map_err(RecorderError::Thread)?;
            recorder
                .cameras
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(cam.camera_id.clone(), CameraHandle { thread: Some(thread), stop, halted, counters });
        }
        let task = tokio::spawn(retention::run(state.clone(), Arc::clone(&recorder), state.shutdown.clone()));
        recorder.tasks.lock().unwrap_or_else(PoisonError::into_inner).push(task);
        tracing::info!(cameras = config.cameras.len(), dir = %dir.display(), "recording: started");
        Ok(recorder)
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
