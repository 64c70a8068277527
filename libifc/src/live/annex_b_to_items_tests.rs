//! [`AnnexBToItems`] on the committed clips' access units, re-framed in Annex B as a WebRTC
//! receiver hands them over: one configuration, every picture a packet with its key flag and
//! 90 kHz time; a gap drops pictures up to the next key frame; RTP timestamps that wrap stay
//! increasing.

use bytes::Bytes;

use super::AnnexBToItems;
use crate::codec::access_unit::AccessUnitAssembler;
use crate::codec::Codec;
use crate::remux::LiveItem;

/// The clip's access units, each as one Annex B buffer (start code before every NAL unit),
/// and whether it is a random-access point.
fn units(name: &str, codec: Codec) -> Vec<(Bytes, bool)> {
    let path = format!("{}/../testdata/{name}", env!("CARGO_MANIFEST_DIR"));
    let data = Bytes::from(std::fs::read(&path).expect("clip"));
    let mut assembler = AccessUnitAssembler::new(codec);
    assert!(assembler.push_annex_b(data).is_empty());
    assert!(assembler.flush().is_empty());
    let mut out = Vec::new();
    while let Some(unit) = assembler.pull() {
        let mut buf = Vec::new();
        for nal in &unit.nals {
            buf.extend_from_slice(&[0, 0, 0, 1]);
            buf.extend_from_slice(nal);
        }
        out.push((Bytes::from(buf), unit.random_access));
    }
    out
}

/// (configurations, packets with their key flag and pts).
fn drain(items: &mut AnnexBToItems) -> (usize, Vec<(bool, i64)>) {
    let (mut configs, mut packets) = (0, Vec::new());
    while let Some(item) = items.pull() {
        match item {
            LiveItem::Config(_) => configs += 1,
            LiveItem::Packet(p) => packets.push((p.is_key, p.pts_90k.expect("pts"))),
        }
    }
    (configs, packets)
}

#[test]
fn every_picture_of_a_clip_becomes_a_packet_after_one_configuration() {
    for (name, codec) in [("h264_main_320x240_25.h264", Codec::H264), ("hevc_main_320x240_25.h265", Codec::H265)] {
        let units = units(name, codec);
        let mut items = AnnexBToItems::new(codec, 90_000);
        for (i, (unit, _)) in units.iter().enumerate() {
            items.push(unit.clone(), 1000 + 3600 * i as u64, true);
        }
        let (configs, packets) = drain(&mut items);
        assert_eq!(configs, 1, "{name}");
        assert_eq!(packets.len(), units.len(), "{name}: every picture");
        let keys: Vec<bool> = units.iter().map(|u| u.1).collect();
        assert_eq!(packets.iter().map(|p| p.0).collect::<Vec<_>>(), keys, "{name}: key flags");
        assert!(packets.iter().enumerate().all(|(i, p)| p.1 == 3600 * i as i64), "{name}: 90 kHz from the first");
    }
}

#[test]
fn a_gap_drops_pictures_up_to_the_next_key_frame() {
    let units = units("h264_main_320x240_25.h264", Codec::H264);
    let second_key = units.iter().skip(1).position(|u| u.1).expect("a second key frame") + 1;
    let mut items = AnnexBToItems::new(Codec::H264, 90_000);
    for (i, (unit, _)) in units.iter().enumerate() {
        // Unit 3 arrives after a gap.
        items.push(unit.clone(), 3600 * i as u64, i != 3);
    }
    let (_, packets) = drain(&mut items);
    assert_eq!(packets.len(), units.len() - (second_key - 3), "pictures 3..{second_key} dropped");
    assert_eq!(items.stats().discontinuities, 1);
    assert_eq!(items.stats().source.dropped_after_loss, (second_key - 3) as u64);
}

#[test]
fn rtp_timestamps_that_wrap_keep_increasing() {
    let units = units("h264_main_320x240_25.h264", Codec::H264);
    let mut items = AnnexBToItems::new(Codec::H264, 90_000);
    let start = u64::from(u32::MAX) - 3600 * 2;
    for (i, (unit, _)) in units.iter().take(6).enumerate() {
        items.push(unit.clone(), (start + 3600 * i as u64) & u64::from(u32::MAX), true);
    }
    let (_, packets) = drain(&mut items);
    assert_eq!(packets.iter().map(|p| p.1).collect::<Vec<_>>(), vec![0, 3600, 7200, 10800, 14400, 18000]);
}

#[test]
fn empty_and_startcode_less_units_are_counted_not_fatal() {
    let mut items = AnnexBToItems::new(Codec::H264, 90_000);
    items.push(Bytes::new(), 0, true);
    items.push(Bytes::from_static(b"\x65\x88\x80"), 3600, true);
    assert!(items.pull().is_none());
    assert_eq!(items.stats().empty_units, 2);
}
