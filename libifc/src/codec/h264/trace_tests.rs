//! Every SPS, PPS and slice header of the real streams against ffmpeg's `trace_headers`
//! bitstream filter, which prints each syntax element libavcodec's own parser reads.

use std::collections::HashMap;

use super::sps::PicOrderCntType;
use super::testutil::{h264_fixtures, nal_type, nals, read_testdata, run_tool, x264_variants};
use super::{Pps, SliceHeader, Sps, NAL_IDR_SLICE, NAL_PPS, NAL_SLICE, NAL_SPS};

/// One NAL unit as `trace_headers` printed it.
struct Traced {
    title: String,
    fields: Vec<(String, i64)>,
}

/// The traced SPS, PPS and slice headers of the stream's packets (not of the extradata the
/// raw demuxer copies out of the first access unit).
fn trace_headers(stream: &[u8]) -> Vec<Traced> {
    let args = [
        "-nostdin",
        "-nostats",
        "-hide_banner",
        "-f",
        "h264",
        "-i",
        "pipe:0",
        "-c",
        "copy",
        "-bsf:v",
        "filter_units=remove_types=6,trace_headers",
        "-f",
        "null",
        "-",
    ];
    let (_, log) = run_tool("ffmpeg", &args, stream);
    let mut sections: Vec<Traced> = Vec::new();
    let mut in_packets = false;
    for line in log.lines() {
        let Some((_, text)) = line.split_once("[trace_headers @ ").and_then(|(_, rest)| rest.split_once("] ")) else {
            continue;
        };
        let tokens: Vec<&str> = text.split_whitespace().collect();
        let is_field = tokens.first().is_some_and(|t| t.parse::<u64>().is_ok()) && tokens.len() >= 4;
        if is_field {
            let value = tokens[tokens.len() - 1].parse().expect("field value");
            if let Some(s) = sections.last_mut() {
                s.fields.push((tokens[1].to_owned(), value));
            }
        } else if text.starts_with("Packet:") {
            in_packets = true;
        } else if in_packets {
            sections.push(Traced { title: text.trim().to_owned(), fields: Vec::new() });
        }
    }
    sections
        .retain(|s| matches!(s.title.as_str(), "Sequence Parameter Set" | "Picture Parameter Set" | "Slice Header"));
    sections
}

fn flag(b: bool) -> i64 {
    i64::from(b)
}

fn sps_fields(s: &Sps) -> Vec<(String, i64)> {
    let f: Vec<(&str, i64)> = vec![
        ("profile_idc", s.profile_idc.into()),
        ("level_idc", s.level_idc.into()),
        ("seq_parameter_set_id", s.seq_parameter_set_id.into()),
        ("chroma_format_idc", s.chroma_format_idc.into()),
        ("separate_colour_plane_flag", flag(s.separate_colour_plane_flag)),
        ("bit_depth_luma_minus8", i64::from(s.bit_depth_luma) - 8),
        ("bit_depth_chroma_minus8", i64::from(s.bit_depth_chroma) - 8),
        ("qpprime_y_zero_transform_bypass_flag", flag(s.qpprime_y_zero_transform_bypass_flag)),
        ("seq_scaling_matrix_present_flag", flag(s.seq_scaling_matrix_present_flag)),
        ("log2_max_frame_num_minus4", i64::from(s.log2_max_frame_num) - 4),
        ("max_num_ref_frames", s.max_num_ref_frames.into()),
        ("gaps_in_frame_num_allowed_flag", flag(s.gaps_in_frame_num_value_allowed_flag)),
        ("pic_width_in_mbs_minus1", i64::from(s.pic_width_in_mbs) - 1),
        ("pic_height_in_map_units_minus1", i64::from(s.pic_height_in_map_units) - 1),
        ("frame_mbs_only_flag", flag(s.frame_mbs_only_flag)),
        ("mb_adaptive_frame_field_flag", flag(s.mb_adaptive_frame_field_flag)),
        ("direct_8x8_inference_flag", flag(s.direct_8x8_inference_flag)),
        ("frame_crop_left_offset", s.frame_cropping.left.into()),
        ("frame_crop_right_offset", s.frame_cropping.right.into()),
        ("frame_crop_top_offset", s.frame_cropping.top.into()),
        ("frame_crop_bottom_offset", s.frame_cropping.bottom.into()),
        ("vui_parameters_present_flag", flag(s.vui.is_some())),
    ];
    let mut f = named(&f);
    match &s.pic_order_cnt {
        PicOrderCntType::Lsb { log2_max_pic_order_cnt_lsb } => f.extend(named(&[
            ("pic_order_cnt_type", 0),
            ("log2_max_pic_order_cnt_lsb_minus4", i64::from(*log2_max_pic_order_cnt_lsb) - 4),
        ])),
        PicOrderCntType::FrameNumCycle {
            delta_pic_order_always_zero_flag,
            offset_for_non_ref_pic,
            offset_for_top_to_bottom_field,
            offset_for_ref_frame,
        } => {
            f.extend(named(&[
                ("pic_order_cnt_type", 1),
                ("delta_pic_order_always_zero_flag", flag(*delta_pic_order_always_zero_flag)),
                ("offset_for_non_ref_pic", (*offset_for_non_ref_pic).into()),
                ("offset_for_top_to_bottom_field", (*offset_for_top_to_bottom_field).into()),
                ("num_ref_frames_in_pic_order_cnt_cycle", offset_for_ref_frame.len() as i64),
            ]));
            f.extend(
                offset_for_ref_frame.iter().enumerate().map(|(i, &o)| (format!("offset_for_ref_frame[{i}]"), o.into())),
            );
        }
        PicOrderCntType::FrameNum => f.extend(named(&[("pic_order_cnt_type", 2)])),
    }
    f.extend(vui_fields(s));
    f
}

fn named(pairs: &[(&str, i64)]) -> Vec<(String, i64)> {
    pairs.iter().map(|&(k, v)| (k.to_owned(), v)).collect()
}

fn vui_fields(s: &Sps) -> Vec<(String, i64)> {
    let mut f: Vec<(&str, i64)> = Vec::new();
    if let Some(v) = &s.vui {
        f.push(("aspect_ratio_info_present_flag", flag(v.aspect_ratio_idc.is_some())));
        f.extend(v.aspect_ratio_idc.map(|i| ("aspect_ratio_idc", i64::from(i))));
        if v.aspect_ratio_idc == Some(255) {
            let (w, h) = v.sample_aspect_ratio.unwrap_or_default();
            f.extend([("sar_width", i64::from(w)), ("sar_height", i64::from(h))]);
        }
        f.extend(v.overscan_appropriate.map(|o| ("overscan_appropriate_flag", flag(o))));
        if let Some(t) = &v.video_signal_type {
            f.extend([
                ("video_format", t.video_format.into()),
                ("video_full_range_flag", flag(t.video_full_range_flag)),
            ]);
            if let Some((p, tr, m)) = t.colour_description {
                f.extend([
                    ("colour_primaries", p.into()),
                    ("transfer_characteristics", tr.into()),
                    ("matrix_coefficients", m.into()),
                ]);
            }
        }
        if let Some((top, bottom)) = v.chroma_sample_loc_type {
            f.extend([
                ("chroma_sample_loc_type_top_field", top.into()),
                ("chroma_sample_loc_type_bottom_field", bottom.into()),
            ]);
        }
        if let Some(t) = &v.timing_info {
            f.extend([
                ("num_units_in_tick", t.num_units_in_tick.into()),
                ("time_scale", t.time_scale.into()),
                ("fixed_frame_rate_flag", flag(t.fixed_frame_rate_flag)),
            ]);
        }
        f.push(("nal_hrd_parameters_present_flag", flag(v.nal_hrd.is_some())));
        f.push(("vcl_hrd_parameters_present_flag", flag(v.vcl_hrd.is_some())));
        if let (Some(h), None) = (&v.nal_hrd, &v.vcl_hrd) {
            f.extend([
                ("cpb_cnt_minus1", i64::from(h.cpb_cnt) - 1),
                ("initial_cpb_removal_delay_length_minus1", i64::from(h.initial_cpb_removal_delay_length) - 1),
                ("cpb_removal_delay_length_minus1", i64::from(h.cpb_removal_delay_length) - 1),
                ("dpb_output_delay_length_minus1", i64::from(h.dpb_output_delay_length) - 1),
                ("time_offset_length", h.time_offset_length.into()),
            ]);
        }
        f.extend(v.low_delay_hrd_flag.map(|l| ("low_delay_hrd_flag", flag(l))));
        f.push(("pic_struct_present_flag", flag(v.pic_struct_present_flag)));
        if let Some(b) = &v.bitstream_restriction {
            f.extend([
                ("max_bytes_per_pic_denom", b.max_bytes_per_pic_denom.into()),
                ("max_bits_per_mb_denom", b.max_bits_per_mb_denom.into()),
                ("log2_max_mv_length_horizontal", b.log2_max_mv_length_horizontal.into()),
                ("log2_max_mv_length_vertical", b.log2_max_mv_length_vertical.into()),
                ("max_num_reorder_frames", b.max_num_reorder_frames.into()),
                ("max_dec_frame_buffering", b.max_dec_frame_buffering.into()),
            ]);
        }
    }
    named(&f)
}

fn pps_fields(p: &Pps) -> Vec<(String, i64)> {
    let mut f: Vec<(&str, i64)> = vec![
        ("pic_parameter_set_id", p.pic_parameter_set_id.into()),
        ("seq_parameter_set_id", p.seq_parameter_set_id.into()),
        ("entropy_coding_mode_flag", flag(p.entropy_coding_mode_flag)),
        ("bottom_field_pic_order_in_frame_present_flag", flag(p.bottom_field_pic_order_in_frame_present_flag)),
        ("num_slice_groups_minus1", i64::from(p.num_slice_groups) - 1),
        ("num_ref_idx_l0_default_active_minus1", i64::from(p.num_ref_idx_l0_default_active) - 1),
        ("num_ref_idx_l1_default_active_minus1", i64::from(p.num_ref_idx_l1_default_active) - 1),
        ("weighted_pred_flag", flag(p.weighted_pred_flag)),
        ("weighted_bipred_idc", p.weighted_bipred_idc.into()),
        ("pic_init_qp_minus26", p.pic_init_qp_minus26.into()),
        ("pic_init_qs_minus26", p.pic_init_qs_minus26.into()),
        ("chroma_qp_index_offset", p.chroma_qp_index_offset.into()),
        ("deblocking_filter_control_present_flag", flag(p.deblocking_filter_control_present_flag)),
        ("constrained_intra_pred_flag", flag(p.constrained_intra_pred_flag)),
        ("redundant_pic_cnt_present_flag", flag(p.redundant_pic_cnt_present_flag)),
        ("transform_8x8_mode_flag", flag(p.transform_8x8_mode_flag)),
        ("pic_scaling_matrix_present_flag", flag(p.pic_scaling_matrix_present_flag)),
    ];
    f.extend(p.second_chroma_qp_index_offset.map(|o| ("second_chroma_qp_index_offset", i64::from(o))));
    named(&f)
}

fn slice_fields(h: &SliceHeader) -> Vec<(String, i64)> {
    let f: Vec<(&str, i64)> = vec![
        ("nal_ref_idc", h.nal_ref_idc.into()),
        ("first_mb_in_slice", h.first_mb_in_slice.into()),
        ("pic_parameter_set_id", h.pic_parameter_set_id.into()),
        ("colour_plane_id", h.colour_plane_id.into()),
        ("frame_num", h.frame_num.into()),
        ("field_pic_flag", flag(h.field_pic_flag)),
        ("bottom_field_flag", flag(h.bottom_field_flag)),
        ("idr_pic_id", h.idr_pic_id.map_or(-1, i64::from)),
        ("pic_order_cnt_lsb", h.pic_order_cnt_lsb.into()),
        ("delta_pic_order_cnt_bottom", h.delta_pic_order_cnt_bottom.into()),
        ("delta_pic_order_cnt[0]", h.delta_pic_order_cnt[0].into()),
        ("delta_pic_order_cnt[1]", h.delta_pic_order_cnt[1].into()),
        ("redundant_pic_cnt", h.redundant_pic_cnt.into()),
        ("no_output_of_prior_pics_flag", flag(h.no_output_of_prior_pics_flag)),
    ];
    named(&f)
}

/// Compares our fields with the traced ones of the same name; returns the names compared.
fn compare(what: &str, ours: &[(String, i64)], traced: &Traced) -> Vec<String> {
    let theirs: HashMap<&str, i64> = traced.fields.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    let mut compared = Vec::new();
    for (name, value) in ours {
        if let Some(&t) = theirs.get(name.as_str()) {
            assert_eq!(*value, t, "{what}: {name}");
            compared.push(name.clone());
        }
    }
    compared
}

/// Checks every SPS, PPS and slice header; returns the names of all fields compared.
fn assert_headers_match_trace(name: &str, stream: &[u8]) -> Vec<String> {
    let mut all_compared = Vec::new();
    let traced = trace_headers(stream);
    let ours: Vec<&[u8]> = nals(stream)
        .into_iter()
        .filter(|n| matches!(nal_type(n), NAL_SPS | NAL_PPS | NAL_SLICE | NAL_IDR_SLICE))
        .collect();
    assert_eq!(ours.len(), traced.len(), "{name}: NAL units traced");
    let (mut spss, mut ppss): (HashMap<u8, Sps>, HashMap<u8, Pps>) = Default::default();
    for (i, (nal, t)) in ours.iter().zip(&traced).enumerate() {
        let what = format!("{name} NAL {i} ({})", t.title);
        let (fields, minimum) = match nal_type(nal) {
            NAL_SPS => {
                let sps = Sps::parse(nal).unwrap_or_else(|e| panic!("{what}: {e}"));
                let f = sps_fields(&sps);
                spss.insert(sps.seq_parameter_set_id, sps);
                (f, 15)
            }
            NAL_PPS => {
                let pps = Pps::parse(nal).unwrap_or_else(|e| panic!("{what}: {e}"));
                let f = pps_fields(&pps);
                ppss.insert(pps.pic_parameter_set_id, pps);
                (f, 15)
            }
            _ => {
                let header = SliceHeader::parse(nal, |id| {
                    let pps = &ppss[&id];
                    Ok((pps, &spss[&pps.seq_parameter_set_id]))
                })
                .unwrap_or_else(|e| panic!("{what}: {e}"));
                let mmco5 =
                    t.fields.iter().any(|(k, v)| k.starts_with("memory_management_control_operation") && *v == 5);
                assert_eq!(header.mmco5, mmco5, "{what}: mmco 5");
                (slice_fields(&header), 4)
            }
        };
        let compared = compare(&what, &fields, t);
        assert!(compared.len() >= minimum, "{what}: only {compared:?} compared; did the trace format change?");
        all_compared.extend(compared);
    }
    all_compared
}

#[test]
fn parameter_sets_and_slice_headers_of_the_fixtures_match_ffmpegs_trace() {
    for name in h264_fixtures("h264") {
        assert_headers_match_trace(&name, &read_testdata(&name));
    }
}

#[test]
fn parameter_sets_and_slice_headers_of_x264_variants_match_ffmpegs_trace() {
    let mut compared = Vec::new();
    for (name, stream) in x264_variants() {
        compared.extend(assert_headers_match_trace(name, stream));
    }
    // The syntax the variants exist for was read, not skipped.
    for field in [
        "delta_pic_order_cnt_bottom",
        "time_offset_length",
        "sar_width",
        "frame_crop_left_offset",
        "matrix_coefficients",
    ] {
        assert!(compared.iter().any(|c| c == field), "{field} was not compared");
    }
}

#[test]
fn hand_made_syntax_x264_never_writes_matches_ffmpegs_trace() {
    use super::synthetic::{PocSpec, PpsSpec, SliceSpec, SpsSpec, VuiSpec};
    // POC type 1 with field pictures, separate colour planes, both HRDs, Extended_SAR,
    // cropping, and a slice-group map of type 6: ffmpeg reads what the writer wrote, so the
    // hand-made streams of the other tests mean what they say.
    let sps = SpsSpec {
        profile_idc: 244,
        chroma_format_idc: 3,
        separate_colour_plane: true,
        frame_mbs_only: false,
        poc: PocSpec::Type1 { always_zero: false, non_ref: -2, top_to_bottom: 1, offsets: vec![4, 6], cycle_len: None },
        crop: Some([1, 2, 1, 0]),
        vui: Some(VuiSpec {
            aspect_ratio: Some((255, 7, 5)),
            timing: Some((1001, 60000)),
            nal_hrd_cpb_cnt_minus1: Some(1),
            vcl_hrd: true,
            reorder_and_buffering: Some((1, 2)),
        }),
        ..SpsSpec::default()
    };
    let pps =
        PpsSpec { slice_groups: Some((2, 6)), bottom_field_pic_order_in_frame_present: true, ..PpsSpec::default() };
    let idr_top = SliceSpec { nal_ref_idc: 3, idr: true, slice_type: 2, field: Some(false), ..SliceSpec::default() };
    // libavcodec decodes neither separate colour planes nor slice groups, and ffmpeg needs a
    // decoded picture's size before it copies packets: a real IDR access unit goes first.
    let real = read_testdata("h264_cbp_320x240_25.h264");
    let real_nals = super::testutil::nals(&real);
    let first_idr = real_nals.iter().position(|n| nal_type(n) == NAL_IDR_SLICE).expect("IDR");
    let mut nals: Vec<Vec<u8>> = real_nals[..=first_idr].iter().map(|n| n.to_vec()).collect();
    nals.extend([sps.nal(), pps.nal()]);
    for colour_plane_id in 0..3 {
        nals.push(SliceSpec { colour_plane_id, ..idr_top.clone() }.nal(&sps, &pps));
    }
    nals.push(
        SliceSpec { nal_ref_idc: 3, slice_type: 2, field: Some(true), delta: [2, 0], ..SliceSpec::default() }
            .nal(&sps, &pps),
    );
    nals.push(
        SliceSpec { nal_ref_idc: 2, slice_type: 0, frame_num: 1, delta: [-1, 3], ..SliceSpec::default() }
            .nal(&sps, &pps),
    );
    nals.push(
        SliceSpec { nal_ref_idc: 0, slice_type: 1, frame_num: 2, delta: [1, -1], ..SliceSpec::default() }
            .nal(&sps, &pps),
    );
    let mut stream = Vec::new();
    for nal in &nals {
        stream.extend_from_slice(&[0, 0, 0, 1]);
        stream.extend_from_slice(nal);
    }
    let compared = assert_headers_match_trace("hand-made", &stream);
    for field in
        ["offset_for_ref_frame[1]", "sar_width", "colour_plane_id", "delta_pic_order_cnt[0]", "delta_pic_order_cnt[1]"]
    {
        assert!(compared.iter().any(|c| c == field), "{field} was not compared");
    }
}
