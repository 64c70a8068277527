//! The sequence parameter set (H.265 7.3.2.2.1) up to and including the VUI, with the range
//! checks of 7.4.3.2.1, and the [`VideoParams`] it implies.

use crate::codec::{rbsp_from_ebsp, BitReader, ChromaFormat, Codec, ColourDescription, VideoParams};
use crate::error::Result;

use super::profile_tier_level::{self, ProfileTierLevel};
use super::scaling_list::skip_scaling_list_data;
use super::st_rps::{parse_st_ref_pic_set, ShortTermRefPicSet};
use super::vui::{parse_vui, Vui};
use super::{NalHeader, NAL_SPS};

/// A.4.1: pic_width and pic_height are at most Sqrt(MaxLumaPs × 8), 16888 at level 6.2, the
/// largest bounded level. Larger values are surely corrupt; rejecting them also keeps every
/// derived size well inside `u32`.
const MAX_PIC_DIMENSION: u32 = 16888;

/// A window in chroma sample units (`conf_win_*_offset`, `def_disp_win_*_offset`): multiply
/// by `SubWidthC` / `SubHeightC` for luma samples.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub left: u32,
    pub right: u32,
    pub top: u32,
    pub bottom: u32,
}

/// `sps_max_dec_pic_buffering_minus1`, `sps_max_num_reorder_pics`,
/// `sps_max_latency_increase_plus1` of one sub-layer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SubLayerOrdering {
    pub max_dec_pic_buffering_minus1: u32,
    pub max_num_reorder_pics: u32,
    pub max_latency_increase_plus1: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sps {
    pub sps_video_parameter_set_id: u8,
    pub sps_max_sub_layers_minus1: u8,
    pub sps_temporal_id_nesting_flag: bool,
    pub profile_tier_level: ProfileTierLevel,
    pub sps_seq_parameter_set_id: u8,
    pub chroma_format_idc: u8,
    pub separate_colour_plane_flag: bool,
    pub pic_width_in_luma_samples: u32,
    pub pic_height_in_luma_samples: u32,
    pub conformance_window: Window,
    pub bit_depth_luma: u8,
    pub bit_depth_chroma: u8,
    pub log2_max_pic_order_cnt_lsb: u8,
    /// One entry per sub-layer (`sps_max_sub_layers_minus1 + 1`); entries not coded are
    /// inferred from the highest sub-layer (7.4.3.2.1).
    pub sub_layer_ordering: Vec<SubLayerOrdering>,
    pub log2_min_luma_coding_block_size: u8,
    /// `CtbLog2SizeY`.
    pub log2_ctb_size: u8,
    pub log2_min_luma_transform_block_size: u8,
    pub log2_max_luma_transform_block_size: u8,
    pub scaling_list_enabled_flag: bool,
    pub amp_enabled_flag: bool,
    pub sample_adaptive_offset_enabled_flag: bool,
    pub pcm_enabled_flag: bool,
    pub short_term_ref_pic_sets: Vec<ShortTermRefPicSet>,
    pub long_term_ref_pics_present_flag: bool,
    pub num_long_term_ref_pics_sps: u8,
    pub sps_temporal_mvp_enabled_flag: bool,
    pub strong_intra_smoothing_enabled_flag: bool,
    pub vui: Option<Vui>,
}

/// Parses an SPS NAL unit (with its two-byte header) through the VUI.
pub fn parse_sps(nal: &[u8]) -> Result<Sps> {
    let payload = NalHeader::parse_expecting(nal, NAL_SPS, "sps")?;
    let rbsp = rbsp_from_ebsp(payload);
    let r = &mut BitReader::new(&rbsp, "sps");
    let sps_video_parameter_set_id = r.read_u8(4, "sps_video_parameter_set_id")?;
    let sps_max_sub_layers_minus1 = r.read_u8(3, "sps_max_sub_layers_minus1")?;
    if sps_max_sub_layers_minus1 > 6 {
        return Err(r.invalid("sps_max_sub_layers_minus1", "7 (the maximum is 6)"));
    }
    let sps_temporal_id_nesting_flag = r.read_flag("sps_temporal_id_nesting_flag")?;
    let profile_tier_level = profile_tier_level::parse(r, sps_max_sub_layers_minus1, "sps.profile_tier_level")?;
    let sps_seq_parameter_set_id = r.read_ue_max(15, "sps_seq_parameter_set_id")? as u8;
    let chroma_format_idc = r.read_ue_max(3, "chroma_format_idc")? as u8;
    let separate_colour_plane_flag = chroma_format_idc == 3 && r.read_flag("separate_colour_plane_flag")?;
    let pic_width_in_luma_samples = r.read_ue_max(MAX_PIC_DIMENSION, "pic_width_in_luma_samples")?;
    let pic_height_in_luma_samples = r.read_ue_max(MAX_PIC_DIMENSION, "pic_height_in_luma_samples")?;
    let conformance_window = if r.read_flag("conformance_window_flag")? {
        Window {
            left: r.read_ue("conf_win_left_offset")?,
            right: r.read_ue("conf_win_right_offset")?,
            top: r.read_ue("conf_win_top_offset")?,
            bottom: r.read_ue("conf_win_bottom_offset")?,
        }
    } else {
        Window::default()
    };
    let bit_depth_luma = r.read_ue_max(8, "bit_depth_luma_minus8")? as u8 + 8;
    let bit_depth_chroma = r.read_ue_max(8, "bit_depth_chroma_minus8")? as u8 + 8;
    let log2_max_pic_order_cnt_lsb = r.read_ue_max(12, "log2_max_pic_order_cnt_lsb_minus4")? as u8 + 4;
    let sub_layer_ordering = parse_sub_layer_ordering(r, sps_max_sub_layers_minus1)?;

    // 7.4.3.2.1 and A.3: MinCbLog2SizeY >= 3, 4 <= CtbLog2SizeY <= 6, MinTbLog2SizeY <
    // MinCbLog2SizeY, MaxTbLog2SizeY <= Min(CtbLog2SizeY, 5).
    let log2_min_luma_coding_block_size = r.read_ue_max(3, "log2_min_luma_coding_block_size_minus3")? as u8 + 3;
    let log2_ctb_size =
        log2_min_luma_coding_block_size + r.read_ue_max(3, "log2_diff_max_min_luma_coding_block_size")? as u8;
    if !(4..=6).contains(&log2_ctb_size) {
        return Err(r.invalid(
            "log2_diff_max_min_luma_coding_block_size",
            format!("CtbLog2SizeY {log2_ctb_size} is outside 4..=6"),
        ));
    }
    let max_min_tb = u32::from(log2_min_luma_coding_block_size) - 3;
    let log2_min_luma_transform_block_size =
        r.read_ue_max(max_min_tb, "log2_min_luma_transform_block_size_minus2")? as u8 + 2;
    let max_tb_diff = u32::from(log2_ctb_size.min(5) - log2_min_luma_transform_block_size);
    let log2_max_luma_transform_block_size = log2_min_luma_transform_block_size
        + r.read_ue_max(max_tb_diff, "log2_diff_max_min_luma_transform_block_size")? as u8;
    let max_depth = u32::from(log2_ctb_size - log2_min_luma_transform_block_size);
    r.read_ue_max(max_depth, "max_transform_hierarchy_depth_inter")?;
    r.read_ue_max(max_depth, "max_transform_hierarchy_depth_intra")?;
    let min_cb_size = 1u32 << log2_min_luma_coding_block_size;
    for (value, field) in [
        (pic_width_in_luma_samples, "pic_width_in_luma_samples"),
        (pic_height_in_luma_samples, "pic_height_in_luma_samples"),
    ] {
        if value == 0 || value % min_cb_size != 0 {
            return Err(r.invalid(field, format!("{value} is not a positive multiple of MinCbSizeY {min_cb_size}")));
        }
    }

    let scaling_list_enabled_flag = r.read_flag("scaling_list_enabled_flag")?;
    if scaling_list_enabled_flag && r.read_flag("sps_scaling_list_data_present_flag")? {
        skip_scaling_list_data(r, "sps.scaling_list_data")?;
    }
    let amp_enabled_flag = r.read_flag("amp_enabled_flag")?;
    let sample_adaptive_offset_enabled_flag = r.read_flag("sample_adaptive_offset_enabled_flag")?;
    let pcm_enabled_flag = r.read_flag("pcm_enabled_flag")?;
    if pcm_enabled_flag {
        skip_pcm(r, bit_depth_luma, bit_depth_chroma, log2_min_luma_coding_block_size, log2_ctb_size)?;
    }

    let num_short_term_ref_pic_sets = r.read_ue_max(64, "num_short_term_ref_pic_sets")? as usize;
    let max_dec = sub_layer_ordering.last().map_or(0, |o| o.max_dec_pic_buffering_minus1);
    let mut short_term_ref_pic_sets = Vec::with_capacity(num_short_term_ref_pic_sets);
    r.set_at("sps.st_ref_pic_set");
    for i in 0..num_short_term_ref_pic_sets {
        let set = parse_st_ref_pic_set(r, i, num_short_term_ref_pic_sets, &short_term_ref_pic_sets, max_dec)?;
        short_term_ref_pic_sets.push(set);
    }
    r.set_at("sps");
    let long_term_ref_pics_present_flag = r.read_flag("long_term_ref_pics_present_flag")?;
    let mut num_long_term_ref_pics_sps = 0;
    if long_term_ref_pics_present_flag {
        num_long_term_ref_pics_sps = r.read_ue_max(32, "num_long_term_ref_pics_sps")? as u8;
        for _ in 0..num_long_term_ref_pics_sps {
            r.skip_bits(usize::from(log2_max_pic_order_cnt_lsb), "lt_ref_pic_poc_lsb_sps")?;
            r.read_flag("used_by_curr_pic_lt_sps_flag")?;
        }
    }
    let sps_temporal_mvp_enabled_flag = r.read_flag("sps_temporal_mvp_enabled_flag")?;
    let strong_intra_smoothing_enabled_flag = r.read_flag("strong_intra_smoothing_enabled_flag")?;
    let vui =
        if r.read_flag("vui_parameters_present_flag")? { Some(parse_vui(r, sps_max_sub_layers_minus1)?) } else { None };

    let sps = Sps {
        sps_video_parameter_set_id,
        sps_max_sub_layers_minus1,
        sps_temporal_id_nesting_flag,
        profile_tier_level,
        sps_seq_parameter_set_id,
        chroma_format_idc,
        separate_colour_plane_flag,
        pic_width_in_luma_samples,
        pic_height_in_luma_samples,
        conformance_window,
        bit_depth_luma,
        bit_depth_chroma,
        log2_max_pic_order_cnt_lsb,
        sub_layer_ordering,
        log2_min_luma_coding_block_size,
        log2_ctb_size,
        log2_min_luma_transform_block_size,
        log2_max_luma_transform_block_size,
        scaling_list_enabled_flag,
        amp_enabled_flag,
        sample_adaptive_offset_enabled_flag,
        pcm_enabled_flag,
        short_term_ref_pic_sets,
        long_term_ref_pics_present_flag,
        num_long_term_ref_pics_sps,
        sps_temporal_mvp_enabled_flag,
        strong_intra_smoothing_enabled_flag,
        vui,
    };
    sps.check_conformance_window()?;
    Ok(sps)
}

/// 7.3.2.2.1: only the highest sub-layer is coded unless
/// `sps_sub_layer_ordering_info_present_flag`; the others take its values.
fn parse_sub_layer_ordering(r: &mut BitReader<'_>, max_sub_layers_minus1: u8) -> Result<Vec<SubLayerOrdering>> {
    let count = usize::from(max_sub_layers_minus1) + 1;
    let all_present = r.read_flag("sps_sub_layer_ordering_info_present_flag")?;
    let coded = if all_present { count } else { 1 };
    let mut ordering: Vec<SubLayerOrdering> = Vec::with_capacity(count);
    for _ in 0..coded {
        // A.4.2: MaxDpbSize is at most 16.
        let max_dec_pic_buffering_minus1 = r.read_ue_max(15, "sps_max_dec_pic_buffering_minus1")?;
        let max_num_reorder_pics = r.read_ue_max(max_dec_pic_buffering_minus1, "sps_max_num_reorder_pics")?;
        let max_latency_increase_plus1 = r.read_ue("sps_max_latency_increase_plus1")?;
        if let Some(lower) = ordering.last() {
            // 7.4.3.2.1: neither may decrease from one sub-layer to the next.
            if max_dec_pic_buffering_minus1 < lower.max_dec_pic_buffering_minus1 {
                return Err(r.invalid("sps_max_dec_pic_buffering_minus1", "smaller than for the sub-layer below"));
            }
            if max_num_reorder_pics < lower.max_num_reorder_pics {
                return Err(r.invalid("sps_max_num_reorder_pics", "smaller than for the sub-layer below"));
            }
        }
        ordering.push(SubLayerOrdering {
            max_dec_pic_buffering_minus1,
            max_num_reorder_pics,
            max_latency_increase_plus1,
        });
    }
    if let Some(&highest) = ordering.last() {
        ordering.resize(count, highest);
    }
    Ok(ordering)
}

/// The PCM parameters (7.3.2.2.1), checked against 7.4.3.2.1 and skipped.
fn skip_pcm(
    r: &mut BitReader<'_>,
    bit_depth_luma: u8,
    bit_depth_chroma: u8,
    log2_min_cb: u8,
    log2_ctb: u8,
) -> Result<()> {
    if r.read_u8(4, "pcm_sample_bit_depth_luma_minus1")? + 1 > bit_depth_luma {
        return Err(r.invalid("pcm_sample_bit_depth_luma_minus1", "deeper than BitDepthY"));
    }
    if r.read_u8(4, "pcm_sample_bit_depth_chroma_minus1")? + 1 > bit_depth_chroma {
        return Err(r.invalid("pcm_sample_bit_depth_chroma_minus1", "deeper than BitDepthC"));
    }
    let log2_min_pcm = r.read_ue_max(2, "log2_min_pcm_luma_coding_block_size_minus3")? as u8 + 3;
    if log2_min_pcm < log2_min_cb.min(5) || log2_min_pcm > log2_ctb.min(5) {
        return Err(r.invalid(
            "log2_min_pcm_luma_coding_block_size_minus3",
            "outside Min(MinCbLog2SizeY, 5)..=Min(CtbLog2SizeY, 5)",
        ));
    }
    r.read_ue_max(u32::from(log2_ctb.min(5) - log2_min_pcm), "log2_diff_max_min_pcm_luma_coding_block_size")?;
    r.read_flag("pcm_loop_filter_disabled_flag")?;
    Ok(())
}

impl Sps {
    /// (`SubWidthC`, `SubHeightC`) of Table 6-1: 1 for monochrome, 4:4:4 and separate planes.
    pub fn chroma_subsampling(&self) -> (u32, u32) {
        match (self.chroma_format_idc, self.separate_colour_plane_flag) {
            (1, _) => (2, 2),
            (2, _) => (2, 1),
            _ => (1, 1),
        }
    }

    /// Size after the conformance window (7.4.3.2.1), in luma samples.
    pub fn display_size(&self) -> (u32, u32) {
        let (sub_w, sub_h) = self.chroma_subsampling();
        let w = &self.conformance_window;
        // check_conformance_window proved these fit.
        let width =
            u64::from(self.pic_width_in_luma_samples) - u64::from(sub_w) * (u64::from(w.left) + u64::from(w.right));
        let height =
            u64::from(self.pic_height_in_luma_samples) - u64::from(sub_h) * (u64::from(w.top) + u64::from(w.bottom));
        (width as u32, height as u32)
    }

    fn check_conformance_window(&self) -> Result<()> {
        let (sub_w, sub_h) = self.chroma_subsampling();
        let w = &self.conformance_window;
        let crop_w = u64::from(sub_w) * (u64::from(w.left) + u64::from(w.right));
        let crop_h = u64::from(sub_h) * (u64::from(w.top) + u64::from(w.bottom));
        if crop_w >= u64::from(self.pic_width_in_luma_samples) || crop_h >= u64::from(self.pic_height_in_luma_samples) {
            return Err(crate::ParseError::invalid("sps.conformance_window", "crops the whole picture"));
        }
        Ok(())
    }

    /// `PicSizeInCtbsY` (7-15 .. 7-19).
    pub fn pic_size_in_ctbs(&self) -> u32 {
        let ctb = 1u32 << self.log2_ctb_size;
        self.pic_width_in_luma_samples.div_ceil(ctb) * self.pic_height_in_luma_samples.div_ceil(ctb)
    }

    /// `sps_max_num_reorder_pics` of the highest sub-layer: what a player must buffer.
    pub fn max_num_reorder_pics(&self) -> u32 {
        self.sub_layer_ordering.last().map_or(0, |o| o.max_num_reorder_pics)
    }

    /// What users need to know, in the form ffprobe reports it.
    pub fn video_params(&self) -> VideoParams {
        let ptl = &self.profile_tier_level;
        let (width, height) = self.display_size();
        let vui = self.vui.as_ref();
        VideoParams {
            codec: Codec::H265,
            profile_idc: ptl.general_profile_idc,
            profile: ptl.profile_name().to_owned(),
            level_idc: ptl.general_level_idc,
            high_tier: ptl.general_tier_flag,
            coded_width: self.pic_width_in_luma_samples,
            coded_height: self.pic_height_in_luma_samples,
            width,
            height,
            bit_depth_luma: self.bit_depth_luma,
            bit_depth_chroma: self.bit_depth_chroma,
            chroma_format: ChromaFormat::from_idc(u32::from(self.chroma_format_idc)).unwrap_or(ChromaFormat::Yuv420),
            frame_rate: vui.and_then(|v| v.timing).and_then(|t| t.frame_rate()),
            colour: vui.map_or_else(ColourDescription::default, |v| v.colour),
            sample_aspect_ratio: vui.and_then(|v| v.sample_aspect_ratio).unwrap_or((1, 1)),
            max_num_reorder_frames: Some(self.max_num_reorder_pics()),
            codec_string: ptl.codec_string("hvc1"),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::codec::h265::parse_sps_params;
    use crate::codec::h265::test_fixtures::{ffprobe_stream, first_nal_of_type, HEVC_FIXTURES};

    #[test]
    fn fixture_sps_agree_with_ffprobe() {
        for name in HEVC_FIXTURES {
            let params = parse_sps_params(&first_nal_of_type(name, NAL_SPS)).unwrap();
            let probe = ffprobe_stream(&format!("{name}.h265"));
            let reported = |key: &str| probe.get(key).map(String::as_str).filter(|v| !matches!(*v, "unknown" | "N/A"));
            let is = |key: &str, ours: String| assert_eq!(Some(ours.as_str()), reported(key), "{name}: {key}");
            is("width", params.width.to_string());
            is("height", params.height.to_string());
            is("coded_width", params.coded_width.to_string());
            is("coded_height", params.coded_height.to_string());
            is("profile", params.profile.clone());
            is("level", params.level_idc.to_string());
            is("pix_fmt", params.pix_fmt());
            // libavcodec's has_b_frames is sps_max_num_reorder_pics of the highest sub-layer.
            is("has_b_frames", params.max_num_reorder_frames.unwrap().to_string());
            if let Some(rate) = params.frame_rate {
                is("r_frame_rate", format!("{}/{}", rate.num, rate.den));
            }
            if let Some(range) = reported("color_range") {
                assert_eq!(range, if params.colour.full_range { "pc" } else { "tv" }, "{name}");
            }
            if let Some(sar) = reported("sample_aspect_ratio") {
                assert_eq!(sar, format!("{}:{}", params.sample_aspect_ratio.0, params.sample_aspect_ratio.1), "{name}");
            }
            for (key, ours) in [
                ("color_space", params.colour.matrix_name()),
                ("color_primaries", params.colour.primaries_name()),
                ("color_transfer", params.colour.transfer_name()),
            ] {
                assert_eq!(ours, reported(key), "{name}: {key}");
            }
        }
    }

    #[test]
    fn codec_strings_of_the_main_and_main10_fixtures() {
        // x265 declares Main compatible with Main and Main 10 (flags 1 and 2: 0b110 reversed),
        // Main 10 with Main 10 only (flag 2: 0b100); level 2 (60); constraint byte 0x90 =
        // progressive_source + frame_only.
        let main = parse_sps_params(&first_nal_of_type("hevc_main_320x240_25", NAL_SPS)).unwrap();
        assert_eq!(main.codec_string, "hvc1.1.6.L60.90");
        let main10 = parse_sps_params(&first_nal_of_type("hevc_main10_320x240_25", NAL_SPS)).unwrap();
        assert_eq!(main10.codec_string, "hvc1.2.4.L60.90");
    }

    #[test]
    fn sub_layer_ordering_is_inferred_from_the_highest_sub_layer() {
        use crate::codec::h265::test_fixtures::BitWriter;
        let mut w = BitWriter::default();
        w.bit(false).ue(4).ue(2).ue(0);
        let bytes = w.bytes();
        let ordering = parse_sub_layer_ordering(&mut BitReader::new(&bytes, "sps"), 2).unwrap();
        assert_eq!(ordering.len(), 3);
        assert!(ordering.iter().all(|o| o.max_dec_pic_buffering_minus1 == 4 && o.max_num_reorder_pics == 2));
        // Coded for each sub-layer: reorder may not exceed the DPB, nor shrink going up.
        let mut w = BitWriter::default();
        w.bit(true).ue(4).ue(2).ue(0).ue(4).ue(1).ue(0);
        let e = parse_sub_layer_ordering(&mut BitReader::new(&w.bytes(), "sps"), 1).unwrap_err();
        assert_eq!(e.at, "sps.sps_max_num_reorder_pics");
        let mut w = BitWriter::default();
        w.bit(false).ue(3).ue(4);
        let e = parse_sub_layer_ordering(&mut BitReader::new(&w.bytes(), "sps"), 0).unwrap_err();
        assert_eq!(e.at, "sps.sps_max_num_reorder_pics");
    }

    #[test]
    fn the_conformance_window_crops_in_chroma_units() {
        let mut sps = parse_sps(&first_nal_of_type("hevc_main_320x240_25", NAL_SPS)).unwrap();
        sps.conformance_window = Window { left: 0, right: 1, top: 0, bottom: 3 };
        assert_eq!(sps.display_size(), (318, 234), "4:2:0: SubWidthC = SubHeightC = 2");
        sps.chroma_format_idc = 2;
        assert_eq!(sps.display_size(), (318, 237), "4:2:2: SubHeightC = 1");
        sps.conformance_window.right = 160;
        assert!(sps.check_conformance_window().is_err());
    }
}
