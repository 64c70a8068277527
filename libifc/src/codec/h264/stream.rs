//! [`StreamState`]: parameter sets and picture order across the NAL units of one stream.

use std::sync::Arc;

use super::poc::PocState;
use super::pps::Pps;
use super::slice::SliceHeader;
use super::sps::Sps;
use super::{nal_header, NAL_END_OF_SEQUENCE, NAL_IDR_SLICE, NAL_PPS, NAL_SLICE, NAL_SLICE_PARTITION_A, NAL_SPS};
use crate::codec::{PictureInfo, VideoParams};
use crate::error::{ParseError, Result};

/// `seq_parameter_set_id` is 0..=31 and `pic_parameter_set_id` 0..=255 (7.4.2.1.1, 7.4.2.2).
const SPS_SLOTS: usize = 32;
const PPS_SLOTS: usize = 256;

/// Tracks parameter sets and picture order across the NAL units of one stream.
///
/// Feed NAL units in decoding order. Each field of a field-coded frame is its own picture
/// (and access unit) in H.264, so it gets its own [`PictureInfo`].
#[derive(Debug)]
pub struct StreamState {
    spss: Vec<Option<Arc<Sps>>>,
    ppss: Vec<Option<Arc<Pps>>>,
    poc: PocState,
    /// The SPS of the latest picture or, before the first picture, the latest SPS received.
    current_sps: Option<Arc<Sps>>,
    /// The first slice header of the latest picture.
    last_header: Option<SliceHeader>,
    seen_picture: bool,
    after_end_of_sequence: bool,
}

impl Default for StreamState {
    fn default() -> Self {
        Self {
            spss: vec![None; SPS_SLOTS],
            ppss: vec![None; PPS_SLOTS],
            poc: PocState::new(),
            current_sps: None,
            last_header: None,
            seen_picture: false,
            after_end_of_sequence: false,
        }
    }
}

impl StreamState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one NAL unit (without start code or length). Parameter sets are stored; for the
    /// first slice of a picture, returns what the picture is. Other NAL units return `None`.
    ///
    /// A parameter set that fails to parse is an error and is not stored (one with the same
    /// id stored earlier stays). A slice that names a missing PPS or SPS is a `Missing`
    /// error. `new_sequence` is set on IDR pictures, on the first picture after an end of
    /// sequence, on the first picture of the stream, and on a picture whose
    /// `memory_management_control_operation` 5 restarts picture order counts.
    ///
    /// A slice with `first_mb_in_slice` 0 begins a picture, except a redundant coded picture
    /// and, with separate colour planes, the first slice of the second and third plane.
    pub fn push_nal(&mut self, nal: &[u8]) -> Result<Option<PictureInfo>> {
        let (_, nal_unit_type) = nal_header(nal, "nal")?;
        match nal_unit_type {
            NAL_SPS => {
                let sps = Arc::new(Sps::parse(nal)?);
                if !self.seen_picture {
                    self.current_sps = Some(Arc::clone(&sps));
                }
                let id = usize::from(sps.seq_parameter_set_id);
                if let Some(slot) = self.spss.get_mut(id) {
                    *slot = Some(sps);
                }
                Ok(None)
            }
            NAL_PPS => {
                let pps = Pps::parse(nal)?;
                if let Some(slot) = self.ppss.get_mut(usize::from(pps.pic_parameter_set_id)) {
                    *slot = Some(Arc::new(pps));
                }
                Ok(None)
            }
            NAL_END_OF_SEQUENCE => {
                self.after_end_of_sequence = true;
                Ok(None)
            }
            // Partitions B and C (types 3 and 4) carry no slice header of their own.
            NAL_SLICE | NAL_SLICE_PARTITION_A | NAL_IDR_SLICE => self.push_slice(nal),
            _ => Ok(None),
        }
    }

    fn push_slice(&mut self, nal: &[u8]) -> Result<Option<PictureInfo>> {
        if SliceHeader::first_mb_in_slice(nal)? != 0 {
            return Ok(None);
        }
        let header = SliceHeader::parse(nal, |pps_id| {
            let pps = self.pps(pps_id)?;
            Ok((pps, self.sps_of(pps)?))
        })?;
        // A redundant coded picture repeats a primary one (7.4.3): not a new picture.
        if header.redundant_pic_cnt > 0 {
            return Ok(None);
        }
        if header.idr && header.nal_ref_idc == 0 {
            return Err(ParseError::invalid("slice_header.nal_ref_idc", "an IDR picture must be a reference (7.4.1)"));
        }
        let pps = Arc::clone(self.pps(header.pic_parameter_set_id)?);
        let sps = Arc::clone(self.sps_of(&pps)?);
        // With separate colour planes each plane's first slice starts at macroblock 0; the
        // planes of one picture share the fields 7.4.1.2.4 compares.
        if sps.separate_colour_plane_flag && self.last_header.as_ref().is_some_and(|last| last.same_picture_as(&header))
        {
            return Ok(None);
        }
        let poc = self.poc.next_picture(&sps, &header)?;
        let info = PictureInfo {
            poc,
            random_access: header.idr,
            idr: header.idr,
            new_sequence: header.idr || header.mmco5 || self.after_end_of_sequence || !self.seen_picture,
            rasl: false,
        };
        self.current_sps = Some(sps);
        self.last_header = Some(header);
        self.seen_picture = true;
        self.after_end_of_sequence = false;
        Ok(Some(info))
    }

    fn pps(&self, id: u8) -> Result<&Arc<Pps>> {
        self.ppss
            .get(usize::from(id))
            .and_then(Option::as_ref)
            .ok_or_else(|| ParseError::missing("slice_header.pic_parameter_set_id", format!("pps {id}")))
    }

    fn sps_of(&self, pps: &Pps) -> Result<&Arc<Sps>> {
        let id = pps.seq_parameter_set_id;
        self.spss
            .get(usize::from(id))
            .and_then(Option::as_ref)
            .ok_or_else(|| ParseError::missing("pps.seq_parameter_set_id", format!("sps {id}")))
    }

    /// The SPS of the most recent picture (or, before any picture, the most recently received
    /// SPS).
    pub fn sps(&self) -> Option<&Sps> {
        self.current_sps.as_deref()
    }

    /// The stored SPS with this id.
    pub fn sps_by_id(&self, id: u8) -> Option<&Sps> {
        self.spss.get(usize::from(id)).and_then(|s| s.as_deref())
    }

    /// The stored PPS with this id.
    pub fn pps_by_id(&self, id: u8) -> Option<&Pps> {
        self.ppss.get(usize::from(id)).and_then(|p| p.as_deref())
    }

    /// What the SPS of the most recent picture (or, before any picture, the most recently
    /// received SPS) says.
    pub fn video_params(&self) -> Option<VideoParams> {
        self.current_sps.as_ref().map(|sps| sps.video_params())
    }
}
