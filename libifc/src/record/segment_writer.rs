//! [`SegmentWriter`]: a live feed's items in, finished recording segments out, sans-IO.
//!
//! Each segment is one self-contained fragmented MP4: its own init segment (`ftyp` + `moov`)
//! followed by one fragment (`moof` + `mdat`) holding every packet of the segment, so any
//! segment file decodes on its own and a lost or deleted neighbour costs nothing else. The
//! payload is handed out as `Vec<Bytes>`: the boxes built here, then the packets' own bytes
//! (shared with the feed, never copied), in file order, with their sha256.
//!
//! Cutting: a segment starts at a key packet and ends before the first key packet at which it
//! spans at least the target duration (so it is longer than the target by less than a GOP).
//! A [`FeedItem::Break`], a configuration that differs from the current one, or
//! [`SegmentWriter::flush`] ends it early. A stream without key packets cannot be cut; past
//! `max_duration_90k` the segment is closed anyway and packets are skipped until the next key
//! packet (counted), so memory stays bounded.
//!
//! Time: live packets carry presentation times (`pts_90k`, RTP clock) and usually no decode
//! time. With B-frames pts is not monotonic in decode order, and an MP4 needs decode times
//! that are. The segment holds all its packets when it closes, so decode times come from the
//! segment's own presentation times sorted (the sorting window is the segment): the i-th
//! decode time is the i-th smallest pts, moved earlier by the smallest shift that keeps every
//! decode time at or before its picture's presentation time (the reorder delay, e.g. two
//! frames for a B-pyramid). Presentation times are written exactly as received.

use bytes::Bytes;
use sha2::{Digest, Sha256};

use super::segment_timing::{decode_times, SampleTiming, TimingError};
use crate::codec::DecoderConfig;
use crate::decode::EncodedPacket;
use crate::live::{BreakReason, FeedItem};
use crate::mp4::fmp4::{Fmp4Muxer, MuxError};
use crate::mp4::Sample;
use crate::remux::LiveItem;

/// Ticks per second of every time here (the RTP video clock).
pub const TIMESCALE_90K: u32 = 90_000;

/// How segments are cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentWriterOptions {
    /// A segment ends at the first key packet at which it spans at least this.
    pub target_duration_90k: u64,
    /// A segment without key packets to cut at is closed at this span (bounds memory).
    pub max_duration_90k: u64,
}

impl SegmentWriterOptions {
    /// `target_s` seconds per segment, at most ten times that when key frames are missing.
    pub fn from_target_s(target_s: u32) -> Self {
        let target_duration_90k = u64::from(target_s.max(1)) * u64::from(TIMESCALE_90K);
        Self { target_duration_90k, max_duration_90k: target_duration_90k.saturating_mul(10) }
    }
}

/// Why a segment ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// A key packet past the target duration.
    Duration,
    /// No key packet came before the maximum duration.
    MaxDuration,
    /// The feed had a discontinuity.
    Break(BreakReason),
    /// The stream's configuration changed.
    NewConfig,
    /// [`SegmentWriter::flush`] (the recorder stops).
    Flush,
}

/// One finished segment, ready to write.
#[derive(Debug, Clone)]
pub struct FinishedSegment {
    /// The file's bytes in order: init segment, `moof` + `mdat` header, then each packet's data.
    pub payload: Vec<Bytes>,
    /// Sum of the payload's lengths.
    pub bytes: u64,
    /// sha256 of the file.
    pub sha256: [u8; 32],
    /// Smallest presentation time (90 kHz, the feed's clock).
    pub media_start_90k: i64,
    /// Largest presentation time plus one frame duration.
    pub media_end_90k: i64,
    /// Presentation times of the key packets, ascending.
    pub key_frame_times_90k: Vec<i64>,
    pub frame_count: u64,
    pub close_reason: CloseReason,
    /// The configuration the segment was written with.
    pub config: DecoderConfig,
}

impl FinishedSegment {
    /// The checksum as lowercase hex.
    pub fn sha256_hex(&self) -> String {
        hex_lower(&self.sha256)
    }
}

/// Lowercase hex of `bytes`.
pub fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Why a segment could not be built. The segment's packets are dropped; the writer goes on
/// with the next key packet.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SegmentError {
    #[error("segment timing: {0}")]
    Timing(#[from] TimingError),
    #[error("segment muxing: {0}")]
    Mux(#[from] MuxError),
}

/// Counts kept by a writer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SegmentWriterStats {
    pub segments: u64,
    /// Packets before the first key packet of a segment (at start, after a break or a forced
    /// cut), or while there was no configuration.
    pub packets_skipped: u64,
    /// Packets without a presentation time (cannot be placed).
    pub packets_untimed: u64,
    /// Segments that could not be built (their packets are lost).
    pub segments_failed: u64,
}

/// A packet kept for the open segment.
#[derive(Debug, Clone)]
struct Pending {
    data: Bytes,
    pts_90k: i64,
    is_key: bool,
}

/// See the module docs.
#[derive(Debug)]
pub struct SegmentWriter {
    options: SegmentWriterOptions,
    config: Option<DecoderConfig>,
    pending: Vec<Pending>,
    stats: SegmentWriterStats,
}

impl SegmentWriter {
    pub fn new(options: SegmentWriterOptions) -> Self {
        Self { options, config: None, pending: Vec::new(), stats: SegmentWriterStats::default() }
    }

    pub fn stats(&self) -> SegmentWriterStats {
        self.stats
    }

    /// Packets held for the open segment.
    pub fn pending_packets(&self) -> usize {
        self.pending.len()
    }

    /// The next item of the feed. Returns the segment it finished, if any.
    pub fn push(&mut self, item: FeedItem) -> Result<Option<FinishedSegment>, SegmentError> {
        match item {
            FeedItem::Break(reason) => self.close(CloseReason::Break(reason)),
            FeedItem::Item(LiveItem::Config(config)) => {
                if self.config.as_ref() == Some(&config) {
                    // The same configuration again (a subscriber's join, a reconnect): the
                    // open segment stays valid.
                    return Ok(None);
                }
                let done = self.close(CloseReason::NewConfig);
                self.config = Some(config);
                done
            }
            FeedItem::Item(LiveItem::Packet(packet)) => self.push_packet(packet),
        }
    }

    fn push_packet(&mut self, packet: EncodedPacket) -> Result<Option<FinishedSegment>, SegmentError> {
        let Some(pts_90k) = packet.pts_90k else {
            self.stats.packets_untimed += 1;
            return Ok(None);
        };
        if self.config.is_none() {
            self.stats.packets_skipped += 1;
            return Ok(None);
        }
        let Some(first) = self.pending.first() else {
            if packet.is_key {
                self.pending.push(Pending { data: packet.data, pts_90k, is_key: true });
            } else {
                self.stats.packets_skipped += 1;
            }
            return Ok(None);
        };
        let span_90k = u64::try_from(pts_90k.saturating_sub(first.pts_90k)).unwrap_or(0);
        if packet.is_key && span_90k >= self.options.target_duration_90k {
            let done = self.close(CloseReason::Duration);
            self.pending.push(Pending { data: packet.data, pts_90k, is_key: true });
            return done;
        }
        if span_90k >= self.options.max_duration_90k {
            // This packet depends on the closed segment: skipped, like those after it up to
            // the next key packet.
            self.stats.packets_skipped += 1;
            return self.close(CloseReason::MaxDuration);
        }
        self.pending.push(Pending { data: packet.data, pts_90k, is_key: packet.is_key });
        Ok(None)
    }

    /// Closes the open segment (the recorder stops).
    pub fn flush(&mut self) -> Result<Option<FinishedSegment>, SegmentError> {
        self.close(CloseReason::Flush)
    }

    fn close(&mut self, close_reason: CloseReason) -> Result<Option<FinishedSegment>, SegmentError> {
        let packets = std::mem::take(&mut self.pending);
        let Some(config) = self.config.as_ref().filter(|_| !packets.is_empty()) else {
            return Ok(None);
        };
        match build(config, packets, close_reason) {
            Ok(segment) => {
                self.stats.segments += 1;
                Ok(Some(segment))
            }
            Err(e) => {
                self.stats.segments_failed += 1;
                Err(e)
            }
        }
    }
}

fn build(
    config: &DecoderConfig,
    packets: Vec<Pending>,
    close_reason: CloseReason,
) -> Result<FinishedSegment, SegmentError> {
    let pts: Vec<i64> = packets.iter().map(|p| p.pts_90k).collect();
    let timing = decode_times(&pts, config.nominal_frame_duration_90k())?;
    let samples: Vec<Sample> = packets
        .iter()
        .zip(&timing.samples)
        .map(|(p, t): (&Pending, &SampleTiming)| Sample {
            data: p.data.clone(),
            dts: t.dts,
            cts_offset: t.cts_offset,
            duration: t.duration,
            is_sync: p.is_key,
        })
        .collect();
    let mut muxer = Fmp4Muxer::new(config, TIMESCALE_90K);
    // The media segment first: it fixes the decode-time shift the init segment's edit list
    // states (see mp4::fmp4's time model).
    let media = muxer.media_segment(&samples)?;
    let init = muxer.init_segment();
    let mut payload = Vec::with_capacity(media.payload.len() + 2);
    payload.push(Bytes::from(init));
    payload.push(Bytes::from(media.header));
    payload.extend(media.payload);
    let mut hasher = Sha256::new();
    let mut bytes = 0u64;
    for part in &payload {
        hasher.update(part);
        bytes = bytes.saturating_add(part.len() as u64);
    }
    let mut key_frame_times_90k: Vec<i64> = packets.iter().filter(|p| p.is_key).map(|p| p.pts_90k).collect();
    key_frame_times_90k.sort_unstable();
    Ok(FinishedSegment {
        payload,
        bytes,
        sha256: hasher.finalize().into(),
        media_start_90k: timing.media_start_90k,
        media_end_90k: timing.media_end_90k,
        key_frame_times_90k,
        frame_count: packets.len() as u64,
        close_reason,
        config: config.clone(),
    })
}
