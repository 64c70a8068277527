//! Helpers shared by the integration tests: the `ifc` binary, ffmpeg/ffprobe, fixtures.

pub mod backends;
pub mod browser;
pub mod damaged_stream;
pub mod demo;
pub mod grpc;
/// libifc's hostile-peer kit (scripted RTSP servers that misbehave on purpose).
#[path = "../../libifc/tests/support/hostile_peer.rs"]
pub mod hostile_peer;
pub mod kafka;
pub mod postgres;
/// libifc's gst-rtsp-server helper (one implementation for every crate's tests).
#[path = "../../libifc/tests/support/rtsp_server.rs"]
pub mod rtsp_server;
pub mod s3;
pub mod serve;
pub mod serve_steps;
pub mod triton;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The repository's `testdata/` folder.
pub fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata")
}

/// Every fixture (MP4 and raw), sorted, without the malformed ones. Set IFC_FIXTURES to a
/// substring to run on the matching ones only (e.g. `IFC_FIXTURES=hevc`); a filter that
/// matches nothing fails the test instead of letting it pass on no input.
pub fn fixtures() -> Vec<PathBuf> {
    fixtures_matching(&std::env::var("IFC_FIXTURES").unwrap_or_default())
}

/// The fixtures whose path contains `filter`; panics when there is none.
pub fn fixtures_matching(filter: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(testdata())
        .expect("testdata/ exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("mp4" | "h264" | "h265")))
        .filter(|p| p.to_string_lossy().contains(filter))
        .collect();
    v.sort();
    assert!(!v.is_empty(), "IFC_FIXTURES={filter:?} matches no fixture in {}", testdata().display());
    v
}

pub fn is_raw(path: &Path) -> bool {
    matches!(path.extension().and_then(|e| e.to_str()), Some("h264" | "h265"))
}

/// The `ifc` binary built by `cargo build` (set IFC_BIN to test another build).
pub fn ifc_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("IFC_BIN") {
        return p.into();
    }
    // target/<profile>/deps/<this test> -> target/<profile>/ifc
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = dir.join("ifc");
    assert!(bin.exists(), "{} is missing: run `cargo build --workspace` first (scripts/test.sh does)", bin.display());
    bin
}

/// Runs a command with a deadline; a hang is a test failure, not a stuck suite.
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
    // Drain the pipes on threads so a chatty child cannot block on a full pipe.
    let mut stdout = child.stdout.take().expect("piped");
    let mut stderr = child.stderr.take().expect("piped");
    let out_thread = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut stdout, &mut b).ok();
        b
    });
    let err_thread = std::thread::spawn(move || {
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut stderr, &mut b).ok();
        b
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > timeout {
            child.kill().ok();
            child.wait().ok();
            panic!("{cmd:?} did not finish within {timeout:?} (hang)");
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Output { status, stdout: out_thread.join().unwrap_or_default(), stderr: err_thread.join().unwrap_or_default() }
}

/// Runs a command that must succeed; returns stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = run_with_timeout(cmd, Duration::from_secs(120));
    assert!(out.status.success(), "{cmd:?} failed ({}):\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8 output")
}

pub fn ffprobe_json(args: &[&str], file: &Path) -> serde_json::Value {
    let mut cmd = Command::new("ffprobe");
    cmd.args(["-v", "error", "-of", "json"]).args(args).arg(file);
    serde_json::from_str(&run_ok(&mut cmd)).expect("ffprobe prints JSON")
}

/// Pictures of a file's first video stream, decoded by ffprobe.
pub fn decoded_frames(path: &Path) -> u64 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames"])
        .args(["-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe");
    assert!(out.status.success(), "ffprobe {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("a frame count")
}

/// Frame rate of a fixture, for raw streams (all fixtures carry VUI timing; the name says).
pub fn fixture_fps(path: &Path) -> &'static str {
    if path.to_string_lossy().contains("2997") {
        "30000/1001"
    } else {
        "25"
    }
}

/// `ffmpeg -f framemd5` of the decoded frames: one MD5 per frame, in output order.
pub fn frame_md5s(input: &Path, extra_input_args: &[&str]) -> Vec<String> {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-nostdin", "-v", "error"]).args(extra_input_args).arg("-i").arg(input);
    cmd.args(["-map", "0:v:0", "-f", "framemd5", "-"]);
    run_ok(&mut cmd)
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.rsplit(',').next().map(|h| h.trim().to_owned()))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    #[should_panic(expected = "matches no fixture")]
    fn a_fixture_filter_that_matches_nothing_fails_instead_of_passing_on_no_input() {
        super::fixtures_matching("no-fixture-has-this-in-its-name");
    }

    #[test]
    fn a_fixture_filter_keeps_only_the_matching_fixtures() {
        let hevc = super::fixtures_matching("hevc");
        assert!(!hevc.is_empty() && hevc.iter().all(|p| p.to_string_lossy().contains("hevc")));
    }
}
