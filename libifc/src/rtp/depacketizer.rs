//! [`Depacketizer`]: RTP packets of one H.264 or H.265 stream in, access units out.
//!
//! # Access-unit boundaries
//! A unit ends at the packet with the marker bit (RFC 6184 §5.1, RFC 7798 §4.1: the last
//! packet of an access unit), and is then ready at once; or, for senders that omit the marker,
//! when a packet with another timestamp arrives (all packets of an access unit share its
//! timestamp); or at [`Depacketizer::flush`].
//!
//! # Loss
//! A unit is emitted only when nothing of it can be missing. A sequence gap, a rejected packet,
//! a fragment without its start, or a new start before the end drops the unit in progress
//! (counted in [`DepacketizerStats::units_dropped`]). After a gap the predecessor of the next
//! unit is unknown, so that unit is emitted only if its first slice begins the picture
//! (`first_mb_in_slice == 0`, `first_slice_segment_in_pic_flag`): missing packets before it
//! then held only non-VCL NAL units or whole other pictures. The same holds for the first unit
//! (joining mid-picture) and after a restart or a new SSRC. The next emitted unit says what
//! happened since the previous one in [`AccessUnitRtp::loss_before`] and
//! [`AccessUnitRtp::dropped_before`]; a decoder should then wait for a random-access unit.
//!
//! NAL units that arrive without any slice under their own timestamp (parameter sets sent
//! ahead of the picture by some cameras) are held and put in front of the next unit.

use std::collections::VecDeque;
use std::mem;

use bytes::Bytes;

use super::payload::Payload;
use super::sequence::{SequenceStep, SequenceTracker, TimestampUnwrapper};
use super::unit::{UnitInProgress, MAX_UNIT_BYTES};
use super::{RtpError, RtpPacket};
use crate::codec::access_unit::slice_starts_picture;
use crate::codec::{Codec, NalKind};

/// NAL units without a slice held for the next unit at most; beyond that the oldest go.
const MAX_HELD_NALS: usize = 64;

/// One access unit (one coded picture) rebuilt from RTP packets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessUnitRtp {
    /// NAL units without start codes or length prefixes, in order. Single NAL units and the
    /// units of aggregation packets are slices of the packets' bytes; fragmented NAL units are
    /// reassembled (the one copy).
    pub nals: Vec<Bytes>,
    /// The RTP timestamp of the unit's packets (90 kHz for video): presentation time.
    pub rtp_timestamp: u32,
    /// `rtp_timestamp` extended to 64 bits: each unit's value is placed nearest the previous
    /// unit's, so it keeps counting across `u32` wraps and steps back only as far as B
    /// pictures do. The first unit's value is its `rtp_timestamp`. After a restart or a new
    /// SSRC the values go on the same way, so a jump of the sender's clock shows as a jump.
    pub timestamp: i64,
    /// Holds an IDR (H.264) or IRAP (H.265) slice: decoding can start here.
    pub random_access: bool,
    /// Packets lost since the previous unit came out: missing sequence numbers, packets
    /// rejected as malformed or unsupported, and 1 for each restart of the numbering (new
    /// SSRC, or a jump of [`MAX_DROPOUT`](super::MAX_DROPOUT) or more) whose loss is unknown.
    /// 0 normally.
    pub loss_before: u64,
    /// Units dropped as incomplete since the previous unit came out.
    pub dropped_before: u64,
}

impl AccessUnitRtp {
    /// Something before this unit is missing: references may be gone, so a decoder should
    /// skip to a random-access unit.
    pub fn follows_loss(&self) -> bool {
        self.loss_before > 0 || self.dropped_before > 0
    }
}

/// What a depacketizer has seen. Every pushed packet is counted in `packets` and in exactly
/// one of `late_or_duplicate_packets`, `malformed_packets`, `unsupported_packets`,
/// `single_nal_packets`, `aggregation_packets`, `fragmentation_packets`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DepacketizerStats {
    pub packets: u64,
    /// Single NAL unit packets used.
    pub single_nal_packets: u64,
    /// STAP-A (H.264) or AP (H.265) packets used.
    pub aggregation_packets: u64,
    /// FU-A (H.264) or FU (H.265) packets used.
    pub fragmentation_packets: u64,
    /// Dropped: a sequence number at or up to 100 behind the last one.
    pub late_or_duplicate_packets: u64,
    /// Rejected with [`RtpError::Malformed`] or [`RtpError::EmptyPayload`].
    pub malformed_packets: u64,
    /// Rejected with [`RtpError::Unsupported`].
    pub unsupported_packets: u64,
    /// Missing sequence numbers (sum of the gaps).
    pub lost_packets: u64,
    /// Jumps of the sequence number too large to be loss.
    pub restarts: u64,
    pub ssrc_changes: u64,
    /// Access units emitted.
    pub access_units: u64,
    /// Units dropped: incomplete, or after a gap without the start of their picture.
    pub units_dropped: u64,
    /// Partly reassembled NAL units dropped (fragment without start, new start before the
    /// end, unit ended mid-NAL, gap inside).
    pub fragments_dropped: u64,
    /// Slice-less NAL units dropped because more than 64 (or [`MAX_UNIT_BYTES`]) were waiting
    /// for a unit.
    pub held_nals_dropped: u64,
    /// Units dropped for growing past [`MAX_UNIT_BYTES`] or [`MAX_UNIT_NALS`](super::MAX_UNIT_NALS) (also counted
    /// in `units_dropped`).
    pub oversized_units: u64,
}

/// Turns the RTP packets of one stream into access units. Sans-IO: [`push`](Self::push)
/// packets in arrival order, [`pull`](Self::pull) units out. See the module docs.
#[derive(Debug)]
pub struct Depacketizer {
    codec: Codec,
    sequence: SequenceTracker,
    timestamps: TimestampUnwrapper,
    unit: Option<UnitInProgress>,
    held: Vec<Bytes>,
    pending_loss: u64,
    pending_dropped: u64,
    ready: VecDeque<AccessUnitRtp>,
    stats: DepacketizerStats,
}

impl Depacketizer {
    pub fn new(codec: Codec) -> Self {
        Self {
            codec,
            sequence: SequenceTracker::default(),
            timestamps: TimestampUnwrapper::default(),
            unit: None,
            held: Vec::new(),
            pending_loss: 0,
            pending_dropped: 0,
            ready: VecDeque::new(),
            stats: DepacketizerStats::default(),
        }
    }

    pub fn codec(&self) -> Codec {
        self.codec
    }

    pub fn stats(&self) -> &DepacketizerStats {
        &self.stats
    }

    /// Takes the next finished access unit.
    pub fn pull(&mut self) -> Option<AccessUnitRtp> {
        self.ready.pop_front()
    }

    /// Ends the unit in progress (end of stream: the last unit of a sender that omits the
    /// marker bit waits for the next timestamp otherwise).
    pub fn flush(&mut self) {
        self.finish_unit();
    }

    /// Takes one packet. An error is about this packet only: it is counted, the unit it
    /// belonged to is dropped, and the depacketizer stays usable.
    pub fn push(&mut self, packet: RtpPacket) -> Result<(), RtpError> {
        self.stats.packets += 1;
        let discontinuity = match self.sequence.step(packet.ssrc, packet.sequence_number) {
            SequenceStep::Old => {
                self.stats.late_or_duplicate_packets += 1;
                return Ok(());
            }
            SequenceStep::First => true,
            SequenceStep::InOrder => false,
            SequenceStep::Gap(lost) => {
                self.stats.lost_packets += u64::from(lost);
                self.pending_loss += u64::from(lost);
                true
            }
            SequenceStep::Restart => {
                self.stats.restarts += 1;
                self.pending_loss += 1;
                true
            }
            SequenceStep::NewSsrc => {
                self.stats.ssrc_changes += 1;
                self.pending_loss += 1;
                true
            }
        };
        if discontinuity {
            // The missing packets may have been the tail of the unit in progress, or belong to
            // the packet's own unit when it has the same timestamp.
            if let Some(unit) = &mut self.unit {
                unit.break_off(&mut self.stats);
            }
        }
        if self.unit.as_ref().is_some_and(|u| u.rtp_timestamp != packet.timestamp) {
            self.finish_unit();
        }
        let unit = self.unit.get_or_insert_with(|| UnitInProgress::new(packet.timestamp, discontinuity));
        let result = match Payload::parse(self.codec, &packet) {
            Ok(payload) => {
                let stats = &mut self.stats;
                match &payload {
                    Payload::Single(_) => stats.single_nal_packets += 1,
                    Payload::Aggregation(_) => stats.aggregation_packets += 1,
                    Payload::Fragment(_) => stats.fragmentation_packets += 1,
                }
                unit.add(payload, stats);
                Ok(())
            }
            Err(e) => {
                match e {
                    RtpError::Unsupported { .. } => self.stats.unsupported_packets += 1,
                    _ => self.stats.malformed_packets += 1,
                }
                self.pending_loss += 1;
                unit.break_off(&mut self.stats);
                Err(e)
            }
        };
        if packet.marker {
            self.finish_unit();
        }
        result
    }

    /// Ends the unit in progress: emitted, held (no slice yet) or dropped.
    fn finish_unit(&mut self) {
        let Some(mut unit) = self.unit.take() else { return };
        if unit.fragment.take().is_some() && !unit.broken {
            self.stats.fragments_dropped += 1;
            unit.broken = true;
        }
        let codec = self.codec;
        let first_slice = unit.nals.iter().find(|n| codec.classify(n).is_some_and(NalKind::is_vcl));
        let Some(first_slice) = first_slice.filter(|_| !unit.broken) else {
            if unit.broken {
                self.drop_unit();
            } else {
                self.hold(unit.nals);
            }
            return;
        };
        if unit.needs_picture_start && slice_starts_picture(codec, first_slice) != Ok(true) {
            self.drop_unit();
            return;
        }
        let random_access =
            unit.nals.iter().any(|n| matches!(codec.classify(n), Some(NalKind::Slice { random_access: true, .. })));
        let nals = if self.held.is_empty() {
            unit.nals
        } else {
            let mut nals = mem::take(&mut self.held);
            nals.append(&mut unit.nals);
            nals
        };
        self.stats.access_units += 1;
        self.ready.push_back(AccessUnitRtp {
            nals,
            rtp_timestamp: unit.rtp_timestamp,
            timestamp: self.timestamps.extend(unit.rtp_timestamp),
            random_access,
            loss_before: mem::take(&mut self.pending_loss),
            dropped_before: mem::take(&mut self.pending_dropped),
        });
    }

    fn drop_unit(&mut self) {
        self.stats.units_dropped += 1;
        self.pending_dropped += 1;
    }

    fn hold(&mut self, nals: Vec<Bytes>) {
        self.held.extend(nals);
        let mut len_bytes: usize = self.held.iter().map(Bytes::len).sum();
        let mut excess = 0;
        while self.held.len() - excess > MAX_HELD_NALS || len_bytes > MAX_UNIT_BYTES {
            len_bytes -= self.held[excess].len();
            excess += 1;
        }
        self.held.drain(..excess);
        self.stats.held_nals_dropped += excess as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::super::unit::MAX_UNIT_NALS;
    use super::*;

    fn packet(seq: u16, marker: bool, payload: Bytes) -> RtpPacket {
        RtpPacket { marker, payload_type: 96, sequence_number: seq, timestamp: 3600, ssrc: 7, payload }
    }

    #[test]
    fn unit_that_never_ends_is_dropped_past_max_unit_bytes() {
        let mut d = Depacketizer::new(Codec::H264);
        // IDR slice (first_mb_in_slice 0) in FU-A fragments of 60 000 bytes each.
        let middle = Bytes::from([&[0x7c, 0x05][..], &[0xaa; 60_000][..]].concat());
        d.push(packet(0, false, Bytes::from_static(&[0x7c, 0x85, 0x88, 0x80]))).unwrap();
        let fragments = MAX_UNIT_BYTES / 60_000 + 1;
        for seq in 1..=fragments as u16 {
            d.push(packet(seq, false, middle.clone())).unwrap();
        }
        assert_eq!(d.stats().oversized_units, 1);
        assert!(d.unit.as_ref().is_some_and(|u| u.broken && u.fragment.is_none() && u.len_bytes <= MAX_UNIT_BYTES));
        d.push(packet(fragments as u16 + 1, true, Bytes::from_static(&[0x7c, 0x45, 1]))).unwrap();
        assert_eq!(d.pull(), None);
        assert_eq!((d.stats().units_dropped, d.stats().fragments_dropped), (1, 1));
        // The next picture comes out, saying one unit was dropped before it.
        d.push(RtpPacket { timestamp: 7200, ..packet(fragments as u16 + 2, true, Bytes::from_static(&[0x65, 0x88])) })
            .unwrap();
        let unit = d.pull().unwrap();
        assert_eq!((unit.loss_before, unit.dropped_before, unit.random_access), (0, 1, true));
    }

    #[test]
    fn stap_a_of_one_byte_nal_units_is_dropped_past_max_unit_nals() {
        let mut d = Depacketizer::new(Codec::H264);
        // An IDR slice starts the picture; then STAP-A packets of 20 000 one-byte SEI NAL
        // units each (60 000 bytes), far under the byte cap.
        d.push(packet(0, false, Bytes::from_static(&[0x65, 0x88]))).unwrap();
        let stap: Vec<u8> = std::iter::once(0x18).chain((0..20_000).flat_map(|_| [0, 1, 0x06])).collect();
        let stap = Bytes::from(stap);
        for seq in 1..=8u16 {
            d.push(packet(seq, false, stap.clone())).unwrap();
            assert!(d.unit.as_ref().is_some_and(|u| u.nals.len() <= MAX_UNIT_NALS));
        }
        assert_eq!(d.stats().oversized_units, 1);
        d.push(packet(9, true, Bytes::from_static(&[0x41, 0x9a]))).unwrap();
        assert_eq!(d.pull(), None, "the oversized unit is dropped");
        assert_eq!(d.stats().units_dropped, 1);
        // The next picture comes out, saying one unit was dropped before it.
        d.push(RtpPacket { timestamp: 7200, ..packet(10, true, Bytes::from_static(&[0x65, 0x88])) }).unwrap();
        let unit = d.pull().unwrap();
        assert_eq!((unit.dropped_before, unit.random_access), (1, true));
    }
}
