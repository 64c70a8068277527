//! The H.265 analysis on hand-made access units: `test_fixtures::minimal_sps` (320×240 in
//! 64×64 CTBs: 20 CTBs, 8-bit POC LSB, one sub-layer, no SPS reference picture sets), a PPS
//! and slice segment headers written here, each reference picture set coded in the header.

#![allow(clippy::unwrap_used)]

use super::h265::H265Analyzer;
use super::{Damage, PictureClass, PictureFacts};
use crate::codec::h265::test_fixtures::{minimal_sps, BitWriter};

const TRAIL_N: u8 = 0;
const TRAIL_R: u8 = 1;
const RADL_R: u8 = 7;
const RASL_R: u8 = 9;
const IDR_W_RADL: u8 = 19;
const CRA: u8 = 21;
/// `slice_type` P (7.4.7.1).
const P: u32 = 1;
const I: u32 = 2;

fn nal_header(w: &mut BitWriter, nal_unit_type: u8) {
    w.bits(16, u32::from(nal_unit_type) << 9 | 1);
}

/// PPS 0 of SPS 0; dependent slice segments and tiles as given.
fn pps(dependent_segments: bool, tiles: bool) -> Vec<u8> {
    let mut w = BitWriter::default();
    nal_header(&mut w, 34);
    w.ue(0).ue(0).bit(dependent_segments).bit(false).bits(3, 0).bit(false).bit(false);
    w.ue(0).ue(0).se(0).bit(false).bit(false).bit(false).se(0).se(0);
    w.bit(false).bit(false).bit(false).bit(false).bit(tiles).bit(false).bit(true);
    w.bytes()
}

/// A slice segment. `address` `None`: the picture's first segment. `refs`: POC deltas of the
/// reference picture set, with `used_by_curr_pic` (negative nearest first, then positive).
struct Segment {
    nal_unit_type: u8,
    address: Option<u32>,
    dependent: bool,
    slice_type: u32,
    poc_lsb: u32,
    refs: Vec<(i32, bool)>,
}

impl Segment {
    fn picture(nal_unit_type: u8, poc_lsb: u32, refs: &[(i32, bool)]) -> Self {
        let intra = (16..=23).contains(&nal_unit_type);
        let slice_type = if intra { I } else { P };
        Self { nal_unit_type, address: None, dependent: false, slice_type, poc_lsb, refs: refs.to_vec() }
    }

    fn at(mut self, address: u32) -> Self {
        self.address = Some(address);
        self
    }

    fn nal(&self, dependent_segments_enabled: bool) -> Vec<u8> {
        let mut w = BitWriter::default();
        nal_header(&mut w, self.nal_unit_type);
        w.bit(self.address.is_none());
        if (16..=23).contains(&self.nal_unit_type) {
            w.bit(false); // no_output_of_prior_pics_flag
        }
        w.ue(0);
        if let Some(address) = self.address {
            if dependent_segments_enabled {
                w.bit(self.dependent);
            }
            w.bits(5, address); // Ceil(Log2(20 CTBs))
        }
        if !self.dependent {
            w.ue(self.slice_type);
            if !matches!(self.nal_unit_type, 19 | 20) {
                w.bits(8, self.poc_lsb);
                w.bit(false); // short_term_ref_pic_set_sps_flag: the SPS has no sets
                let before: Vec<_> = self.refs.iter().filter(|r| r.0 < 0).collect();
                let after: Vec<_> = self.refs.iter().filter(|r| r.0 > 0).collect();
                w.ue(before.len() as u32).ue(after.len() as u32);
                let mut last = 0;
                for &&(delta, used) in &before {
                    w.ue((last - delta - 1) as u32).bit(used);
                    last = delta;
                }
                last = 0;
                for &&(delta, used) in &after {
                    w.ue((delta - last - 1) as u32).bit(used);
                    last = delta;
                }
            }
        }
        // Slice data stand-in: no run of zero bytes, so no emulation prevention is needed.
        w.bit(true).bits(16, 0xa5a5);
        w.bytes()
    }
}

struct Stream {
    analyzer: H265Analyzer,
    dependent_segments: bool,
}

impl Stream {
    fn new(dependent_segments: bool, tiles: bool) -> Self {
        let mut analyzer = H265Analyzer::default();
        analyzer.parameter_set(&minimal_sps(0));
        analyzer.parameter_set(&pps(dependent_segments, tiles));
        Self { analyzer, dependent_segments }
    }

    fn au(&mut self, segments: &[Segment]) -> PictureFacts {
        self.au_decoded(segments, true)
    }

    fn au_decoded(&mut self, segments: &[Segment], decoded: bool) -> PictureFacts {
        let nals: Vec<Vec<u8>> = segments.iter().map(|s| s.nal(self.dependent_segments)).collect();
        self.analyzer.access_unit(nals.iter().map(Vec::as_slice), decoded).unwrap()
    }

    fn picture(&mut self, nal_unit_type: u8, poc: u32, refs: &[(i32, bool)]) -> PictureFacts {
        self.au(&[Segment::picture(nal_unit_type, poc, refs)])
    }
}

#[test]
fn trailing_pictures_whose_references_were_decoded_are_intact() {
    let mut s = Stream::new(false, false);
    let idr = s.picture(IDR_W_RADL, 0, &[]);
    assert!(idr.key && idr.reference && !idr.inter && idr.damage.is_none(), "{idr:?}");
    let p1 = s.picture(TRAIL_R, 1, &[(-1, true)]);
    assert_eq!((p1.key, p1.inter, p1.class, p1.damage), (false, true, PictureClass::Main, None));
    assert_eq!(s.picture(TRAIL_R, 2, &[(-1, true), (-2, true)]).damage, None);
    // Kept but not used by the picture: POC 1 drops out of the set, so it is gone after.
    assert_eq!(s.picture(TRAIL_R, 3, &[(-1, true), (-3, false)]).damage, None);
    let p4 = s.picture(TRAIL_R, 4, &[(-1, true), (-3, true)]);
    assert_eq!(p4.damage, Some(Damage::MissingReference { poc: 1 }));
}

#[test]
fn a_lost_reference_picture_is_missing_from_the_reference_picture_set() {
    let mut s = Stream::new(false, false);
    s.picture(IDR_W_RADL, 0, &[]);
    // POC 1 lost; POC 2 uses it.
    let p2 = s.picture(TRAIL_R, 2, &[(-1, true), (-2, true)]);
    assert_eq!((p2.damage, p2.references_missing), (Some(Damage::MissingReference { poc: 1 }), true));
    // A picture the decoder was never given is missing as much.
    s.au_decoded(&[Segment::picture(TRAIL_R, 3, &[(-1, true)])], false);
    assert_eq!(s.picture(TRAIL_R, 4, &[(-1, true)]).damage, Some(Damage::MissingReference { poc: 3 }));
}

#[test]
fn slice_segments_must_start_the_picture_and_follow_each_other() {
    let mut s = Stream::new(true, false);
    s.picture(IDR_W_RADL, 0, &[]);
    let seg = |a| Segment::picture(TRAIL_R, 1, &[(-1, true)]).at(a);
    let first = || Segment::picture(TRAIL_R, 1, &[(-1, true)]);
    let dependent = |a| Segment { dependent: true, ..seg(a) };
    assert_eq!(s.au(&[first(), seg(7), dependent(12)]).damage, None);
    assert_eq!(s.au(&[seg(7), seg(12)]).damage, Some(Damage::SlicesMissing { first: 7 }));
    assert_eq!(s.au(&[first(), seg(12), seg(7)]).damage, Some(Damage::SliceOrder { previous: 12, address: 7 }));
    assert_eq!(s.au(&[first(), seg(7), first()]).damage, Some(Damage::MixedPictures));
    // An address past the 20 CTBs does not parse.
    assert!(matches!(s.au(&[first(), seg(25)]).damage, Some(Damage::SliceHeader(_))));
}

#[test]
fn with_tiles_segments_follow_the_tile_scan() {
    let mut s = Stream::new(false, true);
    s.picture(IDR_W_RADL, 0, &[]);
    let first = || Segment::picture(TRAIL_R, 1, &[(-1, true)]);
    let seg = |a| first().at(a);
    assert_eq!(s.au(&[first(), seg(12), seg(7)]).damage, None);
    assert_eq!(s.au(&[first(), seg(7), seg(7)]).damage, Some(Damage::SliceOrder { previous: 7, address: 7 }));
}

#[test]
fn rasl_pictures_of_a_cra_where_decoding_starts_are_skipped_not_damaged() {
    let mut s = Stream::new(false, false);
    let cra = s.picture(CRA, 8, &[]);
    assert!(cra.key && cra.damage.is_none());
    let rasl = s.picture(RASL_R, 6, &[(-2, true), (2, true)]);
    assert_eq!((rasl.class, rasl.output, rasl.damage), (PictureClass::Rasl, false, None));
    assert_eq!(s.picture(TRAIL_R, 9, &[(-1, true)]).damage, None);
}

#[test]
fn a_cra_in_mid_stream_keeps_what_its_leading_pictures_use() {
    let mut s = Stream::new(false, false);
    s.picture(IDR_W_RADL, 0, &[]);
    s.picture(TRAIL_R, 4, &[(-4, true)]);
    // The CRA uses nothing, but keeps POC 4 for its RASL pictures.
    assert_eq!(s.picture(CRA, 8, &[(-4, false)]).damage, None);
    let rasl = s.picture(RASL_R, 6, &[(-2, true), (2, true)]);
    assert_eq!((rasl.class, rasl.output, rasl.damage), (PictureClass::Rasl, true, None));
    let radl = s.picture(RADL_R, 7, &[(1, true)]);
    assert_eq!((radl.class, radl.damage), (PictureClass::Radl, None));
}

#[test]
fn predicted_pictures_before_any_irap_or_after_a_restart_have_no_references() {
    let mut s = Stream::new(false, false);
    let p = s.picture(TRAIL_R, 3, &[(-1, true)]);
    assert_eq!((p.damage, p.references_missing), (Some(Damage::NoReferences), true));
    s.picture(IDR_W_RADL, 0, &[]);
    assert_eq!(s.picture(TRAIL_R, 1, &[(-1, true)]).damage, None);
    s.analyzer.restart();
    assert_eq!(s.picture(TRAIL_R, 2, &[(-1, true)]).damage, Some(Damage::NoReferences));
    // After a restart a CRA starts afresh: its RASL pictures are skipped.
    s.picture(CRA, 16, &[]);
    assert!(!s.picture(RASL_R, 14, &[(2, true)]).output);
}

#[test]
fn a_non_reference_picture_of_the_highest_sub_layer_is_no_reference() {
    let mut s = Stream::new(false, false);
    s.picture(IDR_W_RADL, 0, &[]);
    assert!(!s.picture(TRAIL_N, 1, &[(-1, true)]).reference);
    assert!(s.picture(TRAIL_R, 2, &[(-2, true)]).reference);
}

#[test]
fn unreadable_headers_are_damage_but_unknown_parameter_sets_are_not_judged() {
    let mut s = Stream::new(false, false);
    s.picture(IDR_W_RADL, 0, &[]);
    let mut cut = Segment::picture(TRAIL_R, 1, &[(-1, true)]).nal(false);
    cut.truncate(4);
    let facts = s.analyzer.access_unit([cut.as_slice()], true).unwrap();
    assert!(matches!(facts.damage, Some(Damage::SliceHeader(_))), "{facts:?}");
    assert!(facts.inter);
    // PPS 1 never arrived: pic_parameter_set_id ue(1) is "010".
    let mut w = BitWriter::default();
    nal_header(&mut w, TRAIL_R);
    w.bit(true).ue(1).ue(P).bits(8, 2).bit(true).bits(16, 0xa5a5);
    let facts = s.analyzer.access_unit([w.bytes().as_slice()], true).unwrap();
    assert_eq!((facts.damage, facts.inter), (None, true));
    assert_eq!(s.analyzer.access_unit([pps(false, false).as_slice()], true), None);
}
