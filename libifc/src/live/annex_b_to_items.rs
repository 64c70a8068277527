//! [`AnnexBToItems`]: whole access units that a transport already depacketized (WebRTC's
//! frames, as str0m hands them to `ifc serve`'s WHIP ingest) into [`LiveItem`]s, through the
//! same [`LiveSource`] that [`super::RtpToItems`] feeds: key packets marked, parameter sets
//! turned into configurations, units after a loss dropped up to the next random-access point,
//! presentation times from the RTP clock.
//!
//! ```text
//! access unit (Annex B Bytes, RTP timestamp, contiguous?) ─▶ NAL units (slices of the Bytes)
//!   ─▶ remux::LiveSource ─▶ LiveItem::{Config, Packet}
//! ```
//!
//! Sans-IO: no sockets, no clocks.

use bytes::Bytes;

use crate::codec::nal::AnnexBNals;
use crate::codec::Codec;
use crate::remux::{LiveItem, LiveSource, LiveSourceStats};

/// Counts of what came in and what was unusable.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnnexBStats {
    /// Access units pushed.
    pub units: u64,
    /// Units that followed a gap the transport reported (`contiguous == false`).
    pub discontinuities: u64,
    /// Units with no NAL unit at all (empty, or no start code).
    pub empty_units: u64,
    /// Unusable parameter sets (the unit carrying them was dropped).
    pub config_errors: u64,
    pub source: LiveSourceStats,
}

/// See the module docs.
pub struct AnnexBToItems {
    source: LiveSource,
    /// The last unit's timestamp, unwrapped to 64 bits.
    last_timestamp: Option<i64>,
    units: u64,
    discontinuities: u64,
    empty_units: u64,
    config_errors: u64,
}

impl std::fmt::Debug for AnnexBToItems {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AnnexBToItems").field("stats", &self.stats()).finish()
    }
}

impl AnnexBToItems {
    /// `clock_rate_hz`: the RTP clock (90 kHz for H.264/H.265). No out-of-band parameter sets:
    /// WebRTC senders put them in band before every key frame.
    pub fn new(codec: Codec, clock_rate_hz: u32) -> Self {
        Self {
            source: LiveSource::new(codec, clock_rate_hz, &[]),
            last_timestamp: None,
            units: 0,
            discontinuities: 0,
            empty_units: 0,
            config_errors: 0,
        }
    }

    /// One access unit in Annex B framing (its NAL units stay slices of `unit`), its RTP
    /// timestamp (32-bit, or already extended: only the low 32 bits are used, unwrapped here),
    /// and whether it follows the previous one without a gap.
    pub fn push(&mut self, unit: Bytes, rtp_timestamp: u64, contiguous: bool) {
        self.units += 1;
        let timestamp = self.unwrap(rtp_timestamp);
        let nals: Vec<Bytes> =
            AnnexBNals::new(&unit).map(|(offset, nal)| unit.slice(offset..offset + nal.len())).collect();
        // A gap: whatever the next units reference may be gone (the count is unknown; one is
        // enough for the live source to wait for a random-access point).
        let lost = u64::from(!contiguous);
        self.discontinuities += lost;
        if nals.is_empty() {
            self.empty_units += 1;
            return;
        }
        self.source.push(nals, timestamp, lost);
    }

    /// The next configuration or packet, `None` until more units arrive.
    pub fn pull(&mut self) -> Option<LiveItem> {
        loop {
            match self.source.pull()? {
                Ok(item) => return Some(item),
                Err(e) => {
                    self.config_errors += 1;
                    tracing::warn!(error = %e, "live stream: unusable parameter sets; waiting for the next ones");
                }
            }
        }
    }

    pub fn stats(&self) -> AnnexBStats {
        AnnexBStats {
            units: self.units,
            discontinuities: self.discontinuities,
            empty_units: self.empty_units,
            config_errors: self.config_errors,
            source: self.source.stats().clone(),
        }
    }

    /// RTP timestamps wrap every 2^32 ticks (13 h at 90 kHz): each one is placed within ±2^31
    /// ticks of the previous one.
    fn unwrap(&mut self, rtp_timestamp: u64) -> i64 {
        let low = rtp_timestamp as u32;
        let timestamp = match self.last_timestamp {
            None => i64::from(low),
            Some(last) => last + i64::from(low.wrapping_sub(last as u32) as i32),
        };
        self.last_timestamp = Some(timestamp);
        timestamp
    }
}

#[cfg(test)]
#[path = "annex_b_to_items_tests.rs"]
mod tests;
