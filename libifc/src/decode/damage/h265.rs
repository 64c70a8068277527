//! H.265 access units: slice segment coverage (7.4.7.1 `slice_segment_address`), reference
//! pictures present (8.3.2, short-term sets) and what the picture is, read with
//! `codec::h265`'s own parsers.

use crate::codec::h265::slice::{parse_slice_segment_header_with_rps, SliceSegmentHeader};
use crate::codec::h265::st_rps::ShortTermRefPicSet;
use crate::codec::h265::{NalHeader, StreamState, NAL_EOB, NAL_EOS};
use crate::error::ParseError;

use super::{slice_header_damage, Damage, PictureClass, PictureFacts};

/// `slice_type` 2 (7.4.7.1).
const SLICE_TYPE_I: u8 = 2;

/// Follows one H.265 stream access unit by access unit.
#[derive(Debug)]
pub(super) struct H265Analyzer {
    /// Parameter sets, and the picture order count of each picture's first slice segment.
    state: StreamState,
    /// POCs of the decoded pictures the last reference picture set kept (the DPB, as far as
    /// short-term references go).
    decoded: Vec<i32>,
    /// The next IRAP picture starts decoding afresh (`NoRaslOutputFlag`, 8.1.3): at the start,
    /// after a restart of the decoder, after an end of sequence.
    fresh_start: bool,
    /// An IRAP picture has been decoded since the (re)start.
    started: bool,
    /// The RASL pictures of the latest IRAP picture are skipped by the decoder.
    skip_rasl: bool,
}

impl Default for H265Analyzer {
    fn default() -> Self {
        Self { state: StreamState::new(), decoded: Vec::new(), fresh_start: true, started: false, skip_rasl: false }
    }
}

/// The slice segments of one access unit, as far as they parse.
struct Segments {
    /// The NAL unit header of the first slice segment.
    header: Option<NalHeader>,
    poc: Option<i32>,
    /// The first independent segment's header and reference picture set.
    first: Option<(SliceSegmentHeader, Option<ShortTermRefPicSet>)>,
    /// `(first_slice_segment_in_pic_flag, slice_segment_address)` of each segment.
    addresses: Vec<(bool, u32)>,
    /// `sps_max_sub_layers_minus1` of the picture's SPS.
    max_sub_layers_minus1: Option<u8>,
    inter: bool,
    /// A header did not parse for a reason ifc cannot judge.
    unknown: bool,
    /// A PPS with tiles: segments follow the tile scan, not the raster scan of their addresses.
    tiles: bool,
    damage: Option<Damage>,
}

impl H265Analyzer {
    pub(super) fn parameter_set(&mut self, nal: &[u8]) {
        // As for H.264: a parameter set that does not parse leaves its slices unjudged.
        let _ = self.state.push_nal(nal);
    }

    pub(super) fn restart(&mut self) {
        self.decoded.clear();
        self.fresh_start = true;
        self.started = false;
    }

    pub(super) fn access_unit<'a>(
        &mut self,
        nals: impl IntoIterator<Item = &'a [u8]>,
        decoded: bool,
    ) -> Option<PictureFacts> {
        let s = self.read_segments(nals);
        let header = s.header?;
        let mut facts = PictureFacts {
            // A sub-layer non-reference picture may still be a reference of higher sub-layers;
            // without its SPS, assume there are some (a reference too many only delays).
            reference: !header.is_sub_layer_non_reference()
                || s.max_sub_layers_minus1.is_none_or(|max| header.temporal_id < max),
            inter: s.unknown || s.inter,
            key: header.is_irap(),
            class: if header.is_rasl() {
                PictureClass::Rasl
            } else if header.is_radl() {
                PictureClass::Radl
            } else {
                PictureClass::Main
            },
            output: s.first.as_ref().is_none_or(|(h, _)| h.pic_output_flag),
            second_field: false,
            damage: s.damage.clone().or_else(|| coverage(&s)),
            references_missing: false,
        };
        if header.is_irap() {
            // 8.1.3: IDR and BLA pictures always start afresh; a CRA where decoding starts too.
            self.skip_rasl = self.fresh_start || header.is_idr() || header.is_bla();
            if self.skip_rasl {
                self.decoded.clear();
            }
            self.fresh_start = false;
            self.started = true;
        }
        if header.is_rasl() && self.skip_rasl {
            // Never decoded, never output, never a reference of anything decoded.
            facts.output = false;
            facts.damage = None;
            return Some(facts);
        }
        if !self.started && facts.inter {
            facts.damage = facts.damage.take().or(Some(Damage::NoReferences));
            facts.references_missing = true;
        }
        if let (Some(poc), Some((_, Some(rps)))) = (s.poc, &s.first) {
            if self.started {
                self.check_references(poc, rps, &mut facts);
            }
            let kept: Vec<i32> = all_deltas(rps).map(|d| poc + d).collect();
            self.decoded.retain(|p| kept.contains(p));
        }
        if let (Some(poc), true) = (s.poc, decoded) {
            self.decoded.push(poc);
        }
        Some(facts)
    }

    fn read_segments<'a>(&mut self, nals: impl IntoIterator<Item = &'a [u8]>) -> Segments {
        let mut s = Segments {
            header: None,
            poc: None,
            first: None,
            addresses: Vec::new(),
            max_sub_layers_minus1: None,
            inter: false,
            unknown: false,
            tiles: false,
            damage: None,
        };
        for nal in nals {
            let Ok((header, payload)) = NalHeader::parse(nal) else { continue };
            if header.nuh_layer_id != 0 {
                continue;
            }
            if !header.is_vcl() {
                if matches!(header.nal_unit_type, NAL_EOS | NAL_EOB) {
                    self.fresh_start = true;
                }
                self.parameter_set(nal);
                continue;
            }
            s.header.get_or_insert(header);
            // The stream state computes the picture order count from the first segment.
            match self.state.push_nal(nal) {
                Ok(Some(info)) => s.poc = s.poc.or(Some(info.poc)),
                Ok(None) => {}
                Err(e) => {
                    s.unknown = true;
                    s.damage = s.damage.or_else(|| slice_header_damage(e));
                    continue;
                }
            }
            let parsed = parse_slice_segment_header_with_rps(header, payload, |id| {
                let missing =
                    |what: String| ParseError::missing("slice_segment_header.slice_pic_parameter_set_id", what);
                let pps = self.state.pps(id).ok_or_else(|| missing(format!("PPS {id}")))?;
                let sps_id = pps.pps_seq_parameter_set_id;
                let sps = self.state.sps(sps_id).ok_or_else(|| missing(format!("SPS {sps_id}")))?;
                Ok((pps, sps))
            });
            match parsed {
                Ok((segment, rps)) => {
                    if let Some(pps) = self.state.pps(segment.slice_pic_parameter_set_id) {
                        s.tiles |= pps.tiles_enabled_flag;
                        let sps = self.state.sps(pps.pps_seq_parameter_set_id);
                        s.max_sub_layers_minus1 = sps.map(|sps| sps.sps_max_sub_layers_minus1);
                    }
                    s.inter |= segment.slice_type.is_some_and(|t| t != SLICE_TYPE_I);
                    if segment.first_slice_segment_in_pic_flag && !s.addresses.is_empty() {
                        s.damage = s.damage.or(Some(Damage::MixedPictures));
                    }
                    s.addresses.push((segment.first_slice_segment_in_pic_flag, segment.slice_segment_address));
                    if !segment.dependent_slice_segment_flag && s.first.is_none() {
                        s.first = Some((segment, rps));
                    }
                }
                Err(e) => {
                    s.unknown = true;
                    s.damage = s.damage.or_else(|| slice_header_damage(e));
                }
            }
        }
        s
    }

    /// 8.3.2: every picture the current one uses (`RefPicSetStCurrBefore`, `…After`) must have
    /// been decoded and kept. A missing one was lost, or decoding began after it.
    fn check_references(&self, poc: i32, rps: &ShortTermRefPicSet, facts: &mut PictureFacts) {
        let used_s0 = rps.delta_poc_s0.iter().zip(&rps.used_by_curr_pic_s0);
        let used_s1 = rps.delta_poc_s1.iter().zip(&rps.used_by_curr_pic_s1);
        let missing = used_s0
            .chain(used_s1)
            .filter(|&(_, &used)| used)
            .map(|(&d, _)| poc + d)
            .find(|p| !self.decoded.contains(p));
        if let Some(missing) = missing {
            facts.damage = facts.damage.take().or(Some(Damage::MissingReference { poc: missing }));
            facts.references_missing = true;
        }
    }
}

fn all_deltas(rps: &ShortTermRefPicSet) -> impl Iterator<Item = i32> + '_ {
    rps.delta_poc_s0.iter().chain(&rps.delta_poc_s1).copied()
}

/// Do the slice segments start the picture and follow each other? With tiles the segments
/// follow the tile scan, so only the start and distinct addresses are checked.
fn coverage(s: &Segments) -> Option<Damage> {
    let (&(starts_picture, first), rest) = s.addresses.split_first()?;
    if !starts_picture {
        return Some(Damage::SlicesMissing { first });
    }
    let mut previous = first;
    for (i, &(_, address)) in rest.iter().enumerate() {
        let seen = || s.addresses[..=i].iter().any(|&(_, a)| a == address);
        let out_of_order = if s.tiles { seen() } else { address <= previous };
        if out_of_order {
            return Some(Damage::SliceOrder { previous, address });
        }
        previous = address;
    }
    None
}
