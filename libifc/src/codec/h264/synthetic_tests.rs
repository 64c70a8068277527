//! Hand-made streams: range checks with their error locations, and picture order count for
//! the types and picture structures x264 does not produce.

use super::synthetic::{PocSpec, PpsSpec, SliceSpec, SpsSpec, VuiSpec};
use super::{parse_sps_params, Pps, SliceHeader, Sps, StreamState};
use crate::codec::PictureInfo;
use crate::error::ParseErrorKind;

fn vui() -> VuiSpec {
    VuiSpec {
        aspect_ratio: None,
        timing: Some((1, 50)),
        nal_hrd_cpb_cnt_minus1: None,
        vcl_hrd: false,
        reorder_and_buffering: Some((1, 2)),
    }
}

fn invalid_at(nal: &[u8], parse: fn(&[u8]) -> crate::error::Result<()>) -> String {
    let e = parse(nal).expect_err("out of range");
    assert!(matches!(e.kind, ParseErrorKind::Invalid(_)), "{e}");
    e.at
}

#[test]
fn sps_values_outside_their_ranges_are_invalid_where_they_are() {
    let sps = |f: fn(&mut SpsSpec)| {
        let mut spec = SpsSpec { vui: Some(vui()), ..SpsSpec::default() };
        f(&mut spec);
        spec.nal()
    };
    let parse: fn(&[u8]) -> crate::error::Result<()> = |n| Sps::parse(n).map(drop);
    parse(&sps(|_| {})).expect("the unmodified SPS is valid");
    type Mutation = fn(&mut SpsSpec);
    let cases: [(Mutation, &str); 15] = [
        (|s| s.id = 32, "sps.seq_parameter_set_id"),
        (|s| s.chroma_format_idc = 4, "sps.chroma_format_idc"),
        (|s| s.bit_depth_luma_minus8 = 7, "sps.bit_depth_luma_minus8"),
        (|s| s.scaling_list_deltas = Some(vec![200]), "sps.seq_scaling_list.delta_scale"),
        (|s| s.log2_max_frame_num_minus4 = 13, "sps.log2_max_frame_num_minus4"),
        (|s| s.poc = PocSpec::Type0 { log2_max_lsb_minus4: 13 }, "sps.log2_max_pic_order_cnt_lsb_minus4"),
        (
            |s| {
                s.poc = PocSpec::Type1 {
                    always_zero: false,
                    non_ref: 0,
                    top_to_bottom: 0,
                    offsets: vec![],
                    cycle_len: Some(256),
                }
            },
            "sps.num_ref_frames_in_pic_order_cnt_cycle",
        ),
        (|s| s.max_num_ref_frames = 17, "sps.max_num_ref_frames"),
        (|s| s.width_mbs_minus1 = 1055, "sps.pic_width_in_mbs_minus1"),
        // 4:2:0: crop units are 2 samples; 16 + 16 columns of 64 leave nothing.
        (|s| s.crop = Some([16, 16, 0, 0]), "sps.frame_crop_right_offset"),
        (|s| s.crop = Some([0, 0, 12, 12]), "sps.frame_crop_bottom_offset"),
        (|s| s.vui.as_mut().expect("vui").timing = Some((0, 50)), "sps.vui.timing_info.num_units_in_tick"),
        (|s| s.vui.as_mut().expect("vui").timing = Some((1, 0)), "sps.vui.timing_info.time_scale"),
        (|s| s.vui.as_mut().expect("vui").nal_hrd_cpb_cnt_minus1 = Some(32), "sps.vui.nal_hrd.cpb_cnt_minus1"),
        (
            |s| s.vui.as_mut().expect("vui").reorder_and_buffering = Some((3, 2)),
            "sps.vui.bitstream_restriction.max_num_reorder_frames",
        ),
    ];
    for (mutate, at) in cases {
        assert_eq!(invalid_at(&sps(mutate), parse), at);
    }
    let mut too_tall = SpsSpec { frame_mbs_only: false, height_map_units_minus1: 600, ..SpsSpec::default() }.nal();
    assert_eq!(invalid_at(&too_tall, parse), "sps.pic_height_in_map_units_minus1");
    too_tall[0] = 0x68;
    assert_eq!(invalid_at(&too_tall, parse), "sps.nal_unit_type");
}

#[test]
fn pps_values_outside_their_ranges_are_invalid_where_they_are() {
    let parse: fn(&[u8]) -> crate::error::Result<()> = |n| Pps::parse(n).map(drop);
    let cases: [(PpsSpec, &str); 5] = [
        (PpsSpec { id: 256, ..PpsSpec::default() }, "pps.pic_parameter_set_id"),
        (PpsSpec { sps_id: 32, ..PpsSpec::default() }, "pps.seq_parameter_set_id"),
        (PpsSpec { slice_groups: Some((8, 0)), ..PpsSpec::default() }, "pps.num_slice_groups_minus1"),
        (PpsSpec { weighted_bipred_idc: 3, ..PpsSpec::default() }, "pps.weighted_bipred_idc"),
        (PpsSpec { chroma_qp_index_offset: 13, ..PpsSpec::default() }, "pps.chroma_qp_index_offset"),
    ];
    for (spec, at) in cases {
        assert_eq!(invalid_at(&spec.nal(), parse), at);
    }
}

#[test]
fn slice_group_maps_of_every_type_are_skipped_exactly() {
    for (groups_minus1, map_type) in [(1, 0), (2, 1), (3, 2), (1, 3), (1, 4), (1, 5), (2, 6), (7, 6)] {
        let spec = PpsSpec {
            slice_groups: Some((groups_minus1, map_type)),
            num_ref_idx_l0_default_minus1: 4,
            chroma_qp_index_offset: -7,
            high_tail: Some((true, false)),
            ..PpsSpec::default()
        };
        let pps = Pps::parse(&spec.nal()).unwrap_or_else(|e| panic!("type {map_type}: {e}"));
        // The fields after the map land where they should.
        assert_eq!(pps.num_slice_groups, groups_minus1 as u8 + 1);
        assert_eq!((pps.num_ref_idx_l0_default_active, pps.chroma_qp_index_offset), (5, -7), "type {map_type}");
        assert_eq!(
            (pps.transform_8x8_mode_flag, pps.second_chroma_qp_index_offset),
            (true, Some(-3)),
            "type {map_type}"
        );
    }
}

#[test]
fn pps_tail_is_read_only_when_present_and_scaling_matrices_hide_the_second_offset() {
    let plain = Pps::parse(&PpsSpec { chroma_qp_index_offset: 2, ..PpsSpec::default() }.nal()).expect("pps");
    assert_eq!((plain.transform_8x8_mode_flag, plain.second_chroma_qp_index_offset), (false, Some(2)));
    let with_matrix = Pps::parse(&PpsSpec { high_tail: Some((true, true)), ..PpsSpec::default() }.nal()).expect("pps");
    assert!(with_matrix.transform_8x8_mode_flag && with_matrix.pic_scaling_matrix_present_flag);
    assert_eq!(with_matrix.second_chroma_qp_index_offset, None);
}

#[test]
fn aspect_ratios_extended_zero_and_reserved() {
    let sar = |aspect_ratio| {
        let spec = SpsSpec { vui: Some(VuiSpec { aspect_ratio: Some(aspect_ratio), ..vui() }), ..SpsSpec::default() };
        parse_sps_params(&spec.nal()).expect("sps").sample_aspect_ratio
    };
    assert_eq!(sar((255, 7, 5)), (7, 5), "Extended_SAR");
    assert_eq!(sar((13, 0, 0)), (160, 99), "Table E-1, idc 13");
    assert_eq!(sar((255, 0, 5)), (1, 1), "E.2.1: a zero term is unspecified");
    assert_eq!(sar((100, 0, 0)), (1, 1), "E.2.1: reserved idc read as unspecified");
}

#[test]
fn frame_rate_is_time_scale_over_two_ticks_reduced() {
    let rate = |timing| {
        let spec = SpsSpec { vui: Some(VuiSpec { timing: Some(timing), ..vui() }), ..SpsSpec::default() };
        parse_sps_params(&spec.nal()).expect("sps").frame_rate.map(|r| (r.num, r.den))
    };
    assert_eq!(rate((1001, 60000)), Some((30000, 1001)));
    assert_eq!(rate((1, 25)), Some((25, 2)), "25 ticks per second are 12.5 frames");
    assert_eq!(rate((u32::MAX, 1)), None, "2^33 - 2 does not fit the denominator");
}

#[test]
fn separate_colour_planes_crop_in_luma_samples_and_carry_colour_plane_id() {
    let sps = SpsSpec {
        profile_idc: 244,
        chroma_format_idc: 3,
        separate_colour_plane: true,
        crop: Some([3, 0, 0, 5]),
        ..SpsSpec::default()
    };
    let parsed = Sps::parse(&sps.nal()).expect("sps");
    assert_eq!(parsed.chroma_array_type(), 0);
    assert_eq!(parsed.crop_unit(), (1, 1), "7-19, 7-20: ChromaArrayType 0");
    assert_eq!(parsed.cropped_size(), (61, 43));
    let pps = PpsSpec::default();
    let mut state = StreamState::new();
    state.push_nal(&sps.nal()).expect("sps");
    state.push_nal(&pps.nal()).expect("pps");
    // Each plane's slices start at macroblock 0; one picture all the same.
    let mut pictures = 0;
    for (frame_num, idr) in [(0, true), (1, false)] {
        for colour_plane_id in [0, 2, 1] {
            let slice =
                SliceSpec { nal_ref_idc: 3, idr, frame_num, slice_type: 2, colour_plane_id, ..SliceSpec::default() };
            let header = SliceHeader::parse(&slice.nal(&sps, &pps), |_| {
                Ok((state.pps_by_id(0).expect("pps"), state.sps_by_id(0).expect("sps")))
            })
            .expect("slice");
            assert_eq!(header.colour_plane_id, colour_plane_id as u8);
            pictures += usize::from(state.push_nal(&slice.nal(&sps, &pps)).expect("slice").is_some());
        }
    }
    assert_eq!(pictures, 2);
    assert_eq!(state.video_params().expect("params").profile, "High 4:4:4 Predictive");
}

/// Feeds SPS, PPS and the slices; returns one result per slice.
fn run(sps: &SpsSpec, pps: &PpsSpec, slices: &[SliceSpec]) -> Vec<Option<PictureInfo>> {
    let mut state = StreamState::new();
    state.push_nal(&sps.nal()).expect("sps");
    state.push_nal(&pps.nal()).expect("pps");
    slices.iter().map(|s| state.push_nal(&s.nal(sps, pps)).expect("slice")).collect()
}

fn pocs(sps: &SpsSpec, pps: &PpsSpec, slices: &[SliceSpec]) -> Vec<i32> {
    run(sps, pps, slices).into_iter().map(|p| p.expect("a picture").poc).collect()
}

fn idr() -> SliceSpec {
    SliceSpec { nal_ref_idc: 3, idr: true, slice_type: 2, ..SliceSpec::default() }
}

#[test]
fn poc_type_1_follows_its_cycle_across_a_frame_num_wrap() {
    // Each reference frame advances by 4 (offset_for_ref_frame); a non-reference B frame
    // sits 2 before the last reference frame (offset_for_non_ref_pic). I P b P b P b ...
    let sps = SpsSpec {
        poc: PocSpec::Type1 { always_zero: true, non_ref: -2, top_to_bottom: 0, offsets: vec![4], cycle_len: None },
        ..SpsSpec::default()
    };
    let mut slices = vec![idr()];
    let mut expected = vec![0];
    for unwrapped in 1..40u32 {
        let frame_num = unwrapped % 16; // MaxFrameNum 16
        slices.push(SliceSpec { nal_ref_idc: 2, frame_num, ..SliceSpec::default() });
        expected.push(4 * unwrapped as i32);
        // The b frame after a P carries the next frame_num.
        slices.push(SliceSpec {
            nal_ref_idc: 0,
            slice_type: 1,
            frame_num: (unwrapped + 1) % 16,
            ..SliceSpec::default()
        });
        expected.push(4 * unwrapped as i32 - 2);
    }
    assert_eq!(pocs(&sps, &PpsSpec::default(), &slices), expected);
}

#[test]
fn poc_type_1_fields_use_the_top_to_bottom_offset() {
    let sps = SpsSpec {
        frame_mbs_only: false,
        poc: PocSpec::Type1 { always_zero: false, non_ref: -2, top_to_bottom: 1, offsets: vec![4], cycle_len: None },
        ..SpsSpec::default()
    };
    let top = SliceSpec { field: Some(false), ..idr() };
    let bottom = SliceSpec { nal_ref_idc: 3, field: Some(true), slice_type: 2, delta: [0, 0], ..SliceSpec::default() };
    let next_top =
        SliceSpec { nal_ref_idc: 3, field: Some(false), frame_num: 1, delta: [3, 0], ..SliceSpec::default() };
    assert_eq!(pocs(&sps, &PpsSpec::default(), &[top, bottom, next_top]), [0, 1, 7]);
}

#[test]
fn poc_type_0_fields_count_through_lsb_wraps() {
    let sps = SpsSpec { frame_mbs_only: false, ..SpsSpec::default() }; // MaxPicOrderCntLsb 16
    let mut slices = vec![SliceSpec { field: Some(false), ..idr() }];
    let mut expected = vec![0];
    for field in 1..50u32 {
        slices.push(SliceSpec {
            nal_ref_idc: 1,
            field: Some(field % 2 == 1),
            frame_num: (field / 2) % 16,
            poc_lsb: field % 16,
            ..SliceSpec::default()
        });
        expected.push(field as i32);
    }
    assert_eq!(pocs(&sps, &PpsSpec::default(), &slices), expected);
}

#[test]
fn poc_type_0_counts_from_the_previous_reference_picture_only() {
    // The non-reference picture's lsb 15 lies behind 6 (POC -1); had it become the reference
    // point, lsb 8 would count as -8 rather than 8.
    let p = |nal_ref_idc, poc_lsb| SliceSpec { nal_ref_idc, frame_num: 1, poc_lsb, ..SliceSpec::default() };
    let slices = [idr(), p(1, 6), p(0, 15), p(1, 8)];
    assert_eq!(pocs(&SpsSpec::default(), &PpsSpec::default(), &slices), [0, 6, -1, 8]);
}

#[test]
fn poc_type_0_frame_is_the_smaller_of_its_field_counts() {
    let sps = SpsSpec { frame_mbs_only: false, ..SpsSpec::default() };
    let pps = PpsSpec { bottom_field_pic_order_in_frame_present: true, ..PpsSpec::default() };
    let slices =
        [idr(), SliceSpec { nal_ref_idc: 1, frame_num: 1, poc_lsb: 6, delta_bottom: -3, ..SliceSpec::default() }];
    assert_eq!(pocs(&sps, &pps, &slices), [0, 3]);
}

#[test]
fn poc_type_2_is_twice_the_frame_number_and_both_fields_share_it() {
    let sps = SpsSpec { frame_mbs_only: false, poc: PocSpec::Type2, ..SpsSpec::default() };
    let slices = [
        SliceSpec { field: Some(false), ..idr() },
        SliceSpec { nal_ref_idc: 3, field: Some(true), slice_type: 2, ..SliceSpec::default() },
        SliceSpec { nal_ref_idc: 1, frame_num: 1, ..SliceSpec::default() },
        SliceSpec { nal_ref_idc: 0, frame_num: 2, ..SliceSpec::default() },
        SliceSpec { nal_ref_idc: 1, frame_num: 15, ..SliceSpec::default() },
        SliceSpec { nal_ref_idc: 1, frame_num: 0, ..SliceSpec::default() }, // wraps: 16
    ];
    assert_eq!(pocs(&sps, &PpsSpec::default(), &slices), [0, 0, 2, 3, 30, 32]);
}

#[test]
fn mmco5_restarts_picture_order_and_frame_numbering() {
    // Type 0: after the reset the previous lsb is 0, so lsb 2 is POC 2, not 18.
    let sps = SpsSpec::default();
    let slices = [
        idr(),
        SliceSpec { nal_ref_idc: 1, frame_num: 1, poc_lsb: 12, mmco5: true, ..SliceSpec::default() },
        SliceSpec { nal_ref_idc: 1, frame_num: 1, poc_lsb: 2, ..SliceSpec::default() },
    ];
    let got = run(&sps, &PpsSpec::default(), &slices);
    let got: Vec<(i32, bool)> = got.into_iter().map(|p| p.map(|p| (p.poc, p.new_sequence)).expect("picture")).collect();
    assert_eq!(got, [(0, true), (0, true), (2, false)]);
    // Type 2: frame_num restarts from 0, so frame_num 1 is POC 2, not 34.
    let sps = SpsSpec { poc: PocSpec::Type2, ..SpsSpec::default() };
    let slices = [
        idr(),
        SliceSpec { nal_ref_idc: 1, frame_num: 3, mmco5: true, ..SliceSpec::default() },
        SliceSpec { nal_ref_idc: 1, frame_num: 1, ..SliceSpec::default() },
    ];
    assert_eq!(pocs(&sps, &PpsSpec::default(), &slices), [0, 0, 2]);
}

#[test]
fn later_slices_and_redundant_pictures_are_not_new_pictures() {
    let sps = SpsSpec::default();
    let pps = PpsSpec { redundant_pic_cnt_present: true, ..PpsSpec::default() };
    let slices = [
        idr(),
        SliceSpec { first_mb: 6, ..idr() },
        SliceSpec { redundant_pic_cnt: 1, ..idr() },
        SliceSpec { nal_ref_idc: 1, frame_num: 1, poc_lsb: 2, ..SliceSpec::default() },
    ];
    let got: Vec<bool> = run(&sps, &pps, &slices).iter().map(Option::is_some).collect();
    assert_eq!(got, [true, false, false, true]);
}

#[test]
fn end_of_sequence_makes_the_next_picture_start_a_sequence() {
    let sps = SpsSpec::default();
    let pps = PpsSpec::default();
    let mut state = StreamState::new();
    state.push_nal(&sps.nal()).expect("sps");
    state.push_nal(&pps.nal()).expect("pps");
    let p = |lsb| SliceSpec { nal_ref_idc: 1, frame_num: 1, poc_lsb: lsb, ..SliceSpec::default() }.nal(&sps, &pps);
    let first = state.push_nal(&p(4)).expect("p").expect("picture");
    assert!(first.new_sequence && !first.idr, "the first picture of a stream starts a sequence");
    assert!(!state.push_nal(&p(6)).expect("p").expect("picture").new_sequence);
    assert_eq!(state.push_nal(&[0x0a]).expect("end of sequence"), None);
    assert!(state.push_nal(&p(8)).expect("p").expect("picture").new_sequence);
    assert!(!state.push_nal(&p(10)).expect("p").expect("picture").new_sequence);
}

#[test]
fn missing_parameter_sets_are_named_and_bad_ones_are_not_stored() {
    let sps = SpsSpec::default();
    let pps = PpsSpec { id: 3, sps_id: 5, ..PpsSpec::default() };
    let slice = SliceSpec { pps_id: 3, ..idr() }.nal(&sps, &pps);
    let mut state = StreamState::new();
    let e = state.push_nal(&slice).expect_err("no pps");
    assert_eq!((e.at.as_str(), e.kind), ("slice_header.pic_parameter_set_id", ParseErrorKind::Missing("pps 3".into())));
    state.push_nal(&pps.nal()).expect("pps");
    let e = state.push_nal(&slice).expect_err("no sps");
    assert_eq!((e.at.as_str(), e.kind), ("pps.seq_parameter_set_id", ParseErrorKind::Missing("sps 5".into())));
    let bad_sps = SpsSpec { id: 5, log2_max_frame_num_minus4: 13, ..SpsSpec::default() };
    assert!(state.push_nal(&bad_sps.nal()).is_err());
    assert!(state.sps_by_id(5).is_none() && state.video_params().is_none());
    let good_sps = SpsSpec { id: 5, ..SpsSpec::default() };
    state.push_nal(&good_sps.nal()).expect("sps");
    assert!(state.push_nal(&slice).expect("slice").is_some());
}
