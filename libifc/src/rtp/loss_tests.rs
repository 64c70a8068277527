//! Loss, reordering, duplication, wraps and restarts, made by editing the real packet
//! sequences of the fixtures: each test says which unit must go and what the next one reports.

use bytes::{Bytes, BytesMut};

use super::test_support::{depacketize, summary, Fixture, Run, ALL, H264_FU_A, H264_STAP_A, H265_AP, H265_FU};
use super::{AccessUnitRtp, RtpError, RtpPacket};
use crate::codec::{Codec, NalKind};

/// The fixture's packets and the units they make untouched.
fn clean(f: Fixture) -> (Vec<RtpPacket>, Vec<AccessUnitRtp>) {
    let (_, packets) = f.packets();
    let run = depacketize(f.codec, packets.clone());
    assert_eq!(run.units.len(), f.pictures);
    (packets, run.units)
}

/// The unit each packet belongs to (gstreamer sets the marker on each unit's last packet).
fn unit_of(packets: &[RtpPacket]) -> Vec<usize> {
    let mut unit = 0;
    packets
        .iter()
        .map(|p| {
            let this = unit;
            unit += usize::from(p.marker);
            this
        })
        .collect()
}

/// Is this packet a fragment, and does it start or end its NAL unit?
fn fragment_bits(codec: Codec, p: &RtpPacket) -> Option<(bool, bool)> {
    let fu_header = match codec {
        Codec::H264 if p.payload[0] & 0x1f == 28 => p.payload[1],
        Codec::H265 if (p.payload[0] >> 1) & 0x3f == 49 => p.payload[2],
        _ => return None,
    };
    Some((fu_header & 0x80 != 0, fu_header & 0x40 != 0))
}

fn assert_same_units(got: &[AccessUnitRtp], want: &[AccessUnitRtp]) {
    assert_eq!(got.len(), want.len(), "unit count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let fields =
            |u: &AccessUnitRtp| (u.rtp_timestamp, u.timestamp, u.random_access, u.loss_before, u.dropped_before);
        assert_eq!(fields(g), fields(w), "unit {i}: (rtp_timestamp, timestamp, random_access, loss, dropped)");
        assert!(g.nals == w.nals, "unit {i}: {:?} != {:?}", summary(&g.nals), summary(&w.nals));
    }
}

/// The clean units without unit `lost`, the one after it reporting `loss` and `dropped`.
fn without_unit(units: &[AccessUnitRtp], lost: usize, loss: u64, dropped: u64) -> Vec<AccessUnitRtp> {
    let mut want = units.to_vec();
    want.remove(lost);
    want[lost].loss_before = loss;
    want[lost].dropped_before = dropped;
    want
}

/// The first packet from unit 5 on that `pick` accepts.
/// Returns the packet's index and its unit's.
fn find(packets: &[RtpPacket], pick: impl Fn(usize) -> bool) -> (usize, usize) {
    let units = unit_of(packets);
    let k = (0..packets.len()).find(|&k| units[k] >= 5 && pick(k)).expect("a packet to pick");
    (k, units[k])
}

fn run_without(f: Fixture, packets: &[RtpPacket], drop: impl Fn(usize) -> bool) -> Run {
    depacketize(f.codec, packets.iter().enumerate().filter(|(k, _)| !drop(*k)).map(|(_, p)| p.clone()))
}

fn assert_lost_fu_middle_drops_its_picture_only(f: Fixture) {
    let (packets, units) = clean(f);
    let (k, j) = find(&packets, |k| fragment_bits(f.codec, &packets[k]) == Some((false, false)));
    let run = run_without(f, &packets, |i| i == k);
    assert_same_units(&run.units, &without_unit(&units, j, 1, 1));
    let s = run.stats;
    assert_eq!((s.lost_packets, s.units_dropped, s.fragments_dropped), (1, 1, 1));
}

#[test]
fn h264_lost_fu_a_middle_fragment_drops_its_picture_only() {
    assert_lost_fu_middle_drops_its_picture_only(H264_FU_A);
}

#[test]
fn h265_lost_fu_middle_fragment_drops_its_picture_only() {
    assert_lost_fu_middle_drops_its_picture_only(H265_FU);
}

#[test]
fn h264_lost_stap_a_opening_a_picture_drops_it_for_want_of_its_first_slice() {
    let f = H264_STAP_A;
    let (packets, units) = clean(f);
    let opens_unit = |k: usize| k > 0 && packets[k - 1].marker && !packets[k].marker;
    let (k, j) = find(&packets, |k| opens_unit(k) && packets[k].payload[0] & 0x1f == 24);
    let run = run_without(f, &packets, |i| i == k);
    assert_same_units(&run.units, &without_unit(&units, j, 1, 1));
    assert_eq!((run.stats.lost_packets, run.stats.units_dropped, run.stats.fragments_dropped), (1, 1, 0));
}

#[test]
fn h264_lost_one_packet_picture_leaves_the_next_picture_whole() {
    let f = H264_STAP_A;
    let (packets, units) = clean(f);
    let (k, j) = find(&packets, |k| packets[k - 1].marker && packets[k].marker);
    let run = run_without(f, &packets, |i| i == k);
    assert_same_units(&run.units, &without_unit(&units, j, 1, 0));
    assert_eq!((run.stats.lost_packets, run.stats.units_dropped), (1, 0));
}

#[test]
fn h264_lost_whole_picture_of_several_packets_counts_every_packet() {
    let f = H264_FU_A;
    let (packets, units) = clean(f);
    let of = unit_of(&packets);
    let j = 7;
    let lost = of.iter().filter(|&&u| u == j).count();
    assert!(lost >= 2);
    let run = run_without(f, &packets, |i| of[i] == j);
    assert_same_units(&run.units, &without_unit(&units, j, lost as u64, 0));
}

#[test]
fn h265_lost_ap_of_parameter_sets_still_yields_the_cra_picture() {
    let f = H265_AP;
    let (packets, units) = clean(f);
    let (k, j) = find(&packets, |k| (packets[k].payload[0] >> 1) & 0x3f == 48);
    let run = run_without(f, &packets, |i| i == k);
    // Nothing but the parameter sets was lost: the CRA picture is whole, marked after a loss.
    let mut want = units.clone();
    want[j].nals.retain(|n| !f.codec.classify(n).is_some_and(NalKind::is_parameter_set));
    want[j].loss_before = 1;
    assert!(want[j].random_access);
    assert_same_units(&run.units, &want);
}

#[test]
fn reordered_packets_count_as_a_gap_then_a_late_packet() {
    let f = H264_FU_A;
    let (mut packets, units) = clean(f);
    let (k, j) = find(&packets, |k| fragment_bits(f.codec, &packets[k]) == Some((false, false)));
    packets.swap(k, k + 1);
    let run = depacketize(f.codec, packets);
    assert_same_units(&run.units, &without_unit(&units, j, 1, 1));
    assert_eq!((run.stats.lost_packets, run.stats.late_or_duplicate_packets), (1, 1));
}

#[test]
fn duplicated_packets_are_dropped_and_change_nothing() {
    for f in ALL {
        let (packets, units) = clean(f);
        let doubled: Vec<_> =
            packets.iter().enumerate().flat_map(|(k, p)| vec![p.clone(); 1 + usize::from(k % 7 == 3)]).collect();
        let extra = doubled.len() - packets.len();
        let run = depacketize(f.codec, doubled);
        assert_same_units(&run.units, &units);
        assert_eq!(run.stats.late_or_duplicate_packets, extra as u64, "{}", f.rtp);
    }
}

#[test]
fn sequence_numbers_from_65530_wrap_to_identical_units() {
    for f in ALL {
        let (mut packets, units) = clean(f);
        for (k, p) in packets.iter_mut().enumerate() {
            p.sequence_number = 65_530u16.wrapping_add(k as u16);
        }
        let run = depacketize(f.codec, packets);
        assert_same_units(&run.units, &units);
        assert_eq!((run.stats.lost_packets, run.stats.restarts), (0, 0));
    }
}

#[test]
fn timestamps_near_u32_max_keep_counting_up_across_the_wrap() {
    for f in ALL {
        let (mut packets, units) = clean(f);
        let shift = (u32::MAX - 10_000).wrapping_sub(packets[0].timestamp);
        for p in &mut packets {
            p.timestamp = p.timestamp.wrapping_add(shift);
        }
        let run = depacketize(f.codec, packets);
        assert!(run.units.iter().any(|u| u.rtp_timestamp < 10_000), "{}: the wrap happens", f.rtp);
        let first = i64::from(u32::MAX - 10_000);
        for (got, want) in run.units.iter().zip(&units) {
            assert_eq!(got.timestamp - first, want.timestamp - units[0].timestamp, "{}", f.rtp);
        }
    }
}

#[test]
fn missing_marker_bits_end_units_at_the_next_timestamp() {
    for f in ALL {
        let (mut packets, units) = clean(f);
        for p in &mut packets {
            p.marker = false;
        }
        let run = depacketize(f.codec, packets.clone());
        assert_same_units(&run.units, &units);
        let mut d = super::Depacketizer::new(f.codec);
        for p in packets {
            d.push(p).unwrap();
        }
        assert_eq!(d.stats().access_units, f.pictures as u64 - 1, "the last unit waits for flush");
    }
}

#[test]
fn parameter_sets_with_their_own_timestamp_go_in_front_of_the_next_picture() {
    let f = H264_FU_A;
    let (mut packets, units) = clean(f);
    let mut moved = 0;
    for p in &mut packets {
        if matches!(f.codec.classify(&p.payload), Some(NalKind::Sps | NalKind::Pps)) {
            p.timestamp = p.timestamp.wrapping_sub(1);
            moved += 1;
        }
    }
    assert_eq!(moved, 4);
    assert_same_units(&depacketize(f.codec, packets).units, &units);
}

#[test]
fn ssrc_change_at_a_picture_restarts_numbering_and_reports_one_loss() {
    let f = H264_FU_A;
    let (mut packets, units) = clean(f);
    let of = unit_of(&packets);
    for (k, p) in packets.iter_mut().enumerate().filter(|(k, _)| of[*k] >= 10) {
        p.ssrc = 0x5eed;
        p.sequence_number = 40_000 + k as u16;
    }
    let run = depacketize(f.codec, packets);
    let mut want = units.clone();
    want[10].loss_before = 1;
    assert_same_units(&run.units, &want);
    assert_eq!((run.stats.ssrc_changes, run.stats.lost_packets), (1, 0));
}

#[test]
fn sequence_jump_beyond_max_dropout_is_a_restart_not_a_loss_of_thousands() {
    let f = H265_FU;
    let (mut packets, units) = clean(f);
    let of = unit_of(&packets);
    for (p, _) in packets.iter_mut().zip(&of).filter(|(_, &u)| u >= 10) {
        p.sequence_number = p.sequence_number.wrapping_add(super::MAX_DROPOUT + 2000);
    }
    let run = depacketize(f.codec, packets);
    let mut want = units.clone();
    want[10].loss_before = 1;
    assert_same_units(&run.units, &want);
    assert_eq!((run.stats.restarts, run.stats.lost_packets), (1, 0));
}

#[test]
fn joining_mid_picture_drops_the_partial_first_unit() {
    let f = H265_FU;
    let (packets, units) = clean(f);
    let k = (0..packets.len()).find(|&k| fragment_bits(f.codec, &packets[k]) == Some((false, false))).unwrap();
    let run = depacketize(f.codec, packets[k..].iter().cloned());
    let want = without_unit(&units, 0, 0, 1);
    assert_same_units(&run.units, &want);
    assert_eq!((run.stats.fragments_dropped, run.stats.units_dropped), (1, 1));
}

/// Rewrites one packet's payload byte (the payload is shared: copy it first).
fn with_payload_byte(p: &RtpPacket, at: usize, value: u8) -> RtpPacket {
    let mut payload = BytesMut::from(&p.payload[..]);
    payload[at] = value;
    RtpPacket { payload: Bytes::from(payload), ..p.clone() }
}

#[test]
fn fu_a_with_start_and_end_set_mid_picture_is_refused_and_drops_the_picture() {
    let f = H264_FU_A;
    let (mut packets, units) = clean(f);
    let (k, j) = find(&packets, |k| fragment_bits(f.codec, &packets[k]) == Some((false, false)));
    packets[k] = with_payload_byte(&packets[k], 1, packets[k].payload[1] | 0xc0);
    let seq = packets[k].sequence_number;
    let run = depacketize(f.codec, packets);
    assert_eq!(run.errors.len(), 1);
    assert_eq!(run.errors[0].to_string(), format!("rtp packet seq {seq}: FU-A with start and end bits both set"));
    assert_same_units(&run.units, &without_unit(&units, j, 1, 1));
    assert_eq!((run.stats.malformed_packets, run.stats.units_dropped), (1, 1));
}

#[test]
fn fu_b_from_an_interleaved_sender_is_unsupported_and_drops_the_picture() {
    let f = H264_FU_A;
    let (mut packets, units) = clean(f);
    let (k, j) = find(&packets, |k| fragment_bits(f.codec, &packets[k]) == Some((false, false)));
    packets[k] = with_payload_byte(&packets[k], 0, (packets[k].payload[0] & 0xe0) | 29);
    let run = depacketize(f.codec, packets);
    assert!(matches!(&run.errors[..], [RtpError::Unsupported { what, .. }] if what.starts_with("FU-B")));
    assert_same_units(&run.units, &without_unit(&units, j, 1, 1));
    assert_eq!(run.stats.unsupported_packets, 1);
}
