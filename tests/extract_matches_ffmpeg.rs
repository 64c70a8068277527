//! `ifc extract` end to end: raw output is bit-identical to ffmpeg's decode on every fixture
//! (MP4 and raw, B-frames, HEVC Main 10, open GOP, resolution change), sampling keeps what it
//! says, tensors come out with the promised shape and range, and damaged input never crashes.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ifc_integration_tests::{fixtures, ifc_bin, run_ok, run_with_timeout, testdata};

fn native_pix_fmt(fixture: &Path) -> &'static str {
    let name = fixture.to_string_lossy();
    if name.contains("main10") {
        "yuv420p10le"
    } else if name.contains("fullrange") {
        "yuvj420p"
    } else {
        "yuv420p"
    }
}

#[test]
fn raw_frames_equal_ffmpegs_decode_on_every_fixture() {
    for fixture in fixtures() {
        let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
        for threads in ["1", "2"] {
            let out = tempfile::tempdir().unwrap();
            run_ok(Command::new(ifc_bin()).arg("extract").arg(&fixture).arg(out.path()).args([
                "--format",
                "raw",
                "--quiet",
                "--threads",
                threads,
            ]));
            let ours = std::fs::read(out.path().join("frames.raw")).unwrap();
            let mut ffmpeg = Command::new("ffmpeg");
            ffmpeg.args(["-nostdin", "-v", "error", "-threads", "1", "-i"]).arg(&fixture);
            ffmpeg.args([
                "-autoscale",
                "0",
                "-fps_mode",
                "passthrough",
                "-f",
                "rawvideo",
                "-pix_fmt",
                native_pix_fmt(&fixture),
                "-",
            ]);
            let theirs = run_with_timeout(&mut ffmpeg, Duration::from_secs(120));
            assert!(theirs.status.success(), "{name}: ffmpeg failed");
            assert!(!ours.is_empty(), "{name}: frames written");
            assert_eq!(ours.len(), theirs.stdout.len(), "{name} (threads {threads}): total decoded bytes");
            assert!(ours == theirs.stdout, "{name} (threads {threads}): decoded planes differ from ffmpeg's");
            let index = std::fs::read_to_string(out.path().join("frames.csv")).unwrap();
            assert!(index.lines().nth(1).is_some_and(|l| l.contains(native_pix_fmt(&fixture))), "{name}: {index}");
        }
    }
}

#[test]
fn sampling_keeps_what_it_says() {
    let clip = testdata().join("h264_high_bpyramid_320x240_25.mp4"); // 75 frames, IDR every 30
    let count = |args: &[&str]| {
        let out = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(ifc_bin());
        cmd.arg("extract")
            .arg(&clip)
            .arg(out.path())
            .args(["--format", "png", "--size", "32x32", "--quiet"])
            .args(args);
        run_ok(&mut cmd);
        std::fs::read_dir(out.path()).unwrap().count()
    };
    assert_eq!(count(&[]), 75);
    assert_eq!(count(&["--every", "10"]), 8);
    assert_eq!(count(&["--keyframes"]), 3);
    assert_eq!(count(&["--fps", "5"]), 15);
    // The reference is the last kept frame, so a higher threshold keeps fewer frames; the
    // first frame is always kept.
    let kept: Vec<usize> = ["0", "3", "5", "255"].iter().map(|t| count(&["--on-change", t])).collect();
    assert_eq!(kept[0], 75, "T=0 keeps every frame that changed at all");
    assert!(kept.windows(2).all(|w| w[0] >= w[1]), "monotone in T: {kept:?}");
    assert!((2..75).contains(&kept[1]), "T=3 keeps some frames of a moving pattern: {kept:?}");
    assert_eq!(kept[3], 1, "T=255 keeps the first frame only");
}

#[test]
fn npy_tensors_have_the_model_shape_and_range() {
    let out = tempfile::tempdir().unwrap();
    let clip = testdata().join("hevc_main10_320x240_25.mp4");
    run_ok(Command::new(ifc_bin()).arg("extract").arg(&clip).arg(out.path()).args([
        "--format",
        "npy",
        "--size",
        "96x64",
        "--letterbox",
        "--keyframes",
        "--quiet",
    ]));
    let data = std::fs::read(out.path().join("frame_000000.npy")).unwrap();
    assert_eq!(&data[..6], b"\x93NUMPY");
    let header_len = usize::from(u16::from_le_bytes([data[8], data[9]]));
    let header = std::str::from_utf8(&data[10..10 + header_len]).unwrap();
    assert!(header.contains("'descr': '<f4'") && header.contains("'shape': (1, 3, 64, 96)"), "{header}");
    let values: Vec<f32> =
        data[10 + header_len..].chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    assert_eq!(values.len(), 3 * 64 * 96);
    assert!(values.iter().all(|v| (0.0..=1.0).contains(v)));
    // 320x240 letterboxed into 96x64: content 85x64 centred, so columns 0..5 are grey 114.
    assert!((values[0] - 114.0 / 255.0).abs() < 1e-6, "pad value {}", values[0]);
}

#[test]
fn damaged_streams_are_decoded_around_the_damage() {
    for file in [
        "h264_slice_bits_flipped.h264",
        "hevc_slice_bits_flipped.h265",
        "h264_garbage_between_nals.h264",
        "h264_starts_mid_gop.h264",
        "h264_truncated_mid_nal.h264",
    ] {
        let out = tempfile::tempdir().unwrap();
        let mut cmd = Command::new(ifc_bin());
        cmd.arg("extract").arg(testdata().join("malformed").join(file)).arg(out.path()).args(["--format", "none"]);
        let o = run_with_timeout(&mut cmd, Duration::from_secs(60));
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{file}: {stderr}");
        assert!(stderr.contains("ifc extract: decoded"), "{file}: summary printed: {stderr}");
    }
}
