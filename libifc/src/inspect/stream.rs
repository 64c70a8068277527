//! [`StreamInspection`]: the two threads of one stream and what they share.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::counters::StreamCounters;
use super::file_source::FileReader;
use super::ingest::Ingest;
use super::source_loop::SourceLoop;
use super::{infer_thread, InspectError, InspectionOptions, OverloadPolicy, SourceStatus, StreamSource};
use crate::decode::frame_queue::BoundedQueue;
use crate::decode::{Frame, QueuePolicy};
use crate::runner::{FrameOutcome, RunStats, Runner};

/// A sampled frame on its way to inference.
pub(super) struct QueuedFrame {
    pub(super) frame: Frame,
    /// Position among decoded frames, display order.
    pub(super) index: u64,
    pub(super) decoded_at: Instant,
}

/// A stop request both threads can see, and sleep on.
#[derive(Default)]
pub(super) struct StopSignal {
    stopped: AtomicBool,
    lock: Mutex<()>,
    wake: Condvar,
}

impl StopSignal {
    pub(super) fn stop(&self) {
        let _guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        self.stopped.store(true, Ordering::SeqCst);
        self.wake.notify_all();
    }

    pub(super) fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Sleeps for `duration` or until stopped; returns whether stopped.
    pub(super) fn wait(&self, duration: Duration) -> bool {
        let guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let _unused = self
            .wake
            .wait_timeout_while(guard, duration, |_| !self.stopped.load(Ordering::SeqCst))
            .unwrap_or_else(PoisonError::into_inner);
        self.is_stopped()
    }
}

pub(super) struct Shared {
    pub(super) counters: Arc<StreamCounters>,
    pub(super) stop: StopSignal,
    pub(super) queue: BoundedQueue<QueuedFrame>,
}

impl Shared {
    pub(super) fn update_queue_depth(&self) {
        self.counters.queue_depth.store(self.queue.len() as u64, Ordering::Relaxed);
    }
}

/// One stream under inspection: see the module docs.
pub struct StreamInspection {
    shared: Arc<Shared>,
    ingest: JoinHandle<Result<(), InspectError>>,
    inference: JoinHandle<Result<RunStats, InspectError>>,
}

impl StreamInspection {
    /// Opens the source (a recording that cannot be read fails here), then spawns the ingest
    /// thread (source + decode + sample) and the inference thread ([`Runner`]); records go to
    /// the runner's sinks. `on_status` is called from the ingest thread on every change.
    pub fn start(
        source: StreamSource,
        runner: Runner,
        options: InspectionOptions,
        on_status: Box<dyn FnMut(SourceStatus) + Send>,
    ) -> Result<Self, InspectError> {
        Self::start_with_observer(source, runner, options, on_status, Box::new(|_| {}))
    }

    /// [`Self::start`], with `on_outcome` called from the inference thread after each frame
    /// that reached inference (progress displays, per-frame events).
    pub fn start_with_observer(
        source: StreamSource,
        runner: Runner,
        options: InspectionOptions,
        mut on_status: Box<dyn FnMut(SourceStatus) + Send>,
        on_outcome: Box<dyn FnMut(&FrameOutcome) + Send>,
    ) -> Result<Self, InspectError> {
        if options.queue_frames == 0 {
            return Err(InspectError::Options("queue_frames must be at least 1".into()));
        }
        let policy = match options.overload {
            OverloadPolicy::DropBeforeInference => QueuePolicy::DropOldest,
            OverloadPolicy::Block => QueuePolicy::Block,
        };
        // Subscribed before anything starts, so that the inspection sees the feed from now on.
        let mut subscription = None;
        let reader = match &source {
            StreamSource::File { path, fps, .. } => {
                on_status(SourceStatus::Connecting);
                match FileReader::open(path, *fps) {
                    Ok(reader) => Some(reader),
                    Err(e) => {
                        on_status(SourceStatus::Error { reason: e.to_string() });
                        return Err(e);
                    }
                }
            }
            StreamSource::Rtsp { .. } => None,
            StreamSource::Feed(feed) => {
                subscription = Some(feed.subscribe());
                None
            }
        };
        let shared = Arc::new(Shared {
            counters: Arc::new(StreamCounters::default()),
            stop: StopSignal::default(),
            queue: BoundedQueue::new(options.queue_frames, policy),
        });
        let stream_id = options.stream_id;
        let jitter_seed = options.jitter_seed;
        let mut ingest = Ingest {
            shared: Arc::clone(&shared),
            sampler: runner.new_sampler(),
            options,
            decoder: None,
            next_frame_index: 0,
            closed_decode_errors: 0,
            closed_frames_damaged: 0,
            closed_packets_skipped: 0,
        };
        let mut on_status = on_status;
        let inference_shared = Arc::clone(&shared);
        let inference = std::thread::Builder::new()
            .name(format!("ifc-infer-{stream_id}"))
            .spawn(move || infer_thread::run(runner, &inference_shared, on_outcome))
            .map_err(|e| InspectError::Thread(format!("stream {stream_id}: cannot start the inference thread: {e}")))?;
        let ingest_shared = Arc::clone(&shared);
        let spawned = std::thread::Builder::new().name(format!("ifc-ingest-{stream_id}")).spawn(move || {
            let span = tracing::info_span!("stream", id = stream_id);
            let _entered = span.enter();
            let shared = Arc::clone(&ingest_shared);
            let mut source_loop = SourceLoop {
                stop: &shared.stop,
                counters: &shared.counters,
                stream_id,
                jitter_seed,
                on_status: on_status.as_mut(),
            };
            let result = match (source, reader) {
                (StreamSource::File { path, fps, realtime, looped }, Some(reader)) => {
                    source_loop.run_file(reader, &path, fps, realtime, looped, &mut ingest)
                }
                (StreamSource::Rtsp { url, options, reconnect }, _) => {
                    source_loop.run_rtsp(&url, &options, &reconnect, &mut ingest)
                }
                (StreamSource::Feed(_), _) => match subscription {
                    Some(subscription) => ingest.run_feed(subscription, on_status.as_mut()),
                    None => Ok(()),
                },
                (StreamSource::File { .. }, None) => Ok(()),
            };
            if let Err(e) = &result {
                on_status(SourceStatus::Error { reason: e.to_string() });
            }
            // The inference thread finishes what is queued, then ends.
            ingest_shared.queue.close_producer();
            result
        });
        let ingest = match spawned {
            Ok(handle) => handle,
            Err(e) => {
                shared.queue.close_producer();
                let _ = inference.join();
                return Err(InspectError::Thread(format!("stream {stream_id}: cannot start the ingest thread: {e}")));
            }
        };
        Ok(Self { shared, ingest, inference })
    }

    /// The stream's counters, live (for `/metrics` and progress displays).
    pub fn counters(&self) -> Arc<StreamCounters> {
        Arc::clone(&self.shared.counters)
    }

    /// Asks both threads to end; returns at once. The ingest thread stops at its next packet
    /// (a camera read waits at most its read timeout); what is queued is still inferred.
    pub fn stop(&self) {
        self.shared.stop.stop();
    }

    /// Both threads have ended ([`Self::join`] will not wait).
    pub fn is_finished(&self) -> bool {
        self.ingest.is_finished() && self.inference.is_finished()
    }

    /// Waits for both threads. The run's totals, or the first thing that went wrong: a sink
    /// failure, then a source failure.
    pub fn join(self) -> Result<RunStats, InspectError> {
        let ingest = self.ingest.join();
        if ingest.is_err() {
            // The ingest thread panicked before closing the queue: let inference finish.
            self.shared.queue.close_producer();
        }
        let inference = self.inference.join();
        let stats = inference.map_err(|_| InspectError::Thread("the inference thread panicked".into()))??;
        ingest.map_err(|_| InspectError::Thread("the ingest thread panicked".into()))??;
        Ok(stats)
    }
}
