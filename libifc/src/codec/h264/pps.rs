//! The picture parameter set (H.264 7.3.2.2): the fields slice headers depend on.

use super::{nal_rbsp, NAL_PPS};
use crate::codec::BitReader;
use crate::error::Result;

/// A parsed picture parameter set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pps {
    pub pic_parameter_set_id: u8,
    pub seq_parameter_set_id: u8,
    /// CABAC (true) or CAVLC.
    pub entropy_coding_mode_flag: bool,
    /// Slice headers of frames carry `delta_pic_order_cnt_bottom` / `delta_pic_order_cnt[1]`.
    pub bottom_field_pic_order_in_frame_present_flag: bool,
    /// `num_slice_groups_minus1 + 1`, 1 to 8 (FMO, Baseline and Extended only).
    pub num_slice_groups: u8,
    /// `num_ref_idx_l0_default_active_minus1 + 1`, 1 to 32.
    pub num_ref_idx_l0_default_active: u8,
    pub num_ref_idx_l1_default_active: u8,
    pub weighted_pred_flag: bool,
    /// 0 default, 1 explicit, 2 implicit weighted bi-prediction.
    pub weighted_bipred_idc: u8,
    pub pic_init_qp_minus26: i32,
    pub pic_init_qs_minus26: i32,
    pub chroma_qp_index_offset: i32,
    pub deblocking_filter_control_present_flag: bool,
    pub constrained_intra_pred_flag: bool,
    pub redundant_pic_cnt_present_flag: bool,
    /// The High-profile tail (present when more RBSP data follows): false when absent.
    pub transform_8x8_mode_flag: bool,
    pub pic_scaling_matrix_present_flag: bool,
    /// `second_chroma_qp_index_offset`: equal to `chroma_qp_index_offset` when the tail is
    /// absent (7.4.2.2); `None` when scaling matrices precede it, because their count depends
    /// on the SPS's `chroma_format_idc`, which a PPS may arrive before. Slice headers do not
    /// need it.
    pub second_chroma_qp_index_offset: Option<i32>,
}

impl Pps {
    /// Parses a PPS NAL unit, header included (nal_unit_type 8).
    pub fn parse(nal: &[u8]) -> Result<Self> {
        let rbsp = nal_rbsp(nal, NAL_PPS, "pps")?;
        let mut r = BitReader::new(&rbsp, "pps");
        let pic_parameter_set_id = r.read_ue_max(255, "pic_parameter_set_id")? as u8;
        let seq_parameter_set_id = r.read_ue_max(31, "seq_parameter_set_id")? as u8;
        let entropy_coding_mode_flag = r.read_flag("entropy_coding_mode_flag")?;
        let bottom_field_pic_order_in_frame_present_flag =
            r.read_flag("bottom_field_pic_order_in_frame_present_flag")?;
        let num_slice_groups = 1 + r.read_ue_max(7, "num_slice_groups_minus1")? as u8;
        if num_slice_groups > 1 {
            skip_slice_group_map(&mut r, num_slice_groups)?;
        }
        let num_ref_idx_l0_default_active = 1 + r.read_ue_max(31, "num_ref_idx_l0_default_active_minus1")? as u8;
        let num_ref_idx_l1_default_active = 1 + r.read_ue_max(31, "num_ref_idx_l1_default_active_minus1")? as u8;
        let weighted_pred_flag = r.read_flag("weighted_pred_flag")?;
        let weighted_bipred_idc = r.read_u8(2, "weighted_bipred_idc")?;
        if weighted_bipred_idc > 2 {
            return Err(r.invalid("weighted_bipred_idc", "3 is reserved"));
        }
        // 7.4.2.2: pic_init_qp_minus26 is in -(26 + QpBdOffsetY)..=25, and QpBdOffsetY is at
        // most 36 (14-bit video); the SPS that fixes it may not have arrived yet.
        let pic_init_qp_minus26 = read_se_in(&mut r, -62, 25, "pic_init_qp_minus26")?;
        let pic_init_qs_minus26 = read_se_in(&mut r, -26, 25, "pic_init_qs_minus26")?;
        let chroma_qp_index_offset = read_se_in(&mut r, -12, 12, "chroma_qp_index_offset")?;
        let mut pps = Self {
            pic_parameter_set_id,
            seq_parameter_set_id,
            entropy_coding_mode_flag,
            bottom_field_pic_order_in_frame_present_flag,
            num_slice_groups,
            num_ref_idx_l0_default_active,
            num_ref_idx_l1_default_active,
            weighted_pred_flag,
            weighted_bipred_idc,
            pic_init_qp_minus26,
            pic_init_qs_minus26,
            chroma_qp_index_offset,
            deblocking_filter_control_present_flag: r.read_flag("deblocking_filter_control_present_flag")?,
            constrained_intra_pred_flag: r.read_flag("constrained_intra_pred_flag")?,
            redundant_pic_cnt_present_flag: r.read_flag("redundant_pic_cnt_present_flag")?,
            transform_8x8_mode_flag: false,
            pic_scaling_matrix_present_flag: false,
            second_chroma_qp_index_offset: Some(chroma_qp_index_offset),
        };
        if r.more_rbsp_data() {
            pps.transform_8x8_mode_flag = r.read_flag("transform_8x8_mode_flag")?;
            pps.pic_scaling_matrix_present_flag = r.read_flag("pic_scaling_matrix_present_flag")?;
            pps.second_chroma_qp_index_offset = if pps.pic_scaling_matrix_present_flag {
                None
            } else {
                Some(read_se_in(&mut r, -12, 12, "second_chroma_qp_index_offset")?)
            };
        }
        Ok(pps)
    }
}

fn read_se_in(r: &mut BitReader<'_>, min: i32, max: i32, field: &str) -> Result<i32> {
    let v = r.read_se(field)?;
    if !(min..=max).contains(&v) {
        return Err(r.invalid(field, format!("{v} outside {min}..={max}")));
    }
    Ok(v)
}

/// Skips the slice-group map syntax (7.3.2.2, `num_slice_groups_minus1 > 0`), checking its
/// ranges (7.4.2.2). Nothing is allocated: `slice_group_id` is read past, not stored.
fn skip_slice_group_map(r: &mut BitReader<'_>, num_slice_groups: u8) -> Result<()> {
    match r.read_ue_max(6, "slice_group_map_type")? {
        0 => {
            for _ in 0..num_slice_groups {
                r.read_ue("run_length_minus1")?;
            }
        }
        2 => {
            for _ in 1..num_slice_groups {
                r.read_ue("top_left")?;
                r.read_ue("bottom_right")?;
            }
        }
        3..=5 => {
            r.read_flag("slice_group_change_direction_flag")?;
            r.read_ue("slice_group_change_rate_minus1")?;
        }
        6 => {
            let pic_size_in_map_units = u64::from(r.read_ue("pic_size_in_map_units_minus1")?) + 1;
            // slice_group_id is u(v), v = Ceil(Log2(num_slice_groups)).
            let id_bits = u64::from(u8::BITS - (num_slice_groups - 1).leading_zeros());
            let total_bits = pic_size_in_map_units * id_bits;
            let total_bits = usize::try_from(total_bits).unwrap_or(usize::MAX);
            r.skip_bits(total_bits, "slice_group_id")?;
        }
        _ => {} // Type 1 (dispersed) has no further syntax.
    }
    Ok(())
}
