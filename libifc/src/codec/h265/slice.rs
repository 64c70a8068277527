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

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::codec::h265::pps::parse_pps;
    use crate::codec::h265::sps::parse_sps;
    use crate::codec::h265::test_fixtures::{first_nal_of_type, BitWriter};
    use crate::codec::h265::{NAL_PPS, NAL_SPS};

    fn fixture_sets() -> (Pps, Sps) {
        let name = "hevc_main_320x240_25";
        (parse_pps(&first_nal_of_type(name, NAL_PPS)).unwrap(), parse_sps(&first_nal_of_type(name, NAL_SPS)).unwrap())
    }

    fn header(nal_unit_type: u8) -> NalHeader {
        NalHeader { nal_unit_type, nuh_layer_id: 0, temporal_id: 0 }
    }

    #[test]
    fn a_dependent_slice_segment_stops_after_its_address() {
        let (mut pps, sps) = fixture_sets();
        pps.dependent_slice_segments_enabled_flag = true;
        // 320×240 in 64×64 CTBs: 5 × 4 = 20 CTBs, so the address takes Ceil(Log2(20)) = 5 bits.
        assert_eq!(sps.pic_size_in_ctbs(), 20);
        let mut w = BitWriter::default();
        w.bit(false).ue(0).bit(true).bits(5, 19);
        let s = parse_slice_segment_header(header(1), &w.bytes(), |_| Ok((&pps, &sps))).unwrap();
        assert!(s.dependent_slice_segment_flag);
        assert_eq!((s.slice_segment_address, s.slice_type, s.slice_pic_order_cnt_lsb), (19, None, None));
        let mut w = BitWriter::default();
        w.bit(false).ue(0).bit(true).bits(5, 20);
        let e = parse_slice_segment_header(header(1), &w.bytes(), |_| Ok((&pps, &sps))).unwrap_err();
        assert_eq!(e.at, "slice_segment_header.slice_segment_address");
    }

    #[test]
    fn extra_bits_output_flag_and_colour_plane_come_before_the_poc_lsb() {
        let (mut pps, mut sps) = fixture_sets();
        pps.num_extra_slice_header_bits = 2;
        pps.output_flag_present_flag = true;
        sps.separate_colour_plane_flag = true;
        let mut w = BitWriter::default();
        // CRA: first slice, no_output_of_prior_pics_flag, PPS 0, two reserved bits, P slice,
        // pic_output_flag 0, colour plane 2, then the LSB in log2_max_pic_order_cnt_lsb bits.
        w.bit(true).bit(true).ue(0).bits(2, 3).ue(1).bit(false).bits(2, 2);
        w.bits(u32::from(sps.log2_max_pic_order_cnt_lsb), 77);
        let s = parse_slice_segment_header(header(21), &w.bytes(), |_| Ok((&pps, &sps))).unwrap();
        assert!(s.no_output_of_prior_pics_flag && !s.pic_output_flag);
        assert_eq!((s.slice_type, s.colour_plane_id, s.slice_pic_order_cnt_lsb), (Some(1), Some(2), Some(77)));
    }

    #[test]
    fn idr_slices_have_no_poc_lsb_and_unknown_pps_ids_are_reported_by_the_lookup() {
        let (pps, sps) = fixture_sets();
        let mut w = BitWriter::default();
        w.bit(true).bit(false).ue(0).ue(2).ue(1000);
        let s = parse_slice_segment_header(header(19), &w.bytes(), |_| Ok((&pps, &sps))).unwrap();
        assert_eq!((s.slice_type, s.slice_pic_order_cnt_lsb), (Some(2), None));
        let mut w = BitWriter::default();
        w.bit(true).bit(false).ue(64);
        let e = parse_slice_segment_header(header(19), &w.bytes(), |_| Ok((&pps, &sps))).unwrap_err();
        assert_eq!(e.at, "slice_segment_header.slice_pic_parameter_set_id");
        let mut w = BitWriter::default();
        w.bit(true).bit(false).ue(3).ue(3);
        let e = parse_slice_segment_header(header(19), &w.bytes(), |id| {
            Err(crate::ParseError::missing("lookup", format!("PPS {id}")))
        })
        .unwrap_err();
        assert_eq!(e.kind, crate::ParseErrorKind::Missing("PPS 3".into()));
    }
}
