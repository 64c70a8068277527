//! Streaming inspection: a recording or a camera inspected as an endless stream, with decoding
//! and inference on their own threads and a small bounded queue between them.
//!
//! ```text
//! StreamSource ─▶ [ingest thread: read / RTSP ─▶ Decoder ─▶ Sampler] ─bounded queue─▶
//!                 [inference thread: Runner::push_sampled_frame ─▶ sinks]
//! ```
//!
//! - Ingest never waits for inference. Under [`OverloadPolicy::DropBeforeInference`] a full
//!   queue drops its *oldest* frame (counted in [`CountersSnapshot::frames_dropped`]): the newest
//!   frame shows the part in front of the camera now, and dropping the oldest bounds the
//!   decode-to-verdict latency by the queue length. [`OverloadPolicy::Block`] makes the ingest
//!   thread wait instead (a file inspected as fast as possible, where every frame counts and
//!   results must equal a sequential run's).
//! - Only sampled frames enter the queue, so a drop never costs a frame the sample node would
//!   have skipped anyway, and frame indices stay those of a sequential run.
//! - Pull cameras reconnect with exponential backoff and jitter ([`ReconnectPolicy`]); every
//!   change is reported as a [`SourceStatus`]. A camera's bad packets and damaged pictures are
//!   counted, never fatal.
//! - Blocking `std` threads, no async runtime: the service calls this from its own threads.
//!
//! [`StreamInspection::stop`] asks both threads to end: the ingest thread stops at its next
//! packet (a camera read waits at most its read timeout), the inference thread finishes what is
//! queued, then the sinks finish. [`StreamInspection::join`] returns the run's totals.

#![forbid(unsafe_code)]

mod backoff;
mod counters;
mod file_source;
mod infer_thread;
mod ingest;
mod pacer;
mod pump;
mod source_loop;
mod status;
mod stream;

pub use backoff::{JitterRng, ReconnectPolicy};
pub use counters::{CountersSnapshot, StreamCounters};
pub use status::SourceStatus;
pub use pump::SourcePump;
pub use stream::StreamInspection;

use std::path::PathBuf;

use crate::codec::FrameRate;
use crate::decode::{BackendPreference, DecodeError};
use crate::live::Fanout;
use crate::remux::VideoInputError;
use crate::rtsp::{RtspError, RtspOptions};
use crate::runner::SinkError;

/// Where a stream's video comes from.
#[derive(Debug, Clone)]
pub enum StreamSource {
    /// A recording (MP4 or raw H.264/H.265) read sample by sample: nothing is staged.
    /// `fps` times a raw stream without VUI timing. `realtime`: packets are paced by their
    /// timestamps on a monotonic clock, as a camera would send them. `looped`: starts over at
    /// the end, with timestamps still increasing (a line simulation that never ends).
    File { path: PathBuf, fps: Option<FrameRate>, realtime: bool, looped: bool },
    /// An RTSP camera ([`crate::live::LiveVideo`]); reconnects by `reconnect`.
    Rtsp { url: String, options: RtspOptions, reconnect: ReconnectPolicy },
    /// A shared feed ([`crate::live::Fanout`]) that another part fills (a pushed stream, a
    /// camera ingested once for several consumers). Subscribed at start; the inspection waits
    /// through publisher changes (reported as [`SourceStatus::Connecting`]) and ends when the
    /// feed is closed.
    Feed(Fanout),
}

/// What a full queue to inference does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OverloadPolicy {
    /// Drop the oldest queued frame, so ingest never waits (live sources).
    #[default]
    DropBeforeInference,
    /// Ingest waits for inference: no frame is lost (a file inspected as fast as possible).
    Block,
}

/// How to run a [`StreamInspection`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InspectionOptions {
    /// Frames that may wait between decoding and inference (at least 1). Default 3: enough
    /// to ride out one slow inference, small enough to keep verdicts fresh.
    pub queue_frames: usize,
    pub overload: OverloadPolicy,
    /// Which decoder backend to open.
    pub backend: BackendPreference,
    /// Decoder threads (0: the backend chooses). Default 1: one core per camera is fairest
    /// when many cameras share a machine.
    pub decoder_threads: usize,
    /// Carried into frames, errors and log spans.
    pub stream_id: u64,
    /// Seed of the reconnect jitter (`None`: from the clock). Tests pin it.
    pub jitter_seed: Option<u64>,
}

impl Default for InspectionOptions {
    fn default() -> Self {
        Self {
            queue_frames: 3,
            overload: OverloadPolicy::default(),
            backend: BackendPreference::default(),
            decoder_threads: 1,
            stream_id: 0,
            jitter_seed: None,
        }
    }
}

/// Why an inspection could not start or ended early. Per-frame failures are not here: they
/// are counted (see [`crate::runner::FrameError`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InspectError {
    /// The options contradict themselves.
    #[error("inspection options: {0}")]
    Options(String),
    /// A recording cannot be read.
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// A recording is not a video ifc can decode.
    #[error("{path}: {source}")]
    Input {
        path: String,
        #[source]
        source: VideoInputError,
    },
    /// A decoder could not be opened (a missing backend, an unsupported stream).
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The camera failed and the reconnect policy gave up (the last failure).
    #[error("gave up after {attempts} attempts: {source}")]
    Rtsp {
        attempts: u32,
        #[source]
        source: RtspError,
    },
    /// A sink failed: results would be lost, so the inspection stopped.
    #[error(transparent)]
    Sink(#[from] SinkError),
    /// A thread could not start, or ended by a panic (a bug; the message says which).
    #[error("{0}")]
    Thread(String),
    /// A [`SourcePump`]'s feed has another publisher (one source per feed).
    #[error(transparent)]
    FeedBusy(#[from] crate::live::FanoutBusy),
}

impl InspectError {
    /// Worth starting again later (the camera or a server may come back); `false` for
    /// errors that need a change first (a missing file, an undecodable stream, a bug).
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Rtsp { .. })
    }
}
