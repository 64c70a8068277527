//! The HEVC decoder configuration record, the payload of an `hvcC` box
//! (ISO/IEC 14496-15 8.3.3.1): a 23-byte header repeating what the parameter sets say, then
//! arrays of NAL units (VPS, SPS, PPS, and declarative SEI).

use bytes::Bytes;

use crate::codec::{Codec, DecoderConfig};
use crate::error::{ParseError, Result};

use super::profile_tier_level::ProfileTierLevel;
use super::{NalHeader, NAL_PPS, NAL_SPS, NAL_VPS};

/// Bytes before the first array, `numOfArrays` included.
pub(super) const HEADER_LEN: usize = 23;

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
        let slot = match nal_header.nal_unit_type {
            NAL_VPS => 0,
            NAL_SPS => 1,
            NAL_PPS => 2,
            _ => continue,
        };
        by_type[slot].push(unit.nal);
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

// Building a record is longer than reading one, so it has its own file.
pub use super::hvcc_build::build_record;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::codec::h265::test_fixtures::{leading_non_vcl, mp4_hvcc, nal_unit_type, HEVC_MP4_FIXTURES};
    use crate::codec::h265::NAL_PREFIX_SEI;

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
    fn the_sei_array_is_kept_out_of_the_parameter_sets() {
        let record = Bytes::from(mp4_hvcc(HEVC_MP4_FIXTURES[0]));
        let units = parse_record_nal_units(&record).unwrap();
        assert_eq!(units.iter().filter(|u| u.array_nal_unit_type == NAL_PREFIX_SEI).count(), 1);
        assert!(!units.iter().find(|u| u.array_nal_unit_type == NAL_PREFIX_SEI).unwrap().array_completeness);
        assert_eq!(parse_record(record).unwrap().parameter_sets.len(), 3);
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
    fn every_truncation_of_a_record_is_an_error() {
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
