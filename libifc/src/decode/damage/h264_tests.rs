//! The H.264 analysis on hand-made access units (`codec::h264::synthetic`): a 64×48 High
//! profile stream of 12 macroblocks, 16 values of `frame_num`, gaps not allowed.

#![allow(clippy::unwrap_used)]

use super::h264::H264Analyzer;
use super::{Damage, PictureClass, PictureFacts};
use crate::codec::h264::synthetic::{PpsSpec, SliceSpec, SpsSpec};

const P: u32 = 0;
const B: u32 = 1;
const I: u32 = 2;

struct Stream {
    sps: SpsSpec,
    pps: PpsSpec,
    analyzer: H264Analyzer,
}

impl Stream {
    fn new(sps: SpsSpec) -> Self {
        let pps = PpsSpec::default();
        let mut analyzer = H264Analyzer::default();
        analyzer.parameter_set(&sps.nal());
        analyzer.parameter_set(&pps.nal());
        Self { sps, pps, analyzer }
    }

    /// One access unit of the given slices.
    fn au(&mut self, slices: &[SliceSpec]) -> PictureFacts {
        let nals: Vec<Vec<u8>> = slices.iter().map(|s| s.nal(&self.sps, &self.pps)).collect();
        self.analyzer.access_unit(nals.iter().map(Vec::as_slice)).unwrap()
    }

    /// One access unit of one slice covering the picture.
    fn picture(&mut self, slice_type: u32, frame_num: u32, nal_ref_idc: u8) -> PictureFacts {
        let idr = slice_type == I && frame_num == 0 && nal_ref_idc == 3;
        self.au(&[SliceSpec { slice_type, frame_num, nal_ref_idc, idr, ..SliceSpec::default() }])
    }
}

fn slice(first_mb: u32, frame_num: u32) -> SliceSpec {
    SliceSpec { first_mb, frame_num, nal_ref_idc: 2, slice_type: P, ..SliceSpec::default() }
}

#[test]
fn an_intact_ibbp_stream_is_intact_and_says_what_each_picture_is() {
    let mut s = Stream::new(SpsSpec::default());
    let idr = s.picture(I, 0, 3);
    let expected = PictureFacts {
        reference: true,
        inter: false,
        key: true,
        class: PictureClass::Main,
        output: true,
        second_field: false,
        damage: None,
        references_missing: false,
    };
    assert_eq!(idr, expected);
    let p = s.picture(P, 1, 2);
    assert_eq!((p.reference, p.inter, p.key, p.damage), (true, true, false, None));
    // Non-reference B-pictures after a reference take its frame_num + 1, and share it.
    for _ in 0..2 {
        let b = s.picture(B, 2, 0);
        assert_eq!((b.reference, b.inter, b.damage, b.references_missing), (false, true, None, false));
    }
    assert_eq!(s.picture(P, 2, 2).damage, None);
    // frame_num wraps at MaxFrameNum (16).
    for frame_num in (3..16).chain(0..3) {
        assert_eq!(s.picture(P, frame_num, 2).damage, None, "frame_num {frame_num}");
    }
}

#[test]
fn slices_must_cover_the_picture_from_its_first_macroblock_in_order() {
    let mut s = Stream::new(SpsSpec::default());
    s.picture(I, 0, 3);
    assert_eq!(s.au(&[slice(0, 1), slice(4, 1), slice(8, 1)]).damage, None);
    // The first slice is lost.
    assert_eq!(s.au(&[slice(4, 2), slice(8, 2)]).damage, Some(Damage::SlicesMissing { first: 4 }));
    // A slice repeated, and slices out of order (only Baseline may send them so).
    assert_eq!(
        s.au(&[slice(0, 3), slice(4, 3), slice(4, 3)]).damage,
        Some(Damage::SliceOrder { previous: 4, address: 4 })
    );
    assert_eq!(
        s.au(&[slice(0, 4), slice(8, 4), slice(4, 4)]).damage,
        Some(Damage::SliceOrder { previous: 8, address: 4 })
    );
    // 12 macroblocks: a slice at 12 starts outside the picture.
    let outside = s.au(&[slice(0, 5), slice(12, 5)]).damage;
    assert_eq!(outside, Some(Damage::SliceOutsidePicture { address: 12, size: 12 }));
    // The slices of the next picture after its lost first slice, in the same access unit.
    assert_eq!(s.au(&[slice(0, 6), slice(4, 6), slice(8, 7)]).damage, Some(Damage::MixedPictures));
}

#[test]
fn baseline_may_send_slices_in_any_order_but_not_without_the_first() {
    let mut s = Stream::new(SpsSpec { profile_idc: 66, ..SpsSpec::default() });
    s.picture(I, 0, 3);
    assert_eq!(s.au(&[slice(8, 1), slice(0, 1), slice(4, 1)]).damage, None);
    assert_eq!(s.au(&[slice(8, 2), slice(4, 2)]).damage, Some(Damage::SlicesMissing { first: 4 }));
}

#[test]
fn a_frame_num_gap_means_lost_reference_pictures() {
    let mut s = Stream::new(SpsSpec::default());
    s.picture(I, 0, 3);
    s.picture(P, 1, 2);
    // P with frame_num 2 lost.
    let after = s.picture(P, 3, 2);
    assert_eq!(after.damage, Some(Damage::FrameNumGap { previous: 1, frame_num: 3 }));
    assert!(after.references_missing);
    // The gap counts as filled (8.2.5.2): the next picture continues from it.
    assert_eq!(s.picture(P, 4, 2).damage, None);
    // A lost reference before a non-reference B-picture: the B-picture finds the gap.
    let b = s.picture(B, 6, 0);
    assert_eq!(b.damage, Some(Damage::FrameNumGap { previous: 4, frame_num: 6 }));
    // An intra picture after a gap is intact itself, but later pictures may use what was lost.
    let i = s.picture(I, 8, 2);
    assert_eq!((i.damage, i.references_missing), (None, true));
}

#[test]
fn a_lost_non_reference_picture_leaves_no_gap() {
    // IDR, P(1), b(2) lost, P(2): nothing is missing that anything references.
    let mut s = Stream::new(SpsSpec::default());
    s.picture(I, 0, 3);
    s.picture(P, 1, 2);
    let p = s.picture(P, 2, 2);
    assert_eq!((p.damage, p.references_missing), (None, false));
}

#[test]
fn memory_management_control_operation_5_restarts_frame_num() {
    let mut s = Stream::new(SpsSpec::default());
    s.picture(I, 0, 3);
    s.au(&[SliceSpec { frame_num: 1, nal_ref_idc: 2, mmco5: true, ..slice(0, 1) }]);
    assert_eq!(s.picture(P, 1, 2).damage, None, "frame_num 0 before it, then 1");
}

#[test]
fn predicted_pictures_before_any_idr_have_no_references() {
    let mut s = Stream::new(SpsSpec::default());
    let p = s.picture(P, 5, 2);
    assert_eq!((p.damage, p.references_missing), (Some(Damage::NoReferences), true));
    assert_eq!(s.picture(I, 6, 2).damage, None, "an intra picture needs none");
    s.picture(I, 0, 3);
    assert_eq!(s.picture(P, 1, 2).damage, None);
    // After the decoder restarts, the same until the next IDR.
    s.analyzer.restart();
    assert_eq!(s.picture(P, 2, 2).damage, Some(Damage::NoReferences));
    s.picture(I, 0, 3);
    assert_eq!(s.picture(P, 1, 2).damage, None);
}

#[test]
fn gaps_are_fine_where_the_sps_allows_them() {
    let mut s = Stream::new(SpsSpec { gaps_in_frame_num_value_allowed: true, ..SpsSpec::default() });
    s.picture(I, 0, 3);
    let p = s.picture(P, 5, 2);
    assert_eq!((p.damage, p.references_missing), (None, false));
}

#[test]
fn unreadable_slice_headers_are_damage_but_unknown_parameter_sets_are_not_judged() {
    let mut s = Stream::new(SpsSpec::default());
    s.picture(I, 0, 3);
    let mut cut = slice(0, 1).nal(&s.sps, &s.pps);
    cut.truncate(2);
    let facts = s.analyzer.access_unit([cut.as_slice()]).unwrap();
    assert!(matches!(facts.damage, Some(Damage::SliceHeader(_))), "{facts:?}");
    assert!(facts.inter, "a slice of unknown type counts as predicted");
    let other_pps = SliceSpec { pps_id: 7, ..slice(0, 1) }.nal(&s.sps, &s.pps);
    let facts = s.analyzer.access_unit([other_pps.as_slice()]).unwrap();
    assert_eq!((facts.damage, facts.inter), (None, true));
    // An access unit without slices holds no picture.
    let pps = s.pps.nal();
    assert_eq!(s.analyzer.access_unit([pps.as_slice()]), None);
}

#[test]
fn the_second_field_of_a_pair_belongs_to_the_first_fields_frame() {
    let sps = SpsSpec { frame_mbs_only: false, ..SpsSpec::default() };
    let mut s = Stream::new(sps);
    let field = |frame_num, bottom, idr| SliceSpec {
        slice_type: if idr { I } else { P },
        frame_num,
        nal_ref_idc: 3,
        idr,
        field: Some(bottom),
        ..SliceSpec::default()
    };
    let top = s.au(&[field(0, false, true)]);
    assert!(top.key && !top.second_field);
    let bottom = s.au(&[field(0, true, true)]);
    assert!(bottom.second_field && !bottom.key, "{bottom:?}");
    // A field picture has half the macroblocks: 4 × 6 / 2 = 12.
    let next = s.au(&[field(1, false, false)]);
    assert!(!next.second_field);
    assert_eq!(next.damage, None);
    let outside = s.au(&[SliceSpec { first_mb: 12, ..field(1, true, false) }]);
    assert_eq!(outside.damage, Some(Damage::SliceOutsidePicture { address: 12, size: 12 }));
}
