//! [`LiveSource`]: access units from a live stream (RTP from an RTSP camera) into decoder
//! configurations and packets. Sans-IO: push units as the depacketizer gives them, pull
//! [`LiveItem`]s.
//!
//! A live stream is joined at any point and may lose packets, so:
//! - units before the first random-access point (IDR, IRAP) are dropped: nothing before it
//!   decodes;
//! - after packets were lost, units are dropped until the next random-access point, so that a
//!   broken reference never becomes a smeared frame that an inspection would judge;
//! - a random-access unit whose parameter sets changed (a camera reconfigured) yields a new
//!   [`DecoderConfig`] before its packet. Parameter sets from the session description (SDP
//!   `sprop-*`) count as the first ones; in-band sets replace them.
//!
//! Presentation times come from the RTP timestamps, counted from the first unit that decodes,
//! converted to 90 kHz. Decode times are unknown (RTP carries none) and left to the decoder.

use std::collections::VecDeque;

use bytes::Bytes;

use super::parameter_sets::ParameterSetMemory;
use super::ticks_to_90k;
use crate::codec::nal::push_length_prefixed;
use crate::codec::{Codec, DecoderConfig, NalKind};
use crate::decode::EncodedPacket;
use crate::error::{ParseError, Result};

/// What a live source yields, in order: a configuration before the packets that need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LiveItem {
    Config(DecoderConfig),
    /// Length-prefixed NAL units (4 bytes), timed in 90 kHz ticks from the first packet.
    Packet(EncodedPacket),
}

/// What a live source dropped and why.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LiveSourceStats {
    /// Access units pushed.
    pub units: u64,
    /// Packets the transport reported lost.
    pub packets_lost: u64,
    pub dropped_before_random_access: u64,
    /// Units dropped while waiting for a random-access point after a loss.
    pub dropped_after_loss: u64,
    /// Units dropped because no usable parameter sets came before them.
    pub dropped_undecodable: u64,
    /// Units without a picture: their parameter sets are remembered, the rest dropped.
    /// (`rtp::Depacketizer` already puts parameter sets sent under their own timestamp in
    /// front of the next picture, so these are rare.)
    pub units_without_picture: u64,
}

/// See the module docs.
pub struct LiveSource {
    codec: Codec,
    clock_rate_hz: u32,
    parameter_sets: ParameterSetMemory,
    configured: bool,
    started: bool,
    waiting_after_loss: bool,
    first_timestamp: Option<i64>,
    out: VecDeque<Result<LiveItem>>,
    stats: LiveSourceStats,
}

impl LiveSource {
    /// `clock_rate_hz`: the RTP clock (90 kHz for H.264/H.265, RFC 6184 §8.2.1).
    /// `initial_parameter_sets`: from the session description, possibly empty.
    pub fn new(codec: Codec, clock_rate_hz: u32, initial_parameter_sets: &[Bytes]) -> Self {
        let mut parameter_sets = ParameterSetMemory::new(codec);
        for set in initial_parameter_sets {
            parameter_sets.remember(set);
        }
        Self {
            codec,
            clock_rate_hz: clock_rate_hz.max(1),
            parameter_sets,
            configured: false,
            started: false,
            waiting_after_loss: false,
            first_timestamp: None,
            out: VecDeque::new(),
            stats: LiveSourceStats::default(),
        }
    }

    pub fn stats(&self) -> &LiveSourceStats {
        &self.stats
    }

    /// One access unit: its NAL units (no start codes), its RTP timestamp (unwrapped, in clock
    /// ticks), and how many packets were lost just before it.
    pub fn push(&mut self, nals: Vec<Bytes>, timestamp: i64, loss_before: u64) {
        self.stats.units += 1;
        if loss_before > 0 {
            self.stats.packets_lost += loss_before;
            if self.started {
                self.waiting_after_loss = true;
            }
        }
        let mut random_access = false;
        let mut has_picture = false;
        for nal in &nals {
            match self.codec.classify(nal) {
                Some(NalKind::Slice { random_access: ra, .. }) => {
                    has_picture = true;
                    random_access |= ra;
                }
                Some(kind) if kind.is_parameter_set() => self.parameter_sets.remember(nal),
                _ => {}
            }
        }
        if !has_picture {
            self.stats.units_without_picture += 1;
            return;
        }
        if !random_access && (!self.started || self.waiting_after_loss) {
            if self.started {
                self.stats.dropped_after_loss += 1;
            } else {
                self.stats.dropped_before_random_access += 1;
            }
            return;
        }
        if random_access && self.parameter_sets.changed() {
            match self.parameter_sets.declare() {
                Ok(config) => {
                    self.configured = true;
                    self.out.push_back(Ok(LiveItem::Config(config)));
                }
                Err(e) => {
                    self.stats.dropped_undecodable += 1;
                    self.out.push_back(Err(e));
                    return;
                }
            }
        }
        if !self.configured {
            self.stats.dropped_undecodable += 1;
            return;
        }
        match self.packet(&nals, timestamp, random_access) {
            Ok(packet) => {
                self.started = true;
                self.waiting_after_loss = false;
                self.out.push_back(Ok(LiveItem::Packet(packet)));
            }
            Err(e) => {
                self.stats.dropped_undecodable += 1;
                self.out.push_back(Err(e));
            }
        }
    }

    /// The next configuration or packet, or an error about the stream (unusable parameter
    /// sets; the unit that carried them was dropped).
    pub fn pull(&mut self) -> Option<Result<LiveItem>> {
        self.out.pop_front()
    }

    fn packet(&mut self, nals: &[Bytes], timestamp: i64, random_access: bool) -> Result<EncodedPacket> {
        let mut data = Vec::with_capacity(nals.iter().map(|n| n.len() + 4).sum());
        for nal in nals {
            push_length_prefixed(&mut data, nal)?;
        }
        if data.is_empty() {
            return Err(ParseError::missing("access_unit", "no NAL units"));
        }
        let first = *self.first_timestamp.get_or_insert(timestamp);
        let pts_90k = ticks_to_90k(timestamp - first, self.clock_rate_hz);
        Ok(EncodedPacket::new(Bytes::from(data), Some(pts_90k), random_access))
    }
}

#[cfg(test)]
#[path = "live_source_tests.rs"]
mod tests;
