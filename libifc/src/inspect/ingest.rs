//! The ingest thread's decoding side: configurations and packets in (from a
//! [`super::source_loop::SourceLoop`] or a shared feed), decoded, sampled, and each sampled
//! frame offered to the queue to inference. It never waits for inference except under
//! `OverloadPolicy::Block`.

use std::time::{Duration, Instant};

use super::counters::StreamCounters;
use super::source_loop::{Flow, ItemSink};
use super::stream::{QueuedFrame, Shared};
use super::{InspectError, InspectionOptions, SourceStatus};
use crate::codec::DecoderConfig;
use crate::decode::frame_queue::Pushed;
use crate::decode::{open_decoder, Decoder, DecoderOptions, EncodedPacket, Frame, Sampler};
use crate::live::{BreakReason, FeedItem, Subscription};
use crate::remux::LiveItem;
use crate::rtsp::Polled;

pub(super) struct Ingest {
    pub(super) shared: std::sync::Arc<Shared>,
    pub(super) options: InspectionOptions,
    pub(super) sampler: Sampler,
    /// The current session's decoder (opened at its first configuration).
    pub(super) decoder: Option<Box<dyn Decoder>>,
    /// Position of the next decoded frame, display order, over the whole stream.
    pub(super) next_frame_index: u64,
    /// Decode errors of decoders already closed (earlier sessions).
    pub(super) closed_decode_errors: u64,
    pub(super) closed_frames_damaged: u64,
    pub(super) closed_packets_skipped: u64,
}

impl ItemSink for Ingest {
    fn item(&mut self, item: LiveItem) -> Result<Flow, InspectError> {
        match item {
            // Later configurations (a new resolution) travel in-band in the packets too, and
            // the decoder follows them.
            LiveItem::Config(config) => {
                if self.decoder.is_none() {
                    self.decoder = Some(self.open_decoder(config)?);
                }
                Ok(Flow::Continue)
            }
            LiveItem::Packet(packet) => {
                let Some(mut decoder) = self.decoder.take() else { return Ok(Flow::Continue) };
                let flow = self.decode_packet(decoder.as_mut(), packet);
                self.decoder = Some(decoder);
                Ok(flow)
            }
        }
    }

    fn pass_ended(&mut self) -> Flow {
        let Some(mut decoder) = self.decoder.take() else { return Flow::Continue };
        // Deliver the pass's last frames before time jumps ahead.
        let _ = decoder.flush();
        let flow = self.drain(decoder.as_mut());
        self.decoder = Some(decoder);
        flow
    }

    fn session_ended(&mut self) {
        if let Some(mut decoder) = self.decoder.take() {
            self.finish_decoder(decoder.as_mut());
        }
    }
}

impl Ingest {
    fn counters(&self) -> &StreamCounters {
        &self.shared.counters
    }

    fn open_decoder(&self, config: DecoderConfig) -> Result<Box<dyn Decoder>, InspectError> {
        let options = DecoderOptions::from_config(config)
            .with_backend(self.options.backend)
            .with_threads(self.options.decoder_threads)
            .with_stream_id(self.options.stream_id);
        Ok(open_decoder(options)?)
    }

    /// A shared feed: packets until the feed is closed or the inspection stops. Each session of
    /// the feed's publisher gets its own decoder; a gap (this inspection fell behind the feed)
    /// is counted as packets skipped, and decoding resumes at the key packet after it.
    pub(super) fn run_feed(
        &mut self,
        mut feed: Subscription,
        on_status: &mut (dyn FnMut(SourceStatus) + Send),
    ) -> Result<(), InspectError> {
        on_status(SourceStatus::Connecting);
        loop {
            if self.shared.stop.is_stopped() {
                break;
            }
            // Short waits, so that a stop is seen promptly while the feed is quiet.
            match feed.poll(Instant::now() + Duration::from_millis(200)) {
                Polled::Pending => {}
                Polled::Ended => break,
                Polled::Ready(FeedItem::Item(item)) => {
                    let opens = matches!(item, LiveItem::Config(_)) && self.decoder.is_none();
                    if self.item(item)? == Flow::Stop {
                        break;
                    }
                    if opens {
                        on_status(SourceStatus::Live);
                    }
                }
                Polled::Ready(FeedItem::Break(BreakReason::Lagged { items })) => {
                    tracing::debug!(stream_id = self.options.stream_id, items, "fell behind the feed");
                    self.closed_packets_skipped += items;
                }
                Polled::Ready(FeedItem::Break(BreakReason::SourceEnded)) => {
                    self.session_ended();
                    on_status(SourceStatus::Connecting);
                }
            }
        }
        self.session_ended();
        on_status(SourceStatus::Ended);
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
