//! H.264 access units: slice coverage (7.4.3 `first_mb_in_slice`), `frame_num` continuity
//! (7.4.3, 8.2.5.2) and what the picture is, read with `codec::h264`'s own parsers.

use crate::codec::h264::{nal_header, Pps, SliceHeader, SliceType, Sps, StreamState};
use crate::codec::h264::{NAL_END_OF_SEQUENCE, NAL_IDR_SLICE, NAL_PPS, NAL_SLICE, NAL_SLICE_PARTITION_A, NAL_SPS};

use super::{slice_header_damage, Damage, PictureClass, PictureFacts};

/// Follows one H.264 stream access unit by access unit.
#[derive(Debug, Default)]
pub(super) struct H264Analyzer {
    /// Parameter sets only: slices are parsed here, every one of them.
    state: StreamState,
    /// `PrevRefFrameNum` (7.4.3); `None` until the first IDR after a (re)start.
    prev_ref_frame_num: Option<u32>,
    /// An IDR picture has been seen since the decoder (re)started.
    started: bool,
    /// The previous access unit was a field that may have a second field coming:
    /// `(frame_num, bottom_field_flag)`.
    open_field: Option<(u32, bool)>,
}

/// The slices of one access unit, as far as they parse.
struct Slices {
    first: Option<SliceHeader>,
    /// `(first_mb_in_slice, colour_plane_id)` of each primary slice (redundant ones left out).
    starts: Vec<(u32, u8)>,
    any_vcl: bool,
    reference: bool,
    idr: bool,
    inter: bool,
    /// A slice header did not parse for a reason ifc cannot judge: its type is unknown.
    unknown: bool,
    damage: Option<Damage>,
}

impl H264Analyzer {
    pub(super) fn parameter_set(&mut self, nal: &[u8]) {
        // A parameter set that does not parse is not stored; slices naming it go unjudged,
        // and libavcodec, which refuses it too, reports them.
        let _ = self.state.push_nal(nal);
    }

    pub(super) fn restart(&mut self) {
        self.prev_ref_frame_num = None;
        self.started = false;
        self.open_field = None;
    }

    pub(super) fn access_unit<'a>(&mut self, nals: impl IntoIterator<Item = &'a [u8]>) -> Option<PictureFacts> {
        let slices = self.read_slices(nals);
        if !slices.any_vcl {
            return None;
        }
        let mut facts = PictureFacts {
            reference: slices.reference,
            inter: slices.unknown || slices.inter,
            key: slices.idr,
            class: PictureClass::Main,
            output: true,
            second_field: false,
            damage: slices.damage.clone(),
            references_missing: false,
        };
        let Some(first) = &slices.first else {
            self.open_field = None;
            return Some(facts);
        };
        let Some((pps, sps)) = self.parameter_sets(first.pic_parameter_set_id) else {
            return Some(facts);
        };
        if facts.damage.is_none() {
            facts.damage = coverage(&slices.starts, first, pps, sps);
        }
        let max_frame_num = sps.max_frame_num();
        let gaps_allowed = sps.gaps_in_frame_num_value_allowed_flag;
        facts.second_field = self.pairs_with_open_field(first);
        // The second field of an IDR picture is coded as IDR too; the period began at the first.
        facts.key &= !facts.second_field;
        self.follow_frame_num(first, max_frame_num, gaps_allowed, &mut facts);
        Some(facts)
    }

    /// Stores the access unit's parameter sets and reads its slice headers.
    fn read_slices<'a>(&mut self, nals: impl IntoIterator<Item = &'a [u8]>) -> Slices {
        let mut s = Slices {
            first: None,
            starts: Vec::new(),
            any_vcl: false,
            reference: false,
            idr: false,
            inter: false,
            unknown: false,
            damage: None,
        };
        for nal in nals {
            let Ok((nal_ref_idc, nal_unit_type)) = nal_header(nal, "nal") else { continue };
            if matches!(nal_unit_type, NAL_SPS | NAL_PPS | NAL_END_OF_SEQUENCE) {
                self.parameter_set(nal);
                continue;
            }
            if !matches!(nal_unit_type, NAL_SLICE | NAL_SLICE_PARTITION_A | NAL_IDR_SLICE) {
                continue;
            }
            s.any_vcl = true;
            s.reference |= nal_ref_idc != 0;
            s.idr |= nal_unit_type == NAL_IDR_SLICE;
            let header = SliceHeader::parse(nal, |id| {
                self.parameter_sets(id).ok_or_else(|| {
                    crate::error::ParseError::missing("slice_header.pic_parameter_set_id", format!("pps {id}"))
                })
            });
            let header = match header {
                Ok(header) => header,
                Err(e) => {
                    s.unknown = true;
                    s.damage = s.damage.or_else(|| slice_header_damage(e));
                    continue;
                }
            };
            s.inter |= !matches!(header.slice_type, SliceType::I | SliceType::SI);
            if header.redundant_pic_cnt > 0 {
                continue;
            }
            if s.first.as_ref().is_some_and(|first| !first.same_picture_as(&header)) {
                s.damage = s.damage.or(Some(Damage::MixedPictures));
            }
            s.starts.push((header.first_mb_in_slice, header.colour_plane_id));
            s.first.get_or_insert(header);
        }
        s
    }

    fn parameter_sets(&self, pps_id: u8) -> Option<(&Pps, &Sps)> {
        let pps = self.state.pps_by_id(pps_id)?;
        Some((pps, self.state.sps_by_id(pps.seq_parameter_set_id)?))
    }

    /// Is this the second field of the field the previous access unit held (7.4.1.2.4: same
    /// `frame_num`, opposite parity)? Remembers a first field for the next access unit.
    fn pairs_with_open_field(&mut self, h: &SliceHeader) -> bool {
        let pairs = h.field_pic_flag
            && self
                .open_field
                .is_some_and(|(frame_num, bottom)| frame_num == h.frame_num && bottom != h.bottom_field_flag);
        self.open_field = (h.field_pic_flag && !pairs).then_some((h.frame_num, h.bottom_field_flag));
        pairs
    }

    /// 7.4.3: after a reference picture, `frame_num` is the same (its second field) or one more;
    /// anything else means reference pictures were lost (unless gaps are allowed). A predicted
    /// picture before any IDR has no references at all.
    fn follow_frame_num(&mut self, h: &SliceHeader, max_frame_num: u32, gaps_allowed: bool, facts: &mut PictureFacts) {
        if h.idr {
            self.started = true;
        } else if !self.started {
            if facts.inter {
                facts.damage = facts.damage.take().or(Some(Damage::NoReferences));
                facts.references_missing = true;
            }
            return;
        }
        let frame_num = h.frame_num % max_frame_num;
        if let Some(previous) = self.prev_ref_frame_num.filter(|_| !h.idr && !gaps_allowed) {
            if frame_num != previous && frame_num != (previous + 1) % max_frame_num {
                // An intra picture is intact; the predicted pictures from here on may not be.
                if facts.inter {
                    facts.damage = facts.damage.take().or(Some(Damage::FrameNumGap { previous, frame_num }));
                }
                facts.references_missing = true;
                // 8.2.5.2: the decoder fills the gap with frames up to frame_num - 1.
                self.prev_ref_frame_num = Some((frame_num + max_frame_num - 1) % max_frame_num);
            }
        }
        if h.nal_ref_idc != 0 {
            // After memory_management_control_operation 5 the picture counts as frame_num 0.
            self.prev_ref_frame_num = Some(if h.mmco5 { 0 } else { frame_num });
        }
    }
}

/// Do the primary slices cover the picture from its first macroblock, in order? Each colour
/// plane is checked on its own when the planes are coded separately. Slice groups (FMO) can
/// start anywhere, and Baseline/Extended may send slices in any order (ASO): then only the
/// starts themselves are checked.
fn coverage(starts: &[(u32, u8)], first: &SliceHeader, pps: &Pps, sps: &Sps) -> Option<Damage> {
    let field = u32::from(first.field_pic_flag);
    let size = (sps.pic_width_in_mbs * sps.frame_height_in_mbs()) >> field;
    // 7-25: in an MBAFF frame, first_mb_in_slice counts macroblock pairs.
    let per_unit = 1 + u32::from(sps.mb_adaptive_frame_field_flag && !first.field_pic_flag);
    let any_order = matches!(sps.profile_idc, 66 | 88) && !sps.constraint_set_flag(1);
    for plane in 0..=2u8 {
        let mut addresses: Vec<u32> =
            starts.iter().filter(|&&(_, p)| p == plane).map(|&(mb, _)| mb.saturating_mul(per_unit)).collect();
        if let Some(&address) = addresses.iter().find(|&&a| a >= size) {
            return Some(Damage::SliceOutsidePicture { address, size });
        }
        if pps.num_slice_groups > 1 || addresses.is_empty() {
            continue;
        }
        if any_order {
            addresses.sort_unstable();
        }
        if addresses[0] != 0 {
            return Some(Damage::SlicesMissing { first: addresses[0] });
        }
        if let Some(w) = addresses.windows(2).find(|w| w[1] <= w[0]) {
            return Some(Damage::SliceOrder { previous: w[0], address: w[1] });
        }
    }
    None
}
