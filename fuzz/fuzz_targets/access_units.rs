//! Access-unit assembly on arbitrary bytes pushed in arbitrary chunks.
//! Invariants: chunking never changes the result; indices count up from 0; each access unit
//! holds a slice; no NAL unit is invented.
#![no_main]

use bytes::Bytes;
use ifc::codec::{AccessUnit, AccessUnitAssembler, Codec};
use libfuzzer_sys::fuzz_target;

fn assemble(codec: Codec, data: &[u8], chunk: usize) -> Vec<AccessUnit> {
    let mut a = AccessUnitAssembler::new(codec);
    for c in data.chunks(chunk.max(1)) {
        let _ = a.push_annex_b(Bytes::copy_from_slice(c));
    }
    let _ = a.flush();
    std::iter::from_fn(|| a.pull()).collect()
}

fuzz_target!(|input: &[u8]| {
    let Some((&first, data)) = input.split_first() else { return };
    let codec = if first & 1 == 0 { Codec::H264 } else { Codec::H265 };
    let whole = assemble(codec, data, data.len());
    let chunked = assemble(codec, data, usize::from(first >> 1) + 1);
    assert_eq!(whole, chunked);
    let mut total = 0;
    for (i, au) in whole.iter().enumerate() {
        assert_eq!(au.index, i as u64);
        assert!(au.classified(codec).any(|(k, _)| k.is_some_and(|k| k.is_vcl())));
        total += au.payload_len();
    }
    assert!(total <= data.len());
});
