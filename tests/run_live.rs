//! `ifc run --input rtsp://…` against a real camera (gst-rtsp-server, the helper libifc's RTSP
//! tests use): records arrive, Ctrl-C ends the run cleanly with its summary and sinks written,
//! and the camera's password reaches no file.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ifc_integration_tests::demo::{demo_labels, demo_model, read_jsonl};
use ifc_integration_tests::ifc_bin;

#[path = "../libifc/tests/support/rtsp_server.rs"]
mod rtsp_server;
use rtsp_server::RtspServer;

#[test]
fn run_on_a_camera_writes_records_and_stops_cleanly_on_ctrl_c() {
    let server = RtspServer::start("h264_main_320x240_25.mp4", None);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let url = server.url("inspector:s3cret-pw@");
    let mut child = Command::new(ifc_bin())
        .args(["run", "--input", &url, "--model"])
        .arg(demo_model())
        .arg("--labels")
        .arg(demo_labels())
        .arg("--out")
        .arg(&out)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start ifc run");
    let stderr = Arc::new(Mutex::new(String::new()));
    let reader = {
        let stderr = Arc::clone(&stderr);
        let mut pipe = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut buf) {
                if n == 0 {
                    break;
                }
                stderr.lock().unwrap().push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        })
    };
    // Two sessions' worth of frames (the camera's clip lasts 2 s, then it reconnects).
    let start = Instant::now();
    while !stderr.lock().unwrap().contains("camera live") {
        assert!(start.elapsed() < Duration::from_secs(120), "never went live: {}", stderr.lock().unwrap());
        assert!(child.try_wait().unwrap().is_none(), "exited early: {}", stderr.lock().unwrap());
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(4));
    let interrupted = Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    assert!(interrupted.success());
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(180) {
            let _ = child.kill();
            panic!("ifc run did not stop after Ctrl-C: {}", stderr.lock().unwrap());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    reader.join().unwrap();
    let stderr = stderr.lock().unwrap().clone();
    assert!(status.success(), "{status}: {stderr}");
    assert!(stderr.contains("ifc run: stopping"), "{stderr}");
    assert!(stderr.contains("ifc run: decoded"), "the summary is written: {stderr}");
    assert!(!stderr.contains("s3cret-pw"), "the password is never printed: {stderr}");

    let records = read_jsonl(&out.join("results.jsonl"));
    assert!(!records.is_empty(), "{stderr}");
    let indices: Vec<u64> = records.iter().map(|r| r["frame_index"].as_u64().unwrap()).collect();
    assert!(indices.windows(2).all(|w| w[0] < w[1]), "{indices:?}");
    assert!(records.iter().all(|r| r["verdict"]["status"].is_string()), "{records:?}");
    let db = std::fs::read(out.join("results.sqlite")).unwrap();
    assert!(!db.windows(9).any(|w| w == b"s3cret-pw"), "the database keeps the URL without credentials");
}
