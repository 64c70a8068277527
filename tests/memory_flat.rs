//! Decoding and preprocessing 10 000 frames keeps resident memory flat: after warm-up it
//! grows by less than 5 MB. Runs in its own process (this test binary holds only this test),
//! so nothing else allocates beside it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::process::Command;

use bytes::Bytes;
use ifc::codec::{AccessUnitAssembler, Codec};
use ifc::decode::{open_decoder, DecoderOptions, EncodedPacket};
use ifc::preprocess::{output_len_bytes, PreprocessSpec, Preprocessor};
use ifc_integration_tests::run_ok;

const FRAMES: u64 = 10_000;
const WARM_UP: u64 = 1_000;

fn resident_kb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn resident_memory_is_flat_over_ten_thousand_frames() {
    let dir = tempfile::tempdir().unwrap();
    let clip = dir.path().join("long.h264");
    // 10 000 frames of a moving pattern, small so the encode takes seconds.
    run_ok(
        Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=192x108:rate=25", "-frames:v"])
            .arg(FRAMES.to_string())
            .args(["-c:v", "libx264", "-preset", "ultrafast", "-bf", "2", "-g", "50", "-f", "h264"])
            .arg(&clip),
    );
    let data = Bytes::from(std::fs::read(&clip).unwrap());
    let mut assembler = AccessUnitAssembler::new(Codec::H264);
    assembler.push_annex_b(data);
    assembler.flush();
    let mut decoder = open_decoder(DecoderOptions::new(Codec::H264)).unwrap();
    // A small model input: the test is about leaks, and debug builds preprocess slowly.
    let spec = PreprocessSpec::default().with_output_size(96, 96);
    let mut tensor = vec![0u8; output_len_bytes(&spec, 1)];
    let mut pre = Preprocessor::new(spec).unwrap();
    let (mut frames, mut after_warm_up) = (0u64, None);
    let mut handle = |frame: ifc::decode::Frame, frames: &mut u64, after: &mut Option<u64>| {
        pre.run(&frame.view().unwrap(), &mut tensor, 0).unwrap();
        *frames += 1;
        if *frames == WARM_UP {
            *after = Some(resident_kb());
        }
    };
    while let Some(au) = assembler.pull() {
        let mut annex_b = Vec::new();
        for nal in &au.nals {
            annex_b.extend_from_slice(&[0, 0, 0, 1]);
            annex_b.extend_from_slice(nal);
        }
        decoder.push(EncodedPacket::new(Bytes::from(annex_b), None, au.random_access)).unwrap();
        while let Some(frame) = decoder.pull().unwrap() {
            handle(frame, &mut frames, &mut after_warm_up);
        }
    }
    decoder.flush().unwrap();
    while let Some(frame) = decoder.pull().unwrap() {
        handle(frame, &mut frames, &mut after_warm_up);
    }
    assert_eq!(frames, FRAMES);
    let grown_kb = resident_kb().saturating_sub(after_warm_up.unwrap());
    assert!(grown_kb < 5 * 1024, "resident memory grew by {grown_kb} kB between frame {WARM_UP} and {FRAMES}");
}
