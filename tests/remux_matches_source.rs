//! `ifc remux` on every fixture: the segments listed by index.m3u8 decode cleanly, carry the
//! source's frames bit for bit with the source's presentation times and keyframe flags, start
//! at random-access points, and are within one GOP of the target duration.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::{Path, PathBuf};
use std::process::Command;

use ifc_integration_tests::{ffprobe_json, fixture_fps, fixtures, frame_md5s, ifc_bin, is_raw, run_ok};

const TARGET_S: f64 = 1.0;

struct Packet {
    pts_time: Option<f64>,
    pts: Option<i64>,
    key: bool,
}

fn packets(file: &Path, input_args: &[&str]) -> (Vec<Packet>, String) {
    let mut args = input_args.to_vec();
    args.extend([
        "-select_streams",
        "v:0",
        "-show_entries",
        "packet=pts,pts_time,flags:stream=time_base",
        "-show_streams",
    ]);
    let v = ffprobe_json(&args, file);
    let time_base = v["streams"][0]["time_base"].as_str().unwrap_or_default().to_owned();
    let packets = v["packets"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| Packet {
                    pts_time: p["pts_time"].as_str().and_then(|s| s.parse().ok()),
                    pts: p["pts"].as_i64(),
                    key: p["flags"].as_str().is_some_and(|f| f.starts_with('K')),
                })
                .collect()
        })
        .unwrap_or_default();
    (packets, time_base)
}

/// (init segment, media segment, EXTINF seconds) in playlist order.
fn playlist_segments(dir: &Path) -> Vec<(PathBuf, PathBuf, f64)> {
    let text = std::fs::read_to_string(dir.join("index.m3u8")).expect("index.m3u8 written");
    let mut init = None;
    let mut extinf = None;
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("#EXT-X-MAP:URI=\"") {
            init = Some(dir.join(rest.trim_end_matches('"')));
        } else if let Some(rest) = line.strip_prefix("#EXTINF:") {
            extinf = rest.trim_end_matches(',').split(',').next().and_then(|d| d.parse::<f64>().ok());
        } else if !line.starts_with('#') && !line.trim().is_empty() {
            let init = init.clone().expect("EXT-X-MAP before the first segment");
            out.push((init, dir.join(line.trim()), extinf.take().expect("EXTINF before each segment")));
        }
    }
    assert!(text.contains("#EXT-X-ENDLIST"), "a finished remux ends the playlist");
    out
}

fn check(fixture: &Path) {
    let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
    let dir = tempfile::tempdir().expect("temp dir");
    run_ok(Command::new(ifc_bin()).arg("remux").arg(fixture).arg(dir.path()).args(["--segment-ms", "1000", "--quiet"]));
    let playlist = dir.path().join("index.m3u8");

    // 1. The segments decode without a single complaint.
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(&playlist)
        .args(["-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success() && out.stderr.is_empty(), "{name}: ffmpeg: {}", String::from_utf8_lossy(&out.stderr));

    // 2. Bit-identical decoded frames, same count.
    let raw_args: &[&str] = if is_raw(fixture) { &["-framerate", fixture_fps(fixture)] } else { &[] };
    let src_md5 = frame_md5s(fixture, raw_args);
    let out_md5 = frame_md5s(&playlist, &[]);
    assert!(!src_md5.is_empty(), "{name}: source decodes to frames");
    assert_eq!(src_md5.len(), out_md5.len(), "{name}: frame count");
    assert!(src_md5 == out_md5, "{name}: decoded frames differ from the source's");

    // 3. Presentation times and keyframe flags.
    let (src, src_tb) = packets(fixture, raw_args);
    let (got, got_tb) = packets(&playlist, &[]);
    assert_eq!(src.len(), got.len(), "{name}: packet count");
    let src_keys: Vec<bool> = src.iter().map(|p| p.key).collect();
    let got_keys: Vec<bool> = got.iter().map(|p| p.key).collect();
    assert_eq!(src_keys, got_keys, "{name}: keyframe flags in decode order");
    if is_raw(fixture) {
        // Raw streams carry no times: display order must advance exactly one frame at a time.
        let (num, den) = match fixture_fps(fixture).split_once('/') {
            Some((n, d)) => (n.parse::<f64>().unwrap(), d.parse::<f64>().unwrap()),
            None => (fixture_fps(fixture).parse::<f64>().unwrap(), 1.0),
        };
        let mut pts: Vec<f64> = got.iter().map(|p| p.pts_time.expect("pts")).collect();
        pts.sort_by(f64::total_cmp);
        for w in pts.windows(2) {
            assert!(((w[1] - w[0]) - den / num).abs() < 1e-4, "{name}: display-order step {} != 1/fps", w[1] - w[0]);
        }
    } else {
        assert_eq!(src_tb, got_tb, "{name}: time base");
        let src_pts: Vec<Option<i64>> = src.iter().map(|p| p.pts).collect();
        let got_pts: Vec<Option<i64>> = got.iter().map(|p| p.pts).collect();
        assert_eq!(src_pts, got_pts, "{name}: presentation timestamps");
    }

    // 4. Every segment starts at a random-access point and is within one GOP of the target.
    let key_positions: Vec<usize> = src_keys.iter().enumerate().filter(|(_, k)| **k).map(|(i, _)| i).collect();
    let max_gop_frames = key_positions.windows(2).map(|w| w[1] - w[0]).max().unwrap_or(src.len());
    let fps: f64 = match fixture_fps(fixture) {
        "30000/1001" => 30000.0 / 1001.0,
        f => f.parse().unwrap(),
    };
    let gop_s = max_gop_frames as f64 / fps;
    let segments = playlist_segments(dir.path());
    assert!(segments.len() >= 2, "{name}: a {}-frame clip at a 1 s target gives several segments", src.len());
    for (i, (init, seg, extinf)) in segments.iter().enumerate() {
        let mut joined = std::fs::read(init).expect("init segment");
        joined.extend(std::fs::read(seg).expect("media segment"));
        let joined_path = dir.path().join("joined.mp4");
        std::fs::write(&joined_path, joined).unwrap();
        let (pk, _) = packets(&joined_path, &[]);
        assert!(pk.first().is_some_and(|p| p.key), "{name}: segment {i} starts with a keyframe");
        let last = i + 1 == segments.len();
        if !last {
            assert!(*extinf >= TARGET_S - 1e-3, "{name}: segment {i} ({extinf} s) is shorter than the target");
        }
        assert!(
            *extinf <= TARGET_S + gop_s + 1e-3,
            "{name}: segment {i} ({extinf} s) exceeds target + one GOP ({gop_s} s)"
        );
    }
}

#[test]
fn every_fixture_remuxes_to_segments_that_decode_like_the_source() {
    let fixtures = fixtures();
    let filtered = std::env::var_os("IFC_FIXTURES").is_some();
    assert!(filtered || fixtures.len() >= 20, "fixtures present");
    for f in &fixtures {
        check(f);
    }
}
