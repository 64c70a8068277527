//! A whole recording as `ifc probe`, `ifc extract` and Python read it: input kind from magic,
//! MP4 or raw Annex B through `VideoInput`, then `probe::StreamAnalyzer`. Invariants: samples
//! come in decode order with pts + duration in range; 90 kHz packets keep the samples' order
//! and bytes; the report counts every sample and its duration is finite and not negative.
#![no_main]

use bytes::Bytes;
use ifc::probe::StreamAnalyzer;
use ifc::remux::{input_kind, sample_packet, VideoInput};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(kind) = input_kind(None, data) else { return };
    let Ok(input) = VideoInput::read(kind, Bytes::copy_from_slice(data), None) else { return };
    assert!(input.timescale > 0);
    let mut analyzer = StreamAnalyzer::new(&input.config);
    for pair in input.samples.windows(2) {
        assert!(pair[0].dts <= pair[1].dts, "decode order");
    }
    for (i, s) in input.samples.iter().enumerate() {
        assert!(s.checked_end().is_some(), "pts + duration in range");
        let packet = sample_packet(s, input.timescale);
        assert_eq!(packet.data, s.data);
        assert_eq!(input.packet(i).map(|p| p.data), Some(s.data.clone()));
        analyzer.push_sample(s);
    }
    let report = analyzer.finish("fuzz", input.config.params.clone(), input.timescale);
    assert_eq!(report.frame_count, input.samples.len() as u64);
    assert!(report.duration_s.is_none_or(|d| d.is_finite() && d >= 0.0), "{:?}", report.duration_s);
});
