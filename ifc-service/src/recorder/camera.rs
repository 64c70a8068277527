//! One camera's recording thread: its feed → `record::SegmentWriter` → the write protocol.
//!
//! A blocking `std::thread`, not a tokio task: it writes and fsyncs files. The index rows go
//! through the runtime's handle (`block_on`), so the database layer is written once.
//!
//! Write protocol (what `ifc::record::plan_recovery` reconciles after a crash):
//! `ID.m4s.part` ← the segment's bytes; fsync; rename to `ID.m4s`; fsync the directory;
//! insert the index row. A crash anywhere before the row loses only that segment.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ifc::live::{FeedItem, Subscription};
use ifc::record::{
    partial_file_name, plan_recovery, segment_file_name, FinishedSegment, FoundFile, IndexedSegment, SegmentWriter,
    SegmentWriterOptions,
};
use ifc::remux::LiveItem;
use ifc::rtsp::Polled;
use tokio::runtime::Handle;
use tokio::sync::{mpsc, Notify};

use super::clock::WallClock;

/// How often a recorder thread reads what its camera's feed holds. Woken at every picture
/// instead, the threads' switches cost more than the recording (measured); a segment is
/// committed only at its end, and packets keep the time they were sent into the feed.
const FEED_READ_INTERVAL: Duration = Duration::from_millis(100);
use super::RecorderError;
use crate::config::CameraPolicy;
use crate::db::{now_ms, Db, RecordingRow};
use crate::media::{MediaHub, SourceLease};

/// What a camera thread needs.
pub(super) struct CameraTask {
    pub camera_id: String,
    pub dir: PathBuf,
    pub options: SegmentWriterOptions,
    /// Subscribed when the recorder starts, before recovery, so nothing published meanwhile
    /// is missed.
    pub subscription: Subscription,
    pub db: Db,
    pub handle: Handle,
    pub next_id: Arc<AtomicI64>,
    pub stop: Arc<AtomicBool>,
    /// Set by retention when only protected data is left: segments are not written.
    pub halted: Arc<AtomicBool>,
    /// Wakes retention (the disk filled while writing).
    pub retention_wake: Arc<Notify>,
    /// Finished segments to upload (`None`: no upload).
    pub uploads: Option<mpsc::UnboundedSender<i64>>,
    pub counters: Arc<CameraCounters>,
    /// To hold the camera's ingest (pull and file cameras) while it is recorded.
    pub media: Arc<MediaHub>,
    pub policy: CameraPolicy,
}

/// Counts of one camera's recording, readable any time.
#[derive(Debug, Default)]
pub struct CameraCounters {
    pub segments_written: std::sync::atomic::AtomicU64,
    /// Segments lost: the disk was full, the camera was halted, or writing failed.
    pub segments_lost: std::sync::atomic::AtomicU64,
    pub bytes_written: std::sync::atomic::AtomicU64,
}

/// fsyncs a directory, so a rename or unlink in it is durable.
pub(super) fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Reconciles `dir` with the camera's index after a crash (see `ifc::record::recovery`).
pub(super) fn recover(camera_id: &str, dir: &Path, db: &Db, handle: &Handle) -> Result<RecoverySummary, RecorderError> {
    std::fs::create_dir_all(dir).map_err(|source| RecorderError::io(dir, source))?;
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|source| RecorderError::io(dir, source))? {
        let entry = entry.map_err(|source| RecorderError::io(dir, source))?;
        let meta = entry.metadata().map_err(|source| RecorderError::io(&entry.path(), source))?;
        if meta.is_file() {
            files.push(FoundFile { name: entry.file_name().to_string_lossy().into_owned(), bytes: meta.len() });
        }
    }
    let rows = handle.block_on(db.camera_recordings_all(camera_id))?;
    let indexed: Vec<IndexedSegment> = rows
        .iter()
        .map(|r| IndexedSegment { id: r.id, bytes: u64::try_from(r.bytes).unwrap_or(0), garbage: r.garbage != 0 })
        .collect();
    let plan = plan_recovery(&files, &indexed, false);
    for name in &plan.delete_files {
        let path = dir.join(name);
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(source) => return Err(RecorderError::io(&path, source)),
        }
    }
    sync_dir(dir).map_err(|source| RecorderError::io(dir, source))?;
    // Garbage rows naming an uploaded copy stay until retention has deleted that copy too.
    let delete_rows: Vec<i64> = plan
        .delete_rows
        .iter()
        .copied()
        .filter(|id| !rows.iter().any(|r| r.id == *id && super::remote_copies::awaits_remote_delete(r)))
        .collect();
    if !delete_rows.is_empty() {
        handle.block_on(db.delete_recording_rows(&delete_rows))?;
    }
    for id in &plan.missing {
        tracing::error!(camera = %camera_id, segment = id, "recording: an indexed segment's file is missing (deleted outside the recorder?)");
    }
    for (id, indexed, found) in &plan.size_mismatch {
        tracing::error!(camera = %camera_id, segment = id, indexed, found, "recording: an indexed segment's file has another size");
    }
    tracing::info!(
        camera = %camera_id,
        files_deleted = plan.delete_files.len(),
        rows_deleted = delete_rows.len(),
        unfinished = plan.unfinished,
        "recording: recovered"
    );
    Ok(RecoverySummary {
        files_deleted: plan.delete_files.len() as u64,
        rows_deleted: delete_rows.len() as u64,
        unfinished: plan.unfinished,
        broken: (plan.missing.len() + plan.size_mismatch.len()) as u64,
    })
}

/// What a recovery did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RecoverySummary {
    /// Files deleted: unfinished, uncommitted, or of garbage rows.
    pub files_deleted: u64,
    /// Garbage rows whose deletion was finished.
    pub rows_deleted: u64,
    /// `.part` files (unfinished segments) among the files deleted.
    pub unfinished: u64,
    /// Rows whose file is missing or has another size (the protocol broken outside).
    pub broken: u64,
}

impl std::ops::AddAssign for RecoverySummary {
    fn add_assign(&mut self, o: Self) {
        self.files_deleted += o.files_deleted;
        self.rows_deleted += o.rows_deleted;
        self.unfinished += o.unfinished;
        self.broken += o.broken;
    }
}

/// The thread's body.
pub(super) fn run(mut task: CameraTask) {
    if let Err(e) = recover(&task.camera_id, &task.dir, &task.db, &task.handle) {
        tracing::error!(camera = %task.camera_id, error = %e, "recording: recovery failed; not recording this camera");
        return;
    }
    let mut writer = SegmentWriter::new(task.options);
    let mut clock = WallClock::new();
    let mut newest: Option<(i64, Instant)> = None;
    // The camera's ingest, held while recording (none for pushed cameras, which publish by
    // themselves). A camera that cannot be ingested now (its file missing, the database
    // down) is tried again.
    let mut lease: Option<SourceLease> = None;
    let mut lease_wanted = true;
    let mut next_lease_try = Instant::now();
    loop {
        // Stopping: what the feed already holds goes into the last segment, then the loop ends.
        let stopping = task.stop.load(Ordering::Relaxed);
        if !stopping && lease_wanted && lease.is_none() && Instant::now() >= next_lease_try {
            match acquire(&task) {
                Ok(Some(l)) => lease = Some(l),
                Ok(None) => lease_wanted = false,
                Err(e) => {
                    tracing::warn!(camera = %task.camera_id, error = %e, "recording: cannot ingest the camera; retrying in 5 s");
                    next_lease_try = Instant::now() + Duration::from_secs(5);
                }
            }
        }
        let item = match task.subscription.poll(Instant::now()) {
            Polled::Ready(item) => item,
            Polled::Pending if stopping => break,
            Polled::Pending => {
                std::thread::sleep(FEED_READ_INTERVAL);
                continue;
            }
            Polled::Ended => break,
        };
        let is_break = matches!(item, FeedItem::Break(_));
        if let FeedItem::Item(LiveItem::Packet(p)) = &item {
            if let Some(pts) = p.pts_90k {
                // When the packet entered the feed, not when this thread got to it.
                let arrival = task.subscription.sent_at().unwrap_or_else(Instant::now);
                let wall_at_arrival_ms =
                    || now_ms().saturating_sub(i64::try_from(arrival.elapsed().as_millis()).unwrap_or(i64::MAX));
                clock.observe(pts, arrival, wall_at_arrival_ms);
                newest = Some((pts, arrival));
            }
        }
        match writer.push(item) {
            Ok(Some(segment)) => commit(&task, &mut clock, newest, segment),
            Ok(None) => {}
            Err(e) => {
                task.counters.segments_lost.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(camera = %task.camera_id, error = %e, "recording: a segment could not be built");
            }
        }
        if is_break {
            clock.reset();
            newest = None;
        }
    }
    drop(lease);
    // Stopping: the open segment is written as it is.
    match writer.flush() {
        Ok(Some(segment)) => commit(&task, &mut clock, newest, segment),
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(camera = %task.camera_id, error = %e, "recording: the last segment could not be built")
        }
    }
    tracing::info!(camera = %task.camera_id, "recording: stopped");
}

/// Holds the camera's ingest: `Ok(None)` for a camera without a pull source (pushed).
fn acquire(task: &CameraTask) -> Result<Option<SourceLease>, String> {
    let camera = task.handle.block_on(task.db.camera(&task.camera_id)).map_err(|e| e.to_string())?;
    task.media.acquire(&camera, &task.policy).map_err(|e| e.to_string())
}

fn commit(task: &CameraTask, clock: &mut WallClock, newest: Option<(i64, Instant)>, segment: FinishedSegment) {
    let (newest_pts, newest_arrival) = newest.unwrap_or((segment.media_end_90k, Instant::now()));
    let Some((start_ms, end_ms)) =
        clock.segment_wall_ms(segment.media_start_90k, segment.media_end_90k, newest_pts, newest_arrival)
    else {
        // Cannot happen (a segment's packets anchor the clock), but never silently.
        task.counters.segments_lost.fetch_add(1, Ordering::Relaxed);
        tracing::error!(camera = %task.camera_id, "recording: a segment without wall time was dropped");
        return;
    };
    if task.halted.load(Ordering::Relaxed) {
        task.counters.segments_lost.fetch_add(1, Ordering::Relaxed);
        return;
    }
    let id = task.next_id.fetch_add(1, Ordering::Relaxed);
    match write_segment(&task.dir, id, &segment) {
        Ok(()) => {}
        Err(e) => {
            task.counters.segments_lost.fetch_add(1, Ordering::Relaxed);
            let full = e.raw_os_error() == Some(28); // ENOSPC
            tracing::error!(camera = %task.camera_id, segment = id, error = %e, disk_full = full, "recording: segment not written");
            let _ = std::fs::remove_file(task.dir.join(partial_file_name(id)));
            task.retention_wake.notify_one();
            return;
        }
    }
    let row = RecordingRow {
        id,
        camera_id: task.camera_id.clone(),
        start_ms,
        end_ms,
        media_start_90k: segment.media_start_90k,
        media_end_90k: segment.media_end_90k,
        frame_count: i64::try_from(segment.frame_count).unwrap_or(i64::MAX),
        bytes: i64::try_from(segment.bytes).unwrap_or(i64::MAX),
        key_frames_90k: segment.key_frame_times_90k.iter().map(i64::to_string).collect::<Vec<_>>().join(","),
        sha256: segment.sha256_hex(),
        codec: segment.config.params.codec_string.clone(),
        garbage: 0,
        object_key: None,
        uploaded: 0,
        created_at_ms: now_ms(),
    };
    // The database down: retry for a while, holding this thread (the feed keeps the newest
    // items; falling behind breaks the stream, which ends the next segment early).
    let mut delay = Duration::from_millis(100);
    let mut inserted = false;
    for _ in 0..8 {
        match task.handle.block_on(task.db.insert_recording(&row)) {
            Ok(()) => {
                inserted = true;
                break;
            }
            Err(e) => {
                tracing::error!(camera = %task.camera_id, segment = id, error = %e, "recording: cannot index a segment; retrying");
                std::thread::sleep(delay);
                delay = (delay * 2).min(Duration::from_secs(5));
            }
        }
    }
    if !inserted {
        // Never committed: the file goes (recovery would delete it anyway).
        task.counters.segments_lost.fetch_add(1, Ordering::Relaxed);
        let _ = std::fs::remove_file(task.dir.join(segment_file_name(id)));
        let _ = sync_dir(&task.dir);
        return;
    }
    task.counters.segments_written.fetch_add(1, Ordering::Relaxed);
    task.counters.bytes_written.fetch_add(segment.bytes, Ordering::Relaxed);
    if let Some(uploads) = &task.uploads {
        let _ = uploads.send(id);
    }
}

/// Steps 1 and 2 of the write protocol.
fn write_segment(dir: &Path, id: i64, segment: &FinishedSegment) -> std::io::Result<()> {
    let part = dir.join(partial_file_name(id));
    let mut file = File::create(&part)?;
    for chunk in &segment.payload {
        file.write_all(chunk)?;
    }
    file.sync_all()?;
    drop(file);
    std::fs::rename(&part, dir.join(segment_file_name(id)))?;
    sync_dir(dir)
}
