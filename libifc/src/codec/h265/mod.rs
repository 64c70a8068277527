//! ITU-T H.265 bitstream syntax: parameter sets, the slice-header fields ifc needs, picture order
//! count, and the decoder configuration record.
//!
//! [`StreamState`] follows one stream NAL unit by NAL unit: it keeps the parameter sets by id
//! and, for the first slice segment of each picture, reads the slice header far enough to
//! compute the picture order count (8.3.1), which orders pictures for display.
//!
//! Only the base layer (`nuh_layer_id` 0) is read: parameter sets and slices of other layers
//! (multi-layer extensions, Annex F) use different syntax and are ignored.

pub mod hvcc;
pub mod poc;
pub mod pps;
pub mod profile_tier_level;
pub mod slice;
pub mod sps;
pub mod st_rps;
pub mod vps;
pub mod vui;

mod hrd;
mod hvcc_build;
mod scaling_list;

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod malformed_tests;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod stream_tests;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
pub(crate) mod test_fixtures;
#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod trace_tests;

use std::sync::Arc;

use super::{PictureInfo, VideoParams};
use crate::error::{ParseError, Result};

use poc::PocState;
use pps::Pps;
use sps::Sps;
use vps::Vps;

/// `nal_unit_type` values of Table 7-1 that ifc treats specially.
pub const NAL_VPS: u8 = 32;
pub const NAL_SPS: u8 = 33;
pub const NAL_PPS: u8 = 34;
pub const NAL_EOS: u8 = 36;
pub const NAL_EOB: u8 = 37;
pub const NAL_PREFIX_SEI: u8 = 39;
pub const NAL_SUFFIX_SEI: u8 = 40;

/// The two-byte NAL unit header (7.3.1.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NalHeader {
    pub nal_unit_type: u8,
    pub nuh_layer_id: u8,
    /// `TemporalId` = `nuh_temporal_id_plus1 - 1`.
    pub temporal_id: u8,
}

impl NalHeader {
    /// Reads the header of `nal`; returns it and the payload after it.
    pub fn parse(nal: &[u8]) -> Result<(Self, &[u8])> {
        let [b0, b1, payload @ ..] = nal else {
            return Err(ParseError::truncated("nal_unit_header"));
        };
        if b0 & 0x80 != 0 {
            return Err(ParseError::invalid("nal_unit_header.forbidden_zero_bit", "is 1"));
        }
        let temporal_id_plus1 = b1 & 0x07;
        if temporal_id_plus1 == 0 {
            return Err(ParseError::invalid("nal_unit_header.nuh_temporal_id_plus1", "is 0"));
        }
        let header = Self {
            nal_unit_type: (b0 >> 1) & 0x3f,
            nuh_layer_id: ((b0 & 1) << 5) | (b1 >> 3),
            temporal_id: temporal_id_plus1 - 1,
        };
        Ok((header, payload))
    }

    /// Reads the header of a parameter set NAL unit, checking its type; errors are located
    /// under `at` (`vps`, `sps`, `pps`).
    pub(crate) fn parse_expecting<'a>(nal: &'a [u8], nal_unit_type: u8, at: &str) -> Result<&'a [u8]> {
        let (header, payload) = Self::parse(nal).map_err(|e| e.within(at))?;
        if header.nal_unit_type != nal_unit_type {
            return Err(ParseError::invalid(
                format!("{at}.nal_unit_header.nal_unit_type"),
                format!("{} (expected {nal_unit_type})", header.nal_unit_type),
            ));
        }
        Ok(payload)
    }

    /// A coded slice segment (types 0..=31).
    pub fn is_vcl(self) -> bool {
        self.nal_unit_type < 32
    }

    /// Intra random access point: BLA, IDR, CRA or a reserved IRAP type (16..=23).
    pub fn is_irap(self) -> bool {
        (16..=23).contains(&self.nal_unit_type)
    }

    /// IDR_W_RADL or IDR_N_LP.
    pub fn is_idr(self) -> bool {
        matches!(self.nal_unit_type, 19 | 20)
    }

    /// BLA_W_LP, BLA_W_RADL or BLA_N_LP.
    pub fn is_bla(self) -> bool {
        (16..=18).contains(&self.nal_unit_type)
    }

    /// RASL_N or RASL_R: leading pictures that reference pictures before their CRA.
    pub fn is_rasl(self) -> bool {
        matches!(self.nal_unit_type, 8 | 9)
    }

    /// RADL_N or RADL_R.
    pub fn is_radl(self) -> bool {
        matches!(self.nal_unit_type, 6 | 7)
    }

    /// A sub-layer non-reference picture: the even types up to 14 (TRAIL_N, TSA_N, ...).
    pub fn is_sub_layer_non_reference(self) -> bool {
        self.nal_unit_type <= 14 && self.nal_unit_type % 2 == 0
    }
}

/// Tracks parameter sets and picture order across the NAL units of one stream.
#[derive(Debug, Default)]
pub struct StreamState {
    vps: [Option<Arc<Vps>>; 16],
    sps: [Option<Arc<Sps>>; 16],
    pps: Vec<Option<Arc<Pps>>>,
    poc: PocState,
    /// The SPS of the latest picture, or before the first picture the latest SPS received.
    current_sps: Option<Arc<Sps>>,
    seen_picture: bool,
    /// An end of sequence or end of bitstream NAL unit came after the last picture: the next
    /// picture starts a new coded video sequence (NoRaslOutputFlag = 1 for a CRA).
    after_end_of_sequence: bool,
}

impl StreamState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one NAL unit (without start code or length). Parameter sets are stored; for the
    /// first slice of a picture, returns what the picture is. Other NAL units return `None`.
    ///
    /// A parameter set that does not parse is reported and not stored (an earlier one with the
    /// same id stays). A slice naming a PPS or SPS that has not arrived is a `Missing` error.
    pub fn push_nal(&mut self, nal: &[u8]) -> Result<Option<PictureInfo>> {
        let (header, payload) = NalHeader::parse(nal)?;
        if header.nuh_layer_id != 0 {
            return Ok(None);
        }
        match header.nal_unit_type {
            NAL_VPS => {
                let vps = vps::parse_vps(nal)?;
                let id = usize::from(vps.vps_video_parameter_set_id);
                self.vps[id] = Some(Arc::new(vps));
            }
            NAL_SPS => {
                let sps = Arc::new(sps::parse_sps(nal)?);
                let id = usize::from(sps.sps_seq_parameter_set_id);
                if !self.seen_picture {
                    self.current_sps = Some(Arc::clone(&sps));
                }
                self.sps[id] = Some(sps);
            }
            NAL_PPS => {
                let pps = pps::parse_pps(nal)?;
                let id = usize::from(pps.pps_pic_parameter_set_id);
                if self.pps.len() <= id {
                    self.pps.resize(id + 1, None);
                }
                self.pps[id] = Some(Arc::new(pps));
            }
            NAL_EOS | NAL_EOB => self.after_end_of_sequence = true,
            _ if header.is_vcl() => {
                let Some(&first_byte) = payload.first() else {
                    return Err(ParseError::truncated("slice_segment_header.first_slice_segment_in_pic_flag"));
                };
                // first_slice_segment_in_pic_flag is the payload's first bit.
                if first_byte & 0x80 != 0 {
                    return self.first_slice_of_picture(header, payload).map(Some);
                }
            }
            _ => {}
        }
        Ok(None)
    }

    fn first_slice_of_picture(&mut self, header: NalHeader, payload: &[u8]) -> Result<PictureInfo> {
        let mut found_sps = None;
        let slice = slice::parse_slice_segment_header(header, payload, |pps_id| {
            let at = "slice_segment_header.slice_pic_parameter_set_id";
            let pps = self
                .pps
                .get(usize::from(pps_id))
                .and_then(Option::as_ref)
                .ok_or_else(|| ParseError::missing(at, format!("PPS {pps_id}")))?;
            let sps_id = pps.pps_seq_parameter_set_id;
            let sps = self
                .sps
                .get(usize::from(sps_id))
                .and_then(Option::as_ref)
                .ok_or_else(|| ParseError::missing(at, format!("SPS {sps_id} (named by PPS {pps_id})")))?;
            found_sps = Some(Arc::clone(sps));
            Ok((pps.as_ref(), sps.as_ref()))
        })?;
        let Some(sps) = found_sps else {
            return Err(ParseError::missing("slice_segment_header", "SPS"));
        };
        // 8.1.3: NoRaslOutputFlag is 1 for IDR and BLA pictures, and for a CRA that is the first
        // picture of the stream or follows an end of sequence.
        let no_rasl_output_flag = header.is_irap()
            && (header.is_idr() || header.is_bla() || !self.seen_picture || self.after_end_of_sequence);
        let lsb = slice.slice_pic_order_cnt_lsb.unwrap_or(0);
        let poc = self.poc.picture_order_count(header, lsb, sps.log2_max_pic_order_cnt_lsb, no_rasl_output_flag)?;
        self.seen_picture = true;
        self.after_end_of_sequence = false;
        self.current_sps = Some(sps);
        Ok(PictureInfo {
            poc,
            random_access: header.is_irap(),
            idr: header.is_idr(),
            new_sequence: no_rasl_output_flag,
            rasl: header.is_rasl(),
        })
    }

    /// What the SPS of the most recent picture (or, before any picture, the most recently
    /// received SPS) says.
    pub fn video_params(&self) -> Option<VideoParams> {
        self.current_sps.as_ref().map(|sps| sps.video_params())
    }

    /// The stored VPS with this id.
    pub fn vps(&self, id: u8) -> Option<&Vps> {
        self.vps.get(usize::from(id)).and_then(|v| v.as_deref())
    }

    /// The stored SPS with this id.
    pub fn sps(&self, id: u8) -> Option<&Sps> {
        self.sps.get(usize::from(id)).and_then(|s| s.as_deref())
    }

    /// The stored PPS with this id.
    pub fn pps(&self, id: u8) -> Option<&Pps> {
        self.pps.get(usize::from(id)).and_then(|p| p.as_deref())
    }
}

/// Parses an SPS NAL unit (with its header) into what users need.
pub fn parse_sps_params(nal: &[u8]) -> Result<VideoParams> {
    Ok(sps::parse_sps(nal)?.video_params())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn the_nal_header_splits_type_layer_and_temporal_id() {
        // 0 | 010011 (IDR_W_RADL) | 000001 (layer 1) | 011 (TemporalId 2), then a payload byte.
        let (h, payload) = NalHeader::parse(&[0b0010_0110, 0b0000_1011, 0xaa]).unwrap();
        assert_eq!((h.nal_unit_type, h.nuh_layer_id, h.temporal_id), (19, 1, 2));
        assert_eq!(payload, [0xaa]);
        assert!(h.is_vcl() && h.is_irap() && h.is_idr() && !h.is_bla());
    }

    #[test]
    fn picture_kinds_follow_table_7_1() {
        let kinds = |t: u8| {
            let h = NalHeader { nal_unit_type: t, nuh_layer_id: 0, temporal_id: 0 };
            (h.is_irap(), h.is_rasl(), h.is_radl(), h.is_sub_layer_non_reference())
        };
        assert_eq!(kinds(0), (false, false, false, true), "TRAIL_N");
        assert_eq!(kinds(1), (false, false, false, false), "TRAIL_R");
        assert_eq!(kinds(6), (false, false, true, true), "RADL_N");
        assert_eq!(kinds(9), (false, true, false, false), "RASL_R");
        assert_eq!(kinds(16), (true, false, false, false), "BLA_W_LP");
        assert_eq!(kinds(21), (true, false, false, false), "CRA_NUT");
        assert_eq!(kinds(24), (false, false, false, false), "RSV_VCL24");
    }

    #[test]
    fn a_slice_without_payload_is_truncated() {
        let e = StreamState::new().push_nal(&[1 << 1, 1]).unwrap_err();
        assert_eq!(e.at, "slice_segment_header.first_slice_segment_in_pic_flag");
    }
}
