//! NAL framing and parameter-set/slice-header parsing of both codecs on arbitrary bytes.
//! Invariants: every NAL unit lies inside the input, is non-empty and does not end in a zero
//! byte; length-prefixed conversion round-trips; parsers return errors, never panic.
#![no_main]

use ifc::codec::nal::{annex_b_to_length_prefixed, length_prefixed_to_annex_b, AnnexBNals};
use ifc::codec::{parse_sps_params, Codec, StreamState};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let nals: Vec<(usize, &[u8])> = AnnexBNals::new(data).collect();
    for &(offset, nal) in &nals {
        assert!(!nal.is_empty() && offset + nal.len() <= data.len());
        assert_ne!(nal.last(), Some(&0));
    }
    if let Ok(lp) = annex_b_to_length_prefixed(data) {
        let back = length_prefixed_to_annex_b(&lp, 4).expect("own output parses");
        let again: Vec<&[u8]> = AnnexBNals::new(&back).map(|(_, n)| n).collect();
        let original: Vec<&[u8]> = nals.iter().map(|(_, n)| *n).collect();
        // Re-framing can only merge nothing and lose nothing, unless a NAL unit itself
        // contains a start code pattern (which a conforming stream never does).
        if original.iter().all(|n| !n.windows(3).any(|w| w == [0, 0, 1])) {
            assert_eq!(again, original);
        }
    }
    for codec in [Codec::H264, Codec::H265] {
        let mut state = StreamState::new(codec);
        for &(_, nal) in &nals {
            let _ = state.push_nal(nal);
            if let Ok(params) = parse_sps_params(codec, nal) {
                assert!(params.width <= params.coded_width && params.height <= params.coded_height);
            }
        }
        let _ = state.video_params();
    }
});
