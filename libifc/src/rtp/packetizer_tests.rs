//! The packetizer against the depacketizer and the RFCs' layouts: every fixture stream
//! packetized at several payload limits comes back as the same access units, and the packets
//! obey the size limit, the marker rule and sequence numbering.

use bytes::Bytes;

use super::super::test_support::{depacketize, read_testdata, summary};
use super::super::RtpPacket;
use super::*;
use crate::codec::{AccessUnitAssembler, Codec};

fn units(name: &str, codec: Codec) -> Vec<Vec<Bytes>> {
    let mut assembler = AccessUnitAssembler::new(codec);
    assert!(assembler.push_annex_b(read_testdata(name)).is_empty());
    assert!(assembler.flush().is_empty());
    std::iter::from_fn(|| assembler.pull()).map(|u| u.nals).collect()
}

#[test]
fn every_stream_comes_back_unit_for_unit_at_any_payload_limit() {
    let streams = [
        ("h264_main_320x240_25.h264", Codec::H264),
        ("h264_high_bpyramid_320x240_25.h264", Codec::H264),
        ("hevc_main_320x240_25.h265", Codec::H265),
        ("hevc_opengop_cra_320x240_25.h265", Codec::H265),
    ];
    for (name, codec) in streams {
        let source = units(name, codec);
        for max_payload in [MIN_PAYLOAD_BYTES, 100, 1400, 65_000] {
            let mut packetizer = Packetizer::new(codec, 96, 0x1234_5678, 65_530, max_payload);
            let mut packets = Vec::new();
            for (i, nals) in source.iter().enumerate() {
                let before = packets.len();
                packetizer.packetize(nals.iter().map(|n| &n[..]), (i as u32).wrapping_mul(3600), &mut packets);
                // Exactly one marker, on the unit's last packet.
                let markers: Vec<bool> = packets[before..].iter().map(|p| p[1] & 0x80 != 0).collect();
                assert_eq!(markers.iter().filter(|m| **m).count(), 1, "{name} unit {i}");
                assert!(markers.last().copied().unwrap_or(false), "{name} unit {i}: marker on the last packet");
            }
            assert_eq!(packetizer.packets(), packets.len() as u64);
            let parsed: Vec<RtpPacket> = packets.iter().map(|p| RtpPacket::parse(p.clone()).expect("a valid RTP packet")).collect();
            for (k, p) in parsed.iter().enumerate() {
                assert!(p.payload.len() <= max_payload, "{name}: payload {} over {max_payload}", p.payload.len());
                assert_eq!(p.sequence_number, 65_530u16.wrapping_add(k as u16), "{name}: sequence numbers wrap in order");
                assert_eq!((p.payload_type, p.ssrc), (96, 0x1234_5678));
            }
            let run = depacketize(codec, parsed);
            assert!(run.errors.is_empty(), "{name} at {max_payload}: {:?}", run.errors);
            let got: Vec<_> = run.units.iter().map(|u| summary(&u.nals)).collect();
            let want: Vec<_> = source.iter().map(|nals| summary(nals)).collect();
            assert_eq!(got, want, "{name} at {max_payload}: the same NAL units, unit for unit");
            assert!(run.units.iter().all(|u| !u.follows_loss()));
        }
    }
}

#[test]
fn fragments_follow_the_rfc_layouts() {
    // H.264: an IDR slice (nal_ref_idc 3, type 5) of 10 bytes at a 6-byte limit.
    let nal: Vec<u8> = [0x65].into_iter().chain(1..=9).collect();
    let mut out = Vec::new();
    Packetizer::new(Codec::H264, 96, 1, 0, 6).packetize([&nal[..]], 0, &mut out);
    let payloads: Vec<&[u8]> = out.iter().map(|p| &p[12..]).collect();
    // FU indicator: F=0, NRI=3, type 28 → 0x7c; FU header: S/E bits + type 5.
    assert_eq!(payloads, [&[0x7c, 0x85, 1, 2, 3, 4][..], &[0x7c, 0x05, 5, 6, 7, 8], &[0x7c, 0x45, 9]]);
    // H.265: an IDR_W_RADL (type 19, header 0x26 0x01) of 8 bytes at a 6-byte limit.
    let nal = [0x26, 0x01, 1, 2, 3, 4, 5, 6];
    let mut out = Vec::new();
    Packetizer::new(Codec::H265, 96, 1, 0, 6).packetize([&nal[..]], 0, &mut out);
    let payloads: Vec<&[u8]> = out.iter().map(|p| &p[12..]).collect();
    // PayloadHdr: type 49 → 0x62, TID 1; FU header: S/E + type 19.
    assert_eq!(payloads, [&[0x62, 0x01, 0x93, 1, 2, 3][..], &[0x62, 0x01, 0x53, 4, 5, 6]]);
    assert!(out[1][1] & 0x80 != 0 && out[0][1] & 0x80 == 0);
}
