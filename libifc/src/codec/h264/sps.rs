//! The sequence parameter set (H.264 7.3.2.1.1) and the picture sizes derived from it
//! (7.4.2.1.1).

use super::vui::Vui;
use super::{nal_rbsp, NAL_SPS};
use crate::codec::BitReader;
use crate::error::Result;

/// `profile_idc` values whose SPS carries `chroma_format_idc`, bit depths and scaling matrices
/// (H.264 7.3.2.1.1). 144 is the High 4:4:4 profile of the 2005 edition: removed since, but
/// its SPS has the same syntax and decoders still accept it.
const PROFILES_WITH_CHROMA_INFO: [u8; 14] = [100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135, 144];

/// No conforming picture is wider or taller than this many macroblocks: H.264 A.3.1 item f
/// bounds both by Sqrt(8 × MaxFS), and the largest MaxFS (level 6.2, Table A-1) is 139 264.
pub const MAX_PIC_SIZE_IN_MBS: u32 = 1055;

/// The largest DPB of any level, in frames (H.264 A.3.1 item h: MaxDpbFrames ≤ 16).
pub const MAX_DPB_FRAMES: u32 = 16;

/// How picture order counts are coded (`pic_order_cnt_type`, H.264 8.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PicOrderCntType {
    /// Type 0: each slice header carries `pic_order_cnt_lsb` (8.2.1.1).
    Lsb { log2_max_pic_order_cnt_lsb: u8 },
    /// Type 1: derived from `frame_num` and a cycle of expected offsets (8.2.1.2).
    FrameNumCycle {
        delta_pic_order_always_zero_flag: bool,
        offset_for_non_ref_pic: i32,
        offset_for_top_to_bottom_field: i32,
        /// One offset per reference frame of the cycle (at most 255).
        offset_for_ref_frame: Vec<i32>,
    },
    /// Type 2: twice the frame number (8.2.1.3), so output order is decoding order.
    FrameNum,
}

/// The frame-cropping window, in crop units (see [`Sps::crop_unit`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameCropping {
    pub left: u32,
    pub right: u32,
    pub top: u32,
    pub bottom: u32,
}

/// A parsed sequence parameter set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sps {
    pub profile_idc: u8,
    /// `constraint_set0_flag` … `constraint_set5_flag` and `reserved_zero_2bits`, most
    /// significant bit first: the byte RFC 6381 puts in the middle of `avc1.PPCCLL`.
    pub constraint_flags: u8,
    pub level_idc: u8,
    pub seq_parameter_set_id: u8,
    /// 0 monochrome, 1 4:2:0, 2 4:2:2, 3 4:4:4 (1 when the profile does not code it).
    pub chroma_format_idc: u8,
    pub separate_colour_plane_flag: bool,
    pub bit_depth_luma: u8,
    pub bit_depth_chroma: u8,
    pub qpprime_y_zero_transform_bypass_flag: bool,
    pub seq_scaling_matrix_present_flag: bool,
    /// log2(MaxFrameNum): the width of `frame_num` in slice headers, 4 to 16.
    pub log2_max_frame_num: u8,
    pub pic_order_cnt: PicOrderCntType,
    pub max_num_ref_frames: u8,
    pub gaps_in_frame_num_value_allowed_flag: bool,
    pub pic_width_in_mbs: u32,
    /// In map units: macroblock pairs when `frame_mbs_only_flag` is 0.
    pub pic_height_in_map_units: u32,
    pub frame_mbs_only_flag: bool,
    pub mb_adaptive_frame_field_flag: bool,
    pub direct_8x8_inference_flag: bool,
    /// All zero when `frame_cropping_flag` is 0.
    pub frame_cropping: FrameCropping,
    pub vui: Option<Vui>,
}

impl Sps {
    /// Parses an SPS NAL unit, header included (nal_unit_type 7).
    pub fn parse(nal: &[u8]) -> Result<Self> {
        let rbsp = nal_rbsp(nal, NAL_SPS, "sps")?;
        Self::read(&mut BitReader::new(&rbsp, "sps"))
    }

    fn read(r: &mut BitReader<'_>) -> Result<Self> {
        let profile_idc = r.read_u8(8, "profile_idc")?;
        let constraint_flags = r.read_u8(8, "constraint_set_flags")?;
        let level_idc = r.read_u8(8, "level_idc")?;
        let seq_parameter_set_id = r.read_ue_max(31, "seq_parameter_set_id")? as u8;

        let mut chroma_format_idc = 1;
        let mut separate_colour_plane_flag = false;
        let mut bit_depth_luma = 8;
        let mut bit_depth_chroma = 8;
        let mut qpprime_y_zero_transform_bypass_flag = false;
        let mut seq_scaling_matrix_present_flag = false;
        if PROFILES_WITH_CHROMA_INFO.contains(&profile_idc) {
            chroma_format_idc = r.read_ue_max(3, "chroma_format_idc")? as u8;
            if chroma_format_idc == 3 {
                separate_colour_plane_flag = r.read_flag("separate_colour_plane_flag")?;
            }
            bit_depth_luma = 8 + r.read_ue_max(6, "bit_depth_luma_minus8")? as u8;
            bit_depth_chroma = 8 + r.read_ue_max(6, "bit_depth_chroma_minus8")? as u8;
            qpprime_y_zero_transform_bypass_flag = r.read_flag("qpprime_y_zero_transform_bypass_flag")?;
            seq_scaling_matrix_present_flag = r.read_flag("seq_scaling_matrix_present_flag")?;
            if seq_scaling_matrix_present_flag {
                let list_count = if chroma_format_idc == 3 { 12 } else { 8 };
                skip_scaling_lists(r, list_count, "sps.seq_scaling_list")?;
            }
        }

        let log2_max_frame_num = 4 + r.read_ue_max(12, "log2_max_frame_num_minus4")? as u8;
        let pic_order_cnt = read_pic_order_cnt(r)?;
        let max_num_ref_frames = r.read_ue_max(MAX_DPB_FRAMES, "max_num_ref_frames")? as u8;
        let gaps_in_frame_num_value_allowed_flag = r.read_flag("gaps_in_frame_num_value_allowed_flag")?;
        let pic_width_in_mbs = 1 + r.read_ue_max(MAX_PIC_SIZE_IN_MBS - 1, "pic_width_in_mbs_minus1")?;
        let pic_height_in_map_units = 1 + r.read_ue_max(MAX_PIC_SIZE_IN_MBS - 1, "pic_height_in_map_units_minus1")?;
        let frame_mbs_only_flag = r.read_flag("frame_mbs_only_flag")?;
        let mb_adaptive_frame_field_flag = !frame_mbs_only_flag && r.read_flag("mb_adaptive_frame_field_flag")?;
        if !frame_mbs_only_flag && pic_height_in_map_units * 2 > MAX_PIC_SIZE_IN_MBS {
            return Err(r.invalid("pic_height_in_map_units_minus1", "frame height exceeds 1055 macroblocks"));
        }
        let direct_8x8_inference_flag = r.read_flag("direct_8x8_inference_flag")?;
        let mut sps = Self {
            profile_idc,
            constraint_flags,
            level_idc,
            seq_parameter_set_id,
            chroma_format_idc,
            separate_colour_plane_flag,
            bit_depth_luma,
            bit_depth_chroma,
            qpprime_y_zero_transform_bypass_flag,
            seq_scaling_matrix_present_flag,
            log2_max_frame_num,
            pic_order_cnt,
            max_num_ref_frames,
            gaps_in_frame_num_value_allowed_flag,
            pic_width_in_mbs,
            pic_height_in_map_units,
            frame_mbs_only_flag,
            mb_adaptive_frame_field_flag,
            direct_8x8_inference_flag,
            frame_cropping: FrameCropping::default(),
            vui: None,
        };
        if r.read_flag("frame_cropping_flag")? {
            sps.frame_cropping = FrameCropping {
                left: r.read_ue("frame_crop_left_offset")?,
                right: r.read_ue("frame_crop_right_offset")?,
                top: r.read_ue("frame_crop_top_offset")?,
                bottom: r.read_ue("frame_crop_bottom_offset")?,
            };
            sps.check_cropping(r)?;
        }
        if r.read_flag("vui_parameters_present_flag")? {
            sps.vui = Some(Vui::read(r)?);
        }
        Ok(sps)
    }

    /// 7.4.2.1.1: the window must leave at least one sample in each direction.
    fn check_cropping(&self, r: &BitReader<'_>) -> Result<()> {
        let (unit_x, unit_y) = self.crop_unit();
        let c = self.frame_cropping;
        let crop_x = (u64::from(c.left) + u64::from(c.right)) * u64::from(unit_x);
        let crop_y = (u64::from(c.top) + u64::from(c.bottom)) * u64::from(unit_y);
        if crop_x >= u64::from(self.coded_width()) {
            return Err(
                r.invalid("frame_crop_right_offset", format!("cropping {crop_x} of {} columns", self.coded_width()))
            );
        }
        if crop_y >= u64::from(self.coded_height()) {
            return Err(
                r.invalid("frame_crop_bottom_offset", format!("cropping {crop_y} of {} rows", self.coded_height()))
            );
        }
        Ok(())
    }

    /// `constraint_set{n}_flag`, n in 0..=5.
    pub fn constraint_set_flag(&self, n: u8) -> bool {
        n < 8 && self.constraint_flags & (0x80 >> n) != 0
    }

    /// `ChromaArrayType` (7.4.2.1.1): 0 when the colour planes are coded separately.
    pub fn chroma_array_type(&self) -> u8 {
        if self.separate_colour_plane_flag {
            0
        } else {
            self.chroma_format_idc
        }
    }

    /// `FrameHeightInMbs` (7-18).
    pub fn frame_height_in_mbs(&self) -> u32 {
        (2 - u32::from(self.frame_mbs_only_flag)) * self.pic_height_in_map_units
    }

    /// `MaxFrameNum` (7-10).
    pub fn max_frame_num(&self) -> u32 {
        1 << self.log2_max_frame_num
    }

    /// Width of the decoded frame in luma samples, before cropping.
    pub fn coded_width(&self) -> u32 {
        self.pic_width_in_mbs * 16
    }

    /// Height of the decoded frame in luma samples, before cropping.
    pub fn coded_height(&self) -> u32 {
        self.frame_height_in_mbs() * 16
    }

    /// `(CropUnitX, CropUnitY)` (7-19 to 7-22): crop offsets count chroma samples, and rows
    /// of fields when fields may be coded.
    pub fn crop_unit(&self) -> (u32, u32) {
        let field_factor = 2 - u32::from(self.frame_mbs_only_flag);
        let (sub_width_c, sub_height_c) = match self.chroma_array_type() {
            0 => (1, 1),
            1 => (2, 2),
            2 => (2, 1),
            _ => (1, 1),
        };
        (sub_width_c, sub_height_c * field_factor)
    }

    /// The displayed size: the coded size less the cropping window.
    pub fn cropped_size(&self) -> (u32, u32) {
        let (unit_x, unit_y) = self.crop_unit();
        let c = self.frame_cropping;
        // check_cropping guarantees these fit; saturate anyway for hand-built values.
        let crop_x = c.left.saturating_add(c.right).saturating_mul(unit_x);
        let crop_y = c.top.saturating_add(c.bottom).saturating_mul(unit_y);
        (self.coded_width().saturating_sub(crop_x), self.coded_height().saturating_sub(crop_y))
    }
}

/// The `pic_order_cnt_type` fields (7.3.2.1.1).
fn read_pic_order_cnt(r: &mut BitReader<'_>) -> Result<PicOrderCntType> {
    Ok(match r.read_ue_max(2, "pic_order_cnt_type")? {
        0 => {
            let log2_max_pic_order_cnt_lsb = 4 + r.read_ue_max(12, "log2_max_pic_order_cnt_lsb_minus4")? as u8;
            PicOrderCntType::Lsb { log2_max_pic_order_cnt_lsb }
        }
        1 => {
            let delta_pic_order_always_zero_flag = r.read_flag("delta_pic_order_always_zero_flag")?;
            let offset_for_non_ref_pic = r.read_se("offset_for_non_ref_pic")?;
            let offset_for_top_to_bottom_field = r.read_se("offset_for_top_to_bottom_field")?;
            let cycle_len = r.read_ue_max(255, "num_ref_frames_in_pic_order_cnt_cycle")? as usize;
            // Each se(v) takes at least one bit: refuse a count the bytes cannot hold.
            if cycle_len > r.bits_left() {
                return Err(r.invalid("num_ref_frames_in_pic_order_cnt_cycle", "more offsets than bits left"));
            }
            let mut offset_for_ref_frame = Vec::with_capacity(cycle_len);
            for _ in 0..cycle_len {
                offset_for_ref_frame.push(r.read_se("offset_for_ref_frame")?);
            }
            PicOrderCntType::FrameNumCycle {
                delta_pic_order_always_zero_flag,
                offset_for_non_ref_pic,
                offset_for_top_to_bottom_field,
                offset_for_ref_frame,
            }
        }
        _ => PicOrderCntType::FrameNum,
    })
}

/// Skips `count` optional scaling lists (7.3.2.1.1.1): the first six are 4×4 (16 entries),
/// the rest 8×8 (64). Only their length matters to ifc, but each delta is range-checked.
pub(super) fn skip_scaling_lists(r: &mut BitReader<'_>, count: usize, at: &'static str) -> Result<()> {
    let outer = r.at();
    r.set_at(at);
    for i in 0..count {
        if !r.read_flag("scaling_list_present_flag")? {
            continue;
        }
        let size = if i < 6 { 16 } else { 64 };
        let (mut last_scale, mut next_scale) = (8i32, 8i32);
        for _ in 0..size {
            if next_scale != 0 {
                let delta_scale = r.read_se("delta_scale")?;
                if !(-128..=127).contains(&delta_scale) {
                    return Err(r.invalid("delta_scale", format!("{delta_scale} outside -128..=127")));
                }
                next_scale = (last_scale + delta_scale + 256) % 256;
            }
            if next_scale != 0 {
                last_scale = next_scale;
            }
        }
    }
    r.set_at(outer);
    Ok(())
}
