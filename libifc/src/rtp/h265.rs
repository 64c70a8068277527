//! The H.265 RTP payload format, RFC 7798: single NAL unit packets (§4.4.1), aggregation
//! packets (type 48, §4.4.2) and fragmentation units (type 49, §4.4.3). PACI packets (type 50,
//! §4.4.4) are refused as unsupported.
//!
//! `sprop-max-don-diff` is assumed to be 0 (the default, and what single-stream senders use):
//! no DONL or DOND fields are present. A sender that signals a larger value in its SDP would
//! make aggregation units and first fragments parse wrongly; the RTSP client should refuse
//! such a stream.

use bytes::Bytes;

use super::payload::{split_aggregation, Fragment, NalHeader, Payload};
use super::{RtpError, RtpPacket};

const AP: u8 = 48;
const FU: u8 = 49;
const PACI: u8 = 50;

/// Type from the first byte of a payload header (same layout as the NAL unit header,
/// H.265 7.3.1.2: F(1) type(6) layer id(6) temporal id + 1(3)).
fn header_type(first: u8) -> u8 {
    (first >> 1) & 0x3f
}

pub(super) fn parse_payload(packet: &RtpPacket) -> Result<Payload, RtpError> {
    let seq = packet.sequence_number;
    let data = &packet.payload;
    let malformed = |reason: String| RtpError::Malformed { seq, reason };
    let [first, second, ..] = data[..] else {
        return Err(match data.len() {
            0 => RtpError::EmptyPayload { seq },
            n => malformed(format!("payload of {n} byte, shorter than the 2-byte payload header")),
        });
    };
    match header_type(first) {
        0..=47 => Ok(Payload::Single(data.clone())),
        AP => split_aggregation(seq, "AP", data.slice(2..), 2, aggregatable).map(Payload::Aggregation),
        FU => fu(seq, [first, second], data),
        PACI => Err(RtpError::Unsupported { seq, what: "PACI packet (type 50)".to_owned() }),
        t => Err(RtpError::Unsupported { seq, what: format!("unspecified payload type {t}") }),
    }
}

/// An AP carries NAL units, not other packets (§4.4.2).
fn aggregatable(nal: &[u8]) -> Result<(), String> {
    match header_type(nal[0]) {
        0..=47 => Ok(()),
        t => Err(format!("NAL unit type {t} cannot be aggregated")),
    }
}

/// Payload header (type 49), FU header (S, E, FuType), fragment (§4.4.3).
fn fu(seq: u16, payload_header: [u8; 2], data: &Bytes) -> Result<Payload, RtpError> {
    let malformed = |reason: String| RtpError::Malformed { seq, reason };
    let Some(&fu_header) = data.get(2) else {
        return Err(malformed("FU of 2 bytes: no FU header".to_owned()));
    };
    let start = fu_header & 0x80 != 0;
    let end = fu_header & 0x40 != 0;
    if start && end {
        return Err(malformed("FU with start and end bits both set".to_owned()));
    }
    let fu_type = fu_header & 0x3f;
    if fu_type > 47 {
        return Err(malformed(format!("FU fragments NAL unit type {fu_type}")));
    }
    // F, layer id and temporal id come from the payload header, the type from the FU header.
    let nal_header = NalHeader::h265([(payload_header[0] & 0x81) | (fu_type << 1), payload_header[1]]);
    Ok(Payload::Fragment(Fragment { nal_header, start, end, data: data.slice(3..) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn packet(payload: &[u8]) -> RtpPacket {
        RtpPacket {
            marker: false,
            payload_type: 96,
            sequence_number: 7,
            timestamp: 0,
            ssrc: 1,
            payload: Bytes::copy_from_slice(payload),
        }
    }

    #[test]
    fn ap_without_donl_yields_its_nal_units() {
        // VPS (type 32) and SPS (33) headers with one payload byte each.
        let p = packet(&[0x60, 0x01, 0, 3, 0x40, 0x01, 0xaa, 0, 3, 0x42, 0x01, 0xbb]);
        let Payload::Aggregation(nals) = parse_payload(&p).unwrap() else { panic!("not an aggregation") };
        assert_eq!(nals, vec![Bytes::from_static(&[0x40, 1, 0xaa]), Bytes::from_static(&[0x42, 1, 0xbb])]);
    }

    #[test]
    fn ap_unit_shorter_than_a_nal_header() {
        let e = parse_payload(&packet(&[0x60, 0x01, 0, 1, 0x40])).unwrap_err();
        assert_eq!(e.to_string(), "rtp packet seq 7: AP unit 0: NAL unit of 1 bytes, shorter than its header");
    }

    #[test]
    fn fu_header_keeps_layer_and_temporal_id_and_takes_the_type_from_the_fu_header() {
        // Payload header type 49, layer id 0, tid 1; FU header S=1, type 19 (IDR_W_RADL).
        let Payload::Fragment(f) = parse_payload(&packet(&[0x62, 0x01, 0x93, 0xaf])).unwrap() else { panic!() };
        assert_eq!(f.nal_header.as_slice(), &[0x26, 0x01]);
        assert!(f.start && !f.end);
        assert_eq!(&f.data[..], &[0xaf]);
    }

    #[test]
    fn fu_with_start_and_end_bits_both_set() {
        let e = parse_payload(&packet(&[0x62, 0x01, 0xd3, 0xaf])).unwrap_err();
        assert_eq!(e.to_string(), "rtp packet seq 7: FU with start and end bits both set");
    }

    #[test]
    fn one_byte_payload_and_paci_are_refused() {
        let e = parse_payload(&packet(&[0x02])).unwrap_err();
        assert!(matches!(e, RtpError::Malformed { seq: 7, .. }), "{e}");
        let e = parse_payload(&packet(&[0x64, 0x01, 0, 0])).unwrap_err();
        assert!(matches!(e, RtpError::Unsupported { seq: 7, .. }), "{e}");
    }
}
