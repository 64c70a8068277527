//! [`SourcePump`]: a recording or a pull camera read on its own thread and published to a
//! shared feed ([`Fanout`]), so that one ingest serves every consumer (inspections, the
//! recorder, viewers). The same source loops as an inspection's ingest thread (file pacing and
//! looping, RTSP reconnects with backoff), with the feed as their sink.

use std::sync::Arc;
use std::thread::JoinHandle;

use super::counters::StreamCounters;
use super::file_source::FileReader;
use super::source_loop::{Flow, ItemSink, SourceLoop};
use super::stream::StopSignal;
use super::{InspectError, SourceStatus, StreamSource};
use crate::codec::DecoderConfig;
use crate::live::{Fanout, FanoutPublisher};
use crate::remux::LiveItem;

/// See the module docs. Dropping it without [`SourcePump::stop`] leaves the thread running
/// until its source ends.
pub struct SourcePump {
    stop: Arc<StopSignal>,
    counters: Arc<StreamCounters>,
    thread: JoinHandle<Result<(), InspectError>>,
}

impl SourcePump {
    /// Starts reading `source` (a file or an RTSP camera) into `feed`. Each camera session (or
    /// the whole recording) is one publisher session of the feed. A file that cannot be opened
    /// is an error here; a camera's failures are reported through `on_status` and retried.
    pub fn start(
        source: StreamSource,
        feed: Fanout,
        stream_id: u64,
        jitter_seed: Option<u64>,
        mut on_status: Box<dyn FnMut(SourceStatus) + Send>,
    ) -> Result<Self, InspectError> {
        let reader = match &source {
            StreamSource::File { path, fps, .. } => {
                on_status(SourceStatus::Connecting);
                let opened = FileReader::open(path, *fps);
                if let Err(e) = &opened {
                    on_status(SourceStatus::Error { reason: e.to_string() });
                }
                Some(opened?)
            }
            StreamSource::Rtsp { .. } => None,
            StreamSource::Feed(_) => return Err(InspectError::Options("a feed is not a source to pump".into())),
        };
        let stop = Arc::new(StopSignal::default());
        let counters = Arc::new(StreamCounters::default());
        let (thread_stop, thread_counters) = (Arc::clone(&stop), Arc::clone(&counters));
        let thread = std::thread::Builder::new()
            .name(format!("ifc-source-{stream_id}"))
            .spawn(move || {
                let span = tracing::info_span!("source", id = stream_id);
                let _entered = span.enter();
                let mut sink = FeedSink { feed, publisher: None, last_config: None, counters: Arc::clone(&thread_counters) };
                let mut source_loop = SourceLoop {
                    stop: &thread_stop,
                    counters: &thread_counters,
                    stream_id,
                    jitter_seed,
                    on_status: on_status.as_mut(),
                };
                let result = match (source, reader) {
                    (StreamSource::File { path, fps, realtime, looped }, Some(reader)) => {
                        source_loop.run_file(reader, &path, fps, realtime, looped, &mut sink)
                    }
                    (StreamSource::Rtsp { url, options, reconnect }, _) => {
                        source_loop.run_rtsp(&url, &options, &reconnect, &mut sink)
                    }
                    _ => Ok(()),
                };
                if let Err(e) = &result {
                    on_status(SourceStatus::Error { reason: e.to_string() });
                }
                result
            })
            .map_err(|e| InspectError::Thread(format!("source {stream_id}: cannot start its thread: {e}")))?;
        Ok(Self { stop, counters, thread })
    }

    /// The source's counters (packets published, reconnects, malformed packets).
    pub fn counters(&self) -> Arc<StreamCounters> {
        Arc::clone(&self.counters)
    }

    /// Asks the thread to end; returns at once (a camera read waits at most its timeout).
    pub fn stop(&self) {
        self.stop.stop();
    }

    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    /// Waits for the thread: how the source ended.
    pub fn join(self) -> Result<(), InspectError> {
        self.thread.join().map_err(|_| InspectError::Thread("the source thread panicked".into()))?
    }
}

/// The feed as a source loop's sink: one publisher session per source session.
struct FeedSink {
    feed: Fanout,
    publisher: Option<FanoutPublisher>,
    /// The configuration last published this session: a looped file repeats its
    /// configuration at every pass, and consumers should see a configuration only when it
    /// changes (a recorder starts a new segment at one).
    last_config: Option<DecoderConfig>,
    counters: Arc<StreamCounters>,
}

impl ItemSink for FeedSink {
    fn item(&mut self, item: LiveItem) -> Result<Flow, InspectError> {
        let publisher = match &mut self.publisher {
            Some(publisher) => publisher,
            None => self.publisher.insert(self.feed.publisher()?),
        };
        match &item {
            LiveItem::Config(config) => {
                if self.last_config.as_ref() == Some(config) {
                    return Ok(Flow::Continue);
                }
                self.last_config = Some(config.clone());
            }
            LiveItem::Packet(_) => StreamCounters::add(&self.counters.packets_received, 1),
        }
        publisher.send(item);
        Ok(Flow::Continue)
    }

    fn pass_ended(&mut self) -> Flow {
        Flow::Continue
    }

    fn session_ended(&mut self) {
        // Dropping the publisher tells the consumers (a break before the next session).
        self.publisher = None;
        self.last_config = None;
    }
}
