//! Raw Annex B through the whole remux path (timestamps, configurations, segmenter, fMP4
//! muxer). Invariants: decode times strictly increase; every segment starts with a sync
//! sample; nothing panics.
#![no_main]

use bytes::Bytes;
use ifc::codec::{Codec, FrameRate};
use ifc::remux::{RawSource, RemuxOutput, Remuxer, SourceItem};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&first, data)) = input.split_first() else { return };
    let codec = if first & 1 == 0 { Codec::H264 } else { Codec::H265 };
    let mut raw = RawSource::new(codec, FrameRate::new(25, 1));
    raw.push(Bytes::copy_from_slice(data));
    raw.flush();
    let mut remuxer = Remuxer::new(90_000, 500);
    let mut out = Vec::new();
    let mut last_dts = None;
    while let Some(item) = raw.pull() {
        let Ok(item) = item else { continue };
        if let SourceItem::Sample(s) = &item {
            assert!(last_dts.is_none_or(|d| s.dts > d));
            last_dts = Some(s.dts);
        }
        if remuxer.push(item, &mut out).is_err() {
            return;
        }
    }
    let _ = remuxer.finish(&mut out);
    for o in &out {
        if let RemuxOutput::Segment { segment, .. } = o {
            assert!(segment.len_bytes() > 0);
        }
    }
});
