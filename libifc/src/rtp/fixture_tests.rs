//! The depacketizer on real packetizer output (GStreamer's rtph264pay / rtph265pay, see
//! `scripts/make-rtp-fixtures.sh`): the access units must be the source stream's pictures.

use std::collections::HashSet;

use bytes::Bytes;

use super::payload::Payload;
use super::test_support::{
    depacketize, other_nals, read_testdata, slices, summary, Fixture, H264_BPYRAMID_WRAP, H264_FU_A, H264_STAP_A,
    H265_AP, H265_FU,
};
use super::{DepacketizerStats, RtpPacket};
use crate::codec::nal::AnnexBNals;
use crate::codec::{Codec, NalKind};

/// Packets that start a fragmented NAL unit: the reassembled units, the only ones copied.
fn fragment_starts(codec: Codec, packets: &[RtpPacket]) -> usize {
    packets
        .iter()
        .filter(|p| match codec {
            Codec::H264 => p.payload[0] & 0x1f == 28 && p.payload[1] & 0x80 != 0,
            Codec::H265 => (p.payload[0] >> 1) & 0x3f == 49 && p.payload[2] & 0x80 != 0,
        })
        .count()
}

fn lies_in(nal: &Bytes, data: &Bytes) -> bool {
    let (start, end) = (data.as_ptr() as usize, data.as_ptr() as usize + data.len());
    (start..end).contains(&(nal.as_ptr() as usize))
}

/// What [`assert_rebuilds_source`] saw.
struct Rebuilt {
    stats: DepacketizerStats,
    /// The units' timestamps in arrival (decode) order.
    timestamps: Vec<i64>,
    /// SEI NAL units of the source that the packets lack.
    dropped_sei: usize,
    /// Random-access units.
    random_access: usize,
}

/// Why the H.265 packets lack an SEI of the raw file at each IRAP.
const HVCC_SEI: &str = "x265's SEI sits in the MP4's hvcC record, which hevc_mp4toannexb copies in front of \
    every IRAP of the raw file; the MP4 samples that h265parse sent do not hold it";

/// Depacketizes the fixture and checks it against its source.
fn assert_rebuilds_source(f: Fixture) -> Rebuilt {
    let (data, packets) = f.packets();
    let copied = fragment_starts(f.codec, &packets);
    let first_rtp_timestamp = packets[0].timestamp;
    let packet_count = packets.len() as u64;
    let run = depacketize(f.codec, packets);
    assert!(run.errors.is_empty(), "{}: {:?}", f.rtp, run.errors);
    assert_eq!(run.units.len(), f.pictures, "{}: one unit per picture", f.rtp);

    let file_parameter_sets: HashSet<Bytes> = {
        let file = read_testdata(f.source);
        AnnexBNals::new(&file)
            .filter(|(_, n)| f.codec.classify(n).is_some_and(NalKind::is_parameter_set))
            .map(|(_, n)| Bytes::copy_from_slice(n))
            .collect()
    };
    let source = f.source_units();
    let (mut in_buffer, mut total, mut dropped_sei) = (0, 0, 0);
    for (i, (unit, src)) in run.units.iter().zip(&source).enumerate() {
        let (got, want) = (slices(f.codec, &unit.nals), slices(f.codec, &src.nals));
        assert!(got == want, "{} picture {i}: slices {:?} != {:?}", f.rtp, summary(&got), summary(&want));
        let (got, want) = (other_nals(f.codec, &unit.nals), other_nals(f.codec, &src.nals));
        assert!(got.iter().all(|n| want.contains(n)), "{} picture {i}: SEI not in the source", f.rtp);
        dropped_sei += want.len() - got.len();
        assert_eq!(unit.random_access, src.random_access, "{} picture {i}", f.rtp);
        assert_eq!((unit.loss_before, unit.dropped_before), (0, 0), "{} picture {i}", f.rtp);
        let kinds: Vec<_> = unit.nals.iter().filter_map(|n| f.codec.classify(n)).collect();
        for n in unit.nals.iter().filter(|n| f.codec.classify(n).is_some_and(NalKind::is_parameter_set)) {
            assert!(file_parameter_sets.contains(n), "{} picture {i}: parameter set not in the file", f.rtp);
        }
        if unit.random_access {
            // config-interval=-1: parameter sets in front of every random-access picture.
            assert!(kinds.contains(&NalKind::Sps) && kinds.contains(&NalKind::Pps), "{} picture {i}", f.rtp);
            assert_eq!(kinds.contains(&NalKind::Vps), f.codec == Codec::H265, "{} picture {i}", f.rtp);
        }
        in_buffer += unit.nals.iter().filter(|n| lies_in(n, &data)).count();
        total += unit.nals.len();
    }
    assert!(source.iter().filter(|u| u.random_access).count() >= 2, "{}: more than one GOP", f.source);
    assert_eq!(total - in_buffer, copied, "{}: only fragmented NAL units are copied", f.rtp);

    assert_eq!(run.units[0].timestamp, i64::from(first_rtp_timestamp));
    let timestamps: Vec<i64> = run.units.iter().map(|u| u.timestamp).collect();
    let mut presentation = timestamps.clone();
    presentation.sort_unstable();
    for w in presentation.windows(2) {
        assert_eq!(w[1] - w[0], 3600, "{}: 25 fps at 90 kHz in presentation order", f.rtp);
    }

    let s = run.stats.clone();
    assert_eq!(s.packets, packet_count);
    assert_eq!(s.access_units, f.pictures as u64);
    assert_eq!(
        (s.lost_packets, s.late_or_duplicate_packets, s.units_dropped, s.fragments_dropped, s.malformed_packets),
        (0, 0, 0, 0, 0)
    );
    let random_access = run.units.iter().filter(|u| u.random_access).count();
    Rebuilt { stats: run.stats, timestamps, dropped_sei, random_access }
}

fn packet_mix(s: &DepacketizerStats) -> (u64, u64, u64) {
    (s.single_nal_packets, s.aggregation_packets, s.fragmentation_packets)
}

#[test]
fn h264_fu_a_at_mtu_400_rebuilds_every_picture_of_the_source() {
    let r = assert_rebuilds_source(H264_FU_A);
    assert_eq!(packet_mix(&r.stats), (4, 0, 213), "SPS and PPS single, everything else FU-A");
    assert_eq!(r.dropped_sei, 0, "x264's SEI is in the first sample");
    // Two B pictures: decode order I P B B, presentation I B B P.
    assert_eq!(r.timestamps[..4], [0, 10_800, 3600, 7200]);
}

#[test]
fn h264_stap_a_carries_several_slices_of_a_picture_in_one_packet() {
    let r = assert_rebuilds_source(H264_STAP_A);
    assert_eq!(packet_mix(&r.stats), (15, 57, 8));
    let (_, packets) = H264_STAP_A.packets();
    // Slices per STAP-A: small pictures travel whole (four slices) in one packet.
    let slices_per_stap: Vec<usize> = packets
        .iter()
        .filter_map(|p| match Payload::parse(Codec::H264, p) {
            Ok(Payload::Aggregation(nals)) => {
                Some(nals.iter().filter(|n| Codec::H264.classify(n).is_some_and(NalKind::is_vcl)).count())
            }
            _ => None,
        })
        .collect();
    assert_eq!(slices_per_stap.len(), 57);
    assert!(slices_per_stap.contains(&4), "{slices_per_stap:?}");
    assert!(slices_per_stap.iter().filter(|&&n| n >= 2).count() > 40, "{slices_per_stap:?}");
}

#[test]
fn h264_b_pyramid_with_sequence_and_timestamp_wraps_in_the_packetizer_output() {
    let r = assert_rebuilds_source(H264_BPYRAMID_WRAP);
    assert_eq!(packet_mix(&r.stats), (0, 2, 175), "zero-latency: SPS+PPS in a STAP-A at each IDR");
    let timestamps = r.timestamps;
    let (_, packets) = H264_BPYRAMID_WRAP.packets();
    assert_eq!(packets[0].sequence_number, 65_500);
    assert!(packets.iter().any(|p| p.sequence_number < 100), "sequence numbers wrap");
    let first = i64::from(packets[0].timestamp);
    assert!(timestamps.iter().any(|&t| t > i64::from(u32::MAX)), "timestamps wrap");
    assert_eq!(*timestamps.iter().max().unwrap(), first + 59 * 3600);
}

#[test]
fn h265_fu_at_mtu_400_rebuilds_every_picture_of_the_source() {
    let r = assert_rebuilds_source(H265_FU);
    assert_eq!(packet_mix(&r.stats), (12, 0, 156), "VPS, SPS, PPS single at each IDR, slices in FUs");
    assert_eq!(r.dropped_sei, r.random_access, "{HVCC_SEI}");
}

#[test]
fn h265_ap_carries_the_parameter_sets_before_every_cra() {
    let r = assert_rebuilds_source(H265_AP);
    assert_eq!(packet_mix(&r.stats), (58, 4, 41));
    assert_eq!(r.dropped_sei, r.random_access, "{HVCC_SEI}");
}
