//! The slice header (H.264 7.3.3): the fields that identify a picture and its order, and a
//! read through the rest of the header to find `memory_management_control_operation` 5,
//! which resets picture order counts (8.2.1).

use super::pps::Pps;
use super::sps::{PicOrderCntType, Sps};
use super::{nal_header, NAL_IDR_SLICE, NAL_SLICE, NAL_SLICE_PARTITION_A};
use crate::codec::{rbsp_from_ebsp, BitReader};
use crate::error::{ParseError, Result};

/// No conforming slice header is longer: its longest parts, reference list modifications and
/// prediction weight tables for 32 references per list, take about 4 KiB even with maximal
/// Exp-Golomb codes. Only this much of a slice is unescaped, so slices are not copied whole.
const MAX_SLICE_HEADER_BYTES: usize = 16 * 1024;

/// `slice_type % 5` (Table 7-6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SliceType {
    P,
    B,
    I,
    SP,
    SI,
}

impl SliceType {
    fn from_code(slice_type: u32) -> Self {
        match slice_type % 5 {
            0 => Self::P,
            1 => Self::B,
            2 => Self::I,
            3 => Self::SP,
            _ => Self::SI,
        }
    }
}

/// The parsed slice header fields ifc uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SliceHeader {
    /// `nal_ref_idc` of the slice's NAL unit: 0 for a non-reference picture.
    pub nal_ref_idc: u8,
    /// `IdrPicFlag`: nal_unit_type 5.
    pub idr: bool,
    pub first_mb_in_slice: u32,
    pub slice_type: SliceType,
    pub pic_parameter_set_id: u8,
    /// 0 unless the SPS codes colour planes separately.
    pub colour_plane_id: u8,
    pub frame_num: u32,
    pub field_pic_flag: bool,
    pub bottom_field_flag: bool,
    pub idr_pic_id: Option<u32>,
    /// Picture order count type 0 fields (0 when absent).
    pub pic_order_cnt_lsb: u32,
    pub delta_pic_order_cnt_bottom: i32,
    /// Picture order count type 1 fields (0 when absent).
    pub delta_pic_order_cnt: [i32; 2],
    /// Non-zero for a redundant coded picture.
    pub redundant_pic_cnt: u32,
    /// IDR only: earlier pictures are discarded, not output.
    pub no_output_of_prior_pics_flag: bool,
    /// `memory_management_control_operation` 5 in `dec_ref_pic_marking()` (7.4.3.3): all
    /// reference pictures are dropped and picture order counts restart after this picture.
    pub mmco5: bool,
}

impl SliceHeader {
    /// Reads only `first_mb_in_slice`: whether this slice begins a picture, without parameter
    /// sets. `nal` includes the NAL header.
    pub fn first_mb_in_slice(nal: &[u8]) -> Result<u32> {
        let payload = nal.get(1..nal.len().min(9)).unwrap_or_default();
        BitReader::new(&rbsp_from_ebsp(payload), "slice_header").read_ue("first_mb_in_slice")
    }

    /// Parses the header of a slice NAL unit (nal_unit_type 1, 2 or 5, header included).
    /// `parameter_sets` finds the PPS with the id the header names, and that PPS's SPS.
    pub fn parse<'a>(nal: &[u8], parameter_sets: impl FnOnce(u8) -> Result<(&'a Pps, &'a Sps)>) -> Result<Self> {
        let (nal_ref_idc, nal_unit_type) = nal_header(nal, "slice_header")?;
        if !matches!(nal_unit_type, NAL_SLICE | NAL_SLICE_PARTITION_A | NAL_IDR_SLICE) {
            let msg = format!("{nal_unit_type} carries no slice header of this syntax");
            return Err(ParseError::invalid("slice_header.nal_unit_type", msg));
        }
        let idr = nal_unit_type == NAL_IDR_SLICE;
        let end = nal.len().min(MAX_SLICE_HEADER_BYTES);
        let rbsp = rbsp_from_ebsp(nal.get(1..end).unwrap_or_default());
        let mut r = BitReader::new(&rbsp, "slice_header");
        let first_mb_in_slice = r.read_ue("first_mb_in_slice")?;
        let slice_type = SliceType::from_code(r.read_ue_max(9, "slice_type")?);
        if idr && !matches!(slice_type, SliceType::I | SliceType::SI) {
            return Err(r.invalid("slice_type", "an IDR picture has only I and SI slices (7.4.3)"));
        }
        let pic_parameter_set_id = r.read_ue_max(255, "pic_parameter_set_id")? as u8;
        let (pps, sps) = parameter_sets(pic_parameter_set_id)?;
        let mut h = Self {
            nal_ref_idc,
            idr,
            first_mb_in_slice,
            slice_type,
            pic_parameter_set_id,
            colour_plane_id: 0,
            frame_num: 0,
            field_pic_flag: false,
            bottom_field_flag: false,
            idr_pic_id: None,
            pic_order_cnt_lsb: 0,
            delta_pic_order_cnt_bottom: 0,
            delta_pic_order_cnt: [0; 2],
            redundant_pic_cnt: 0,
            no_output_of_prior_pics_flag: false,
            mmco5: false,
        };
        if sps.separate_colour_plane_flag {
            h.colour_plane_id = r.read_u8(2, "colour_plane_id")?;
            if h.colour_plane_id == 3 {
                return Err(r.invalid("colour_plane_id", "3 is reserved (7.4.3)"));
            }
        }
        h.frame_num = r.read_bits(u32::from(sps.log2_max_frame_num), "frame_num")?;
        if idr && h.frame_num != 0 {
            return Err(r.invalid("frame_num", "must be 0 in an IDR picture (7.4.3)"));
        }
        if !sps.frame_mbs_only_flag {
            h.field_pic_flag = r.read_flag("field_pic_flag")?;
            if h.field_pic_flag {
                h.bottom_field_flag = r.read_flag("bottom_field_flag")?;
            }
        }
        if idr {
            h.idr_pic_id = Some(r.read_ue_max(65535, "idr_pic_id")?);
        }
        let bottom_in_frame = pps.bottom_field_pic_order_in_frame_present_flag && !h.field_pic_flag;
        match &sps.pic_order_cnt {
            PicOrderCntType::Lsb { log2_max_pic_order_cnt_lsb } => {
                h.pic_order_cnt_lsb = r.read_bits(u32::from(*log2_max_pic_order_cnt_lsb), "pic_order_cnt_lsb")?;
                if bottom_in_frame {
                    h.delta_pic_order_cnt_bottom = r.read_se("delta_pic_order_cnt_bottom")?;
                }
            }
            PicOrderCntType::FrameNumCycle { delta_pic_order_always_zero_flag: false, .. } => {
                h.delta_pic_order_cnt[0] = r.read_se("delta_pic_order_cnt[0]")?;
                if bottom_in_frame {
                    h.delta_pic_order_cnt[1] = r.read_se("delta_pic_order_cnt[1]")?;
                }
            }
            _ => {}
        }
        if pps.redundant_pic_cnt_present_flag {
            h.redundant_pic_cnt = r.read_ue_max(127, "redundant_pic_cnt")?;
        }
        h.read_to_ref_pic_marking(&mut r, pps, sps)?;
        Ok(h)
    }

    /// Whether both slices belong to the same primary coded picture, by the fields 7.4.1.2.4
    /// compares (`first_mb_in_slice` aside).
    pub fn same_picture_as(&self, other: &Self) -> bool {
        self.frame_num == other.frame_num
            && self.pic_parameter_set_id == other.pic_parameter_set_id
            && self.field_pic_flag == other.field_pic_flag
            && self.bottom_field_flag == other.bottom_field_flag
            && (self.nal_ref_idc == 0) == (other.nal_ref_idc == 0)
            && self.pic_order_cnt_lsb == other.pic_order_cnt_lsb
            && self.delta_pic_order_cnt_bottom == other.delta_pic_order_cnt_bottom
            && self.delta_pic_order_cnt == other.delta_pic_order_cnt
            && self.idr == other.idr
            && self.idr_pic_id == other.idr_pic_id
    }

    /// Reads from `direct_spatial_mv_pred_flag` through `dec_ref_pic_marking()` (7.3.3).
    fn read_to_ref_pic_marking(&mut self, r: &mut BitReader<'_>, pps: &Pps, sps: &Sps) -> Result<()> {
        let b = self.slice_type == SliceType::B;
        let p = matches!(self.slice_type, SliceType::P | SliceType::SP);
        if b {
            r.read_flag("direct_spatial_mv_pred_flag")?;
        }
        let mut num_ref_idx_active =
            [u32::from(pps.num_ref_idx_l0_default_active), u32::from(pps.num_ref_idx_l1_default_active)];
        if (p || b) && r.read_flag("num_ref_idx_active_override_flag")? {
            // 7.4.3: at most 16 references per list for a frame, 32 for a field.
            let max = if self.field_pic_flag { 31 } else { 15 };
            num_ref_idx_active[0] = 1 + r.read_ue_max(max, "num_ref_idx_l0_active_minus1")?;
            if b {
                num_ref_idx_active[1] = 1 + r.read_ue_max(max, "num_ref_idx_l1_active_minus1")?;
            }
        }
        let lists = if b {
            2
        } else if p {
            1
        } else {
            0
        };
        r.set_at("slice_header.ref_pic_list_modification");
        for &active in &num_ref_idx_active[..lists] {
            skip_ref_pic_list_modification(r, active)?;
        }
        let explicit_weights = (pps.weighted_pred_flag && p) || (pps.weighted_bipred_idc == 1 && b);
        if explicit_weights {
            r.set_at("slice_header.pred_weight_table");
            skip_pred_weight_table(r, sps.chroma_array_type() != 0, &num_ref_idx_active[..lists])?;
        }
        if self.nal_ref_idc != 0 {
            r.set_at("slice_header.dec_ref_pic_marking");
            self.read_dec_ref_pic_marking(r)?;
        }
        r.set_at("slice_header");
        Ok(())
    }

    /// `dec_ref_pic_marking()` (7.3.3.3).
    fn read_dec_ref_pic_marking(&mut self, r: &mut BitReader<'_>) -> Result<()> {
        if self.idr {
            self.no_output_of_prior_pics_flag = r.read_flag("no_output_of_prior_pics_flag")?;
            r.read_flag("long_term_reference_flag")?;
            return Ok(());
        }
        if !r.read_flag("adaptive_ref_pic_marking_mode_flag")? {
            return Ok(());
        }
        // Each operation takes at least one bit, so the loop ends with the data.
        loop {
            match r.read_ue_max(6, "memory_management_control_operation")? {
                0 => return Ok(()),
                1 => skip_ue(r, 1, "difference_of_pic_nums_minus1")?,
                2 => skip_ue(r, 1, "long_term_pic_num")?,
                3 => skip_ue(r, 2, "difference_of_pic_nums_minus1")?,
                4 => skip_ue(r, 1, "max_long_term_frame_idx_plus1")?,
                5 => self.mmco5 = true,
                _ => skip_ue(r, 1, "long_term_frame_idx")?,
            }
        }
    }
}

fn skip_ue(r: &mut BitReader<'_>, count: usize, field: &str) -> Result<()> {
    for _ in 0..count {
        r.read_ue(field)?;
    }
    Ok(())
}

/// One list of `ref_pic_list_modification()` (7.3.3.1).
fn skip_ref_pic_list_modification(r: &mut BitReader<'_>, num_ref_idx_active: u32) -> Result<()> {
    if !r.read_flag("ref_pic_list_modification_flag")? {
        return Ok(());
    }
    // 7.4.3.1: at most num_ref_idx_active modifications, then the terminating 3.
    for _ in 0..=num_ref_idx_active {
        // 4 and 5 belong to the MVC extension (H.7.3.3.1.1), not to slices of type 1, 2, 5.
        match r.read_ue_max(3, "modification_of_pic_nums_idc")? {
            0 | 1 => skip_ue(r, 1, "abs_diff_pic_num_minus1")?,
            2 => skip_ue(r, 1, "long_term_pic_num")?,
            _ => return Ok(()),
        }
    }
    Err(r.invalid("modification_of_pic_nums_idc", "more modifications than active references"))
}

/// `pred_weight_table()` (7.3.3.2), one table per active list.
fn skip_pred_weight_table(r: &mut BitReader<'_>, has_chroma: bool, num_ref_idx_active: &[u32]) -> Result<()> {
    r.read_ue_max(7, "luma_log2_weight_denom")?;
    if has_chroma {
        r.read_ue_max(7, "chroma_log2_weight_denom")?;
    }
    for &active in num_ref_idx_active {
        for _ in 0..active {
            if r.read_flag("luma_weight_flag")? {
                r.read_se("luma_weight")?;
                r.read_se("luma_offset")?;
            }
            if has_chroma && r.read_flag("chroma_weight_flag")? {
                for _ in 0..4 {
                    r.read_se("chroma_weight_or_offset")?;
                }
            }
        }
    }
    Ok(())
}
