//! The AVC decoder configuration record, the payload of an `avcC` box
//! (ISO/IEC 14496-15 5.3.3.1).
//!
//! ```text
//! configurationVersion = 1         u8
//! AVCProfileIndication             u8   profile_idc of the SPS
//! profile_compatibility            u8   the SPS's constraint-flag byte
//! AVCLevelIndication               u8
//! 111111 lengthSizeMinusOne        u8   0, 1 or 3
//! 111 numOfSequenceParameterSets   u8   then that many (u16 length, SPS)
//! numOfPictureParameterSets        u8   then that many (u16 length, PPS)
//! -- profiles other than 66, 77, 88 (Baseline, Main, Extended); absent in older records:
//! 111111 chroma_format             u8
//! 11111 bit_depth_luma_minus8      u8
//! 11111 bit_depth_chroma_minus8    u8
//! numOfSequenceParameterSetExt     u8   then that many (u16 length, SPS extension)
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use super::sps::Sps;
use super::{nal_header, NAL_PPS, NAL_SPS, NAL_SPS_EXTENSION};
use crate::codec::{Codec, DecoderConfig};
use crate::error::{ParseError, Result};

/// Profiles whose record has no chroma and bit-depth extension. The 2010 text of ISO/IEC
/// 14496-15 listed the profiles with one (100, 110, 122, 144); later editions, and libavformat,
/// give one to every profile but these, so 4:4:4 Predictive (244) and the rest have it too.
const PROFILES_WITHOUT_EXTENSION: [u8; 3] = [66, 77, 88];

fn has_extension(profile_idc: u8) -> bool {
    !PROFILES_WITHOUT_EXTENSION.contains(&profile_idc)
}

/// Parses an `avcC` payload. `parameter_sets` holds the SPSs, then any SPS extensions, then
/// the PPSs, each sharing the record's memory; `params` is what the first SPS says.
pub fn parse_record(record: Bytes) -> Result<DecoderConfig> {
    let mut r = RecordReader { record: &record, pos: 0 };
    let version = r.u8("configuration_version")?;
    if version != 1 {
        return Err(ParseError::unsupported("avcc.configuration_version", format!("version {version}")).at_offset(0));
    }
    let profile_indication = r.u8("avc_profile_indication")?;
    r.u8("profile_compatibility")?;
    r.u8("avc_level_indication")?;
    let nal_length_size = (r.u8("length_size_minus_one")? & 3) + 1;
    if nal_length_size == 3 {
        return Err(ParseError::invalid(
            "avcc.length_size_minus_one",
            "2 is not allowed (NAL lengths are 1, 2 or 4 bytes)",
        )
        .at_offset(4));
    }
    let sps_count = r.u8("num_of_sequence_parameter_sets")? & 0x1f;
    let mut spss = r.nal_array(usize::from(sps_count), NAL_SPS, "sequence_parameter_set")?;
    let pps_count = r.u8("num_of_picture_parameter_sets")?;
    let ppss = r.nal_array(usize::from(pps_count), NAL_PPS, "picture_parameter_set")?;

    // Older writers stopped here even for High profiles: the extension is read when present.
    if has_extension(profile_indication) && r.remaining() >= 4 {
        r.u8("chroma_format")?;
        r.u8("bit_depth_luma_minus8")?;
        r.u8("bit_depth_chroma_minus8")?;
        let ext_count = r.u8("num_of_sequence_parameter_set_ext")?;
        spss.extend(r.nal_array(usize::from(ext_count), NAL_SPS_EXTENSION, "sequence_parameter_set_ext")?);
    }
    let first_sps = spss.first().ok_or_else(|| ParseError::missing("avcc.sequence_parameter_set", "sps"))?;
    let params = Sps::parse(first_sps).map_err(|e| e.within("avcc"))?.video_params();
    spss.extend(ppss);
    Ok(DecoderConfig { codec: Codec::H264, record, nal_length_size, parameter_sets: spss, params })
}

/// Builds a record with 4-byte NAL lengths from in-band parameter sets (NAL units without
/// start codes, in any order). Identical repeats are dropped; SPSs come first, then PPSs, in
/// the order first seen. Like libavformat, every profile but Baseline, Main and Extended gets
/// the chroma and bit-depth extension, holding any SPS extension NAL units.
pub fn build_record(parameter_sets: &[&[u8]]) -> Result<DecoderConfig> {
    let mut spss: Vec<&[u8]> = Vec::new();
    let mut ppss: Vec<&[u8]> = Vec::new();
    let mut exts: Vec<&[u8]> = Vec::new();
    for (i, &nal) in parameter_sets.iter().enumerate() {
        let (_, nal_unit_type) = nal_header(nal, "avcc.parameter_sets")?;
        let list = match nal_unit_type {
            NAL_SPS => &mut spss,
            NAL_PPS => &mut ppss,
            NAL_SPS_EXTENSION => &mut exts,
            t => {
                return Err(ParseError::invalid(
                    format!("avcc.parameter_sets[{i}]"),
                    format!("nal_unit_type {t} is not a parameter set"),
                ))
            }
        };
        if u16::try_from(nal.len()).is_err() {
            return Err(ParseError::too_large(
                format!("avcc.parameter_sets[{i}]"),
                format!("{} bytes (at most 65535)", nal.len()),
            ));
        }
        if !list.contains(&nal) {
            list.push(nal);
        }
    }
    let first_sps = *spss.first().ok_or_else(|| ParseError::missing("avcc.sequence_parameter_set", "sps"))?;
    if ppss.is_empty() {
        return Err(ParseError::missing("avcc.picture_parameter_set", "pps"));
    }
    if spss.len() > 31 || ppss.len() > 255 || exts.len() > 255 {
        return Err(ParseError::too_large(
            "avcc",
            format!("{} SPSs, {} PPSs (at most 31 and 255)", spss.len(), ppss.len()),
        ));
    }
    let sps = Sps::parse(first_sps).map_err(|e| e.within("avcc"))?;

    let mut out = BytesMut::new();
    out.put_u8(1);
    out.put_u8(sps.profile_idc);
    out.put_u8(sps.constraint_flags);
    out.put_u8(sps.level_idc);
    out.put_u8(0xfc | 3); // 4-byte NAL lengths
    out.put_u8(0xe0 | spss.len() as u8);
    put_nals(&mut out, &spss);
    out.put_u8(ppss.len() as u8);
    put_nals(&mut out, &ppss);
    if has_extension(sps.profile_idc) {
        out.put_u8(0xfc | sps.chroma_format_idc);
        out.put_u8(0xf8 | (sps.bit_depth_luma - 8));
        out.put_u8(0xf8 | (sps.bit_depth_chroma - 8));
        out.put_u8(exts.len() as u8);
        put_nals(&mut out, &exts);
    }
    let parameter_sets = spss.iter().chain(&exts).chain(&ppss).map(|n| Bytes::copy_from_slice(n)).collect();
    Ok(DecoderConfig {
        codec: Codec::H264,
        record: out.freeze(),
        nal_length_size: 4,
        parameter_sets,
        params: sps.video_params(),
    })
}

/// Each NAL unit with its 16-bit length; lengths were checked to fit.
fn put_nals(out: &mut BytesMut, nals: &[&[u8]]) {
    for nal in nals {
        out.put_u16(nal.len() as u16);
        out.put_slice(nal);
    }
}

/// Reads the record with bounds checks; sub-slices share its memory.
struct RecordReader<'a> {
    record: &'a Bytes,
    pos: usize,
}

impl RecordReader<'_> {
    fn remaining(&self) -> usize {
        self.record.len() - self.pos
    }

    fn u8(&mut self, field: &str) -> Result<u8> {
        let &b = self.record.get(self.pos).ok_or_else(|| self.truncated(field))?;
        self.pos += 1;
        Ok(b)
    }

    fn truncated(&self, field: &str) -> ParseError {
        ParseError::truncated(format!("avcc.{field}")).at_offset(self.pos as u64)
    }

    /// `count` entries of (u16 length, NAL unit of type `nal_unit_type`).
    fn nal_array(&mut self, count: usize, nal_unit_type: u8, field: &str) -> Result<Vec<Bytes>> {
        // Each entry takes at least its two length bytes.
        if count * 2 > self.remaining() {
            return Err(ParseError::too_large(
                format!("avcc.{field}"),
                format!("{count} entries in {} bytes", self.remaining()),
            )
            .at_offset(self.pos as u64));
        }
        let mut nals = Vec::with_capacity(count);
        for i in 0..count {
            let at = format!("{field}[{i}]");
            let len = usize::from(u16::from_be_bytes([self.u8(&at)?, self.u8(&at)?]));
            let start = self.pos;
            if len > self.remaining() {
                return Err(ParseError::too_large(
                    format!("avcc.{at}"),
                    format!("{len} bytes, {} left", self.remaining()),
                )
                .at_offset(start as u64 - 2));
            }
            let nal = self.record.slice(start..start + len);
            let (_, t) = nal_header(&nal, &format!("avcc.{at}")).map_err(|e| e.at_offset(start as u64))?;
            if t != nal_unit_type {
                return Err(ParseError::invalid(
                    format!("avcc.{at}.nal_unit_type"),
                    format!("{t}, expected {nal_unit_type}"),
                )
                .at_offset(start as u64));
            }
            self.pos += len;
            nals.push(nal);
        }
        Ok(nals)
    }
}
