//! `ifc probe --json` agrees with ffprobe on every fixture: width, height, profile, level,
//! pixel format, frame rate and frame count.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::process::Command;

use ifc_integration_tests::{ffprobe_json, fixtures, ifc_bin, run_ok};
use serde_json::Value;

fn reduce(num: u64, den: u64) -> (u64, u64) {
    let (mut a, mut b) = (num, den);
    while b != 0 {
        (a, b) = (b, a % b);
    }
    (num / a, den / a)
}

/// ffprobe's stream level comes from the last SPS it parsed while probing; where the
/// parameters change mid-stream, read the first SPS's level from ffmpeg's header trace instead.
fn level_of_first_sps(fixture: &std::path::Path, stream: &Value) -> Value {
    if !fixture.to_string_lossy().contains("res_change") {
        return stream["level"].clone();
    }
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-nostdin", "-v", "trace", "-i"]).arg(fixture).args([
        "-c",
        "copy",
        "-bsf:v",
        "trace_headers",
        "-f",
        "null",
        "-",
    ]);
    let out = ifc_integration_tests::run_with_timeout(&mut cmd, std::time::Duration::from_secs(60));
    let trace = String::from_utf8_lossy(&out.stderr);
    let line = trace.lines().find(|l| l.contains("level_idc ")).expect("trace has level_idc");
    let level: u64 = line.rsplit('=').next().and_then(|v| v.trim().parse().ok()).expect("level value");
    Value::from(level)
}

#[test]
fn probe_agrees_with_ffprobe_on_every_fixture() {
    for fixture in fixtures() {
        let name = fixture.file_name().unwrap().to_string_lossy().into_owned();
        let ours: Value =
            serde_json::from_str(&run_ok(Command::new(ifc_bin()).args(["probe", "--json"]).arg(&fixture)))
                .expect("JSON");
        let theirs = ffprobe_json(&["-count_frames", "-select_streams", "v:0", "-show_streams"], &fixture);
        let s = &theirs["streams"][0];
        assert_eq!(ours["width"], s["width"], "{name}: width");
        assert_eq!(ours["height"], s["height"], "{name}: height");
        assert_eq!(ours["profile"], s["profile"], "{name}: profile");
        assert_eq!(ours["level_idc"], level_of_first_sps(&fixture, s), "{name}: level");
        assert_eq!(ours["pix_fmt"], s["pix_fmt"], "{name}: pixel format");
        assert_eq!(ours["codec_name"], s["codec_name"], "{name}: codec");
        let frames: u64 = s["nb_read_frames"].as_str().and_then(|n| n.parse().ok()).expect("nb_read_frames");
        assert_eq!(ours["frame_count"].as_u64(), Some(frames), "{name}: frame count");
        let (n, d) = s["r_frame_rate"].as_str().and_then(|r| r.split_once('/')).expect("r_frame_rate");
        let theirs_rate = reduce(n.parse().unwrap(), d.parse().unwrap());
        let rate = &ours["frame_rate"];
        let ours_rate = (rate["num"].as_u64().expect("frame rate known"), rate["den"].as_u64().unwrap());
        assert_eq!(ours_rate, theirs_rate, "{name}: frame rate");
        // The matrix RGB is made with: what the stream names (ffprobe's color_space), else
        // BT.601 and said to be assumed.
        let (matrix, assumed) = match s["color_space"].as_str() {
            None | Some("unknown") => ("bt601", true),
            Some("bt709") => ("bt709", false),
            Some("smpte170m" | "bt470bg") => ("bt601", false),
            Some("bt2020nc" | "bt2020c") => ("bt2020", false),
            Some(other) => panic!("{name}: a fixture with colour space {other}: add it here"),
        };
        assert_eq!((ours["rgb_matrix"].as_str(), ours["rgb_matrix_assumed"].as_bool()), (Some(matrix), Some(assumed)), "{name}");
    }
}

#[test]
fn the_table_names_what_a_person_looks_for() {
    let fixture = ifc_integration_tests::testdata().join("hevc_opengop_cra_320x240_25.mp4");
    let table = run_ok(Command::new(ifc_bin()).arg("probe").arg(&fixture));
    let needles = ["hevc", "hvc1.", "Main", "320x240", "yuv420p", "25.000 fps", "frames", "CRA", "open", "B-frames", "BT.601 (assumed"];
    for needle in needles {
        assert!(table.contains(needle), "table lacks {needle:?}:\n{table}");
    }
}
