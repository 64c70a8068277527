//! The HEVC decoder configuration record, the payload of an `hvcC` box
//! (ISO/IEC 14496-15 8.3.3.1): a 23-byte header repeating what the parameter sets say, then
//! arrays of NAL units (VPS, SPS, PPS, and declarative SEI).

use bytes::Bytes;

use crate::codec::{Codec, DecoderConfig};
use crate::error::{ParseError, Result};

use super::pps::{parse_pps, Pps};
use super::profile_tier_level::ProfileTierLevel;
use super::sps::{parse_sps, Sps};
use super::vps::{parse_vps, Vps};
use super::{NalHeader, NAL_PPS, NAL_PREFIX_SEI, NAL_SPS, NAL_SUFFIX_SEI, NAL_VPS};

/// Bytes before the first array, `numOfArrays` included.
const HEADER_LEN: usize = 23;

/// The fixed part of the record (8.3.3.1.2), before the NAL unit arrays.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    pub configuration_version: u8,
    /// The general profile, tier and level fields, which apply to the whole stream.
    pub profile_tier_level: ProfileTierLevel,
    pub min_spatial_segmentation_idc: u16,
    pub parallelism_type: u8,
    pub chroma_format_idc: u8,
    pub bit_depth_luma_minus8: u8,
    pub bit_depth_chroma_minus8: u8,
    /// Frames per 256 seconds; 0 = unspecified.
    pub avg_frame_rate: u16,
    pub constant_frame_rate: u8,
    pub num_temporal_layers: u8,
    pub temporal_id_nested: bool,
    pub length_size_minus_one: u8,
    pub num_of_arrays: u8,
}

/// Reads the fixed part of a record.
pub fn parse_record_header(record: &[u8]) -> Result<RecordHeader> {
    let Some(h) = record.get(..HEADER_LEN) else {
        return Err(ParseError::truncated("hvcc").at_offset(record.len() as u64));
    };
    let be = |range: std::ops::Range<usize>| h[range].iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    Ok(RecordHeader {
        configuration_version: h[0],
        profile_tier_level: ProfileTierLevel {
            general_profile_space: h[1] >> 6,
            general_tier_flag: h[1] & 0x20 != 0,
            general_profile_idc: h[1] & 0x1f,
            general_profile_compatibility_flags: be(2..6) as u32,
            general_constraint_indicator_flags: be(6..12),
            general_level_idc: h[12],
        },
        min_spatial_segmentation_idc: be(13..15) as u16 & 0x0fff,
        parallelism_type: h[15] & 0x03,
        chroma_format_idc: h[16] & 0x03,
        bit_depth_luma_minus8: h[17] & 0x07,
        bit_depth_chroma_minus8: h[18] & 0x07,
        avg_frame_rate: be(19..21) as u16,
        constant_frame_rate: h[21] >> 6,
        num_temporal_layers: (h[21] >> 3) & 0x07,
        temporal_id_nested: h[21] & 0x04 != 0,
        length_size_minus_one: h[21] & 0x03,
        num_of_arrays: h[22],
    })
}

/// One NAL unit of the record's arrays.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordNalUnit {
    pub array_completeness: bool,
    /// The array's `NAL_unit_type`.
    pub array_nal_unit_type: u8,
    pub nal: Bytes,
}

/// Reads every NAL unit of the record's arrays, checking each count and length against the
/// bytes left before using it. The NAL units are slices of `record`.
pub fn parse_record_nal_units(record: &Bytes) -> Result<Vec<RecordNalUnit>> {
    let header = parse_record_header(record)?;
    let mut pos = HEADER_LEN;
    let mut units = Vec::new();
    let take = |pos: &mut usize, n: usize, at: &dyn Fn() -> String| -> Result<usize> {
        let start = *pos;
        let end = start.checked_add(n).filter(|&end| end <= record.len());
        let end = end.ok_or_else(|| ParseError::truncated(at()).at_offset(start as u64))?;
        *pos = end;
        Ok(start)
    };
    for j in 0..usize::from(header.num_of_arrays) {
        let at = || format!("hvcc.array[{j}]");
        let start = take(&mut pos, 3, &at)?;
        let (kind, num_nalus) =
            (record[start], usize::from(u16::from_be_bytes([record[start + 1], record[start + 2]])));
        // Each NAL unit needs at least its two length bytes.
        if num_nalus * 2 > record.len() - pos {
            return Err(ParseError::too_large(
                format!("hvcc.array[{j}].numNalus"),
                format!("{num_nalus} NAL units cannot fit in the {} bytes left", record.len() - pos),
            )
            .at_offset(start as u64 + 1));
        }
        for i in 0..num_nalus {
            let at = || format!("hvcc.array[{j}].nalUnit[{i}]");
            let len_at = take(&mut pos, 2, &at)?;
            let len = usize::from(u16::from_be_bytes([record[len_at], record[len_at + 1]]));
            let nal_at = take(&mut pos, len, &at)?;
            units.push(RecordNalUnit {
                array_completeness: kind & 0x80 != 0,
                array_nal_unit_type: kind & 0x3f,
                nal: record.slice(nal_at..nal_at + len),
            });
        }
    }
    Ok(units)
}

/// Parses an `hvcC` payload. Parameter sets are classified by their own NAL headers (as
/// decoders do) and returned VPS first, then SPS, then PPS; SEI and other NAL units in the
/// arrays are not parameter sets and are left out. `params` describes the first SPS.
pub fn parse_record(record: Bytes) -> Result<DecoderConfig> {
    let header = parse_record_header(&record)?;
    if header.configuration_version != 1 {
        return Err(ParseError::unsupported(
            "hvcc.configurationVersion",
            format!("{} (only version 1 is defined)", header.configuration_version),
        ));
    }
    if header.length_size_minus_one == 2 {
        return Err(ParseError::invalid("hvcc.lengthSizeMinusOne", "2 (NAL lengths are 1, 2 or 4 bytes)"));
    }
    let mut by_type: [Vec<Bytes>; 3] = Default::default();
    for (index, unit) in parse_record_nal_units(&record)?.into_iter().enumerate() {
        let (nal_header, _) = NalHeader::parse(&unit.nal).map_err(|e| e.within(&format!("hvcc.nalUnit[{index}]")))?;
        if let Some(slot) = nal_header.nal_unit_type.checked_sub(NAL_VPS).and_then(|i| by_type.get_mut(usize::from(i)))
        {
            slot.push(unit.nal);
        }
    }
    let first_sps = by_type[1].first().ok_or_else(|| ParseError::missing("hvcc", "SPS"))?;
    let params = super::parse_sps_params(first_sps).map_err(|e| e.within("hvcc"))?;
    Ok(DecoderConfig {
        codec: Codec::H265,
        record,
        nal_length_size: header.length_size_minus_one + 1,
        parameter_sets: by_type.into_iter().flatten().collect(),
        params,
    })
}

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
    use crate::codec::h265::test_fixtures::{minimal_sps, mp4_hvcc, nal_unit_type, raw_nals, HEVC_MP4_FIXTURES};

    /// The parameter sets and SEI in front of the raw stream's first picture: what
    /// `hevc_mp4toannexb` copied there from the MP4's hvcC.
    fn leading_non_vcl(name: &str) -> Vec<Vec<u8>> {
        raw_nals(name).into_iter().take_while(|n| nal_unit_type(n) >= 32).collect()
    }

    #[test]
    fn mp4_records_carry_the_raw_streams_parameter_sets() {
        for name in HEVC_MP4_FIXTURES {
            let config = parse_record(Bytes::from(mp4_hvcc(name))).unwrap();
            let raw: Vec<Vec<u8>> =
                leading_non_vcl(name).into_iter().filter(|n| (NAL_VPS..=NAL_PPS).contains(&nal_unit_type(n))).collect();
            assert_eq!(raw.iter().map(|n| nal_unit_type(n)).collect::<Vec<_>>(), [NAL_VPS, NAL_SPS, NAL_PPS], "{name}");
            let from_record: Vec<&[u8]> = config.parameter_sets.iter().map(|b| &b[..]).collect();
            assert_eq!(from_record, raw.iter().map(Vec::as_slice).collect::<Vec<_>>(), "{name}");
            assert_eq!(config.nal_length_size, 4, "{name}: ffmpeg writes 4-byte lengths");
            assert_eq!(config.params, crate::codec::h265::parse_sps_params(&raw[1]).unwrap(), "{name}");
        }
    }

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
    fn the_sei_array_is_kept_out_of_the_parameter_sets() {
        let record = Bytes::from(mp4_hvcc(HEVC_MP4_FIXTURES[0]));
        let units = parse_record_nal_units(&record).unwrap();
        assert_eq!(units.iter().filter(|u| u.array_nal_unit_type == NAL_PREFIX_SEI).count(), 1);
        assert!(!units.iter().find(|u| u.array_nal_unit_type == NAL_PREFIX_SEI).unwrap().array_completeness);
        assert_eq!(parse_record(record).unwrap().parameter_sets.len(), 3);
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

    #[test]
    fn counts_and_lengths_past_the_end_are_errors_with_locations() {
        let record = mp4_hvcc(HEVC_MP4_FIXTURES[0]);
        // numNalus of the first array claims 0x7fff NAL units.
        let mut bad = record.clone();
        bad[24..26].copy_from_slice(&0x7fffu16.to_be_bytes());
        let e = parse_record(Bytes::from(bad)).unwrap_err();
        assert_eq!((e.at.as_str(), e.offset), ("hvcc.array[0].numNalus", Some(24)));
        // The VPS length claims more than is left.
        let mut bad = record.clone();
        bad[26..28].copy_from_slice(&0xfff0u16.to_be_bytes());
        let e = parse_record(Bytes::from(bad)).unwrap_err();
        assert_eq!(e.at, "hvcc.array[0].nalUnit[0]");
        // One array more than there is.
        let mut bad = record.clone();
        bad[22] += 1;
        let e = parse_record(Bytes::from(bad)).unwrap_err();
        assert_eq!((e.at.as_str(), e.kind.clone()), ("hvcc.array[4]", crate::ParseErrorKind::Truncated));
        let mut bad = record;
        bad[21] = (bad[21] & !3) | 2;
        assert_eq!(parse_record(Bytes::from(bad)).unwrap_err().at, "hvcc.lengthSizeMinusOne");
    }

    #[test]
    fn every_truncation_of_a_record_is_an_error_or_the_same_record_without_panicking() {
        let record = Bytes::from(mp4_hvcc(HEVC_MP4_FIXTURES[0]));
        let full = parse_record(record.clone()).unwrap();
        for len in 0..record.len() {
            // The SEI array comes last: once the parameter sets are whole, dropping SEI bytes
            // still fails because the array's count or length runs past the end.
            assert!(parse_record(record.slice(..len)).is_err(), "cut at {len}");
        }
        assert_eq!(parse_record(record).unwrap(), full);
    }
}
