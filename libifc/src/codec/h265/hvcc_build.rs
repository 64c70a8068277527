//! Building an HEVC decoder configuration record (ISO/IEC 14496-15 8.3.3.1) from in-band
//! parameter sets, for recording an Annex B stream into MP4.

use bytes::Bytes;

use crate::codec::DecoderConfig;
use crate::error::{ParseError, Result};

use super::hvcc::{parse_record, HEADER_LEN};
use super::pps::{parse_pps, Pps};
use super::profile_tier_level::ProfileTierLevel;
use super::sps::{parse_sps, Sps};
use super::vps::{parse_vps, Vps};
use super::{NalHeader, NAL_PPS, NAL_PREFIX_SEI, NAL_SPS, NAL_SUFFIX_SEI, NAL_VPS};

/// The parameter sets (and SEI) a record is built from, parsed and deduplicated.
#[derive(Default)]
struct Collected<'a> {
    vps: Vec<(&'a [u8], Vps)>,
    sps: Vec<(&'a [u8], Sps)>,
    pps: Vec<(&'a [u8], Pps)>,
    prefix_sei: Vec<&'a [u8]>,
    suffix_sei: Vec<&'a [u8]>,
}

fn collect<'a>(nals: &[&'a [u8]]) -> Result<Collected<'a>> {
    let mut c = Collected::default();
    for (i, &nal) in nals.iter().enumerate() {
        let at = format!("hvcc.parameter_sets[{i}]");
        let (header, _) = NalHeader::parse(nal).map_err(|e| e.within(&at))?;
        match header.nal_unit_type {
            NAL_VPS if !c.vps.iter().any(|(n, _)| *n == nal) => {
                let vps = parse_vps(nal).map_err(|e| e.within("hvcc"))?;
                ensure_unique_id(
                    c.vps.iter().map(|(_, v)| v.vps_video_parameter_set_id),
                    vps.vps_video_parameter_set_id,
                    "VPS",
                )?;
                c.vps.push((nal, vps));
            }
            NAL_SPS if !c.sps.iter().any(|(n, _)| *n == nal) => {
                let sps = parse_sps(nal).map_err(|e| e.within("hvcc"))?;
                ensure_unique_id(
                    c.sps.iter().map(|(_, s)| s.sps_seq_parameter_set_id),
                    sps.sps_seq_parameter_set_id,
                    "SPS",
                )?;
                c.sps.push((nal, sps));
            }
            NAL_PPS if !c.pps.iter().any(|(n, _)| *n == nal) => {
                let pps = parse_pps(nal).map_err(|e| e.within("hvcc"))?;
                ensure_unique_id(
                    c.pps.iter().map(|(_, p)| p.pps_pic_parameter_set_id),
                    pps.pps_pic_parameter_set_id,
                    "PPS",
                )?;
                c.pps.push((nal, pps));
            }
            NAL_PREFIX_SEI if !c.prefix_sei.contains(&nal) => c.prefix_sei.push(nal),
            NAL_SUFFIX_SEI if !c.suffix_sei.contains(&nal) => c.suffix_sei.push(nal),
            NAL_VPS | NAL_SPS | NAL_PPS | NAL_PREFIX_SEI | NAL_SUFFIX_SEI => {}
            other => {
                return Err(ParseError::invalid(
                    format!("{at}.nal_unit_type"),
                    format!("{other}: a record holds only VPS, SPS, PPS and SEI"),
                ))
            }
        }
    }
    Ok(c)
}

/// Two different parameter sets with one id would make the record ambiguous.
fn ensure_unique_id(mut existing: impl Iterator<Item = u8>, id: u8, what: &str) -> Result<()> {
    if existing.any(|e| e == id) {
        return Err(ParseError::invalid("hvcc.parameter_sets", format!("two different {what} with id {id}")));
    }
    Ok(())
}

/// The record's 3-bit depth fields stop at 15 bits; the SPS allows 16 (RExt 16-bit profiles).
fn bit_depth_minus8(bit_depth: u8, at: &str) -> Result<u8> {
    match bit_depth.checked_sub(8) {
        Some(minus8 @ 0..=7) => Ok(minus8),
        _ => Err(ParseError::unsupported(at, format!("{bit_depth}-bit samples do not fit the 3-bit field"))),
    }
}

/// Builds a record with 4-byte NAL lengths from in-band parameter sets (NAL units without
/// start codes, any order; exact duplicates are dropped). Prefix and suffix SEI NAL units may
/// be given too: they are stored in their own arrays, as ffmpeg stores the encoder's
/// declarative SEI, but are not parameter sets.
///
/// The header fields follow 8.3.3.1.3 the way libavcodec's `ff_isom_write_hvcc` derives them,
/// so that a record built from ffmpeg's parameter sets is byte-identical to ffmpeg's.
pub fn build_record(parameter_sets: &[&[u8]]) -> Result<DecoderConfig> {
    let c = collect(parameter_sets)?;
    for (list_empty, what) in [(c.vps.is_empty(), "VPS"), (c.sps.is_empty(), "SPS"), (c.pps.is_empty(), "PPS")] {
        if list_empty {
            return Err(ParseError::missing("hvcc.parameter_sets", what));
        }
    }
    // The general fields describe the whole stream: the highest profile, tier and level, and
    // only the compatibility and constraint flags that every parameter set declares.
    let mut ptl = ProfileTierLevel {
        general_profile_space: 0,
        general_tier_flag: false,
        general_profile_idc: 0,
        general_profile_compatibility_flags: u32::MAX,
        general_constraint_indicator_flags: (1 << 48) - 1,
        general_level_idc: 0,
    };
    let ptls = c.vps.iter().map(|(_, v)| &v.profile_tier_level).chain(c.sps.iter().map(|(_, s)| &s.profile_tier_level));
    for p in ptls {
        ptl.general_profile_space = p.general_profile_space;
        // A higher tier's level outranks any level of a lower tier.
        ptl.general_level_idc = if p.general_tier_flag && !ptl.general_tier_flag {
            p.general_level_idc
        } else {
            ptl.general_level_idc.max(p.general_level_idc)
        };
        ptl.general_tier_flag |= p.general_tier_flag;
        ptl.general_profile_idc = ptl.general_profile_idc.max(p.general_profile_idc);
        ptl.general_profile_compatibility_flags &= p.general_profile_compatibility_flags;
        ptl.general_constraint_indicator_flags &= p.general_constraint_indicator_flags;
    }
    // The smallest min_spatial_segmentation_idc of the SPS that state one; 0 (unknown) if none.
    let min_spatial_segmentation_idc = c
        .sps
        .iter()
        .filter_map(|(_, s)| s.vui.as_ref()?.bitstream_restriction.map(|b| b.min_spatial_segmentation_idc))
        .min()
        .unwrap_or(0);
    // parallelismType is meaningful only with a segmentation bound; mixed PPS mean "mixed" (0).
    let first_type = c.pps.first().map_or(0, |(_, p)| p.parallelism_type());
    let parallelism_type =
        if min_spatial_segmentation_idc != 0 && c.pps.iter().all(|(_, p)| p.parallelism_type() == first_type) {
            first_type
        } else {
            0
        };
    let last_sps = c.sps.last().map(|(_, s)| s).ok_or_else(|| ParseError::missing("hvcc.parameter_sets", "SPS"))?;
    let max_sub_layers = c
        .vps
        .iter()
        .map(|(_, v)| v.vps_max_sub_layers_minus1)
        .chain(c.sps.iter().map(|(_, s)| s.sps_max_sub_layers_minus1))
        .max()
        .unwrap_or(0)
        + 1;

    let mut out = Vec::with_capacity(HEADER_LEN + parameter_sets.iter().map(|n| n.len() + 5).sum::<usize>());
    out.push(1); // configurationVersion
    out.push((ptl.general_profile_space << 6) | (u8::from(ptl.general_tier_flag) << 5) | ptl.general_profile_idc);
    out.extend_from_slice(&ptl.general_profile_compatibility_flags.to_be_bytes());
    out.extend_from_slice(&ptl.general_constraint_indicator_flags.to_be_bytes()[2..]);
    out.push(ptl.general_level_idc);
    out.extend_from_slice(&(0xf000 | min_spatial_segmentation_idc).to_be_bytes());
    out.push(0xfc | parallelism_type);
    out.push(0xfc | last_sps.chroma_format_idc);
    out.push(0xf8 | bit_depth_minus8(last_sps.bit_depth_luma, "hvcc.bitDepthLumaMinus8")?);
    out.push(0xf8 | bit_depth_minus8(last_sps.bit_depth_chroma, "hvcc.bitDepthChromaMinus8")?);
    out.extend_from_slice(&[0, 0]); // avgFrameRate: unspecified
                                    // constantFrameRate 0 (unknown), numTemporalLayers, temporalIdNested, lengthSizeMinusOne 3.
    out.push((max_sub_layers << 3) | (u8::from(last_sps.sps_temporal_id_nesting_flag) << 2) | 3);
    // Parameter set arrays are complete (required for `hvc1`); SEI arrays need not be.
    let arrays: [(bool, u8, Vec<&[u8]>); 5] = [
        (true, NAL_VPS, c.vps.iter().map(|(n, _)| *n).collect()),
        (true, NAL_SPS, c.sps.iter().map(|(n, _)| *n).collect()),
        (true, NAL_PPS, c.pps.iter().map(|(n, _)| *n).collect()),
        (false, NAL_PREFIX_SEI, c.prefix_sei),
        (false, NAL_SUFFIX_SEI, c.suffix_sei),
    ];
    let non_empty: Vec<_> = arrays.into_iter().filter(|(_, _, nals)| !nals.is_empty()).collect();
    out.push(non_empty.len() as u8);
    for (complete, nal_unit_type, nals) in non_empty {
        out.push((u8::from(complete) << 7) | nal_unit_type);
        let count = u16::try_from(nals.len())
            .map_err(|_| ParseError::too_large("hvcc.numNalus", format!("{} NAL units", nals.len())))?;
        out.extend_from_slice(&count.to_be_bytes());
        for nal in nals {
            let len = u16::try_from(nal.len())
                .map_err(|_| ParseError::too_large("hvcc.nalUnitLength", format!("a {}-byte NAL unit", nal.len())))?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(nal);
        }
    }
    parse_record(Bytes::from(out))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::codec::h265::hvcc::{parse_record_header, parse_record_nal_units};
    use crate::codec::h265::test_fixtures::{
        leading_non_vcl, minimal_sps, mp4_hvcc, nal_unit_type, raw_nals, HEVC_MP4_FIXTURES,
    };

    #[test]
    fn records_built_from_the_raw_stream_are_byte_identical_to_ffmpegs() {
        for name in HEVC_MP4_FIXTURES {
            let ffmpeg = mp4_hvcc(name);
            let in_band = leading_non_vcl(name);
            let refs: Vec<&[u8]> = in_band.iter().map(Vec::as_slice).collect();
            let built = build_record(&refs).unwrap();
            let (ours, theirs) = (parse_record_header(&built.record).unwrap(), parse_record_header(&ffmpeg).unwrap());
            // Field by field first, so that a difference says which field.
            assert_eq!(ours.profile_tier_level, theirs.profile_tier_level, "{name}");
            assert_eq!(
                (ours.chroma_format_idc, ours.bit_depth_luma_minus8, ours.bit_depth_chroma_minus8),
                (theirs.chroma_format_idc, theirs.bit_depth_luma_minus8, theirs.bit_depth_chroma_minus8),
                "{name}"
            );
            assert_eq!(ours, theirs, "{name}");
            assert_eq!(built.record[..], ffmpeg[..], "{name}");
        }
    }

    #[test]
    fn building_from_parameter_sets_alone_leaves_out_the_sei_array() {
        let name = HEVC_MP4_FIXTURES[0];
        let in_band = leading_non_vcl(name);
        let refs: Vec<&[u8]> =
            in_band.iter().filter(|n| nal_unit_type(n) != NAL_PREFIX_SEI).map(Vec::as_slice).collect();
        // Given twice and out of order: duplicates are dropped, arrays come out VPS, SPS, PPS.
        let shuffled = [refs[2], refs[0], refs[1], refs[2], refs[0]];
        let built = build_record(&shuffled).unwrap();
        let header = parse_record_header(&built.record).unwrap();
        assert_eq!(header.num_of_arrays, 3);
        assert_eq!(built.parameter_sets.iter().map(|b| &b[..]).collect::<Vec<_>>(), refs);
        let units = parse_record_nal_units(&built.record).unwrap();
        assert!(units.iter().all(|u| u.array_completeness && u.array_nal_unit_type == nal_unit_type(&u.nal)));
    }

    #[test]
    fn sixteen_bit_samples_cannot_be_described_by_a_record() {
        let in_band = leading_non_vcl(HEVC_MP4_FIXTURES[0]);
        let fifteen = build_record(&[&in_band[0], &minimal_sps(7), &in_band[2]]).unwrap();
        assert_eq!(parse_record_header(&fifteen.record).unwrap().bit_depth_luma_minus8, 7);
        let e = build_record(&[&in_band[0], &minimal_sps(8), &in_band[2]]).unwrap_err();
        assert_eq!(e.at, "hvcc.bitDepthLumaMinus8");
        assert!(matches!(e.kind, crate::ParseErrorKind::Unsupported(_)));
    }

    #[test]
    fn missing_and_conflicting_parameter_sets_are_reported() {
        let in_band = leading_non_vcl(HEVC_MP4_FIXTURES[0]);
        let (vps, sps, pps) = (&in_band[0][..], &in_band[1][..], &in_band[2][..]);
        let e = build_record(&[vps, pps]).unwrap_err();
        assert_eq!(e.kind, crate::ParseErrorKind::Missing("SPS".into()));
        // The Main 10 fixture's SPS has the same id but different content.
        let other_sps = leading_non_vcl(HEVC_MP4_FIXTURES[1])[1].clone();
        let e = build_record(&[vps, sps, &other_sps, pps]).unwrap_err();
        assert_eq!(e.at, "hvcc.parameter_sets");
        let slice = raw_nals(HEVC_MP4_FIXTURES[0]).into_iter().find(|n| nal_unit_type(n) < 32).unwrap();
        let e = build_record(&[vps, sps, pps, &slice]).unwrap_err();
        assert_eq!(e.at, "hvcc.parameter_sets[3].nal_unit_type");
    }
}
