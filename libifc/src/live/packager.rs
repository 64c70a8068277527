//! [`LivePackager`]: a camera's live items → CMAF for viewers, sans-IO. Packets are cut into
//! *parts* (one `moof` + `mdat` each, a few hundred milliseconds) grouped into *segments* that
//! start at key frames: LL-HLS serves both (`EXT-X-PART`, segments), the WebSocket player sends
//! the parts as they come. One packager per camera serves every viewer: no viewer decodes,
//! re-encodes or re-muxes anything.
//!
//! ```text
//! FeedItem ─▶ DecodeClock (dts from pts) ─▶ hold one packet (its duration is the next one's dts − its own)
//!          ─▶ part (≤ part target; a key frame starts a new part, and a new segment past the segment target)
//!          ─▶ Fmp4Muxer ─▶ PackagerEvent::{Init, Part, SegmentEnd, Break}
//! ```
//!
//! # Decode times
//! Live packets carry presentation times only (RTP has no decode time). A stream without
//! reordering (no B-frames, the usual camera) gets `dts = pts` and no delay. A stream that
//! reorders up to `R` pictures (the SPS's `max_num_reorder_frames`; 4 when a non-Baseline H.264
//! stream does not say) is delayed by `R` pictures: the `i`-th decode time is the `i`-th
//! smallest presentation time seen, moved back `R` frame durations, so that it is never after
//! its picture's presentation time in a regularly timed stream, and decode times increase.
//!
//! # Payloads
//! A part's samples are the feed's own `Bytes`: [`LivePart::payload`] shares them.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};

use bytes::Bytes;

use super::{BreakReason, FeedItem};
use crate::codec::{Codec, DecoderConfig};
use crate::decode::EncodedPacket;
use crate::mp4::fmp4::Fmp4Muxer;
use crate::mp4::Sample;
use crate::record::TIMESCALE_90K;
use crate::remux::LiveItem;

/// Reorder depth assumed for a non-Baseline H.264 stream whose SPS does not say.
const DEFAULT_REORDER_FRAMES: usize = 4;

/// A segment ends before a picture that would take it past this many segment targets, key
/// frame or not: a stream that sends few or none (intra refresh, a 60 s key-frame interval)
/// must not grow one open segment, and the window holding it, without bound. Only a segment
/// of one picture (a clock that jumped) is longer.
const MAX_SEGMENT_TARGETS: u64 = 5;

/// How parts and segments are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackagerOptions {
    /// A part holds at most this much media (one picture longer than it makes a part alone).
    pub part_target_ms: u32,
    /// A segment ends at the first key frame at or past this duration (or, without key frames,
    /// at five times it).
    pub segment_target_ms: u32,
}

impl Default for PackagerOptions {
    fn default() -> Self {
        Self { part_target_ms: 200, segment_target_ms: 2000 }
    }
}

/// The start of a stream (a configuration of one publisher session): the init segment every
/// part after it needs, until the next `Init`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveInit {
    /// Increases with each configuration; parts name the one they belong to.
    pub generation: u64,
    /// `ftyp` + `moov`.
    pub init: Bytes,
    /// RFC 6381 codec string, e.g. `avc1.64001f` (what `MediaSource.addSourceBuffer` needs).
    pub codec: String,
    pub width: u32,
    pub height: u32,
    /// Whether the stream has B-frames (pictures presented out of decode order).
    pub reorders: bool,
}

/// One part: a `moof` + `mdat` of consecutive pictures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LivePart {
    pub generation: u64,
    /// Media sequence number of the segment it belongs to (increasing over generations).
    pub msn: u64,
    /// Its index in that segment, from 0.
    pub index: u32,
    /// Starts with a key frame: a viewer can start here.
    pub independent: bool,
    /// Presentation time of its first picture, 90 kHz ticks on the feed's clock.
    pub first_pts_90k: i64,
    pub duration_90k: u64,
    /// `moof` + `mdat` header.
    pub header: Bytes,
    /// The pictures, shared with the feed.
    pub payload: Vec<Bytes>,
}

impl LivePart {
    pub fn len_bytes(&self) -> usize {
        self.header.len() + self.payload.iter().map(Bytes::len).sum::<usize>()
    }

    /// The header and the pictures in order (what an HTTP body or a file gets).
    pub fn chunks(&self) -> impl Iterator<Item = &Bytes> {
        std::iter::once(&self.header).chain(&self.payload)
    }

    /// The part in one buffer (a copy, for transports that need one, like a WebSocket message).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.len_bytes());
        for chunk in self.chunks() {
            out.extend_from_slice(chunk);
        }
        out
    }
}

/// What the packager produced, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PackagerEvent {
    /// Comes before the first part of its generation.
    Init(LiveInit),
    Part(LivePart),
    /// Segment `msn` is complete; its last part came before.
    SegmentEnd { msn: u64, duration_90k: u64 },
    /// The stream stopped (the publisher went, or this consumer fell behind the feed); what
    /// follows is discontinuous, and a new generation when a configuration comes.
    Break,
}

/// Counts, readable any time.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PackagerStats {
    pub packets: u64,
    pub parts: u64,
    pub segments: u64,
    /// Packets dropped because the muxer refused them (a clock that went backwards too far).
    pub packets_refused: u64,
    pub breaks: u64,
}

/// See the module docs.
#[derive(Debug)]
pub struct LivePackager {
    options: PackagerOptions,
    stream: Option<Stream>,
    next_generation: u64,
    next_msn: u64,
    stats: PackagerStats,
}

/// One configuration's state.
#[derive(Debug)]
struct Stream {
    generation: u64,
    config: DecoderConfig,
    muxer: Fmp4Muxer,
    clock: DecodeClock,
    init_sent: bool,
    /// The last packet, waiting for the next one to know its duration.
    held: Option<Timed>,
    part: Vec<Sample>,
    part_duration_90k: u64,
    segment: SegmentState,
}

#[derive(Debug, Default)]
struct SegmentState {
    msn: u64,
    parts: u32,
    duration_90k: u64,
}

/// A packet with its decode time.
#[derive(Debug)]
struct Timed {
    packet: EncodedPacket,
    pts: i64,
    dts: i64,
}

impl LivePackager {
    pub fn new(options: PackagerOptions) -> Self {
        Self { options, stream: None, next_generation: 1, next_msn: 0, stats: PackagerStats::default() }
    }

    pub fn stats(&self) -> PackagerStats {
        self.stats
    }

    /// The open segment has reached the segment target and waits for a key frame to end: a
    /// source that sends key frames only when asked (WebRTC) should be asked now.
    pub fn wants_key_frame(&self) -> bool {
        let target_90k = u64::from(self.options.segment_target_ms) * 90;
        self.stream.as_ref().is_some_and(|s| s.segment.duration_90k + s.part_duration_90k >= target_90k)
    }

    /// Takes one item of the feed; returns what it completed.
    pub fn push(&mut self, item: FeedItem) -> Vec<PackagerEvent> {
        let mut out = Vec::new();
        match item {
            FeedItem::Item(LiveItem::Config(config)) => {
                if self.stream.as_ref().is_some_and(|s| s.config == config) {
                    return out;
                }
                self.end_stream(&mut out);
                self.start_stream(config);
            }
            FeedItem::Item(LiveItem::Packet(packet)) => {
                self.stats.packets += 1;
                let Some(stream) = self.stream.as_mut() else { return out };
                let Some(pts) = packet.pts_90k else {
                    self.stats.packets_refused += 1;
                    return out;
                };
                for timed in stream.clock.push(packet, pts) {
                    self.place(timed, &mut out);
                }
            }
            // The feed resumes at a key packet of the same configuration: keep the muxer (its
            // decode times only move on), start a new segment.
            FeedItem::Break(BreakReason::Lagged { .. }) => {
                self.flush(&mut out);
                if let Some(stream) = self.stream.as_mut() {
                    stream.clock = DecodeClock::new(&stream.config);
                }
                self.stats.breaks += 1;
                out.push(PackagerEvent::Break);
            }
            FeedItem::Break(BreakReason::SourceEnded) => self.end_stream(&mut out),
        }
        out
    }

    /// Emits everything held (the end of the input).
    pub fn finish(&mut self) -> Vec<PackagerEvent> {
        let mut out = Vec::new();
        self.end_stream(&mut out);
        out
    }

    fn start_stream(&mut self, config: DecoderConfig) {
        let generation = self.next_generation;
        self.next_generation += 1;
        self.stream = Some(Stream {
            generation,
            muxer: Fmp4Muxer::new(&config, TIMESCALE_90K),
            clock: DecodeClock::new(&config),
            config,
            init_sent: false,
            held: None,
            part: Vec::new(),
            part_duration_90k: 0,
            segment: SegmentState { msn: self.next_msn, ..SegmentState::default() },
        });
    }

    fn end_stream(&mut self, out: &mut Vec<PackagerEvent>) {
        if self.stream.is_none() {
            return;
        }
        self.flush(out);
        self.stream = None;
        self.stats.breaks += 1;
        out.push(PackagerEvent::Break);
    }

    /// Places every held packet and closes the part and the segment.
    fn flush(&mut self, out: &mut Vec<PackagerEvent>) {
        let Some(stream) = self.stream.as_mut() else { return };
        let rest = stream.clock.drain();
        for timed in rest {
            self.place(timed, out);
        }
        let Some(stream) = self.stream.as_mut() else { return };
        if let Some(last) = stream.held.take() {
            let duration = stream.clock.frame_90k;
            self.append(last, duration, out);
        }
        self.close_part(out);
        self.close_segment(out);
    }

    /// The packet before `next` gets its duration; `next` is held.
    fn place(&mut self, next: Timed, out: &mut Vec<PackagerEvent>) {
        let Some(stream) = self.stream.as_mut() else { return };
        let Some(previous) = stream.held.replace(next) else { return };
        let next_dts = stream.held.as_ref().map_or(previous.dts, |n| n.dts);
        let duration = u32::try_from(next_dts - previous.dts).unwrap_or(u32::MAX).max(1);
        self.append(previous, duration, out);
    }

    fn append(&mut self, timed: Timed, duration_90k: u32, out: &mut Vec<PackagerEvent>) {
        let options = self.options;
        let Some(stream) = self.stream.as_mut() else { return };
        let part_target_90k = u64::from(options.part_target_ms) * 90;
        let segment_target_90k = u64::from(options.segment_target_ms) * 90;
        let is_key = timed.packet.is_key;
        let segment_duration = stream.segment.duration_90k + stream.part_duration_90k;
        // On an empty segment the closes below do nothing: a first picture is never cut off.
        let too_long = segment_duration + u64::from(duration_90k) > MAX_SEGMENT_TARGETS * segment_target_90k;
        if (is_key && !stream.part.is_empty()) || too_long {
            self.close_part(out);
            if too_long || segment_duration >= segment_target_90k {
                self.close_segment(out);
            }
        } else if !stream.part.is_empty() && stream.part_duration_90k + u64::from(duration_90k) > part_target_90k {
            self.close_part(out);
        }
        let Some(stream) = self.stream.as_mut() else { return };
        let cts_offset = i32::try_from(timed.pts - timed.dts).unwrap_or(0);
        stream.part.push(Sample { data: timed.packet.data, dts: timed.dts, cts_offset, duration: duration_90k, is_sync: is_key });
        stream.part_duration_90k += u64::from(duration_90k);
    }

    fn close_part(&mut self, out: &mut Vec<PackagerEvent>) {
        let Some(stream) = self.stream.as_mut() else { return };
        if stream.part.is_empty() {
            return;
        }
        let samples = std::mem::take(&mut stream.part);
        let duration_90k = std::mem::take(&mut stream.part_duration_90k);
        let segment = match stream.muxer.media_segment(&samples) {
            Ok(segment) => segment,
            Err(_refused) => {
                self.stats.packets_refused += samples.len() as u64;
                return;
            }
        };
        if !stream.init_sent {
            stream.init_sent = true;
            let params = &stream.config.params;
            out.push(PackagerEvent::Init(LiveInit {
                generation: stream.generation,
                init: Bytes::from(stream.muxer.init_segment()),
                codec: params.codec_string.clone(),
                width: params.width,
                height: params.height,
                reorders: stream.clock.reorder > 0,
            }));
        }
        let first = &samples[0];
        out.push(PackagerEvent::Part(LivePart {
            generation: stream.generation,
            msn: stream.segment.msn,
            index: stream.segment.parts,
            independent: first.is_sync,
            first_pts_90k: first.pts(),
            duration_90k,
            header: Bytes::from(segment.header),
            payload: segment.payload,
        }));
        stream.segment.parts += 1;
        stream.segment.duration_90k += duration_90k;
        self.stats.parts += 1;
    }

    fn close_segment(&mut self, out: &mut Vec<PackagerEvent>) {
        let Some(stream) = self.stream.as_mut() else { return };
        if stream.segment.parts == 0 {
            return;
        }
        let msn = stream.segment.msn;
        out.push(PackagerEvent::SegmentEnd { msn, duration_90k: stream.segment.duration_90k });
        self.next_msn = msn + 1;
        stream.segment = SegmentState { msn: self.next_msn, ..SegmentState::default() };
        self.stats.segments += 1;
    }
}

/// Decode times for pts-only packets (see the module docs).
#[derive(Debug)]
struct DecodeClock {
    reorder: usize,
    frame_90k: u32,
    waiting: VecDeque<(EncodedPacket, i64)>,
    pts_seen: BinaryHeap<Reverse<i64>>,
    last_dts: Option<i64>,
}

impl DecodeClock {
    fn new(config: &DecoderConfig) -> Self {
        let params = &config.params;
        let reorder = match params.max_num_reorder_frames {
            Some(n) => n as usize,
            // Baseline (66) and Constrained Baseline have no B-slices.
            None if config.codec == Codec::H264 && params.profile_idc == 66 => 0,
            None => DEFAULT_REORDER_FRAMES,
        };
        Self {
            reorder,
            frame_90k: config.nominal_frame_duration_90k(),
            waiting: VecDeque::new(),
            pts_seen: BinaryHeap::new(),
            last_dts: None,
        }
    }

    fn push(&mut self, packet: EncodedPacket, pts: i64) -> Vec<Timed> {
        self.waiting.push_back((packet, pts));
        self.pts_seen.push(Reverse(pts));
        let mut out = Vec::new();
        while self.waiting.len() > self.reorder {
            out.extend(self.pop());
        }
        out
    }

    fn drain(&mut self) -> Vec<Timed> {
        std::iter::from_fn(|| self.pop()).collect()
    }

    fn pop(&mut self) -> Option<Timed> {
        let (packet, pts) = self.waiting.pop_front()?;
        let Reverse(smallest) = self.pts_seen.pop()?;
        let delay = i64::from(self.frame_90k).saturating_mul(self.reorder as i64);
        let mut dts = smallest.saturating_sub(delay);
        // Two pictures with one pts (a broken clock) still need two decode times.
        if let Some(last) = self.last_dts.filter(|&last| dts <= last) {
            dts = last.saturating_add(1);
        }
        self.last_dts = Some(dts);
        Some(Timed { packet, pts, dts })
    }
}
