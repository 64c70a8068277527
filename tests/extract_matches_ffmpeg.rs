//! `ifc extract` end to end: raw output is bit-identical to ffmpeg's decode on every fixture
//! (MP4 and raw, B-frames, HEVC Main 10, open GOP, resolution change), sampling keeps what it
//! says, tensors come out with the promised shape and range, damaged input never crashes, and
//! a frame decoded from damaged input is intact or not written (and counted).

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ifc_integration_tests::damaged_stream::{
    bpyramid_1366x768, display_position, extract_raw, nal_units, predicted_reference_slice,
};
use ifc_integration_tests::demo::{demo_model, ifc_run};
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

/// Issue 15: bytes flipped in the middle of a P-picture's slice data. libavcodec conceals and
/// flags that picture, but only when it comes out, after the B-pictures predicted from it
/// that are displayed before it; those must not be written either.
#[test]
fn frames_of_a_damaged_b_pyramid_stream_are_intact_or_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let clean_path = bpyramid_1366x768(dir.path());
    let data = std::fs::read(&clean_path).unwrap();
    // The fourth predicted reference picture: a P-picture with a B-pyramid decoded after it.
    let slice = predicted_reference_slice(&data, 3);
    let mut damaged = data.clone();
    let middle = (slice.nal + slice.end) / 2;
    damaged[middle..middle + 8].iter_mut().for_each(|b| *b ^= 0xff);
    let damaged_path = dir.path().join("flipped.h264");
    std::fs::write(&damaged_path, damaged).unwrap();

    let (clean, _) = extract_raw(&clean_path, 1);
    assert_eq!(clean.len(), 120);
    let (frames, summary) = extract_raw(&damaged_path, 1);
    for (pts, planes) in &frames {
        assert!(clean.get(pts) == Some(planes), "the frame of pts {pts} differs from the undamaged decode");
    }
    assert!(frames.len() < clean.len(), "damaged frames are dropped: {summary}");
    assert!(summary.contains("damaged frames dropped") && !summary.contains("decode errors 0"), "{summary}");

    // `ifc run` (the streaming inspection behind `ifc serve` too) counts them as well.
    let model = demo_model();
    let out = ifc_run(&["--input", damaged_path.to_str().unwrap(), "--model", model.to_str().unwrap(), "--out", "run"], dir.path());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.contains("damaged frames dropped") && !stderr.contains("decode errors 0"),
        "ifc run's summary: {stderr}"
    );
}

/// A reference picture's access unit left out: libavcodec notices nothing and conceals what
/// is predicted from it; ifc finds the frame_num gap, with one thread or several.
#[test]
fn frames_predicted_from_a_missing_access_unit_are_dropped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let clean_path = bpyramid_1366x768(dir.path());
    let data = std::fs::read(&clean_path).unwrap();
    let gone = predicted_reference_slice(&data, 3);
    assert_eq!(nal_units(&data).iter().filter(|u| u.start_code == gone.start_code).count(), 1);
    let mut damaged = data.clone();
    damaged.drain(gone.start_code..gone.end);
    let damaged_path = dir.path().join("missing.h264");
    std::fs::write(&damaged_path, damaged).unwrap();

    let (clean, _) = extract_raw(&clean_path, 1);
    let mut clean_pts: Vec<i64> = clean.keys().copied().collect();
    clean_pts.sort_unstable();
    let frame_duration = clean_pts[1] - clean_pts[0];
    // A raw stream is timed by display position: every picture displayed after the missing
    // one moves one frame earlier.
    let gone_pts = clean_pts[display_position(&clean_path, gone.start_code)];
    let clean_pts_of = |pts: i64| if pts < gone_pts { pts } else { pts + frame_duration };
    for threads in [1, 2] {
        let (frames, summary) = extract_raw(&damaged_path, threads);
        for (&pts, planes) in &frames {
            let expected = clean_pts_of(pts);
            assert!(
                clean.get(&expected) == Some(planes),
                "{threads} threads: frame of pts {pts} ({expected} undamaged) differs"
            );
        }
        assert!(frames.len() < clean.len() - 1, "{threads} threads: predicted frames dropped: {summary}");
        assert!(summary.contains("damaged frames dropped") && !summary.contains("decode errors 0"), "{summary}");
    }
}
