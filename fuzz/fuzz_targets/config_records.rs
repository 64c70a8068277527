//! avcC / hvcC parsing on arbitrary bytes. Invariant: a record that parses can be rebuilt
//! from its own parameter sets, and the rebuilt record carries the same parameter sets (as a set: building drops duplicates).
#![no_main]

use bytes::Bytes;
use ifc::codec::{Codec, DecoderConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&first, data)) = input.split_first() else { return };
    let codec = if first & 1 == 0 { Codec::H264 } else { Codec::H265 };
    let Ok(config) = DecoderConfig::from_record(codec, Bytes::copy_from_slice(data)) else { return };
    let sets: Vec<&[u8]> = config.parameter_sets.iter().map(|b| &b[..]).collect();
    if let Ok(rebuilt) = DecoderConfig::from_parameter_sets(codec, &sets) {
        let mut a = config.parameter_sets.clone();
        let mut b = rebuilt.parameter_sets.clone();
        a.sort();
        a.dedup();
        b.sort();
        assert_eq!(a, b);
    }
});
