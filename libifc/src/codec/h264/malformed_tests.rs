//! Bad input: every truncation and thousands of bit flips of real parameter sets, slice headers
//! and avcC records. Nothing may panic; truncations fail as truncations.

use bytes::Bytes;

use super::testutil::{find_box, h264_fixtures, nal_type, nals, read_testdata, x264_variants, XorShift};
use super::{avcc, parse_sps_params, Pps, SliceHeader, Sps, StreamState, NAL_IDR_SLICE, NAL_PPS, NAL_SLICE, NAL_SPS};
use crate::error::ParseErrorKind;

/// Every raw stream: the fixtures and the x264 variants.
fn streams() -> Vec<Vec<u8>> {
    let mut all: Vec<Vec<u8>> = h264_fixtures("h264").iter().map(|n| read_testdata(n)).collect();
    all.extend(x264_variants().iter().map(|(_, s)| s.clone()));
    all
}

/// Distinct NAL units of one type across all streams.
fn distinct_nals(nal_unit_type: u8) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for stream in streams() {
        for nal in nals(&stream).into_iter().filter(|n| nal_type(n) == nal_unit_type) {
            if !out.iter().any(|o| o == nal) {
                out.push(nal.to_vec());
            }
        }
    }
    out
}

#[test]
fn every_truncated_sps_is_a_truncation_error_or_the_same_sps() {
    let spss = distinct_nals(NAL_SPS);
    assert!(spss.len() > 10);
    for nal in &spss {
        let full = Sps::parse(nal).expect("fixture SPS");
        for len in 0..nal.len() {
            match Sps::parse(&nal[..len]) {
                // Only the byte holding the stop bit may go missing.
                Ok(sps) => assert_eq!(sps, full, "prefix {len} of {nal:02x?}"),
                Err(e) => assert_eq!(e.kind, ParseErrorKind::Truncated, "prefix {len}: {e}"),
            }
        }
        assert!(Sps::parse(&nal[..nal.len() / 2]).is_err());
    }
}

#[test]
fn every_truncated_pps_is_a_truncation_error_or_parses() {
    for nal in distinct_nals(NAL_PPS) {
        Pps::parse(&nal).expect("fixture PPS");
        for len in 0..nal.len() {
            // A cut PPS may look complete: more_rbsp_data() finds an earlier stop bit.
            if let Err(e) = Pps::parse(&nal[..len]) {
                assert_eq!(e.kind, ParseErrorKind::Truncated, "prefix {len}: {e}");
            }
        }
    }
}

#[test]
fn every_truncated_slice_header_is_a_truncation_error_or_the_same_header() {
    for stream in streams() {
        let mut state = StreamState::new();
        let mut checked = 0;
        for nal in nals(&stream) {
            if matches!(nal_type(nal), NAL_SLICE | NAL_IDR_SLICE) && checked < 4 {
                let lookup = |id: u8| {
                    let pps = state.pps_by_id(id).expect("pps");
                    let sps = state.sps_by_id(pps.seq_parameter_set_id).expect("sps");
                    Ok((pps, sps))
                };
                let full = SliceHeader::parse(nal, lookup).expect("fixture slice");
                for len in 0..nal.len().min(80) {
                    match SliceHeader::parse(&nal[..len], lookup) {
                        Ok(h) => assert_eq!(h, full),
                        Err(e) => assert_eq!(e.kind, ParseErrorKind::Truncated, "prefix {len}: {e}"),
                    }
                }
                checked += 1;
            }
            state.push_nal(nal).expect("fixture NAL");
        }
    }
}

fn fixture_records() -> Vec<Bytes> {
    h264_fixtures("mp4").iter().map(|n| Bytes::copy_from_slice(find_box(&read_testdata(n), b"avcC"))).collect()
}

#[test]
fn every_truncated_avcc_is_an_error_or_holds_the_same_parameter_sets() {
    for record in fixture_records() {
        let full = avcc::parse_record(record.clone()).expect("fixture avcC");
        for len in 0..record.len() {
            match avcc::parse_record(record.slice(..len)) {
                // Dropping the optional High-profile extension leaves a valid record.
                Ok(c) => assert_eq!(c.parameter_sets, full.parameter_sets),
                Err(e) => assert!(
                    matches!(e.kind, ParseErrorKind::Truncated | ParseErrorKind::TooLarge(_)),
                    "prefix {len}: {e}"
                ),
            }
        }
    }
}

fn flip_bits(rng: &mut XorShift, data: &mut [u8]) {
    for _ in 0..=rng.below(3) {
        let bit = rng.below(data.len() * 8);
        data[bit / 8] ^= 0x80 >> (bit % 8);
    }
}

#[test]
fn bit_flipped_parameter_sets_and_records_parse_to_sane_values_or_errors_naming_them() {
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let spss = distinct_nals(NAL_SPS);
    let ppss = distinct_nals(NAL_PPS);
    let records = fixture_records();
    let mut parsed = 0;
    let (mut pps_outcomes, mut record_outcomes) = ([0usize; 2], [0usize; 2]);
    for _ in 0..4000 {
        let mut sps = spss[rng.below(spss.len())].clone();
        flip_bits(&mut rng, &mut sps);
        if let Ok(params) = parse_sps_params(&sps) {
            parsed += 1;
            assert!(params.width > 0 && params.width <= params.coded_width);
            assert!(params.height > 0 && params.height <= params.coded_height);
            params.pix_fmt();
        }
        let mut pps = ppss[rng.below(ppss.len())].clone();
        flip_bits(&mut rng, &mut pps);
        match Pps::parse(&pps) {
            Ok(p) => {
                assert!(p.seq_parameter_set_id < 32 && (1..=8).contains(&p.num_slice_groups), "{p:?}");
                pps_outcomes[0] += 1;
            }
            Err(e) => {
                assert!(e.at.starts_with("pps"), "{e}");
                pps_outcomes[1] += 1;
            }
        }
        let mut record = records[rng.below(records.len())].to_vec();
        flip_bits(&mut rng, &mut record);
        match avcc::parse_record(record.into()) {
            Ok(config) => {
                assert!(matches!(config.nal_length_size, 1 | 2 | 4), "{}", config.nal_length_size);
                assert!(config.params.width > 0 && config.params.height > 0);
                assert!(config.parameter_sets.iter().any(|s| s.first().is_some_and(|b| b & 0x1f == NAL_SPS)));
                record_outcomes[0] += 1;
            }
            Err(e) => {
                assert!(e.at.starts_with("avcc"), "{e}");
                record_outcomes[1] += 1;
            }
        }
    }
    assert!(parsed > 100, "flips in the VUI tail mostly still parse: {parsed}");
    // Both outcomes happen, so both branches' checks ran.
    assert!(pps_outcomes.iter().chain(&record_outcomes).all(|&n| n > 0), "{pps_outcomes:?} {record_outcomes:?}");
}

#[test]
fn bit_flipped_streams_give_errors_and_the_stream_state_recovers_on_clean_parameter_sets() {
    let mut rng = XorShift(0x0123_4567_89ab_cdef);
    let all = streams();
    let mut errors = 0;
    for _ in 0..300 {
        let stream = &all[rng.below(all.len())];
        let clean_params = clean_params(stream);
        let mut state = StreamState::new();
        for nal in nals(stream).into_iter().take(40) {
            let mut nal = nal[..nal.len().min(64)].to_vec();
            if rng.below(3) == 0 {
                flip_bits(&mut rng, &mut nal);
            }
            if let Err(e) = state.push_nal(&nal) {
                assert!(!e.at.is_empty(), "{e}");
                errors += 1;
            }
            let _ = state.video_params();
        }
        // Recovery: the stream's own parameter sets and first picture, undamaged, put the
        // state back where a clean start would be.
        for nal in recovery_nals(stream) {
            state.push_nal(nal).expect("clean parameter sets and IDR after damage");
        }
        assert_eq!(state.video_params(), Some(clean_params.clone()));
    }
    assert!(errors > 50, "flips make errors: {errors}");
}

/// Every SPS and PPS of `stream`, then its first IDR picture's first slice.
fn recovery_nals(stream: &[u8]) -> Vec<&[u8]> {
    let all = nals(stream);
    let mut out: Vec<&[u8]> = all.iter().copied().filter(|n| matches!(nal_type(n), NAL_SPS | NAL_PPS)).collect();
    out.extend(all.iter().copied().find(|n| nal_type(n) == NAL_IDR_SLICE));
    out
}

/// What a clean start with [`recovery_nals`] says about `stream`.
fn clean_params(stream: &[u8]) -> super::VideoParams {
    let mut state = StreamState::new();
    for nal in recovery_nals(stream) {
        state.push_nal(nal).expect("clean parameter sets and IDR");
    }
    state.video_params().expect("params after SPS, PPS and IDR")
}

#[test]
fn random_bytes_after_valid_headers_are_errors_and_clean_parameter_sets_recover() {
    let mut rng = XorShift(42);
    let stream = read_testdata("h264_main_320x240_25.h264");
    let mut state = StreamState::new();
    for nal in nals(&stream).into_iter().take(3) {
        state.push_nal(nal).expect("SPS, PPS, first slice");
    }
    for _ in 0..5000 {
        let header = [0x67, 0x68, 0x65, 0x41, 0x01, 0x42, 0x0a][rng.below(7)];
        let len = rng.below(40);
        let mut nal = vec![header];
        nal.extend((0..len).map(|_| rng.next_u64() as u8));
        if let Err(e) = state.push_nal(&nal) {
            assert!(!e.at.is_empty(), "{e}");
        }
    }
    assert!(state.push_nal(&[]).is_err());
    // The stream's own SPS, PPS and IDR put the state back.
    for nal in recovery_nals(&stream) {
        state.push_nal(nal).expect("clean SPS, PPS, IDR after junk");
    }
    assert_eq!(state.video_params(), Some(clean_params(&stream)));
    assert!(state.push_nal(&[0x80]).is_err(), "forbidden_zero_bit");
}
