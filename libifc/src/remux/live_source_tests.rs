//! The live source against the file path: the committed raw streams split into access units
//! (as a depacketizer gives them) must come out as the same configurations and packet bytes
//! that `VideoInput` reads from the file, and losses must cost exactly the units up to the next
//! random-access point.

use bytes::Bytes;

use super::*;
use crate::codec::AccessUnitAssembler;
use crate::remux::{InputKind, VideoInput};

fn testdata(name: &str) -> Bytes {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata").join(name);
    Bytes::from(std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
}

/// The access units of a raw stream, with the file path's presentation times as timestamps.
fn units(name: &str, codec: Codec) -> (Vec<(Vec<Bytes>, i64)>, VideoInput) {
    let data = testdata(name);
    let input = VideoInput::read(InputKind::Raw(codec), data.clone(), None).expect("file reads");
    let mut assembler = AccessUnitAssembler::new(codec);
    assert!(assembler.push_annex_b(data).is_empty());
    assert!(assembler.flush().is_empty());
    let mut aus = Vec::new();
    while let Some(au) = assembler.pull() {
        aus.push(au.nals);
    }
    assert_eq!(aus.len(), input.samples.len(), "{name}: one sample per access unit");
    let timed = aus.into_iter().zip(&input.samples).map(|(nals, s)| (nals, s.pts())).collect();
    (timed, input)
}

fn drain(source: &mut LiveSource) -> (Vec<DecoderConfig>, Vec<EncodedPacket>) {
    let (mut configs, mut packets) = (Vec::new(), Vec::new());
    while let Some(item) = source.pull() {
        match item.expect("no stream error") {
            LiveItem::Config(c) => configs.push(c),
            LiveItem::Packet(p) => packets.push(p),
        }
    }
    (configs, packets)
}

#[test]
fn units_become_the_files_configs_and_packets() {
    for (name, codec) in [
        ("h264_main_320x240_25.h264", Codec::H264),
        ("h264_high_bpyramid_320x240_25.h264", Codec::H264),
        ("hevc_opengop_cra_320x240_25.h265", Codec::H265),
        ("h264_res_change_320x240_to_256x144_25.h264", Codec::H264),
        ("hevc_res_change_320x240_to_256x144_25.h265", Codec::H265),
    ] {
        let (units, input) = units(name, codec);
        let mut source = LiveSource::new(codec, input.timescale, &[]);
        for (nals, ts) in units {
            source.push(nals, ts, 0);
        }
        let (configs, packets) = drain(&mut source);
        assert_eq!(configs[0], input.config, "{name}");
        let expected_configs = if name.contains("res_change") { 2 } else { 1 };
        assert_eq!(configs.len(), expected_configs, "{name}: one config per parameter-set change");
        assert_eq!(packets.len(), input.samples.len(), "{name}");
        let first_pts = input.samples[0].pts();
        for (p, s) in packets.iter().zip(&input.samples) {
            assert_eq!(p.data, s.data, "{name}: same length-prefixed bytes");
            assert_eq!(p.is_key, s.is_sync, "{name}");
            assert_eq!(p.pts_90k, Some(ticks_to_90k(s.pts() - first_pts, input.timescale)), "{name}");
        }
        assert_eq!(source.stats().units, input.samples.len() as u64);
    }
}

#[test]
fn joining_mid_gop_waits_for_the_next_key_frame() {
    let (units, input) = units("h264_main_320x240_25.h264", Codec::H264);
    let first_key_after_join = input.samples.iter().skip(1).position(|s| s.is_sync).expect("a second GOP") + 1;
    let mut source = LiveSource::new(Codec::H264, 90_000, &[]);
    for (nals, ts) in units.into_iter().skip(1) {
        source.push(nals, ts, 0);
    }
    let (configs, packets) = drain(&mut source);
    assert_eq!(configs.len(), 1);
    assert!(packets[0].is_key);
    assert_eq!(packets[0].pts_90k, Some(0), "times count from the first unit that decodes");
    assert_eq!(packets.len(), input.samples.len() - first_key_after_join);
    assert_eq!(source.stats().dropped_before_random_access, first_key_after_join as u64 - 1);
}

#[test]
fn a_loss_drops_units_until_the_next_key_frame() {
    let (units, input) = units("h264_main_320x240_25.h264", Codec::H264);
    let keys: Vec<usize> = input.samples.iter().enumerate().filter(|(_, s)| s.is_sync).map(|(i, _)| i).collect();
    assert!(keys.len() >= 2, "the fixture has two GOPs");
    let lost_at = keys[1] - 3;
    let mut source = LiveSource::new(Codec::H264, 90_000, &[]);
    for (i, (nals, ts)) in units.into_iter().enumerate() {
        source.push(nals, ts, u64::from(i == lost_at) * 2);
    }
    let (_, packets) = drain(&mut source);
    let stats = source.stats();
    assert_eq!(stats.packets_lost, 2);
    assert_eq!(stats.dropped_after_loss, 3, "units {lost_at}..{} wait for the key frame", keys[1]);
    assert_eq!(packets.len(), input.samples.len() - 3);
    assert!(packets[lost_at].is_key, "the next packet after the loss is the key frame");
    assert_eq!(packets[lost_at].data, input.samples[keys[1]].data);
}

#[test]
fn parameter_sets_from_the_session_description_configure_a_stream_without_in_band_ones() {
    let (units, input) = units("hevc_main_320x240_25.h265", Codec::H265);
    let sdp_sets = input.config.parameter_sets.clone();
    let mut source = LiveSource::new(Codec::H265, 90_000, &sdp_sets);
    let stripped = units.into_iter().map(|(nals, ts)| {
        (nals.into_iter().filter(|n| !Codec::H265.classify(n).is_some_and(NalKind::is_parameter_set)).collect(), ts)
    });
    for (nals, ts) in stripped {
        source.push(nals, ts, 0);
    }
    let (configs, packets) = drain(&mut source);
    assert_eq!(configs, vec![input.config.clone()]);
    assert_eq!(packets.len(), input.samples.len());
}

#[test]
fn without_any_parameter_sets_nothing_decodes_and_it_is_counted() {
    let (units, _) = units("h264_main_320x240_25.h264", Codec::H264);
    let n = units.len() as u64;
    let mut source = LiveSource::new(Codec::H264, 90_000, &[]);
    for (nals, ts) in units {
        let nals = nals.into_iter().filter(|n| !Codec::H264.classify(n).is_some_and(NalKind::is_parameter_set));
        source.push(nals.collect(), ts, 0);
    }
    let (configs, packets) = drain(&mut source);
    assert!(configs.is_empty() && packets.is_empty());
    let stats = source.stats();
    assert_eq!(stats.dropped_undecodable + stats.dropped_before_random_access, n);
}

#[test]
fn parameter_sets_sent_as_their_own_unit_configure_the_next_picture() {
    let (units, input) = units("h264_main_320x240_25.h264", Codec::H264);
    let mut source = LiveSource::new(Codec::H264, 90_000, &[]);
    let mut sets_only_units = 0;
    for (nals, ts) in units {
        let (sets, rest): (Vec<Bytes>, Vec<Bytes>) =
            nals.into_iter().partition(|n| Codec::H264.classify(n).is_some_and(NalKind::is_parameter_set));
        if !sets.is_empty() {
            sets_only_units += 1;
            source.push(sets, ts, 0);
        }
        source.push(rest, ts, 0);
    }
    let (configs, packets) = drain(&mut source);
    assert_eq!(configs, vec![input.config.clone()]);
    assert_eq!(packets.len(), input.samples.len());
    assert!(sets_only_units > 0);
    assert_eq!(source.stats().units_without_picture, sets_only_units);
}

#[test]
fn garbage_units_never_panic_and_every_unit_is_accounted_for() {
    let mut source = LiveSource::new(Codec::H265, 90_000, &[Bytes::from_static(&[0x42, 0x01])]);
    let mut packets = 0;
    for i in 0..1000u32 {
        let nal = Bytes::from(vec![(i % 256) as u8; (i % 7) as usize]);
        source.push(vec![nal, Bytes::new()], i64::from(i), u64::from(i % 13 == 0));
        while let Some(item) = source.pull() {
            packets += u64::from(matches!(item, Ok(LiveItem::Packet(_))));
        }
    }
    let s = source.stats();
    assert_eq!(s.units, 1000);
    assert!(s.units_without_picture > 0);
    let dropped =
        s.units_without_picture + s.dropped_before_random_access + s.dropped_after_loss + s.dropped_undecodable;
    assert_eq!(dropped + packets, 1000, "{s:?}");
}
