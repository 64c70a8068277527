//! [`StreamState`] on the real fixtures: picture order against the MP4's presentation times,
//! open-GOP random access, resolution changes, and missing parameter sets.

use super::test_fixtures::{ffprobe, fixture_path, nal_unit_type, raw_nals, HEVC_MP4_FIXTURES};
use super::*;
use crate::codec::PictureInfo;

/// Every picture of `NAME.h265` in decode order, with its NAL unit type.
fn pictures(name: &str) -> Vec<(u8, PictureInfo)> {
    let mut state = StreamState::new();
    let mut out = Vec::new();
    for nal in raw_nals(name) {
        if let Some(picture) = state.push_nal(&nal).unwrap_or_else(|e| panic!("{name}: {e}")) {
            out.push((nal_unit_type(&nal), picture));
        }
    }
    out
}

/// Decode-order indices sorted into display order.
fn display_order_by<K: Ord>(keys: &[K]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..keys.len()).collect();
    order.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
    order
}

#[test]
fn ordering_by_poc_within_each_sequence_matches_the_mp4_presentation_order() {
    for name in HEVC_MP4_FIXTURES {
        let pics = pictures(name);
        // (coded video sequence number, POC): display order never crosses a new sequence.
        let mut cvs = 0u32;
        let keys: Vec<(u32, i32)> = pics
            .iter()
            .map(|(_, p)| {
                cvs += u32::from(p.new_sequence);
                (cvs, p.poc)
            })
            .collect();
        let csv = ffprobe(&[
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts",
            "-of",
            "csv=p=0",
            &fixture_path(&format!("{name}.mp4")),
        ]);
        let pts: Vec<i64> = csv.lines().map(|l| l.trim().parse().unwrap()).collect();
        assert_eq!(pics.len(), pts.len(), "{name}: one picture per MP4 sample");
        assert_eq!(display_order_by(&keys), display_order_by(&pts), "{name}");
        assert!(
            pics.iter().any(|(_, p)| p.poc < 0) || pics.windows(2).any(|w| w[1].1.poc < w[0].1.poc),
            "{name}: has reordering"
        );
    }
}

#[test]
fn open_gop_cra_pictures_continue_the_sequence_and_their_rasl_pictures_lead_them() {
    let pics = pictures("hevc_opengop_cra_320x240_25");
    let cras: Vec<usize> = (0..pics.len()).filter(|&i| pics[i].0 == 21).collect();
    assert!(cras.len() >= 2, "the fixture has CRA random-access points");
    for &i in &cras {
        let (_, cra) = pics[i];
        assert!(cra.random_access && !cra.idr && !cra.new_sequence && !cra.rasl, "{cra:?}");
        // RASL pictures follow their CRA in decode order and precede it in output order,
        // after everything decoded before the CRA (8.3.1, 7.4.3.2 constraints on leading pictures).
        let before_max = pics[..i].iter().map(|(_, p)| p.poc).max().unwrap();
        let leading: Vec<PictureInfo> = pics[i + 1..].iter().map(|&(_, p)| p).take_while(|p| p.rasl).collect();
        assert!(!leading.is_empty(), "CRA at {i} has RASL pictures");
        for p in leading {
            assert!(before_max < p.poc && p.poc < cra.poc, "{p:?} around CRA POC {}", cra.poc);
            assert!(!p.random_access && !p.new_sequence);
        }
    }
    let rasl_types = pics.iter().filter(|(t, _)| matches!(t, 8 | 9)).count();
    assert_eq!(pics.iter().filter(|(_, p)| p.rasl).count(), rasl_types);
    assert!(pics[0].1.new_sequence && pics[0].1.idr);
}

#[test]
fn a_resolution_change_yields_new_video_params_at_the_new_idr() {
    let mut state = StreamState::new();
    let mut seen: Vec<(usize, VideoParams)> = Vec::new();
    let mut picture_index = 0;
    for nal in raw_nals("hevc_res_change_320x240_to_256x144_25") {
        if let Some(picture) = state.push_nal(&nal).unwrap() {
            let params = state.video_params().unwrap();
            if seen.last().is_none_or(|(_, p)| *p != params) {
                assert!(picture.idr && picture.new_sequence && picture.poc == 0, "a new SPS takes effect at an IDR");
                seen.push((picture_index, params));
            }
            picture_index += 1;
        }
    }
    let sizes: Vec<(u32, u32)> = seen.iter().map(|(_, p)| (p.width, p.height)).collect();
    assert_eq!(sizes, [(320, 240), (256, 144)]);
    assert_eq!(seen[1].0, 25, "the second encode starts after one second at 25 fps");
}

#[test]
fn video_params_follow_the_latest_sps_until_a_picture_uses_one() {
    let nals = raw_nals("hevc_res_change_320x240_to_256x144_25");
    let mut state = StreamState::new();
    assert!(state.video_params().is_none());
    state.push_nal(&nals[0]).unwrap();
    assert!(state.video_params().is_none(), "a VPS says nothing about the picture");
    state.push_nal(&nals[1]).unwrap();
    assert_eq!(state.video_params(), Some(parse_sps_params(&nals[1]).unwrap()));
    assert_eq!(state.sps(0).map(|s| s.pic_width_in_luma_samples), Some(320));
}

#[test]
fn a_slice_without_its_parameter_sets_is_a_missing_error_naming_them() {
    let nals = raw_nals("hevc_main_320x240_25");
    let idr = nals.iter().find(|n| nal_unit_type(n) == 20).unwrap();
    let mut state = StreamState::new();
    let e = state.push_nal(idr).unwrap_err();
    assert_eq!(e.kind, crate::ParseErrorKind::Missing("PPS 0".into()));
    assert_eq!(e.at, "slice_segment_header.slice_pic_parameter_set_id");
    state.push_nal(&nals[2]).unwrap(); // the PPS, but not its SPS
    let e = state.push_nal(idr).unwrap_err();
    assert_eq!(e.kind, crate::ParseErrorKind::Missing("SPS 0 (named by PPS 0)".into()));
    state.push_nal(&nals[1]).unwrap();
    assert!(state.push_nal(idr).unwrap().is_some());
}

#[test]
fn a_cra_after_an_end_of_sequence_starts_a_new_sequence() {
    let nals = raw_nals("hevc_opengop_cra_320x240_25");
    let first_cra = nals.iter().position(|n| nal_unit_type(n) == 21).unwrap();
    let run = |with_eos: bool| {
        let mut state = StreamState::new();
        let mut last = None;
        for (i, nal) in nals[..=first_cra].iter().enumerate() {
            if with_eos && i == first_cra {
                state.push_nal(&[NAL_EOS << 1, 1]).unwrap();
            }
            last = state.push_nal(nal).unwrap();
        }
        last.unwrap()
    };
    let (plain, after_eos) = (run(false), run(true));
    assert!(!plain.new_sequence);
    assert!(after_eos.new_sequence && after_eos.random_access);
}

#[test]
fn later_slices_of_a_picture_and_other_layers_return_none() {
    let nals = raw_nals("hevc_main_320x240_25");
    let mut state = StreamState::new();
    for nal in &nals[..3] {
        state.push_nal(nal).unwrap();
    }
    let mut later_slice = nals.iter().find(|n| nal_unit_type(n) == 1).unwrap().clone();
    later_slice[2] &= 0x7f; // first_slice_segment_in_pic_flag = 0
    assert_eq!(state.push_nal(&later_slice).unwrap(), None);
    let mut other_layer = nals.iter().find(|n| nal_unit_type(n) == 1).unwrap().clone();
    other_layer[1] |= 0x08; // nuh_layer_id = 1
    assert_eq!(state.push_nal(&other_layer).unwrap(), None);
    assert_eq!(state.push_nal(&[NAL_PREFIX_SEI << 1, 1, 5, 0]).unwrap(), None);
}
