//! Cross-checks with an independent parser: libavcodec's coded bitstream layer, whose
//! `trace_headers` filter prints every syntax element it reads. For the fixtures, and for a
//! hand-made SPS that uses what x265 leaves out (sub-layers, scaling lists, PCM, predicted
//! reference picture sets, long-term pictures, HRD), both parsers must read the same values.

use std::io::Write as _;
use std::process::{Command, Stdio};

use super::test_fixtures::{nal_unit_type, raw_nals, BitWriter, HEVC_FIXTURES};
use super::*;

/// The syntax elements of one NAL unit, as `trace_headers` names them (`name[i]` for arrays).
type TracedUnit = Vec<(String, i64)>;

/// Runs `trace_headers` over an Annex B stream; one entry per NAL unit, in stream order.
fn trace_headers(annex_b: &[u8]) -> Vec<TracedUnit> {
    let mut child = Command::new("ffmpeg")
        .args([
            "-hide_banner",
            "-nostdin",
            "-f",
            "hevc",
            "-i",
            "pipe:0",
            "-c",
            "copy",
            "-bsf:v",
            "trace_headers",
            "-f",
            "null",
            "-",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("ffmpeg is needed by this test: {e}"));
    let mut stdin = child.stdin.take().unwrap();
    let input = annex_b.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    let mut units: Vec<TracedUnit> = Vec::new();
    for line in String::from_utf8_lossy(&out.stderr).lines() {
        let Some(rest) = line.strip_prefix("[trace_headers @ ").and_then(|l| l.split_once("] ")).map(|(_, r)| r) else {
            continue;
        };
        // "<bit position> <name> <bits> = <value>"; other lines are titles.
        let words: Vec<&str> = rest.split_whitespace().collect();
        let [position, name, .., "=", value] = words[..] else { continue };
        let (Ok(_), Ok(value)) = (position.parse::<u64>(), value.parse::<i64>()) else { continue };
        if name == "forbidden_zero_bit" {
            units.push(Vec::new());
        }
        if let Some(unit) = units.last_mut() {
            unit.push((name.to_owned(), value));
        }
    }
    units
}

fn traced(unit: &TracedUnit, name: &str) -> Option<i64> {
    unit.iter().find(|(n, _)| n == name).map(|&(_, v)| v)
}

/// Asserts that each `(name, ours)` pair matches the traced value of that name.
fn assert_same(unit: &TracedUnit, ours: &[(String, i64)], context: &str) {
    for (name, value) in ours {
        assert_eq!(traced(unit, name), Some(*value), "{context}: {name}");
    }
}

fn field(name: &str, value: impl Into<i64>) -> (String, i64) {
    (name.to_owned(), value.into())
}

fn sps_fields(sps: &Sps) -> Vec<(String, i64)> {
    let p = &sps.profile_tier_level;
    let mut f = vec![
        field("sps_video_parameter_set_id", sps.sps_video_parameter_set_id),
        field("sps_max_sub_layers_minus1", sps.sps_max_sub_layers_minus1),
        field("sps_temporal_id_nesting_flag", sps.sps_temporal_id_nesting_flag),
        field("general_profile_idc", p.general_profile_idc),
        field("general_level_idc", p.general_level_idc),
        field("sps_seq_parameter_set_id", sps.sps_seq_parameter_set_id),
        field("chroma_format_idc", sps.chroma_format_idc),
        field("pic_width_in_luma_samples", sps.pic_width_in_luma_samples),
        field("pic_height_in_luma_samples", sps.pic_height_in_luma_samples),
        field("bit_depth_luma_minus8", sps.bit_depth_luma - 8),
        field("bit_depth_chroma_minus8", sps.bit_depth_chroma - 8),
        field("log2_max_pic_order_cnt_lsb_minus4", sps.log2_max_pic_order_cnt_lsb - 4),
        field("log2_min_luma_coding_block_size_minus3", sps.log2_min_luma_coding_block_size - 3),
        field("log2_diff_max_min_luma_coding_block_size", sps.log2_ctb_size - sps.log2_min_luma_coding_block_size),
        field("log2_min_luma_transform_block_size_minus2", sps.log2_min_luma_transform_block_size - 2),
        field("scaling_list_enabled_flag", sps.scaling_list_enabled_flag),
        field("amp_enabled_flag", sps.amp_enabled_flag),
        field("sample_adaptive_offset_enabled_flag", sps.sample_adaptive_offset_enabled_flag),
        field("pcm_enabled_flag", sps.pcm_enabled_flag),
        field("num_short_term_ref_pic_sets", sps.short_term_ref_pic_sets.len() as u32),
        field("long_term_ref_pics_present_flag", sps.long_term_ref_pics_present_flag),
        field("sps_temporal_mvp_enabled_flag", sps.sps_temporal_mvp_enabled_flag),
        field("strong_intra_smoothing_enabled_flag", sps.strong_intra_smoothing_enabled_flag),
        field("vui_parameters_present_flag", sps.vui.is_some()),
    ];
    let highest = sps.sub_layer_ordering.len() - 1;
    let o = sps.sub_layer_ordering[highest];
    f.push(field(&format!("sps_max_dec_pic_buffering_minus1[{highest}]"), o.max_dec_pic_buffering_minus1));
    f.push(field(&format!("sps_max_num_reorder_pics[{highest}]"), o.max_num_reorder_pics));
    f.push(field(&format!("sps_max_latency_increase_plus1[{highest}]"), o.max_latency_increase_plus1));
    if sps.long_term_ref_pics_present_flag {
        f.push(field("num_long_term_ref_pics_sps", sps.num_long_term_ref_pics_sps));
    }
    let Some(vui) = &sps.vui else { return f };
    f.push(field("video_full_range_flag", vui.colour.full_range));
    if let Some(video_format) = vui.video_format {
        f.push(field("video_format", video_format));
    }
    f.push(field("field_seq_flag", vui.field_seq_flag));
    f.push(field("vui_timing_info_present_flag", vui.timing.is_some()));
    if let Some(t) = vui.timing {
        f.push(field("vui_num_units_in_tick", t.vui_num_units_in_tick));
        f.push(field("vui_time_scale", t.vui_time_scale));
        f.push(field("vui_hrd_parameters_present_flag", t.vui_hrd_parameters_present_flag));
    }
    f.push(field("bitstream_restriction_flag", vui.bitstream_restriction.is_some()));
    if let Some(b) = vui.bitstream_restriction {
        f.push(field("min_spatial_segmentation_idc", b.min_spatial_segmentation_idc));
        f.push(field("max_bytes_per_pic_denom", b.max_bytes_per_pic_denom));
        f.push(field("max_bits_per_min_cu_denom", b.max_bits_per_min_cu_denom));
        f.push(field("log2_max_mv_length_horizontal", b.log2_max_mv_length_horizontal));
        f.push(field("log2_max_mv_length_vertical", b.log2_max_mv_length_vertical));
    }
    f
}

fn pps_fields(pps: &Pps) -> Vec<(String, i64)> {
    vec![
        field("pps_pic_parameter_set_id", pps.pps_pic_parameter_set_id),
        field("pps_seq_parameter_set_id", pps.pps_seq_parameter_set_id),
        field("dependent_slice_segments_enabled_flag", pps.dependent_slice_segments_enabled_flag),
        field("output_flag_present_flag", pps.output_flag_present_flag),
        field("num_extra_slice_header_bits", pps.num_extra_slice_header_bits),
        field("sign_data_hiding_enabled_flag", pps.sign_data_hiding_enabled_flag),
        field("cabac_init_present_flag", pps.cabac_init_present_flag),
        field("num_ref_idx_l0_default_active_minus1", pps.num_ref_idx_l0_default_active_minus1),
        field("num_ref_idx_l1_default_active_minus1", pps.num_ref_idx_l1_default_active_minus1),
        field("init_qp_minus26", pps.init_qp_minus26),
        field("constrained_intra_pred_flag", pps.constrained_intra_pred_flag),
        field("transform_skip_enabled_flag", pps.transform_skip_enabled_flag),
        field("cu_qp_delta_enabled_flag", pps.cu_qp_delta_enabled_flag),
        field("pps_cb_qp_offset", pps.pps_cb_qp_offset),
        field("pps_cr_qp_offset", pps.pps_cr_qp_offset),
        field("pps_slice_chroma_qp_offsets_present_flag", pps.pps_slice_chroma_qp_offsets_present_flag),
        field("weighted_pred_flag", pps.weighted_pred_flag),
        field("weighted_bipred_flag", pps.weighted_bipred_flag),
        field("transquant_bypass_enabled_flag", pps.transquant_bypass_enabled_flag),
        field("tiles_enabled_flag", pps.tiles_enabled_flag),
        field("entropy_coding_sync_enabled_flag", pps.entropy_coding_sync_enabled_flag),
    ]
}

fn annex_b(nals: &[Vec<u8>]) -> Vec<u8> {
    nals.iter().flat_map(|n| [&[0, 0, 0, 1][..], n].concat()).collect()
}

#[test]
fn every_parameter_set_and_slice_header_of_the_fixtures_reads_as_libavcodec_reads_it() {
    for name in HEVC_FIXTURES {
        let nals = raw_nals(name);
        let traced_units = trace_headers(&annex_b(&nals));
        // The demuxer's extradata (the first parameter sets again) is traced first.
        let extradata = traced_units.len().checked_sub(nals.len()).expect("every NAL unit is traced");
        let units = &traced_units[extradata..];
        let mut state = StreamState::new();
        let mut slices = 0;
        for (i, (nal, unit)) in nals.iter().zip(units).enumerate() {
            let context = format!("{name} NAL {i}");
            assert_eq!(traced(unit, "nal_unit_type"), Some(i64::from(nal_unit_type(nal))), "{context}");
            state.push_nal(nal).unwrap();
            match nal_unit_type(nal) {
                NAL_VPS => {
                    let vps = vps::parse_vps(nal).unwrap();
                    let ours = [
                        field("vps_video_parameter_set_id", vps.vps_video_parameter_set_id),
                        field("vps_max_sub_layers_minus1", vps.vps_max_sub_layers_minus1),
                        field("vps_temporal_id_nesting_flag", vps.vps_temporal_id_nesting_flag),
                        field("general_level_idc", vps.profile_tier_level.general_level_idc),
                    ];
                    assert_same(unit, &ours, &context);
                }
                NAL_SPS => assert_same(unit, &sps_fields(&sps::parse_sps(nal).unwrap()), &context),
                NAL_PPS => assert_same(unit, &pps_fields(&pps::parse_pps(nal).unwrap()), &context),
                t if t < 32 => {
                    let (header, payload) = NalHeader::parse(nal).unwrap();
                    let pps = state.pps(0).unwrap();
                    let sps = state.sps(pps.pps_seq_parameter_set_id).unwrap();
                    let slice = slice::parse_slice_segment_header(header, payload, |_| Ok((pps, sps))).unwrap();
                    let mut ours = vec![
                        field("first_slice_segment_in_pic_flag", slice.first_slice_segment_in_pic_flag),
                        field("slice_pic_parameter_set_id", slice.slice_pic_parameter_set_id),
                        field("slice_type", slice.slice_type.unwrap()),
                    ];
                    if let Some(lsb) = slice.slice_pic_order_cnt_lsb {
                        ours.push(field("slice_pic_order_cnt_lsb", lsb));
                    }
                    if header.is_irap() {
                        ours.push(field("no_output_of_prior_pics_flag", slice.no_output_of_prior_pics_flag));
                    }
                    assert_same(unit, &ours, &context);
                    slices += 1;
                }
                _ => {}
            }
        }
        assert!(slices >= 50, "{name}: {slices} slices compared");
    }
}

/// Inserts emulation-prevention bytes (7.4.2): a 3 after two zeros when the next byte is <= 3.
fn ebsp_from_rbsp(rbsp: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(rbsp.len() + 8);
    let mut zeros = 0;
    for &b in rbsp {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
    out
}

/// `profile_tier_level(1, 2)`: general Main level 3.1, sub-layer 0 with profile and level,
/// sub-layer 1 with level only.
fn write_three_sub_layer_ptl(w: &mut BitWriter) {
    w.bits(8, 1).bits(32, 0x6000_0000).bits(16, 0x9000).bits(32, 0).bits(8, 93);
    w.bit(true).bit(true).bit(false).bit(true).bits(12, 0);
    w.bits(8, 1).bits(32, 0x6000_0000).bits(16, 0x9000).bits(32, 0).bits(8, 60);
    w.bits(8, 63);
}

/// A complete VPS (id 0) with three sub-layers, which the SPS below needs.
fn three_sub_layer_vps() -> Vec<u8> {
    let mut w = BitWriter::default();
    w.bits(16, u32::from(NAL_VPS) << 9 | 1);
    w.bits(4, 0).bit(true).bit(true).bits(6, 0).bits(3, 2).bit(false).bits(16, 0xffff);
    write_three_sub_layer_ptl(&mut w);
    w.bit(true);
    for (dpb, reorder) in [(2, 0), (3, 1), (4, 2)] {
        w.ue(dpb).ue(reorder).ue(0);
    }
    w.bits(6, 0).ue(0).bit(false).bit(false); // max layer id, layer sets, no timing, no extension
    w.bit(true);
    let rbsp = w.bytes();
    [&rbsp[..2], &ebsp_from_rbsp(&rbsp[2..])].concat()
}

/// An SPS (id 0, 320×240, Main) using the syntax x265 never writes.
fn rich_sps() -> Vec<u8> {
    let mut w = BitWriter::default();
    w.bits(16, u32::from(NAL_SPS) << 9 | 1); // NAL header, TemporalId 0
    w.bits(4, 0).bits(3, 2).bit(false); // VPS 0, 3 sub-layers, no nesting
    write_three_sub_layer_ptl(&mut w);
    w.ue(0).ue(1).ue(320).ue(240); // sps id, 4:2:0, size
    w.bit(true).ue(1).ue(2).ue(0).ue(3); // conformance window: 314×234
    w.ue(0).ue(0).ue(4); // 8-bit, log2_max_pic_order_cnt_lsb 8
    w.bit(true); // ordering for each sub-layer
    for (dpb, reorder) in [(2, 0), (3, 1), (4, 2)] {
        w.ue(dpb).ue(reorder).ue(0);
    }
    w.ue(0).ue(3).ue(0).ue(3).ue(1).ue(2); // 8×8 CU, 64×64 CTB, 4..32 TU, depths
                                           // Scaling lists: every other list explicit, the rest copied from the previous list.
    w.bit(true).bit(true);
    for size_id in 0..4u32 {
        let count = if size_id == 3 { 2 } else { 6 };
        for m in 0..count {
            if m % 2 == 0 {
                w.bit(true);
                if size_id > 1 {
                    w.se(4);
                }
                let coefs = if size_id == 0 { 16 } else { 64 };
                (0..coefs).for_each(|k| {
                    w.se(if k % 3 == 0 { 2 } else { -1 });
                });
            } else {
                w.bit(false).ue(1);
            }
        }
    }
    w.bit(true).bit(true); // AMP, SAO
    w.bit(true).bits(4, 7).bits(4, 7).ue(0).ue(2).bit(true); // PCM 8-bit, 8×8..32×32
                                                             // Short-term sets: two explicit, then three predicted from the previous one.
    w.ue(5);
    w.ue(2).ue(1).ue(0).bit(true).ue(1).bit(true).ue(1).bit(true); // {-1, -3 | +2}
    w.bit(false).ue(1).ue(1).ue(3).bit(true).ue(0).bit(false); // {-4 | +1}
    w.bit(true).bit(true).ue(0).bit(true).bit(false).bit(false).bit(true); // deltaRps -1
    w.bit(true).bit(false).ue(1).bit(true).bit(true).bit(true); // deltaRps +2
    w.bit(true).bit(true).ue(2).bit(false).bit(true).bit(true).bit(false).bit(false).bit(true); // -3
    w.bit(true).ue(2).bits(8, 17).bit(true).bits(8, 200).bit(false); // two long-term pictures
    w.bit(true).bit(true); // TMVP, strong intra smoothing
    w.bit(true); // vui_parameters_present_flag
                 // VUI: SAR 4:3 (table), overscan, BT.709 full range, chroma location, display window,
                 // 30000/1001 timing with HRD for every sub-layer (NAL + VCL, sub-picture parameters),
                 // and bitstream restrictions.
    w.bit(true).bits(8, 14).bit(true).bit(true);
    w.bit(true).bits(3, 5).bit(true).bit(true).bits(8, 1).bits(8, 1).bits(8, 1);
    w.bit(true).ue(1).ue(1);
    w.bit(false).bit(false).bit(false);
    w.bit(true).ue(0).ue(2).ue(0).ue(2);
    w.bit(true).bits(32, 1001).bits(32, 30000).bit(true).ue(0).bit(true);
    w.bit(true).bit(true).bit(true).bits(8, 23).bits(5, 4).bit(false).bits(5, 4);
    w.bits(4, 2).bits(4, 3).bits(4, 1).bits(5, 23).bits(5, 23).bits(5, 23);
    for sub_layer in 0..3u32 {
        if sub_layer == 1 {
            w.bit(false).bit(false).bit(true); // not fixed rate, low delay: one CPB
        } else {
            w.bit(true).ue(sub_layer).ue(1); // fixed rate, two CPBs
        }
        let cpbs = if sub_layer == 1 { 1 } else { 2 };
        // NAL then VCL parameters; E.3.3: rates and sizes increase with the CPB index.
        for _ in 0..2 {
            for k in 0..cpbs {
                w.ue(4000 + k).ue(9000 + k).ue(300 + k).ue(100 + k).bit(sub_layer == 2);
            }
        }
    }
    w.bit(true).bit(false).bit(true).bit(true).ue(200).ue(2).ue(1).ue(15).ue(15);
    w.bit(false); // sps_extension_present_flag
    w.bit(true); // rbsp_stop_one_bit
    let rbsp = w.bytes();
    [&rbsp[..2], &ebsp_from_rbsp(&rbsp[2..])].concat()
}

#[test]
fn a_rich_sps_with_predicted_reference_sets_and_hrd_reads_as_libavcodec_reads_it() {
    let nals = raw_nals("hevc_main_320x240_25");
    let sps_nal = rich_sps();
    assert_eq!(vps::parse_vps(&three_sub_layer_vps()).unwrap().vps_max_sub_layers_minus1, 2);
    let sps = sps::parse_sps(&sps_nal).unwrap();
    // VPS, our SPS, then PPS: libavcodec traces parameter sets even without a picture.
    let units = trace_headers(&annex_b(&[three_sub_layer_vps(), sps_nal, nals[2].clone()]));
    let unit =
        units.iter().find(|u| traced(u, "nal_unit_type") == Some(i64::from(NAL_SPS))).expect("the SPS is traced");
    assert_eq!(traced(unit, "rbsp_stop_one_bit"), Some(1), "libavcodec read the SPS to its end");
    assert_same(unit, &sps_fields(&sps), "rich SPS");
    // What was hand-coded, read back through the derivations.
    assert_eq!(sps.sub_layer_ordering.iter().map(|o| o.max_num_reorder_pics).collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(sps.display_size(), (314, 234));
    let sets = &sps.short_term_ref_pic_sets;
    assert_eq!((sets[0].delta_poc_s0.as_slice(), sets[0].delta_poc_s1.as_slice()), (&[-1, -3][..], &[2][..]));
    assert_eq!((sets[1].delta_poc_s0.as_slice(), sets[1].delta_poc_s1.as_slice()), (&[-4][..], &[1][..]));
    let params = sps.video_params();
    assert_eq!((params.sample_aspect_ratio, params.frame_rate), ((4, 3), crate::codec::FrameRate::new(30000, 1001)));
    assert_eq!(params.max_num_reorder_frames, Some(2));
    assert_eq!(
        sps.vui.as_ref().and_then(|v| v.bitstream_restriction).map(|b| b.min_spatial_segmentation_idc),
        Some(200)
    );
}
