//! RTP send core for one H.264 or H.265 video stream, sans-IO: access units in, RTP packets out
//! (RFC 3550 header; H.264 RFC 6184 non-interleaved mode: single NAL unit packets and FU-A;
//! H.265 RFC 7798: single NAL unit packets and FU). The mirror of [`super::Depacketizer`],
//! used by the load generator and by anything that publishes or relays a stream.
//!
//! Each NAL unit that fits `max_payload_bytes` goes in one packet; a larger one is cut into
//! fragmentation units. The marker bit is set on the last packet of the access unit (RFC 6184
//! §5.1, RFC 7798 §4.1). Aggregation packets are not made: parameter sets go in packets of
//! their own, which every receiver accepts.

use bytes::{BufMut, Bytes, BytesMut};

use crate::codec::Codec;

/// RTP version 2, no padding, no extension, no CSRC.
const RTP_HEADER_BYTES: usize = 12;
/// H.264 FU-A NAL unit type (RFC 6184 §5.8).
const H264_FU_A: u8 = 28;
/// H.265 FU NAL unit type (RFC 7798 §4.4.3).
const H265_FU: u8 = 49;

/// The smallest payload that leaves room for a fragment's headers and one byte of data.
pub const MIN_PAYLOAD_BYTES: usize = 4;

/// See the module docs.
#[derive(Debug, Clone)]
pub struct Packetizer {
    codec: Codec,
    payload_type: u8,
    ssrc: u32,
    next_sequence: u16,
    max_payload_bytes: usize,
    packets: u64,
}

impl Packetizer {
    /// `max_payload_bytes`: the RTP payload limit (an MTU less the IP, UDP and RTP headers;
    /// 1400 suits Ethernet), at least [`MIN_PAYLOAD_BYTES`]. `payload_type` is the dynamic type
    /// the SDP announces (7 bits).
    pub fn new(codec: Codec, payload_type: u8, ssrc: u32, first_sequence: u16, max_payload_bytes: usize) -> Self {
        Self {
            codec,
            payload_type: payload_type & 0x7f,
            ssrc,
            next_sequence: first_sequence,
            max_payload_bytes: max_payload_bytes.max(MIN_PAYLOAD_BYTES),
            packets: 0,
        }
    }

    /// Packets made so far.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// The sequence number the next packet gets.
    pub fn next_sequence(&self) -> u16 {
        self.next_sequence
    }

    /// One access unit's NAL units (without start codes or length prefixes) at RTP timestamp
    /// `timestamp` (90 kHz, presentation time), appended to `out` as whole RTP packets. Empty
    /// NAL units (and H.265 ones shorter than their 2-byte header) are skipped.
    pub fn packetize<'a>(&mut self, nals: impl IntoIterator<Item = &'a [u8]>, timestamp: u32, out: &mut Vec<Bytes>) {
        let header_bytes = self.codec_header_bytes();
        let nals: Vec<&[u8]> = nals.into_iter().filter(|n| n.len() >= header_bytes).collect();
        let last_nal = nals.len().saturating_sub(1);
        for (i, nal) in nals.into_iter().enumerate() {
            let ends_unit = i == last_nal;
            if nal.len() <= self.max_payload_bytes {
                let mut packet = self.start_packet(timestamp, ends_unit, nal.len());
                packet.put_slice(nal);
                out.push(packet.freeze());
            } else {
                self.fragment(nal, timestamp, ends_unit, out);
            }
        }
    }

    fn codec_header_bytes(&self) -> usize {
        match self.codec {
            Codec::H264 => 1,
            Codec::H265 => 2,
        }
    }

    /// An RTP header with room for `payload_bytes`; `marker` on the access unit's last packet.
    fn start_packet(&mut self, timestamp: u32, marker: bool, payload_bytes: usize) -> BytesMut {
        let mut packet = BytesMut::with_capacity(RTP_HEADER_BYTES + payload_bytes);
        packet.put_u8(0x80);
        packet.put_u8(if marker { 0x80 } else { 0 } | self.payload_type);
        packet.put_u16(self.next_sequence);
        packet.put_u32(timestamp);
        packet.put_u32(self.ssrc);
        self.next_sequence = self.next_sequence.wrapping_add(1);
        self.packets += 1;
        packet
    }

    /// Fragmentation units: the NAL header is replaced by the FU indicator/payload header and
    /// an FU header carrying the original type, start and end bits.
    fn fragment(&mut self, nal: &[u8], timestamp: u32, ends_unit: bool, out: &mut Vec<Bytes>) {
        let (fu_prefix, nal_type, body): (Vec<u8>, u8, &[u8]) = match self.codec {
            Codec::H264 => {
                let header = nal[0];
                (vec![(header & 0xe0) | H264_FU_A], header & 0x1f, &nal[1..])
            }
            Codec::H265 => {
                let (h0, h1) = (nal[0], nal[1]);
                // PayloadHdr: F and LayerId from the NAL unit, type 49, TID kept.
                (vec![(h0 & 0x81) | (H265_FU << 1), h1], (h0 >> 1) & 0x3f, &nal[2..])
            }
        };
        let chunk_bytes = self.max_payload_bytes - fu_prefix.len() - 1;
        let chunks: Vec<&[u8]> = body.chunks(chunk_bytes.max(1)).collect();
        let last = chunks.len().saturating_sub(1);
        for (i, chunk) in chunks.into_iter().enumerate() {
            let start_end = if i == 0 { 0x80 } else { 0 } | if i == last { 0x40 } else { 0 };
            let marker = ends_unit && i == last;
            let mut packet = self.start_packet(timestamp, marker, fu_prefix.len() + 1 + chunk.len());
            packet.put_slice(&fu_prefix);
            packet.put_u8(start_end | nal_type);
            packet.put_slice(chunk);
            out.push(packet.freeze());
        }
    }
}

#[cfg(test)]
#[path = "packetizer_tests.rs"]
mod tests;
