//! The source side of a stream: a recording read sample by sample (paced, looped) or a camera's
//! RTSP sessions one after another with backoff, handing configurations and packets to an
//! [`ItemSink`]. One implementation for both consumers: an inspection's ingest thread (decodes
//! what comes) and a [`super::SourcePump`] (publishes it to a shared feed).

use std::path::Path;
use std::time::{Duration, Instant};

use super::backoff::JitterRng;
use super::counters::StreamCounters;
use super::file_source::FileReader;
use super::pacer::Pacer;
use super::stream::StopSignal;
use super::{InspectError, ReconnectPolicy, SourceStatus};
use crate::codec::FrameRate;
use crate::live::LiveVideo;
use crate::remux::{sample_packet, LiveItem, SourceItem};
use crate::rtsp::{RtspError, RtspOptions, RtspUrl};

/// Whether the loop goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flow {
    Continue,
    /// Stop was asked for, or the consumer is gone.
    Stop,
}

/// Where a source loop's items go.
pub(super) trait ItemSink {
    /// A configuration or a packet of the current session (packets in decode order).
    fn item(&mut self, item: LiveItem) -> Result<Flow, InspectError>;
    /// A looped recording starts over; its timestamps keep increasing.
    fn pass_ended(&mut self) -> Flow;
    /// The session (a camera connection, a recording) ended; the next starts with a
    /// configuration.
    fn session_ended(&mut self);
}

/// What a source loop reports to and waits on.
pub(super) struct SourceLoop<'a> {
    pub(super) stop: &'a StopSignal,
    pub(super) counters: &'a StreamCounters,
    pub(super) stream_id: u64,
    /// Seed of the reconnect jitter (`None`: from the clock).
    pub(super) jitter_seed: Option<u64>,
    pub(super) on_status: &'a mut (dyn FnMut(SourceStatus) + Send),
}

impl SourceLoop<'_> {
    fn status(&mut self, status: SourceStatus) {
        tracing::debug!(stream_id = self.stream_id, %status, "source status");
        (self.on_status)(status);
    }

    /// A recording: see [`super::StreamSource::File`]. `reader` was opened by the caller, so
    /// that a missing file is an error at start.
    pub(super) fn run_file(
        &mut self,
        mut reader: FileReader,
        path: &Path,
        fps: Option<FrameRate>,
        realtime: bool,
        looped: bool,
        sink: &mut dyn ItemSink,
    ) -> Result<(), InspectError> {
        self.status(SourceStatus::Live);
        let clock = Instant::now();
        let mut pacer = Pacer::default();
        // Media time added to each pass of a looped file, in the file's ticks, so that time
        // keeps increasing; and the span of the current pass.
        let mut offset_ticks = 0i64;
        let mut pass: Option<(i64, i64)> = None;
        loop {
            if self.stop.is_stopped() {
                break;
            }
            match reader.next_item()? {
                Some(SourceItem::Config(config)) => {
                    if sink.item(LiveItem::Config(config))? == Flow::Stop {
                        break;
                    }
                }
                Some(SourceItem::Sample(mut sample)) => {
                    let (start, end) = (sample.pts(), sample.pts().saturating_add(i64::from(sample.duration)));
                    pass = Some(pass.map_or((start, end), |(s, e)| (s.min(start), e.max(end))));
                    sample.dts = sample.dts.saturating_add(offset_ticks);
                    let packet = sample_packet(&sample, reader.timescale());
                    if realtime {
                        let media_90k = packet.dts_90k.or(packet.pts_90k).unwrap_or(0);
                        let now_ns = u64::try_from(clock.elapsed().as_nanos()).unwrap_or(u64::MAX);
                        let wait = Duration::from_nanos(pacer.wait_ns(media_90k, now_ns));
                        if !wait.is_zero() && self.stop.wait(wait) {
                            break;
                        }
                    }
                    if sink.item(LiveItem::Packet(packet))? == Flow::Stop {
                        break;
                    }
                }
                None => {
                    let Some((start, end)) = pass.take().filter(|_| looped) else { break };
                    // The pass's last frames come out before time jumps ahead.
                    if sink.pass_ended() == Flow::Stop {
                        break;
                    }
                    offset_ticks = offset_ticks.saturating_add(end.saturating_sub(start).max(1));
                    reader = FileReader::open(path, fps)?;
                }
            }
        }
        sink.session_ended();
        self.status(SourceStatus::Ended);
        Ok(())
    }

    /// A pull camera: sessions one after another, with backoff between them, until stopped
    /// or the policy gives up.
    pub(super) fn run_rtsp(
        &mut self,
        url: &str,
        options: &RtspOptions,
        policy: &ReconnectPolicy,
        sink: &mut dyn ItemSink,
    ) -> Result<(), InspectError> {
        let mut rng = match self.jitter_seed {
            Some(seed) => JitterRng::new(seed),
            None => JitterRng::from_time(self.stream_id),
        };
        let mut failures = 0u32;
        let mut attempts = 0u64;
        loop {
            if self.stop.is_stopped() {
                break;
            }
            if attempts > 0 {
                StreamCounters::add(&self.counters.reconnects, 1);
            }
            attempts += 1;
            self.status(SourceStatus::Connecting);
            let (error, packets) = match LiveVideo::open(url, options.clone()) {
                Ok(live) => {
                    self.status(SourceStatus::Live);
                    let (outcome, packets) = self.pump_session(live, url, sink)?;
                    match outcome {
                        None => break,
                        Some(error) => (error, packets),
                    }
                }
                Err(error) => (error, 0),
            };
            if self.stop.is_stopped() {
                // Whatever ended the session, the stream is over: no backoff to report.
                break;
            }
            if packets > 0 {
                // The camera worked for a while: the next failure starts the backoff afresh.
                failures = 0;
            }
            failures = failures.saturating_add(1);
            if !policy.allows(failures) {
                return Err(InspectError::Rtsp { attempts: failures, source: error });
            }
            let retry_in_ms = policy.delay_ms(failures, rng.next_unit());
            // The status callback is the record of this (the service makes it an event); the log
            // line is for whoever reads the logs of a process without one.
            tracing::info!(stream_id = self.stream_id, retry_in_ms, %error, "camera session ended; retrying");
            self.status(SourceStatus::Backoff { retry_in_ms, reason: error.to_string() });
            if self.stop.wait(Duration::from_millis(retry_in_ms)) {
                break;
            }
        }
        self.status(SourceStatus::Ended);
        Ok(())
    }

    /// One session until it fails (`Some(error)`) or the stream stops (`None`), with the
    /// packets it delivered. A session the server ends is a failure too: a camera is not
    /// supposed to stop.
    fn pump_session(
        &mut self,
        mut live: LiveVideo,
        url: &str,
        sink: &mut dyn ItemSink,
    ) -> Result<(Option<RtspError>, u64), InspectError> {
        let mut unusable_seen = 0;
        let mut packets = 0u64;
        let outcome = loop {
            if self.stop.is_stopped() {
                break None;
            }
            let item = live.next_item();
            let stats = live.stats();
            let unusable = stats.malformed_packets + stats.foreign_packets + stats.config_errors;
            StreamCounters::add(&self.counters.malformed_packets, unusable - unusable_seen.min(unusable));
            unusable_seen = unusable;
            match item {
                Ok(Some(item)) => {
                    packets += u64::from(matches!(item, LiveItem::Packet(_)));
                    if sink.item(item)? == Flow::Stop {
                        break None;
                    }
                }
                Ok(None) => {
                    break Some(RtspError::ConnectionClosed {
                        url: redacted(url),
                        during: "while playing (the server ended the stream)".into(),
                    })
                }
                Err(e) => break Some(e),
            }
        };
        sink.session_ended();
        Ok((outcome, packets))
    }
}

fn redacted(url: &str) -> String {
    RtspUrl::parse(url).map_or_else(|_| "rtsp://(unparsable url)".to_owned(), |u| u.to_string())
}
