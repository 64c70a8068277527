//! What one packet's payload carries, whichever the codec: whole NAL units (a single NAL unit
//! packet, or the units of an aggregation packet) or one fragment of a NAL unit.
//!
//! Parsing reads the payload only; it changes no state, so a malformed packet is rejected
//! before anything of it reaches the access unit in progress.

use bytes::Bytes;

use super::{h264, h265, RtpError, RtpPacket};
use crate::codec::Codec;

/// The NAL unit header rebuilt from a fragmentation unit: 1 byte (H.264) or 2 (H.265).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct NalHeader {
    bytes: [u8; 2],
    len: u8,
}

impl NalHeader {
    pub(super) fn h264(byte: u8) -> Self {
        Self { bytes: [byte, 0], len: 1 }
    }

    pub(super) fn h265(bytes: [u8; 2]) -> Self {
        Self { bytes, len: 2 }
    }

    pub(super) fn as_slice(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// One fragment of a NAL unit (H.264 FU-A, RFC 6184 §5.8; H.265 FU, RFC 7798 §4.4.3).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Fragment {
    /// The header of the NAL unit being reassembled.
    pub(super) nal_header: NalHeader,
    pub(super) start: bool,
    pub(super) end: bool,
    /// The fragment's share of the NAL unit's payload (after the NAL header).
    pub(super) data: Bytes,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Payload {
    /// A single NAL unit packet: the payload is the NAL unit.
    Single(Bytes),
    /// An aggregation packet (H.264 STAP-A, H.265 AP): the NAL units, in order.
    Aggregation(Vec<Bytes>),
    Fragment(Fragment),
}

impl Payload {
    pub(super) fn parse(codec: Codec, packet: &RtpPacket) -> Result<Self, RtpError> {
        match codec {
            Codec::H264 => h264::parse_payload(packet),
            Codec::H265 => h265::parse_payload(packet),
        }
    }
}

/// Splits the aggregation units of an aggregation packet: each a 16-bit size then that many
/// bytes (RFC 6184 §5.7.1, RFC 7798 §4.4.2 without DONL). `check_nal` vets each NAL unit.
pub(super) fn split_aggregation(
    seq: u16,
    what: &str,
    mut units: Bytes,
    min_nal_len: usize,
    check_nal: impl Fn(&[u8]) -> Result<(), String>,
) -> Result<Vec<Bytes>, RtpError> {
    let malformed = |reason: String| RtpError::Malformed { seq, reason: format!("{what} {reason}") };
    let mut nals = Vec::new();
    while !units.is_empty() {
        let at = nals.len();
        if units.len() < 2 {
            return Err(malformed(format!("unit {at}: 1 byte left, a size needs 2")));
        }
        let size = usize::from(u16::from_be_bytes([units[0], units[1]]));
        if size < min_nal_len {
            return Err(malformed(format!("unit {at}: NAL unit of {size} bytes, shorter than its header")));
        }
        if size > units.len() - 2 {
            return Err(malformed(format!("unit {at}: size {size} runs past the {} bytes left", units.len() - 2)));
        }
        let nal = units.slice(2..2 + size);
        check_nal(&nal).map_err(|reason| malformed(format!("unit {at}: {reason}")))?;
        nals.push(nal);
        units = units.slice(2 + size..);
    }
    if nals.is_empty() {
        return Err(malformed("without aggregation units".to_owned()));
    }
    Ok(nals)
}
