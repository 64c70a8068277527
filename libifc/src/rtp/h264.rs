//! The H.264 RTP payload format, RFC 6184, in non-interleaved mode (`packetization-mode` 0 or
//! 1, what RTSP cameras send): single NAL unit packets (types 1–23, §5.6), STAP-A (24,
//! §5.7.1) and FU-A (28, §5.8). STAP-B, MTAP16, MTAP24 and FU-B exist only in interleaved
//! mode (§5.2, table 3) and are refused as unsupported.

use super::payload::{split_aggregation, Fragment, NalHeader, Payload};
use super::{RtpError, RtpPacket};

const STAP_A: u8 = 24;
const FU_A: u8 = 28;

pub(super) fn parse_payload(packet: &RtpPacket) -> Result<Payload, RtpError> {
    let seq = packet.sequence_number;
    let data = &packet.payload;
    let Some(&first) = data.first() else {
        return Err(RtpError::EmptyPayload { seq });
    };
    match first & 0x1f {
        1..=23 => Ok(Payload::Single(data.clone())),
        STAP_A => split_aggregation(seq, "STAP-A", data.slice(1..), 1, aggregatable).map(Payload::Aggregation),
        FU_A => fu_a(seq, data),
        t @ 25..=27 | t @ 29 => {
            let name = match t {
                25 => "STAP-B",
                26 => "MTAP16",
                27 => "MTAP24",
                _ => "FU-B",
            };
            Err(RtpError::Unsupported { seq, what: format!("{name} (interleaved packetization mode)") })
        }
        t => Err(RtpError::Unsupported { seq, what: format!("reserved NAL unit type {t}") }),
    }
}

/// A STAP-A carries NAL units, not other packets (§5.7).
fn aggregatable(nal: &[u8]) -> Result<(), String> {
    match nal[0] & 0x1f {
        1..=23 => Ok(()),
        t => Err(format!("NAL unit type {t} cannot be aggregated")),
    }
}

/// FU indicator (F, NRI, type 28), FU header (S, E, R, type), fragment (§5.8).
fn fu_a(seq: u16, data: &bytes::Bytes) -> Result<Payload, RtpError> {
    let malformed = |reason: String| RtpError::Malformed { seq, reason };
    let [indicator, header, ..] = data[..] else {
        return Err(malformed("FU-A of 1 byte: no FU header".to_owned()));
    };
    let start = header & 0x80 != 0;
    let end = header & 0x40 != 0;
    if start && end {
        return Err(malformed("FU-A with start and end bits both set".to_owned()));
    }
    let nal_type = header & 0x1f;
    if !(1..=23).contains(&nal_type) {
        return Err(malformed(format!("FU-A fragments NAL unit type {nal_type}")));
    }
    Ok(Payload::Fragment(Fragment {
        // F and NRI come from the FU indicator, the type from the FU header.
        nal_header: NalHeader::h264((indicator & 0xe0) | nal_type),
        start,
        end,
        data: data.slice(2..),
    }))
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    fn packet(payload: &[u8]) -> RtpPacket {
        RtpPacket {
            marker: false,
            payload_type: 96,
            sequence_number: 1234,
            timestamp: 0,
            ssrc: 1,
            payload: Bytes::copy_from_slice(payload),
        }
    }

    #[test]
    fn stap_a_units_are_slices_of_the_payload() {
        let p = packet(&[0x78, 0, 2, 0x67, 1, 0, 1, 0x68]);
        let Payload::Aggregation(nals) = parse_payload(&p).unwrap() else { panic!("not an aggregation") };
        assert_eq!(nals, vec![Bytes::from_static(&[0x67, 1]), Bytes::from_static(&[0x68])]);
        assert_eq!(nals[0].as_ptr(), p.payload[3..].as_ptr());
    }

    #[test]
    fn stap_a_size_past_the_end_or_a_dangling_byte() {
        let e = parse_payload(&packet(&[0x78, 0, 9, 0x67])).unwrap_err();
        assert_eq!(e.to_string(), "rtp packet seq 1234: STAP-A unit 0: size 9 runs past the 1 bytes left");
        let e = parse_payload(&packet(&[0x78, 0, 1, 0x67, 0])).unwrap_err();
        assert_eq!(e.to_string(), "rtp packet seq 1234: STAP-A unit 1: 1 byte left, a size needs 2");
        let e = parse_payload(&packet(&[0x78])).unwrap_err();
        assert_eq!(e.to_string(), "rtp packet seq 1234: STAP-A without aggregation units");
    }

    #[test]
    fn stap_a_holding_a_fu_a_is_malformed() {
        let e = parse_payload(&packet(&[0x78, 0, 2, 0x7c, 0x85])).unwrap_err();
        assert_eq!(e.to_string(), "rtp packet seq 1234: STAP-A unit 0: NAL unit type 28 cannot be aggregated");
    }

    #[test]
    fn fu_a_header_takes_f_and_nri_from_the_indicator_and_type_from_the_fu_header() {
        let Payload::Fragment(f) = parse_payload(&packet(&[0x7c, 0x85, 0xb8, 1])).unwrap() else { panic!() };
        assert_eq!(f.nal_header.as_slice(), &[0x65]);
        assert!(f.start && !f.end);
        assert_eq!(&f.data[..], &[0xb8, 1]);
    }

    #[test]
    fn fu_a_with_start_and_end_bits_both_set() {
        let e = parse_payload(&packet(&[0x7c, 0xc5, 0xb8])).unwrap_err();
        assert_eq!(e.to_string(), "rtp packet seq 1234: FU-A with start and end bits both set");
        let e = parse_payload(&packet(&[0x7c])).unwrap_err();
        assert!(matches!(e, RtpError::Malformed { seq: 1234, .. }), "{e}");
    }

    #[test]
    fn interleaved_mode_types_are_unsupported() {
        for (t, name) in [(25, "STAP-B"), (26, "MTAP16"), (27, "MTAP24"), (29, "FU-B")] {
            let e = parse_payload(&packet(&[0x60 | t, 0, 0, 0])).unwrap_err();
            assert!(matches!(&e, RtpError::Unsupported { what, .. } if what.starts_with(name)), "{e}");
        }
        let e = parse_payload(&packet(&[0x00, 1])).unwrap_err();
        assert!(matches!(e, RtpError::Unsupported { .. }), "{e}");
    }
}
