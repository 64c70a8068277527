//! SDP (RFC 8866) as DESCRIBE returns it, on arbitrary bytes. Invariants: a description that
//! parses names an H.264/H.265 video with a dynamic-or-static payload type under 128, a clock
//! rate, non-empty parameter sets, and control URLs that are absolute rtsp:// URLs.
#![no_main]

use ifc::rtsp::parse_session;
use libfuzzer_sys::fuzz_target;

const BASE: &str = "rtsp://127.0.0.1:8554/cam/";

fuzz_target!(|data: &[u8]| {
    let Ok(description) = parse_session(data, BASE) else { return };
    let video = &description.video;
    assert!(video.payload_type < 128 && video.clock_rate > 0);
    assert!(video.parameter_sets.iter().all(|s| !s.is_empty()));
    for control in [&video.control, &description.aggregate_control] {
        let scheme = control.split_once("://").map(|(s, _)| s.to_ascii_lowercase());
        assert!(matches!(scheme.as_deref(), Some("rtsp" | "rtsps")), "{control}");
    }
    assert!(video.framerate.is_none_or(|f| f.is_finite() && f > 0.0));
});
