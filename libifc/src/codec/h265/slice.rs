//! The slice segment header (H.265 7.3.6.1) up to `slice_pic_order_cnt_lsb`: what picture
//! order count needs.

use crate::codec::{rbsp_from_ebsp, BitReader};
use crate::error::Result;

use super::pps::Pps;
use super::sps::Sps;
use super::NalHeader;

/// More than the header fields up to `slice_pic_order_cnt_lsb` can take, with room for
/// emulation-prevention bytes: 1 + 1 + 13 (pps id) + 1 + 21 (address) + 7 + 3 + 1 + 2 + 16 bits.
const HEADER_PREFIX_BYTES: usize = 32;

/// The fields of a slice segment header before the reference picture set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SliceSegmentHeader {
    pub first_slice_segment_in_pic_flag: bool,
    /// Coded for IRAP pictures only.
    pub no_output_of_prior_pics_flag: bool,
    pub slice_pic_parameter_set_id: u8,
    pub dependent_slice_segment_flag: bool,
    pub slice_segment_address: u32,
    /// 0 = B, 1 = P, 2 = I. `None` in a dependent slice segment, which inherits it.
    pub slice_type: Option<u8>,
    /// Inferred 1 when the PPS does not code it.
    pub pic_output_flag: bool,
    pub colour_plane_id: Option<u8>,
    /// `None` for IDR pictures (inferred 0) and dependent slice segments.
    pub slice_pic_order_cnt_lsb: Option<u32>,
}

/// Reads the slice segment header of a VCL NAL unit (`payload` follows the NAL header).
/// `parameter_sets` finds the PPS that `slice_pic_parameter_set_id` names and that PPS's SPS.
pub fn parse_slice_segment_header<'a>(
    header: NalHeader,
    payload: &[u8],
    parameter_sets: impl FnOnce(u8) -> Result<(&'a Pps, &'a Sps)>,
) -> Result<SliceSegmentHeader> {
    // The fields read here take fewer than 100 bits; converting only a prefix to RBSP keeps
    // the cost independent of the slice size (a prefix of EBSP is a prefix of RBSP).
    let prefix = &payload[..payload.len().min(HEADER_PREFIX_BYTES)];
    let rbsp = rbsp_from_ebsp(prefix);
    let r = &mut BitReader::new(&rbsp, "slice_segment_header");
    let first_slice_segment_in_pic_flag = r.read_flag("first_slice_segment_in_pic_flag")?;
    let no_output_of_prior_pics_flag = header.is_irap() && r.read_flag("no_output_of_prior_pics_flag")?;
    let slice_pic_parameter_set_id = r.read_ue_max(63, "slice_pic_parameter_set_id")? as u8;
    let (pps, sps) = parameter_sets(slice_pic_parameter_set_id)?;
    let mut dependent_slice_segment_flag = false;
    let mut slice_segment_address = 0;
    if !first_slice_segment_in_pic_flag {
        if pps.dependent_slice_segments_enabled_flag {
            dependent_slice_segment_flag = r.read_flag("dependent_slice_segment_flag")?;
        }
        // u(v) with Ceil(Log2(PicSizeInCtbsY)) bits; the address names a CTB of the picture.
        let pic_size_in_ctbs = sps.pic_size_in_ctbs();
        let address_bits = pic_size_in_ctbs.next_power_of_two().trailing_zeros();
        slice_segment_address = r.read_bits(address_bits, "slice_segment_address")?;
        if slice_segment_address >= pic_size_in_ctbs {
            return Err(r.invalid(
                "slice_segment_address",
                format!("{slice_segment_address} is past the {pic_size_in_ctbs} CTBs"),
            ));
        }
    }
    let mut slice = SliceSegmentHeader {
        first_slice_segment_in_pic_flag,
        no_output_of_prior_pics_flag,
        slice_pic_parameter_set_id,
        dependent_slice_segment_flag,
        slice_segment_address,
        slice_type: None,
        pic_output_flag: true,
        colour_plane_id: None,
        slice_pic_order_cnt_lsb: None,
    };
    if dependent_slice_segment_flag {
        return Ok(slice);
    }
    r.skip_bits(usize::from(pps.num_extra_slice_header_bits), "slice_reserved_flag")?;
    slice.slice_type = Some(r.read_ue_max(2, "slice_type")? as u8);
    if pps.output_flag_present_flag {
        slice.pic_output_flag = r.read_flag("pic_output_flag")?;
    }
    if sps.separate_colour_plane_flag {
        let colour_plane_id = r.read_u8(2, "colour_plane_id")?;
        if colour_plane_id > 2 {
            return Err(r.invalid("colour_plane_id", "3 (the maximum is 2)"));
        }
        slice.colour_plane_id = Some(colour_plane_id);
    }
    if !header.is_idr() {
        slice.slice_pic_order_cnt_lsb =
            Some(r.read_bits(u32::from(sps.log2_max_pic_order_cnt_lsb), "slice_pic_order_cnt_lsb")?);
    }
    Ok(slice)
}
