//! The inference thread: takes sampled frames off the queue and runs them through the
//! [`Runner`] (preprocess → infer → postprocess → verdict → sinks).

use std::sync::atomic::Ordering;

use super::counters::StreamCounters;
use super::stream::Shared;
use super::InspectError;
use crate::runner::{FrameOutcome, RunStats, Runner};

/// How many not-inferred frames are logged at WARN per stream (the rest are counted; the
/// first reasons are kept in [`RunStats::errors`]).
const LOGGED_FAILURES: u64 = 3;

/// Runs until the ingest thread is done and the queue is empty, then lets the sinks finish.
pub(super) fn run(
    mut runner: Runner,
    shared: &Shared,
    mut on_outcome: Box<dyn FnMut(&FrameOutcome) + Send>,
) -> Result<RunStats, InspectError> {
    let counters = &shared.counters;
    while let Some(queued) = shared.queue.pop() {
        shared.update_queue_depth();
        // Latency counts from the moment the decoder handed the frame over, on the runner's
        // clock: the time it waited in the queue is part of it.
        let waited_ns = u64::try_from(queued.decoded_at.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let decoded_at_ns = runner.now_ns().saturating_sub(waited_ns);
        let outcome = match runner.push_sampled_frame(&queued.frame, queued.index, decoded_at_ns) {
            Ok(outcome) => outcome,
            Err(e) => {
                // Results would be lost: stop the ingest side too.
                shared.stop.stop();
                shared.queue.close_consumer();
                return Err(e.into());
            }
        };
        match &outcome {
            FrameOutcome::Inferred(record) => {
                StreamCounters::add(&counters.frames_inferred, 1);
                let verdicts = match record.verdict.status {
                    crate::verdict::Status::Ok => &counters.ok_frames,
                    crate::verdict::Status::Ng => &counters.ng_frames,
                };
                StreamCounters::add(verdicts, 1);
                counters.latency.record(runner.now_ns().saturating_sub(decoded_at_ns));
            }
            FrameOutcome::NotInferred(error) => {
                let n = counters.frames_not_inferred.fetch_add(1, Ordering::Relaxed) + 1;
                if n <= LOGGED_FAILURES {
                    tracing::warn!(%error, "frame not inferred");
                }
            }
            FrameOutcome::Skipped => {}
        }
        on_outcome(&outcome);
    }
    let totals = counters.snapshot();
    runner.count_stream(totals.frames_decoded, totals.frames_dropped);
    Ok(runner.finish()?.clone())
}
