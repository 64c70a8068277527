//! [`UnitInProgress`]: the NAL units of one access unit as its packets arrive, and the NAL
//! unit being reassembled from fragments (RFC 6184 §5.8, RFC 7798 §4.4.3).

use bytes::{Bytes, BytesMut};

use super::payload::{Fragment, Payload};
use super::DepacketizerStats;

/// Bytes of one access unit at most (NAL units and the fragment being reassembled), and of the
/// held NAL units: far above any picture (a 4K intra picture is a few MB), low enough that a
/// sender that never ends a unit cannot exhaust memory.
pub const MAX_UNIT_BYTES: usize = 32 << 20;
/// NAL units of one access unit at most. Each costs a `Bytes` handle whatever its length, so
/// the byte cap alone lets aggregation packets of 1-byte NAL units make tens of millions of
/// them per "picture". A real picture has a few slices (one per macroblock row of an 8K
/// picture is 270) plus parameter sets and SEI.
pub const MAX_UNIT_NALS: usize = 4096;

#[derive(Debug)]
pub(super) struct UnitInProgress {
    pub(super) rtp_timestamp: u32,
    pub(super) nals: Vec<Bytes>,
    /// The NAL unit being reassembled from fragments.
    pub(super) fragment: Option<BytesMut>,
    /// Bytes in `nals` and `fragment`.
    pub(super) len_bytes: usize,
    /// Something of the unit is missing: it is dropped when it ends.
    pub(super) broken: bool,
    /// The previous packet is unknown (first packet, or after a gap or restart): the unit is
    /// kept only if its first slice begins the picture.
    pub(super) needs_picture_start: bool,
}

impl UnitInProgress {
    pub(super) fn new(rtp_timestamp: u32, needs_picture_start: bool) -> Self {
        Self { rtp_timestamp, nals: Vec::new(), fragment: None, len_bytes: 0, broken: false, needs_picture_start }
    }

    /// Marks the unit incomplete; a NAL unit being reassembled is dropped (counted).
    pub(super) fn break_off(&mut self, stats: &mut DepacketizerStats) {
        if self.fragment.take().is_some() {
            stats.fragments_dropped += 1;
        }
        self.broken = true;
    }

    /// Adds a payload's NAL units or fragment, unless the unit is already broken. A fragment
    /// without its start, a new start before the end, or a whole NAL unit between fragments
    /// breaks the unit (a fragmented NAL unit is missing), as does growing past
    /// [`MAX_UNIT_BYTES`] or [`MAX_UNIT_NALS`].
    pub(super) fn add(&mut self, payload: Payload, stats: &mut DepacketizerStats) {
        if self.broken {
            return;
        }
        let incoming_bytes = match &payload {
            Payload::Single(nal) => nal.len(),
            Payload::Aggregation(nals) => nals.iter().map(Bytes::len).sum(),
            Payload::Fragment(f) => f.nal_header.as_slice().len() + f.data.len(),
        };
        let incoming_nals = match &payload {
            Payload::Single(_) => 1,
            Payload::Aggregation(nals) => nals.len(),
            // A fragment becomes one NAL unit when it ends; its start reserves the place.
            Payload::Fragment(f) => usize::from(f.start),
        };
        if self.len_bytes + incoming_bytes > MAX_UNIT_BYTES || self.nals.len() + incoming_nals > MAX_UNIT_NALS {
            stats.oversized_units += 1;
            self.break_off(stats);
            return;
        }
        self.len_bytes += incoming_bytes;
        let in_fragment = self.fragment.is_some();
        match payload {
            Payload::Single(_) | Payload::Aggregation(_) | Payload::Fragment(Fragment { start: true, .. })
                if in_fragment =>
            {
                self.break_off(stats);
            }
            Payload::Single(nal) => self.nals.push(nal),
            Payload::Aggregation(nals) => self.nals.extend(nals),
            Payload::Fragment(Fragment { nal_header, start: true, data, .. }) => {
                let header = nal_header.as_slice();
                // Room for a few more fragments of this size before the buffer grows.
                let mut nal = BytesMut::with_capacity(header.len() + data.len() * 4);
                nal.extend_from_slice(header);
                nal.extend_from_slice(&data);
                self.fragment = Some(nal);
            }
            Payload::Fragment(Fragment { start: false, end, data, .. }) => {
                let Some(nal) = &mut self.fragment else {
                    // Its start is missing.
                    stats.fragments_dropped += 1;
                    self.broken = true;
                    return;
                };
                nal.extend_from_slice(&data);
                if end {
                    if let Some(nal) = self.fragment.take() {
                        self.nals.push(nal.freeze());
                    }
                }
            }
        }
    }
}
