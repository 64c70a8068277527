//! The slice segment header (H.265 7.3.6.1) up to `slice_pic_order_cnt_lsb`: what picture
//! order count needs; and, for damage analysis, on through the short-term reference picture
//! set, which names the pictures a picture is predicted from.

use crate::codec::{rbsp_from_ebsp, BitReader};
use crate::error::Result;

use super::pps::Pps;
use super::sps::Sps;
use super::st_rps::{parse_st_ref_pic_set, ShortTermRefPicSet};
use super::NalHeader;

/// More than the header fields up to `slice_pic_order_cnt_lsb` can take, with room for
/// emulation-prevention bytes: 1 + 1 + 13 (pps id) + 1 + 21 (address) + 7 + 3 + 1 + 2 + 16 bits.
const HEADER_PREFIX_BYTES: usize = 32;

/// Enough for the fields above plus an explicit short-term set: two counts and at most 16
/// entries of a 31-bit delta and a flag (7.4.8), or a predicted set of at most 17 flag pairs
/// and a 31-bit delta; doubled for emulation-prevention bytes.
const RPS_PREFIX_BYTES: usize = 2 * (HEADER_PREFIX_BYTES + 80);

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
    read_through_poc_lsb(r, header, parameter_sets).map(|(slice, _)| slice)
}

/// Reads the slice segment header as [`parse_slice_segment_header`] does, then the
/// short-term reference picture set of a non-IDR picture (7.3.6.1
/// `short_term_ref_pic_set_sps_flag` .. `short_term_ref_pic_set_idx`): the set the SPS
/// holds at that index, or the one coded in the header. `None` for IDR pictures (which have
/// no references) and dependent slice segments (which repeat their slice's header).
/// Long-term pictures, coded after it, are not read.
pub fn parse_slice_segment_header_with_rps<'a>(
    header: NalHeader,
    payload: &[u8],
    parameter_sets: impl FnOnce(u8) -> Result<(&'a Pps, &'a Sps)>,
) -> Result<(SliceSegmentHeader, Option<ShortTermRefPicSet>)> {
    let prefix = &payload[..payload.len().min(RPS_PREFIX_BYTES)];
    let rbsp = rbsp_from_ebsp(prefix);
    let r = &mut BitReader::new(&rbsp, "slice_segment_header");
    let (slice, sps) = read_through_poc_lsb(r, header, parameter_sets)?;
    if slice.slice_pic_order_cnt_lsb.is_none() {
        return Ok((slice, None));
    }
    let sets = &sps.short_term_ref_pic_sets;
    let set = if r.read_flag("short_term_ref_pic_set_sps_flag")? {
        if sets.is_empty() {
            return Err(r.invalid("short_term_ref_pic_set_sps_flag", "1, but the SPS holds no sets"));
        }
        // u(v) with Ceil(Log2(num_short_term_ref_pic_sets)) bits, none for a single set.
        let bits = sets.len().next_power_of_two().trailing_zeros();
        let idx = r.read_bits(bits, "short_term_ref_pic_set_idx")? as usize;
        let set = sets.get(idx).ok_or_else(|| {
            r.invalid("short_term_ref_pic_set_idx", format!("{idx}, but the SPS holds {} sets", sets.len()))
        })?;
        set.clone()
    } else {
        r.set_at("slice_segment_header.st_ref_pic_set");
        let max_dec = sps.sub_layer_ordering.last().map_or(0, |o| o.max_dec_pic_buffering_minus1);
        parse_st_ref_pic_set(r, sets.len(), sets.len(), sets, max_dec)?
    };
    Ok((slice, Some(set)))
}

/// The header fields through `slice_pic_order_cnt_lsb`, and the SPS they were read with.
fn read_through_poc_lsb<'a>(
    r: &mut BitReader<'_>,
    header: NalHeader,
    parameter_sets: impl FnOnce(u8) -> Result<(&'a Pps, &'a Sps)>,
) -> Result<(SliceSegmentHeader, &'a Sps)> {
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
        return Ok((slice, sps));
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
    Ok((slice, sps))
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

    /// An independent first slice segment of a TRAIL_R picture through its POC LSB, as the
    /// fixture's PPS lays it out.
    fn trail_r_slice_through_poc(pps: &Pps, sps: &Sps, lsb: u32) -> BitWriter {
        let mut w = BitWriter::default();
        w.bit(true).ue(0).bits(u32::from(pps.num_extra_slice_header_bits), 0).ue(1);
        if pps.output_flag_present_flag {
            w.bit(true);
        }
        w.bits(u32::from(sps.log2_max_pic_order_cnt_lsb), lsb);
        w
    }

    #[test]
    fn the_reference_picture_set_comes_from_the_sps_or_the_header() {
        let (pps, mut sps) = fixture_sets();
        // Three sets in the SPS: the index takes 2 bits, and index 3 names none.
        let set = |d: i32| ShortTermRefPicSet {
            delta_poc_s0: vec![d],
            used_by_curr_pic_s0: vec![true],
            ..ShortTermRefPicSet::default()
        };
        sps.short_term_ref_pic_sets = vec![set(-1), set(-2), set(-4)];
        let sps = sps;
        let sets = &sps.short_term_ref_pic_sets;
        // By index: Ceil(Log2(n)) bits.
        let mut w = trail_r_slice_through_poc(&pps, &sps, 9);
        w.bit(true).bits(sets.len().next_power_of_two().trailing_zeros(), 1);
        let (s, set) = parse_slice_segment_header_with_rps(header(1), &w.bytes(), |_| Ok((&pps, &sps))).unwrap();
        assert_eq!((s.slice_pic_order_cnt_lsb, set.as_ref()), (Some(9), Some(&sets[1])));
        // Coded in the header: not predicted, one picture 3 before, used by this picture.
        let mut w = trail_r_slice_through_poc(&pps, &sps, 9);
        w.bit(false).bit(false).ue(1).ue(0).ue(2).bit(true);
        let (_, set) = parse_slice_segment_header_with_rps(header(1), &w.bytes(), |_| Ok((&pps, &sps))).unwrap();
        let set = set.unwrap();
        assert_eq!((set.delta_poc_s0, set.used_by_curr_pic_s0, set.delta_poc_s1), (vec![-3], vec![true], vec![]));
        // An index past the SPS's sets.
        let mut w = trail_r_slice_through_poc(&pps, &sps, 9);
        w.bit(true).bits(2, 3);
        let e = parse_slice_segment_header_with_rps(header(1), &w.bytes(), |_| Ok((&pps, &sps))).unwrap_err();
        assert_eq!(e.at, "slice_segment_header.short_term_ref_pic_set_idx");
    }

    #[test]
    fn idr_pictures_and_dependent_segments_have_no_reference_picture_set() {
        let (mut pps, sps) = fixture_sets();
        let mut w = BitWriter::default();
        w.bit(true).bit(false).ue(0).bits(u32::from(pps.num_extra_slice_header_bits), 0).ue(2);
        let (_, set) = parse_slice_segment_header_with_rps(header(19), &w.bytes(), |_| Ok((&pps, &sps))).unwrap();
        assert_eq!(set, None);
        pps.dependent_slice_segments_enabled_flag = true;
        let mut w = BitWriter::default();
        w.bit(false).ue(0).bit(true).bits(5, 7);
        let (s, set) = parse_slice_segment_header_with_rps(header(1), &w.bytes(), |_| Ok((&pps, &sps))).unwrap();
        assert!(s.dependent_slice_segment_flag && set.is_none());
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
