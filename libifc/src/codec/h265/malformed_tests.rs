//! Malformed input: truncated and bit-flipped parameter sets, slices and records must give
//! errors (or, where the damage misses every field read, the same result), never a panic.

use bytes::Bytes;

use super::test_fixtures::{mp4_hvcc, nal_unit_type, raw_nals, XorShift, HEVC_FIXTURES, HEVC_MP4_FIXTURES};
use super::*;
use crate::ParseErrorKind;

/// Every distinct VPS, SPS and PPS of every fixture.
fn fixture_parameter_sets() -> Vec<Vec<u8>> {
    let mut sets: Vec<Vec<u8>> = Vec::new();
    for name in HEVC_FIXTURES {
        for nal in raw_nals(name) {
            if (NAL_VPS..=NAL_PPS).contains(&nal_unit_type(&nal)) && !sets.contains(&nal) {
                sets.push(nal);
            }
        }
    }
    sets
}

/// Parses a parameter set of the given type into a comparable summary (`Debug` of the parsed
/// structure).
fn parse_as(nal_unit_type: u8, nal: &[u8]) -> Result<String> {
    Ok(match nal_unit_type {
        NAL_VPS => format!("{:?}", vps::parse_vps(nal)?),
        NAL_SPS => format!("{:?}", sps::parse_sps(nal)?),
        _ => format!("{:?}", pps::parse_pps(nal)?),
    })
}

#[test]
fn every_truncation_of_a_parameter_set_errors_or_reads_the_same_values() {
    let sets = fixture_parameter_sets();
    assert!(
        sets.iter().filter(|n| nal_unit_type(n) == NAL_SPS).count() > HEVC_FIXTURES.len(),
        "each stream, two in the resolution change"
    );
    for nal in sets {
        let kind = nal_unit_type(&nal);
        let full = parse_as(kind, &nal).unwrap();
        let mut errors = 0;
        for len in 0..nal.len() {
            match parse_as(kind, &nal[..len]) {
                Err(e) => {
                    assert!(matches!(e.kind, ParseErrorKind::Truncated), "cut at {len}: {e}");
                    errors += 1;
                }
                // Only the RBSP trailing bits (and, for the PPS, the fields after those ifc
                // reads) may be cut without changing what is read.
                Ok(summary) => assert_eq!(summary, full, "cut at {len}"),
            }
        }
        assert!(errors >= nal.len() / 2, "type {kind}: only {errors} of {} cuts failed", nal.len());
    }
}

#[test]
fn thousands_of_bit_flips_in_parameter_sets_give_errors_naming_them_or_sane_values() {
    let mut rng = XorShift::new(0x5eed_0265);
    let mut outcomes = [0usize; 2];
    for nal in fixture_parameter_sets() {
        for _ in 0..2000 {
            let mut damaged = nal.clone();
            let flips = 1 + rng.below(4);
            // Keep the NAL header intact so that the parser under test is the one reached.
            rng.flip_bits(&mut damaged[2..], flips);
            match parse_as(nal_unit_type(&nal), &damaged) {
                Ok(_) => outcomes[1] += 1,
                Err(e) => {
                    assert!(["vps", "sps", "pps"].iter().any(|p| e.at.starts_with(p)), "{e}");
                    outcomes[0] += 1;
                }
            }
            if let Ok(params) = parse_sps_params(&damaged) {
                assert!(params.width > 0 && params.width <= params.coded_width, "{params:?}");
                assert!(params.height > 0 && params.height <= params.coded_height, "{params:?}");
            }
        }
    }
    assert!(outcomes[0] > 0 && outcomes[1] > 0, "flips produced both errors and valid sets: {outcomes:?}");
}

#[test]
fn a_stream_with_flipped_bits_gives_errors_not_panics_and_recovers() {
    let mut rng = XorShift::new(0x0265_f11b);
    for name in HEVC_FIXTURES {
        let nals: Vec<Vec<u8>> = raw_nals(name).into_iter().take(40).collect();
        for _ in 0..150 {
            let mut state = StreamState::new();
            for nal in &nals {
                let mut damaged = nal.clone();
                // Damage one NAL unit in four, mostly near the front where headers live.
                if rng.below(4) == 0 {
                    let reach = damaged.len().min(48);
                    let flips = 1 + rng.below(3);
                    rng.flip_bits(&mut damaged[..reach], flips);
                }
                if let Err(e) = state.push_nal(&damaged) {
                    assert!(!e.at.is_empty(), "{e}");
                }
                let _ = state.video_params();
            }
            // Recovery: the clean parameter sets and first IRAP picture reset the state.
            for nal in recovery_nals(&nals) {
                state.push_nal(nal).expect("clean parameter sets and IRAP after damage");
            }
            assert_eq!(state.video_params(), Some(clean_params(&nals)), "{name}");
        }
    }
}

/// Every VPS, SPS and PPS of `nals`, then the first IRAP picture's first slice.
fn recovery_nals(nals: &[Vec<u8>]) -> Vec<&[u8]> {
    let mut out: Vec<&[u8]> =
        nals.iter().filter(|n| (NAL_VPS..=NAL_PPS).contains(&nal_unit_type(n))).map(Vec::as_slice).collect();
    out.extend(nals.iter().find(|n| (16..=21).contains(&nal_unit_type(n))).map(Vec::as_slice));
    out
}

fn clean_params(nals: &[Vec<u8>]) -> VideoParams {
    let mut state = StreamState::new();
    for nal in recovery_nals(nals) {
        state.push_nal(nal).expect("clean parameter sets and IRAP");
    }
    state.video_params().expect("params after VPS, SPS, PPS and IRAP")
}

#[test]
fn truncated_nal_units_of_every_kind_never_panic() {
    let mut state = StreamState::new();
    for nal in raw_nals("hevc_opengop_cra_320x240_25").iter().take(12) {
        for len in 0..nal.len().min(64) {
            let _ = state.push_nal(&nal[..len]);
        }
        state.push_nal(nal).unwrap();
    }
    assert_eq!(state.push_nal(&[]).unwrap_err().kind, ParseErrorKind::Truncated);
    assert_eq!(state.push_nal(&[0x80, 1]).unwrap_err().at, "nal_unit_header.forbidden_zero_bit");
    assert_eq!(state.push_nal(&[0x40, 0]).unwrap_err().at, "nal_unit_header.nuh_temporal_id_plus1");
}

#[test]
fn truncated_hvcc_records_are_errors_naming_hvcc_and_flipped_ones_rebuild_the_same() {
    let mut rng = XorShift::new(0x4876_6343);
    for name in HEVC_MP4_FIXTURES {
        let record = mp4_hvcc(name);
        let full = hvcc::parse_record(Bytes::copy_from_slice(&record)).expect("fixture record");
        for len in 0..record.len() {
            match hvcc::parse_record(Bytes::copy_from_slice(&record[..len])) {
                Err(e) => assert!(e.at.starts_with("hvcc") || e.at.starts_with("sps"), "{len}: {e}"),
                // Only trailing bytes nothing reads may go.
                Ok(config) => assert_eq!(config.parameter_sets, full.parameter_sets, "{len}"),
            }
        }
        // Flips in the header and arrays (the first 120 bytes hold every parameter set).
        for _ in 0..2000 {
            let mut damaged = record.clone();
            let flips = 1 + rng.below(3);
            rng.flip_bits(&mut damaged[..120], flips);
            if let Ok(config) = hvcc::parse_record(Bytes::from(damaged)) {
                // A record built from what parsed holds the same parameter sets.
                let sets: Vec<&[u8]> = config.parameter_sets.iter().map(|b| &b[..]).collect();
                if let Ok(rebuilt) = hvcc::build_record(&sets) {
                    assert_eq!(rebuilt.parameter_sets, config.parameter_sets);
                }
            }
        }
    }
}

#[test]
fn garbage_nal_units_are_errors_and_clean_parameter_sets_recover() {
    let mut rng = XorShift::new(77);
    let mut state = StreamState::new();
    for nal in raw_nals("hevc_main_320x240_25").iter().take(3) {
        state.push_nal(nal).unwrap();
    }
    for _ in 0..5000 {
        let len = rng.below(40);
        let mut nal: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        if let Some(b) = nal.first_mut() {
            *b &= 0x7f;
        }
        if let Err(e) = state.push_nal(&nal) {
            assert!(!e.at.is_empty(), "{e}");
        }
        let _ = parse_sps_params(&nal);
        let _ = hvcc::build_record(&[&nal]);
    }
    // The stream's own parameter sets and first picture put the state back.
    let nals: Vec<Vec<u8>> = raw_nals("hevc_main_320x240_25").into_iter().take(40).collect();
    for nal in recovery_nals(&nals) {
        state.push_nal(nal).expect("clean sets and IRAP after garbage");
    }
    assert_eq!(state.video_params(), Some(clean_params(&nals)));
}
