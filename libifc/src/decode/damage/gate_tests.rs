//! The gate on its own: access units described by hand, pictures coming out as a decoder
//! reorders them, verdicts read back in display order.

#![allow(clippy::unwrap_used)]

use super::gate::DamageGate;
use super::{Damage, PictureClass, PictureFacts};

fn facts(key: bool, reference: bool) -> PictureFacts {
    PictureFacts {
        reference,
        inter: !key,
        key,
        class: PictureClass::Main,
        output: true,
        second_field: false,
        damage: None,
        references_missing: false,
    }
}

const IDR: (bool, bool) = (true, true);
const P: (bool, bool) = (false, true);
const B_REF: (bool, bool) = (false, true);
const B: (bool, bool) = (false, false);

/// Admits access units 0.. with the given `(key, reference)` kinds.
fn gate(kinds: &[(bool, bool)]) -> DamageGate<u64> {
    let mut gate = DamageGate::new();
    for (i, &(key, reference)) in kinds.iter().enumerate() {
        gate.admit(i as u64, &facts(key, reference), true);
    }
    gate
}

fn out(gate: &mut DamageGate<u64>, index: u64, flagged: bool) {
    gate.picture(Some(index), flagged, Some(index));
}

fn released(gate: &mut DamageGate<u64>) -> Vec<(u64, Option<Damage>)> {
    std::iter::from_fn(|| gate.pull()).collect()
}

#[test]
fn a_b_picture_displayed_before_its_damaged_reference_waits_for_it_and_inherits_the_damage() {
    // Decode order I0 P1 B2 b3 b4 (display I0 b3 B2 b4 P1): P1 is damaged, libavcodec says so
    // only when P1 comes out, after the B-pictures predicted from it.
    let mut g = gate(&[IDR, P, B_REF, B, B]);
    out(&mut g, 0, false);
    assert_eq!(released(&mut g), [(0, None)]);
    out(&mut g, 3, false);
    out(&mut g, 2, false);
    out(&mut g, 4, false);
    assert_eq!(released(&mut g), [], "held until P1's verdict is known");
    out(&mut g, 1, true);
    let inherited = Some(Damage::Inherited { packet_index: 1 });
    assert_eq!(
        released(&mut g),
        [(3, inherited.clone()), (2, inherited.clone()), (4, inherited), (1, Some(Damage::Concealed))]
    );
}

#[test]
fn pictures_of_an_intact_stream_come_out_as_soon_as_their_references_did() {
    let mut g = gate(&[IDR, P, B_REF, B, B]);
    for i in [0, 3, 2, 4, 1] {
        out(&mut g, i, false);
    }
    assert_eq!(released(&mut g), [(0, None), (3, None), (2, None), (4, None), (1, None)]);
    // Without B-pictures nothing waits.
    let mut g = gate(&[IDR, P, P]);
    for i in 0..3 {
        out(&mut g, i, false);
        assert_eq!(released(&mut g), [(i, None)]);
    }
}

#[test]
fn damage_spreads_to_predicted_pictures_until_the_next_key_frame() {
    let mut g = gate(&[IDR, P, P, P]);
    let mut intra = facts(false, true);
    intra.inter = false;
    g.admit(4, &intra, true);
    g.admit(5, &facts(false, true), true);
    g.admit(6, &facts(true, true), true);
    g.admit(7, &facts(false, true), true);
    out(&mut g, 0, false);
    out(&mut g, 1, true);
    for i in 2..8 {
        out(&mut g, i, false);
    }
    let verdicts: Vec<_> = released(&mut g).into_iter().map(|(i, d)| (i, d.is_some())).collect();
    // The intra picture 4 is intact; P5 may still use P1..P3; the IDR 6 ends it.
    assert_eq!(verdicts, [(0, false), (1, true), (2, true), (3, true), (4, false), (5, true), (6, false), (7, false)]);
}

#[test]
fn a_damaged_non_reference_picture_damages_nothing_else() {
    let mut g = gate(&[IDR, P, B, P]);
    out(&mut g, 0, false);
    out(&mut g, 2, true);
    out(&mut g, 1, false);
    out(&mut g, 3, false);
    assert_eq!(released(&mut g), [(0, None), (2, Some(Damage::Concealed)), (1, None), (3, None)]);
}

#[test]
fn damage_found_in_an_access_unit_and_missing_references_spread_from_there() {
    let mut g = DamageGate::new();
    g.admit(0, &facts(true, true), true);
    let mut gap = facts(false, true);
    gap.damage = Some(Damage::FrameNumGap { previous: 0, frame_num: 2 });
    gap.references_missing = true;
    g.admit(1, &gap, true);
    g.admit(2, &facts(false, true), true);
    for i in 0..3 {
        out(&mut g, i, false);
    }
    let gap_damage = Some(Damage::FrameNumGap { previous: 0, frame_num: 2 });
    assert_eq!(released(&mut g), [(0, None), (1, gap_damage), (2, Some(Damage::Inherited { packet_index: 1 }))]);
}

#[test]
fn a_reference_that_never_comes_out_is_lost_at_the_drain_or_when_long_overdue() {
    // P1 never comes out: B2 (displayed before it) waits until the decoder is drained.
    let mut g = gate(&[IDR, P, B]);
    out(&mut g, 0, false);
    out(&mut g, 2, false);
    assert_eq!(released(&mut g), [(0, None)]);
    g.drain();
    assert_eq!(released(&mut g), [(2, Some(Damage::Inherited { packet_index: 1 }))]);
    // Without a drain, 32 later pictures coming out settle it.
    let mut kinds = vec![IDR, P];
    kinds.extend([B; 32]);
    let mut g = gate(&kinds);
    out(&mut g, 0, false);
    released(&mut g);
    for i in 2..33 {
        out(&mut g, i, false);
    }
    assert_eq!(released(&mut g), []);
    out(&mut g, 33, false);
    let got = released(&mut g);
    assert_eq!(got.len(), 32);
    assert!(got.iter().all(|(_, d)| *d == Some(Damage::Inherited { packet_index: 1 })));
}

#[test]
fn a_reference_the_decoder_was_never_given_damages_what_follows() {
    let mut g = DamageGate::new();
    g.admit(0, &facts(true, true), true);
    g.admit(1, &facts(false, true), false);
    g.admit(2, &facts(false, true), true);
    out(&mut g, 0, false);
    out(&mut g, 2, false);
    assert_eq!(released(&mut g), [(0, None), (2, Some(Damage::Inherited { packet_index: 1 }))]);
}

#[test]
fn leading_pictures_follow_the_h265_rules() {
    let class = |class, key, reference| PictureFacts { class, ..facts(key, reference) };
    use PictureClass::{Main, Radl, Rasl};
    let mut g = DamageGate::new();
    g.admit(0, &class(Main, true, true), true); // IDR, period 1
    g.admit(1, &class(Main, false, true), true); // trailing, damaged below
    g.admit(2, &class(Main, true, true), true); // CRA, period 2
    g.admit(3, &class(Rasl, false, true), true); // may use period 1: damaged
    g.admit(4, &class(Radl, false, true), true); // uses the CRA and RADL only
    g.admit(5, &class(Main, false, true), true);
    for (i, flagged) in [(0, false), (1, true), (3, false), (4, false), (2, false), (5, false)] {
        out(&mut g, i, flagged);
    }
    let verdicts: Vec<_> = released(&mut g).into_iter().map(|(i, d)| (i, d.is_some())).collect();
    assert_eq!(verdicts, [(0, false), (1, true), (3, true), (4, false), (2, false), (5, false)]);
    // A damaged RASL picture spreads to RASL pictures only.
    let mut g = DamageGate::new();
    g.admit(0, &class(Main, true, true), true);
    g.admit(1, &class(Rasl, false, true), true);
    g.admit(2, &class(Rasl, false, true), true);
    g.admit(3, &class(Radl, false, true), true);
    g.admit(4, &class(Main, false, true), true);
    for (i, flagged) in [(1, true), (2, false), (3, false), (0, false), (4, false)] {
        out(&mut g, i, flagged);
    }
    let verdicts: Vec<_> = released(&mut g).into_iter().map(|(i, d)| (i, d.is_some())).collect();
    assert_eq!(verdicts, [(1, true), (2, true), (3, false), (0, false), (4, false)]);
}

#[test]
fn pictures_the_decoder_does_not_output_hold_nothing_up() {
    // A RASL picture skipped at a CRA where decoding starts never comes out.
    let mut g = DamageGate::new();
    g.admit(0, &facts(true, true), true);
    g.admit(1, &PictureFacts { class: PictureClass::Rasl, output: false, ..facts(false, true) }, true);
    g.admit(2, &facts(false, true), true);
    out(&mut g, 0, false);
    out(&mut g, 2, false);
    assert_eq!(released(&mut g), [(0, None), (2, None)]);
}

#[test]
fn the_second_field_shares_its_frame_with_the_first() {
    let mut g = gate(&[IDR, P]);
    let mut second = facts(false, true);
    second.second_field = true;
    second.damage = Some(Damage::SlicesMissing { first: 6 });
    g.admit(2, &second, true);
    g.admit(3, &facts(false, true), true);
    out(&mut g, 0, false);
    out(&mut g, 1, false);
    out(&mut g, 3, false);
    let got = released(&mut g);
    assert_eq!(got[1], (1, Some(Damage::SlicesMissing { first: 6 })), "the frame of both fields");
    assert_eq!(got[2], (3, Some(Damage::Inherited { packet_index: 1 })));
}

#[test]
fn a_picture_dropped_by_the_caller_still_gives_its_verdict() {
    let mut g = gate(&[IDR, P, B]);
    out(&mut g, 0, false);
    out(&mut g, 2, false);
    g.picture(Some(1), true, None);
    assert_eq!(released(&mut g), [(0, None), (2, Some(Damage::Inherited { packet_index: 1 }))]);
}
