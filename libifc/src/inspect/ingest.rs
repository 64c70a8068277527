//! The ingest thread: reads the source, decodes, samples, and offers each sampled frame to the
//! queue to inference. It never waits for inference except under `OverloadPolicy::Block`.

use std::time::{Duration, Instant};

use super::backoff::JitterRng;
use super::counters::StreamCounters;
use super::file_source::FileReader;
use super::pacer::Pacer;
use super::stream::{QueuedFrame, Shared};
use super::{InspectError, InspectionOptions, ReconnectPolicy, SourceStatus};
use crate::codec::{DecoderConfig, FrameRate};
use crate::decode::frame_queue::Pushed;
use crate::decode::{open_decoder, Decoder, DecoderOptions, EncodedPacket, Frame, Sampler};
use crate::live::{BreakReason, FeedItem, LiveVideo, Subscription};
use crate::remux::{sample_packet, LiveItem, SourceItem};
use crate::rtsp::{Polled, RtspError, RtspOptions, RtspUrl};

/// Whether the ingest loop goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flow {
    Continue,
    /// Stop was asked for, or the inference side is gone.
    Stop,
}

pub(super) struct Ingest {
    pub(super) shared: std::sync::Arc<Shared>,
    pub(super) options: InspectionOptions,
    pub(super) sampler: Sampler,
    pub(super) on_status: Box<dyn FnMut(SourceStatus) + Send>,
    /// Position of the next decoded frame, display order, over the whole stream.
    pub(super) next_frame_index: u64,
    /// Decode errors of decoders already closed (earlier sessions).
    pub(super) closed_decode_errors: u64,
    pub(super) closed_frames_damaged: u64,
    pub(super) closed_packets_skipped: u64,
}

impl Ingest {
    fn counters(&self) -> &StreamCounters {
        &self.shared.counters
    }

    fn status(&mut self, status: SourceStatus) {
        tracing::debug!(stream_id = self.options.stream_id, %status, "source status");
        (self.on_status)(status);
    }

    fn open_decoder(&self, config: DecoderConfig) -> Result<Box<dyn Decoder>, InspectError> {
        let options = DecoderOptions::from_config(config)
            .with_backend(self.options.backend)
            .with_threads(self.options.decoder_threads)
            .with_stream_id(self.options.stream_id);
        Ok(open_decoder(options)?)
    }

    /// A recording: see [`super::StreamSource::File`]. `reader` was opened by `start`, so
    /// that a missing file is an error there.
    pub(super) fn run_file(
        &mut self,
        mut reader: FileReader,
        path: &std::path::Path,
        fps: Option<FrameRate>,
        realtime: bool,
        looped: bool,
    ) -> Result<(), InspectError> {
        self.status(SourceStatus::Live);
        let clock = Instant::now();
        let mut pacer = Pacer::default();
        let mut decoder: Option<Box<dyn Decoder>> = None;
        // Media time added to each pass of a looped file, in the file's ticks, so that time
        // keeps increasing; and the span of the current pass.
        let mut offset_ticks = 0i64;
        let mut pass: Option<(i64, i64)> = None;
        loop {
            if self.shared.stop.is_stopped() {
                break;
            }
            match reader.next_item()? {
                // Later configurations (a new resolution) travel in-band in the samples.
                Some(SourceItem::Config(config)) => {
                    if decoder.is_none() {
                        decoder = Some(self.open_decoder(config)?);
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
                        if !wait.is_zero() && self.shared.stop.wait(wait) {
                            break;
                        }
                    }
                    let Some(d) = decoder.as_deref_mut() else { continue };
                    if self.decode_packet(d, packet) == Flow::Stop {
                        break;
                    }
                }
                None => {
                    let Some((start, end)) = pass.take().filter(|_| looped) else { break };
                    if let Some(d) = decoder.as_deref_mut() {
                        // Deliver the pass's last frames before time jumps ahead.
                        let _ = d.flush();
                        if self.drain(d) == Flow::Stop {
                            break;
                        }
                    }
                    offset_ticks = offset_ticks.saturating_add(end.saturating_sub(start).max(1));
                    reader = FileReader::open(path, fps)?;
                }
            }
        }
        if let Some(d) = decoder.as_deref_mut() {
            self.finish_decoder(d);
        }
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
    ) -> Result<(), InspectError> {
        let mut rng = match self.options.jitter_seed {
            Some(seed) => JitterRng::new(seed),
            None => JitterRng::from_time(self.options.stream_id),
        };
        let mut failures = 0u32;
        let mut attempts = 0u64;
        loop {
            if self.shared.stop.is_stopped() {
                break;
            }
            if attempts > 0 {
                StreamCounters::add(&self.counters().reconnects, 1);
            }
            attempts += 1;
            self.status(SourceStatus::Connecting);
            let frames_before = self.next_frame_index;
            let error = match LiveVideo::open(url, options.clone()) {
                Ok(live) => {
                    self.status(SourceStatus::Live);
                    match self.pump_session(live, url)? {
                        None => break,
                        Some(error) => error,
                    }
                }
                Err(error) => error,
            };
            if self.shared.stop.is_stopped() {
                // Whatever ended the session, the inspection is over: no backoff to report.
                break;
            }
            if self.next_frame_index > frames_before {
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
            tracing::info!(stream_id = self.options.stream_id, retry_in_ms, %error, "camera session ended; retrying");
            self.status(SourceStatus::Backoff { retry_in_ms, reason: error.to_string() });
            if self.shared.stop.wait(Duration::from_millis(retry_in_ms)) {
                break;
            }
        }
        self.status(SourceStatus::Ended);
        Ok(())
    }

    /// One session until it fails (`Some(error)`) or the inspection stops (`None`). A session
    /// the server ends is a failure too: a camera is not supposed to stop.
    fn pump_session(&mut self, mut live: LiveVideo, url: &str) -> Result<Option<RtspError>, InspectError> {
        let mut decoder: Option<Box<dyn Decoder>> = None;
        let mut unusable_seen = 0;
        let outcome = loop {
            if self.shared.stop.is_stopped() {
                break None;
            }
            let item = live.next_item();
            let stats = live.stats();
            let unusable = stats.malformed_packets + stats.foreign_packets + stats.config_errors;
            StreamCounters::add(&self.counters().malformed_packets, unusable - unusable_seen.min(unusable));
            unusable_seen = unusable;
            match item {
                Ok(Some(LiveItem::Config(config))) => {
                    // Later configurations travel in-band too (the decoder follows them).
                    if decoder.is_none() {
                        decoder = Some(self.open_decoder(config)?);
                    }
                }
                Ok(Some(LiveItem::Packet(packet))) => {
                    let Some(d) = decoder.as_deref_mut() else { continue };
                    if self.decode_packet(d, packet) == Flow::Stop {
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
        if let Some(d) = decoder.as_deref_mut() {
            self.finish_decoder(d);
        }
        Ok(outcome)
    }

    /// A shared feed: packets until the feed is closed or the inspection stops. Each session of
    /// the feed's publisher gets its own decoder; a gap (this inspection fell behind the feed)
    /// is counted as packets skipped, and decoding resumes at the key packet after it.
    pub(super) fn run_feed(&mut self, mut feed: Subscription) -> Result<(), InspectError> {
        self.status(SourceStatus::Connecting);
        let mut decoder: Option<Box<dyn Decoder>> = None;
        loop {
            if self.shared.stop.is_stopped() {
                break;
            }
            // Short waits, so that a stop is seen promptly while the feed is quiet.
            match feed.poll(Instant::now() + Duration::from_millis(200)) {
                Polled::Pending => {}
                Polled::Ended => break,
                Polled::Ready(FeedItem::Item(LiveItem::Config(config))) => {
                    if decoder.is_none() {
                        decoder = Some(self.open_decoder(config)?);
                        self.status(SourceStatus::Live);
                    }
                }
                Polled::Ready(FeedItem::Item(LiveItem::Packet(packet))) => {
                    let Some(d) = decoder.as_deref_mut() else { continue };
                    if self.decode_packet(d, packet) == Flow::Stop {
                        break;
                    }
                }
                Polled::Ready(FeedItem::Break(BreakReason::Lagged { items })) => {
                    tracing::debug!(stream_id = self.options.stream_id, items, "fell behind the feed");
                    self.closed_packets_skipped += items;
                }
                Polled::Ready(FeedItem::Break(BreakReason::SourceEnded)) => {
                    if let Some(mut d) = decoder.take() {
                        self.finish_decoder(d.as_mut());
                    }
                    self.status(SourceStatus::Connecting);
                }
            }
        }
        if let Some(d) = decoder.as_deref_mut() {
            self.finish_decoder(d);
        }
        self.status(SourceStatus::Ended);
        Ok(())
    }

    fn decode_packet(&mut self, decoder: &mut dyn Decoder, packet: EncodedPacket) -> Flow {
        StreamCounters::add(&self.counters().packets_received, 1);
        // A damaged unit is counted by the decoder (its stats), which recovers at the next key
        // packet: not a reason to stop.
        let _ = decoder.push(packet);
        self.drain(decoder)
    }

    /// Flushes a decoder whose stream ended and keeps its error count.
    fn finish_decoder(&mut self, decoder: &mut dyn Decoder) {
        let _ = decoder.flush();
        self.drain(decoder);
        let stats = decoder.stats();
        self.closed_decode_errors += stats.decode_errors;
        self.closed_frames_damaged += stats.damaged_frames + stats.concealed_or_corrupt_frames;
        self.closed_packets_skipped += stats.skipped_until_keyframe;
    }

    fn drain(&mut self, decoder: &mut dyn Decoder) -> Flow {
        let mut flow = Flow::Continue;
        while let Ok(Some(frame)) = decoder.pull() {
            if self.deliver(frame) == Flow::Stop {
                flow = Flow::Stop;
                break;
            }
        }
        let stats = decoder.stats();
        let errors = self.closed_decode_errors + stats.decode_errors;
        let damaged = self.closed_frames_damaged + stats.damaged_frames + stats.concealed_or_corrupt_frames;
        self.counters().decode_errors.store(errors, std::sync::atomic::Ordering::Relaxed);
        self.counters().frames_damaged.store(damaged, std::sync::atomic::Ordering::Relaxed);
        let skipped = self.closed_packets_skipped + stats.skipped_until_keyframe;
        self.counters().packets_skipped.store(skipped, std::sync::atomic::Ordering::Relaxed);
        flow
    }

    fn deliver(&mut self, frame: Frame) -> Flow {
        // Frames NVDEC leaves on the GPU are copied to the host here, once, until the CUDA
        // preprocessing path consumes them where they are.
        let frame = match frame.to_host() {
            Ok(frame) => frame,
            Err(e) => {
                tracing::warn!(stream_id = self.options.stream_id, error = %e, "frame lost: cannot copy it to the host");
                StreamCounters::add(&self.counters().decode_errors, 1);
                return Flow::Continue;
            }
        };
        let index = self.next_frame_index;
        self.next_frame_index += 1;
        StreamCounters::add(&self.counters().frames_decoded, 1);
        if !self.sampler.accept_frame(&frame) {
            return Flow::Continue;
        }
        StreamCounters::add(&self.counters().frames_sampled, 1);
        let queued = QueuedFrame { frame, index, decoded_at: Instant::now() };
        let flow = match self.shared.queue.push(queued) {
            Pushed::Queued => Flow::Continue,
            Pushed::QueuedDroppingOldest(dropped) => {
                tracing::trace!(stream_id = self.options.stream_id, frame = dropped.index, "dropped before inference");
                StreamCounters::add(&self.counters().frames_dropped, 1);
                Flow::Continue
            }
            Pushed::ConsumerGone(_) => Flow::Stop,
        };
        self.shared.update_queue_depth();
        flow
    }
}

fn redacted(url: &str) -> String {
    RtspUrl::parse(url).map_or_else(|_| "rtsp://(unparsable url)".to_owned(), |u| u.to_string())
}
