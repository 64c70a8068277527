//! [`RtpPacket`]: the RTP fixed header (RFC 3550 §5.1) read from one packet, the payload left
//! as a slice of the packet's bytes.
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//! |V=2|P|X|  CC   |M|     PT      |       sequence number         |
//! |                           timestamp                           |
//! |           synchronization source (SSRC) identifier            |
//! |            contributing source (CSRC) identifiers (CC×)       |
//! | [header extension: profile (16), length in 32-bit words (16)] |
//! | payload ...                     [padding ..., padding count]  |
//! ```

use std::fmt;

use bytes::Bytes;

use super::RtpError;

const FIXED_HEADER_LEN: usize = 12;

/// One RTP packet. CSRCs and the header extension are skipped, padding is removed.
#[derive(Clone, PartialEq, Eq)]
pub struct RtpPacket {
    /// For video: the last packet of an access unit (RFC 6184 §5.1, RFC 7798 §4.1).
    pub marker: bool,
    pub payload_type: u8,
    pub sequence_number: u16,
    /// Media clock ticks (90 kHz for video); the presentation time of the access unit.
    pub timestamp: u32,
    pub ssrc: u32,
    /// The payload: a slice of the parsed bytes, never empty.
    pub payload: Bytes,
}

impl RtpPacket {
    /// Reads one packet (the whole datagram, or one RFC 2326 §10.12 / RFC 4571 frame).
    /// Every length is checked against the bytes that hold it before anything is sliced.
    pub fn parse(data: Bytes) -> Result<RtpPacket, RtpError> {
        let len_bytes = data.len();
        if len_bytes < FIXED_HEADER_LEN {
            return Err(RtpError::TruncatedHeader { len_bytes });
        }
        let seq = u16::from_be_bytes([data[2], data[3]]);
        let version = data[0] >> 6;
        if version != 2 {
            return Err(RtpError::BadVersion { seq, version });
        }
        let has_padding = data[0] & 0x20 != 0;
        let has_extension = data[0] & 0x10 != 0;
        let csrc_count = data[0] & 0x0f;
        let mut header_len = FIXED_HEADER_LEN + 4 * usize::from(csrc_count);
        if header_len > len_bytes {
            return Err(RtpError::CsrcBeyondData { seq, csrc_count, needed_bytes: header_len, len_bytes });
        }
        if has_extension {
            // RFC 3550 §5.3.1: 16-bit profile, 16-bit length in 32-bit words after these four bytes.
            let Some(ext) = data.get(header_len..header_len + 4) else {
                return Err(RtpError::ExtensionBeyondData { seq, needed_bytes: header_len + 4, len_bytes });
            };
            let words = usize::from(u16::from_be_bytes([ext[2], ext[3]]));
            header_len += 4 + 4 * words;
            if header_len > len_bytes {
                return Err(RtpError::ExtensionBeyondData { seq, needed_bytes: header_len, len_bytes });
            }
        }
        let mut end = len_bytes;
        if has_padding {
            // The last byte counts the padding bytes, itself included.
            let padding_bytes = data[len_bytes - 1];
            let available_bytes = len_bytes - header_len;
            if padding_bytes == 0 || usize::from(padding_bytes) > available_bytes {
                return Err(RtpError::BadPadding { seq, padding_bytes, available_bytes });
            }
            end -= usize::from(padding_bytes);
        }
        if end == header_len {
            return Err(RtpError::EmptyPayload { seq });
        }
        Ok(RtpPacket {
            marker: data[1] & 0x80 != 0,
            payload_type: data[1] & 0x7f,
            sequence_number: seq,
            timestamp: u32::from_be_bytes([data[4], data[5], data[6], data[7]]),
            ssrc: u32::from_be_bytes([data[8], data[9], data[10], data[11]]),
            payload: data.slice(header_len..end),
        })
    }
}

/// Shows the payload's length, not its bytes.
impl fmt::Debug for RtpPacket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RtpPacket")
            .field("marker", &self.marker)
            .field("payload_type", &self.payload_type)
            .field("sequence_number", &self.sequence_number)
            .field("timestamp", &self.timestamp)
            .field("ssrc", &format_args!("{:#010x}", self.ssrc))
            .field("payload_len", &self.payload.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// V=2, PT 96, seq 0x1234, ts 0x01020304, SSRC 0xdeadbeef; `first` and `second` override
    /// the first two bytes.
    fn header(first: u8, second: u8) -> Vec<u8> {
        vec![first, second, 0x12, 0x34, 1, 2, 3, 4, 0xde, 0xad, 0xbe, 0xef]
    }

    #[test]
    fn fixed_header_fields_and_payload_is_a_slice_of_the_input() {
        let mut data = header(0x80, 0x80 | 96);
        data.extend_from_slice(&[0x65, 1, 2]);
        let data = Bytes::from(data);
        let p = RtpPacket::parse(data.clone()).unwrap();
        assert!(p.marker);
        assert_eq!((p.payload_type, p.sequence_number, p.timestamp, p.ssrc), (96, 0x1234, 0x0102_0304, 0xdead_beef));
        assert_eq!(&p.payload[..], &[0x65, 1, 2]);
        assert_eq!(p.payload.as_ptr(), data[12..].as_ptr(), "no copy");
    }

    #[test]
    fn csrcs_extension_and_padding_are_skipped() {
        // CC=2, X=1, P=1: two CSRCs, a one-word extension, payload, three padding bytes.
        let mut data = header(0x80 | 0x20 | 0x10 | 2, 96);
        data.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 2]);
        data.extend_from_slice(&[0xbe, 0xde, 0, 1, 0x10, 0xff, 0, 0]);
        data.extend_from_slice(&[0x41, 9, 9, 0, 0, 3]);
        let p = RtpPacket::parse(Bytes::from(data)).unwrap();
        assert_eq!(&p.payload[..], &[0x41, 9, 9]);
    }

    #[test]
    fn eleven_bytes_is_a_truncated_header() {
        let e = RtpPacket::parse(Bytes::from(vec![0x80; 11])).unwrap_err();
        assert_eq!(e, RtpError::TruncatedHeader { len_bytes: 11 });
        assert_eq!(e.to_string(), "rtp packet of 11 bytes: shorter than the 12-byte fixed header");
    }

    #[test]
    fn version_one_is_rejected() {
        let e = RtpPacket::parse(Bytes::from([header(0x40, 96), vec![1]].concat())).unwrap_err();
        assert_eq!(e, RtpError::BadVersion { seq: 0x1234, version: 1 });
    }

    #[test]
    fn csrc_count_beyond_the_data() {
        let e = RtpPacket::parse(Bytes::from([header(0x8f, 96), vec![0; 8]].concat())).unwrap_err();
        assert_eq!(e, RtpError::CsrcBeyondData { seq: 0x1234, csrc_count: 15, needed_bytes: 72, len_bytes: 20 });
        assert!(e.to_string().starts_with("rtp packet seq 4660: CSRC count 15"), "{e}");
    }

    #[test]
    fn extension_header_or_length_beyond_the_data() {
        let e = RtpPacket::parse(Bytes::from([header(0x90, 96), vec![0xbe, 0xde]].concat())).unwrap_err();
        assert_eq!(e, RtpError::ExtensionBeyondData { seq: 0x1234, needed_bytes: 16, len_bytes: 14 });
        let e =
            RtpPacket::parse(Bytes::from([header(0x90, 96), vec![0xbe, 0xde, 0xff, 0xff, 1]].concat())).unwrap_err();
        assert_eq!(e, RtpError::ExtensionBeyondData { seq: 0x1234, needed_bytes: 16 + 4 * 0xffff, len_bytes: 17 });
    }

    #[test]
    fn padding_longer_than_the_payload_or_zero() {
        let e = RtpPacket::parse(Bytes::from([header(0xa0, 96), vec![1, 2, 4]].concat())).unwrap_err();
        assert_eq!(e, RtpError::BadPadding { seq: 0x1234, padding_bytes: 4, available_bytes: 3 });
        let e = RtpPacket::parse(Bytes::from([header(0xa0, 96), vec![1, 2, 0]].concat())).unwrap_err();
        assert_eq!(e, RtpError::BadPadding { seq: 0x1234, padding_bytes: 0, available_bytes: 3 });
    }

    #[test]
    fn zero_length_payload_bare_or_after_padding() {
        let e = RtpPacket::parse(Bytes::from(header(0x80, 96))).unwrap_err();
        assert_eq!(e, RtpError::EmptyPayload { seq: 0x1234 });
        let e = RtpPacket::parse(Bytes::from([header(0xa0, 96), vec![0, 0, 3]].concat())).unwrap_err();
        assert_eq!(e, RtpError::EmptyPayload { seq: 0x1234 });
    }
}
