//! `ifc serve`'s RTSP publish ingest against real publishers: ffmpeg (`-f rtsp`, TCP and UDP)
//! and GStreamer's `rtspclientsink` push the committed clips (H.264 and H.265) to a `push`
//! camera; an inspection on that camera (its feed) decodes exactly the clip's frames, read
//! from the REST API's counters, and the camera, recorded through the API, holds exactly the
//! clip's frames in segments that decode in ffprobe. Wrong and missing credentials fail and feed nothing; junk,
//! oversized and half-open connections and a second publisher do not disturb a good one; a
//! publisher that goes silent is closed and its camera reported `stalled`.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use ifc_integration_tests::backends::{BackendServers, Backends, Bus, Database, Objects};
use ifc_integration_tests::serve::{subscribe, wait_for, Api, ServeProcess};
use ifc_integration_tests::serve_steps::{
    add_pipeline, camera_state, counter, record_camera, recorded_frames_decoded, recordings, start_inspection,
};
use ifc_integration_tests::{ifc_bin, run_with_timeout, testdata};
use serde_json::json;

const USER: &str = "line1-cam";
const PASSWORD: &str = "publish-s3cret";

/// Fields drop in order: the server goes before its database and data dir.
struct Server {
    server: ServeProcess,
    api: Api,
    rtsp: SocketAddr,
    /// Kept alive for PostgreSQL runs.
    _backends: Option<BackendServers>,
    _dir: tempfile::TempDir,
}

fn start() -> Server {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ServeProcess::start(&dir.path().join("data"), dir.path(), &[]);
    let rtsp = server.rtsp_addr.expect("ifc serve announced its RTSP publish address");
    let api = server.admin();
    Server { _backends: None, _dir: dir, server, api, rtsp }
}

/// The same on a throwaway PostgreSQL (migration 0004's PostgreSQL flavour takes `push`).
fn start_on_postgres() -> Server {
    let backends = Backends { database: Database::Postgres, objects: Objects::Local, bus: Bus::InProcess }.start();
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ServeProcess::start_on(&backends, &dir.path().join("data"), dir.path(), &[]);
    let rtsp = server.rtsp_addr.expect("ifc serve announced its RTSP publish address");
    let api = server.admin();
    Server { _backends: Some(backends), _dir: dir, server, api, rtsp }
}

/// A `push` camera with an inspection running on its feed; returns (camera id, inspection id)
/// once the inspection waits on the feed (so it sees the publish from its first packet).
fn push_camera_inspected(s: &Server, name: &str) -> (String, String) {
    let pipeline = add_pipeline(&s.api);
    push_camera_inspected_by(s, name, &pipeline)
}

/// [`push_camera_inspected`] with a pipeline already stored.
fn push_camera_inspected_by(s: &Server, name: &str, pipeline: &str) -> (String, String) {
    let (status, camera) =
        s.api.post("/api/v1/cameras", &json!({"name": name, "kind": "push", "username": USER, "password": PASSWORD}));
    assert_eq!(status, 201, "{camera}");
    assert_eq!(camera["kind"], "push");
    assert_eq!(camera["url"], format!("/cameras/{name}"));
    assert_eq!(camera["has_password"], true);
    assert!(camera.get("password").is_none(), "write-only: {camera}");
    let id = camera["id"].as_str().expect("id").to_owned();
    let inspection = start_inspection(&s.api, &id, pipeline);
    wait_for(Duration::from_secs(30), "the inspection to wait on the feed", || {
        (camera_state(&s.api, &id) == "connecting").then_some(())
    });
    (id, inspection)
}

fn publish_url(s: &Server, name: &str, user_info: &str) -> String {
    format!("rtsp://{user_info}{}/cameras/{name}", s.rtsp)
}

fn clip(name: &str) -> PathBuf {
    testdata().join(name)
}

/// The clip's video packets (= pictures: one per access unit), counted by ffprobe.
fn frame_count(clip: &Path) -> u64 {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-count_packets",
            "-show_entries",
            "stream=nb_read_packets",
            "-of",
            "csv=p=0",
        ])
        .arg(clip)
        .output()
        .expect("ffprobe");
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("a packet count")
}

fn ffmpeg_publish(clip: &Path, transport: &str, url: &str, extra_input: &[&str]) -> Command {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-nostdin", "-v", "error", "-re"])
        .args(extra_input)
        .arg("-i")
        .arg(clip)
        .args(["-an", "-c", "copy", "-f", "rtsp", "-rtsp_transport", transport])
        .arg(url);
    cmd
}

fn gst_publish(clip: &Path, parser: &str, protocols: &str, url: &str) -> Command {
    let mut cmd = Command::new("gst-launch-1.0");
    cmd.args(["-q", "filesrc"])
        .arg(format!("location={}", clip.display()))
        .args(["!", "qtdemux", "!", parser, "!", "rtspclientsink"])
        .arg(format!("location={url}"))
        .arg(format!("user-id={USER}"))
        .arg(format!("user-pw={PASSWORD}"))
        .arg(format!("protocols={protocols}"));
    cmd
}

fn assert_ran(out: &Output, what: &str) {
    assert!(out.status.success(), "{what}: {:?}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
}

/// Waits until the inspection has decoded `frames` pictures, then checks it stays there (no
/// more, no decode errors).
fn assert_decodes_exactly(api: &Api, inspection: &str, frames: u64, what: &str) {
    wait_for(Duration::from_secs(60), &format!("{what}: {frames} frames decoded"), || {
        (counter(api, inspection, "frames_decoded") >= frames).then_some(())
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(counter(api, inspection, "frames_decoded"), frames, "{what}: exactly the clip's frames");
    assert_eq!(counter(api, inspection, "decode_errors"), 0, "{what}");
}

/// Each publisher, each transport, each codec: one server, one camera per case, in sequence
/// on the same camera would also work, but separate cameras keep the counts apart.
fn publish_and_count(publisher: &str, transport: &str, clip_name: &str) {
    publish_and_count_on(start(), publisher, transport, clip_name);
}

fn publish_and_count_on(s: Server, publisher: &str, transport: &str, clip_name: &str) {
    let name = format!("{publisher}-{transport}-{}", if clip_name.starts_with("hevc") { "h265" } else { "h264" });
    let (camera, inspection) = push_camera_inspected(&s, &name);
    record_camera(&s.api, &camera, 1);
    let clip = clip(clip_name);
    let frames = frame_count(&clip);
    let url = publish_url(&s, &name, &format!("{USER}:{PASSWORD}@"));
    match publisher {
        "ifc" => {
            let out = run_with_timeout(
                Command::new(ifc_bin()).args(["publish", "-q"]).arg(&clip).arg(&url),
                Duration::from_secs(60),
            );
            assert_ran(&out, "ifc publish");
            assert_decodes_exactly(&s.api, &inspection, frames, &format!("ifc publish {clip_name}"));
        }
        "ffmpeg" => {
            let out = run_with_timeout(&mut ffmpeg_publish(&clip, transport, &url, &[]), Duration::from_secs(60));
            assert_ran(&out, &format!("ffmpeg over {transport}"));
            assert_decodes_exactly(&s.api, &inspection, frames, &format!("ffmpeg {transport} {clip_name}"));
        }
        _ => gst_publish_and_count(&s, &name, &inspection, transport, &clip, clip_name, frames),
    }
    // The same feed recorded: once the session ended, its segments hold every frame of the
    // clip, each segment decoding to its indexed count.
    wait_for(
        Duration::from_secs(30),
        &format!("{publisher} {transport} {clip_name}: {frames} frames recorded"),
        || {
            let indexed: u64 = recordings(&s.api, &camera).iter().filter_map(|r| r["frame_count"].as_u64()).sum();
            (indexed >= frames).then_some(())
        },
    );
    assert_eq!(
        recorded_frames_decoded(&s.api, &camera, s._dir.path()),
        frames,
        "{publisher} {transport} {clip_name}: recorded"
    );
}

fn gst_publish_and_count(
    s: &Server,
    name: &str,
    inspection: &str,
    transport: &str,
    clip: &Path,
    clip_name: &str,
    frames: u64,
) {
    let parser = if clip_name.starts_with("hevc") { "h265parse" } else { "h264parse" };
    let log_path = s._dir.path().join(format!("{name}.gst.log"));
    let log = std::fs::File::create(&log_path).expect("gst log");
    let mut gst = gst_publish(clip, parser, transport, &publish_url(s, name, ""))
        .env("GST_DEBUG", "2")
        .stdin(Stdio::null())
        .stdout(log.try_clone().expect("gst log"))
        .stderr(log)
        .spawn()
        .expect("gst-launch-1.0");
    assert_decodes_exactly(&s.api, inspection, frames, &format!("gst {transport} {clip_name}"));
    // GStreamer 1.22's rtspclientsink has two races at EOS, both after every packet was sent
    // and taken in (checked above). Over UDP it now and then never finishes (2 runs in about
    // 20 under load: no TEARDOWN, no exit, even after the server closed the stalled session).
    // Over TCP, 1 run in about 20 under load: going to NULL cancels a write in flight
    // ("writev_bytes: Operation was cancelled"), the sink drops its connection, its TEARDOWN
    // then fails with "Could not send message (Received end-of-file)" and it exits 1; the
    // server sees the connection close without a TEARDOWN. Any other exit is a failure.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = gst.try_wait().expect("wait") {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            let teardown_race = log.contains("Operation was cancelled") && log.contains("Could not send message");
            if !status.success() && teardown_race {
                eprintln!("gst-launch-1.0 over {transport}: its TEARDOWN lost the EOS race ({status:?}); stream taken in whole");
                break;
            }
            assert!(status.success(), "gst over {transport}: {status:?}\n{log}");
            break;
        }
        if Instant::now() > deadline {
            eprintln!("gst-launch-1.0 over {transport} did not exit after its stream was taken in; killed");
            let _ = gst.kill();
            let _ = gst.wait();
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn ffmpeg_tcp_h264() {
    publish_and_count("ffmpeg", "tcp", "h264_main_320x240_25.mp4");
}

#[test]
fn ffmpeg_tcp_h264_on_postgres() {
    publish_and_count_on(start_on_postgres(), "ffmpeg", "tcp", "h264_main_320x240_25.mp4");
}

#[test]
fn ffmpeg_tcp_h265() {
    publish_and_count("ffmpeg", "tcp", "hevc_main_320x240_25.mp4");
}

#[test]
fn ffmpeg_udp_h264() {
    publish_and_count("ffmpeg", "udp", "h264_main_320x240_25.mp4");
}

#[test]
fn ffmpeg_udp_h265() {
    publish_and_count("ffmpeg", "udp", "hevc_main_320x240_25.mp4");
}

#[test]
fn gstreamer_tcp_h264() {
    publish_and_count("gst", "tcp", "h264_main_320x240_25.mp4");
}

#[test]
fn gstreamer_tcp_h265() {
    publish_and_count("gst", "tcp", "hevc_main_320x240_25.mp4");
}

#[test]
fn gstreamer_udp_h264() {
    publish_and_count("gst", "udp", "h264_main_320x240_25.mp4");
}

#[test]
fn gstreamer_udp_h265() {
    publish_and_count("gst", "udp", "hevc_main_320x240_25.mp4");
}

#[test]
fn ifc_publish_h264() {
    publish_and_count("ifc", "tcp", "h264_main_320x240_25.mp4");
}

#[test]
fn ifc_publish_h264_with_b_frames() {
    publish_and_count("ifc", "tcp", "h264_high_bpyramid_320x240_25.mp4");
}

#[test]
fn ifc_publish_h265() {
    publish_and_count("ifc", "tcp", "hevc_main_320x240_25.mp4");
}

/// The load generator: one file read, three cameras published, each decoded whole; a wrong
/// password fails the run with the server's 401.
#[test]
fn ifc_publish_simulates_several_cameras_and_reports_a_refusal() {
    let s = start();
    let pipeline = add_pipeline(&s.api);
    let inspections: Vec<String> =
        (1..=3).map(|n| push_camera_inspected_by(&s, &format!("sim{n}"), &pipeline).1).collect();
    let clip = clip("h264_main_320x240_25.mp4");
    let frames = frame_count(&clip);
    let url = publish_url(&s, "sim{n}", &format!("{USER}:{PASSWORD}@"));
    let out = run_with_timeout(
        Command::new(ifc_bin()).args(["publish", "--streams", "3"]).arg(&clip).arg(&url),
        Duration::from_secs(60),
    );
    assert_ran(&out, "ifc publish --streams 3");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("3 stream(s), 150 pictures"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for inspection in &inspections {
        assert_decodes_exactly(&s.api, inspection, frames, "ifc publish --streams 3");
    }
    let wrong = publish_url(&s, "sim1", &format!("{USER}:wrong@"));
    let out =
        run_with_timeout(Command::new(ifc_bin()).args(["publish"]).arg(&clip).arg(&wrong), Duration::from_secs(60));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("401") && !stderr.contains("wrong"), "refused, password not shown: {stderr}");
    assert_eq!(counter(&s.api, &inspections[0], "frames_decoded"), frames, "nothing more entered the feed");
}

#[test]
fn wrong_or_missing_credentials_and_unknown_cameras_are_refused_and_feed_nothing() {
    let s = start();
    let (camera, inspection) = push_camera_inspected(&s, "guarded");
    record_camera(&s.api, &camera, 1);
    let clip = clip("h264_main_320x240_25.mp4");
    for (what, url) in [
        ("wrong password", publish_url(&s, "guarded", &format!("{USER}:wrong@"))),
        ("wrong user", publish_url(&s, "guarded", &format!("intruder:{PASSWORD}@"))),
        ("no credentials", publish_url(&s, "guarded", "")),
        ("unknown camera", publish_url(&s, "nobody", &format!("{USER}:{PASSWORD}@"))),
    ] {
        let out = run_with_timeout(&mut ffmpeg_publish(&clip, "tcp", &url, &[]), Duration::from_secs(30));
        assert!(!out.status.success(), "{what}: ffmpeg must fail");
        let stderr = String::from_utf8_lossy(&out.stderr);
        let expected = if what == "unknown camera" { "404" } else { "401" };
        assert!(stderr.contains(expected), "{what}: ffmpeg says why ({expected}): {stderr}");
    }
    std::thread::sleep(Duration::from_secs(1));
    for name in ["packets_received", "frames_decoded"] {
        assert_eq!(counter(&s.api, &inspection, name), 0, "{name}: nothing entered the feed");
    }
    assert!(recordings(&s.api, &camera).is_empty(), "nothing recorded");
    assert_eq!(camera_state(&s.api, &inspection_camera(&s.api, &inspection)), "connecting", "still waiting");
}

fn inspection_camera(api: &Api, inspection: &str) -> String {
    let (status, v) = api.get(&format!("/api/v1/inspections/{inspection}"));
    assert_eq!(status, 200);
    v["camera_id"].as_str().expect("camera_id").to_owned()
}

/// Reads what the server sends until it closes the connection or `limit` passes; returns the
/// bytes and whether it closed.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, bool) {
    stream.set_read_timeout(Some(Duration::from_millis(200))).expect("timeout");
    let deadline = Instant::now() + limit;
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match stream.read(&mut buf) {
            Ok(0) => return (got, true),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(_) => return (got, true),
        }
    }
    (got, false)
}

#[test]
fn junk_oversized_half_open_and_second_publishers_do_not_disturb_a_good_one() {
    let s = start();
    let (_, inspection) = push_camera_inspected(&s, "busy");
    let clip = clip("h264_main_320x240_25.mp4");
    // The clip four times (8 s), so the hostile clients act while it publishes.
    let loops = ["-stream_loop", "3"];
    let frames = 4 * frame_count(&clip);
    let url = publish_url(&s, "busy", &format!("{USER}:{PASSWORD}@"));
    let mut good: Child =
        ffmpeg_publish(&clip, "tcp", &url, &loops).stdin(Stdio::null()).stderr(Stdio::null()).spawn().expect("ffmpeg");
    wait_for(Duration::from_secs(20), "the good publisher's first frames", || {
        (counter(&s.api, &inspection, "frames_decoded") > 0).then_some(())
    });

    // Junk: not RTSP at all.
    let mut junk = TcpStream::connect(s.rtsp).expect("connect");
    junk.write_all(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03garbage-that-is-not-rtsp\r\n\r\n").expect("write");
    let (answer, closed) = read_until_closed(&mut junk, Duration::from_secs(5));
    assert!(closed, "junk: the server closes the connection");
    assert!(answer.starts_with(b"RTSP/1.0 400"), "junk: {:?}", String::from_utf8_lossy(&answer));

    // Oversized: a header block past ingest.rtsp.max_header_bytes (16 KiB by default).
    let mut big = TcpStream::connect(s.rtsp).expect("connect");
    let mut request = b"OPTIONS rtsp://x/cameras/busy RTSP/1.0\r\nCSeq: 1\r\n".to_vec();
    while request.len() < 40 * 1024 {
        request
            .extend_from_slice(b"X-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
    }
    let _ = big.write_all(&request);
    let (answer, closed) = read_until_closed(&mut big, Duration::from_secs(5));
    assert!(closed, "oversized: closed");
    assert!(
        answer.is_empty() || answer.starts_with(b"RTSP/1.0 400"),
        "oversized: {:?}",
        String::from_utf8_lossy(&answer)
    );

    // A second publisher for the same camera: refused with a reason, the first one goes on.
    let second = run_with_timeout(&mut ffmpeg_publish(&clip, "tcp", &url, &[]), Duration::from_secs(30));
    assert!(!second.status.success(), "the second publisher must fail");
    assert!(String::from_utf8_lossy(&second.stderr).contains("455"), "{}", String::from_utf8_lossy(&second.stderr));

    // Half-open: a request that never ends, held open: closed after ingest.rtsp.read_timeout_ms (10 s).
    let mut half = TcpStream::connect(s.rtsp).expect("connect");
    half.write_all(b"OPTIONS rtsp://x/cameras/busy RTSP/1.0\r\nCSeq: 1\r\n").expect("write");
    let (_, closed) = read_until_closed(&mut half, Duration::from_secs(20));
    assert!(closed, "half-open: closed by the server");

    let status = good.wait().expect("ffmpeg ends");
    assert!(status.success(), "the good publisher was not disturbed");
    assert_decodes_exactly(&s.api, &inspection, frames, "the good publisher");
}

#[test]
fn a_publisher_that_goes_silent_is_closed_and_its_camera_reported_stalled() {
    let s = start();
    let (camera, inspection) = push_camera_inspected(&s, "quiet");
    let token = s.api.token.clone().expect("token");
    let events = subscribe(&s.server, &token, "topics=camera-status");
    let clip = clip("h264_main_320x240_25.mp4");
    let url = publish_url(&s, "quiet", &format!("{USER}:{PASSWORD}@"));
    let mut publisher =
        ffmpeg_publish(&clip, "tcp", &url, &["-stream_loop", "-1"]).stderr(Stdio::null()).spawn().expect("ffmpeg");
    wait_for(Duration::from_secs(20), "frames from the publisher", || {
        (counter(&s.api, &inspection, "frames_decoded") > 0).then_some(())
    });
    // Frozen: the TCP connection stays open, no more media (a hung encoder).
    let pid = publisher.id().to_string();
    assert!(Command::new("kill").args(["-STOP", &pid]).status().expect("kill").success());
    let started = Instant::now();
    let stalled = loop {
        let event = events.recv_timeout(Duration::from_secs(30)).expect("a camera-status event within 30 s");
        let payload = &event["payload"];
        if payload["camera_id"] == camera.as_str() && payload["status"]["state"] == "stalled" {
            break event;
        }
    };
    let waited = started.elapsed();
    // ingest.rtsp.idle_timeout_ms is 5 s by default.
    assert!(waited >= Duration::from_secs(4), "stalled after {waited:?}: too early");
    assert!(stalled["payload"]["status"]["reason"].as_str().unwrap_or_default().contains("no media"), "{stalled}");
    let _ = Command::new("kill").args(["-CONT", &pid]).status();
    let _ = publisher.kill();
    let _ = publisher.wait();
}

#[test]
fn push_cameras_are_validated_and_their_password_is_write_only() {
    let s = start();
    for (body, field) in [
        (json!({"name": "has space", "kind": "push", "username": USER, "password": PASSWORD}), "name"),
        (json!({"name": "a/b", "kind": "push", "username": USER, "password": PASSWORD}), "name"),
        (json!({"name": "nopass", "kind": "push", "username": USER}), "password"),
        (json!({"name": "nouser", "kind": "push", "password": PASSWORD}), "username"),
        (json!({"name": "colon", "kind": "push", "username": "a:b", "password": PASSWORD}), "username"),
        (
            json!({"name": "url", "kind": "push", "url": "rtsp://elsewhere/x", "username": USER, "password": PASSWORD}),
            "url",
        ),
    ] {
        let (status, error) = s.api.post("/api/v1/cameras", &body);
        assert_eq!(status, 422, "{body}: {error}");
        assert!(error.to_string().contains(field), "{body}: names {field}: {error}");
    }
    let (status, camera) = s
        .api
        .post("/api/v1/cameras", &json!({"name": "cam-1", "kind": "push", "username": USER, "password": PASSWORD}));
    assert_eq!(status, 201, "{camera}");
    let id = camera["id"].as_str().expect("id");
    // An update without the password keeps it: the publisher still gets in.
    let (status, updated) = s.api.request(
        "PUT",
        &format!("/api/v1/cameras/{id}"),
        Some(&json!({"name": "cam-1", "kind": "push", "username": USER, "lot": "L-7"})),
    );
    assert_eq!(status, 200, "{updated}");
    assert_eq!((updated["has_password"].as_bool(), updated["lot"].as_str()), (Some(true), Some("L-7")));
    let (_, listed) = s.api.get("/api/v1/cameras");
    assert!(!listed.to_string().contains(PASSWORD), "never returned: {listed}");
    let (_, inspection) = {
        let pipeline = add_pipeline(&s.api);
        let inspection = start_inspection(&s.api, id, &pipeline);
        wait_for(Duration::from_secs(30), "the inspection to wait on the feed", || {
            (camera_state(&s.api, id) == "connecting").then_some(())
        });
        (pipeline, inspection)
    };
    let clip = clip("h264_main_320x240_25.mp4");
    let url = publish_url(&s, "cam-1", &format!("{USER}:{PASSWORD}@"));
    assert_ran(
        &run_with_timeout(&mut ffmpeg_publish(&clip, "tcp", &url, &[]), Duration::from_secs(60)),
        "after the update",
    );
    assert_decodes_exactly(&s.api, &inspection, frame_count(&clip), "after the update");
}

#[test]
fn connections_past_max_sessions_are_answered_503() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("serve.yaml");
    std::fs::write(&config, "ingest: {rtsp: {max_sessions: 1}}\n").expect("config");
    let server = ServeProcess::start_with_args(
        &dir.path().join("data"),
        dir.path(),
        &[],
        &["--config", config.to_str().expect("utf-8")],
    );
    let rtsp = server.rtsp_addr.expect("rtsp address");
    let mut first = TcpStream::connect(rtsp).expect("connect");
    first.write_all(b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n").expect("write");
    let mut answer = [0u8; 15];
    first.read_exact(&mut answer).expect("the first session is served");
    assert_eq!(&answer, b"RTSP/1.0 200 OK");
    let mut second = TcpStream::connect(rtsp).expect("connect");
    let (answer, closed) = read_until_closed(&mut second, Duration::from_secs(5));
    assert!(closed, "the second connection is closed");
    assert!(answer.starts_with(b"RTSP/1.0 503"), "{:?}", String::from_utf8_lossy(&answer));
    drop(first);
    // The slot is free again once the first connection is gone.
    wait_for(Duration::from_secs(5), "a free session slot", || {
        let mut s = TcpStream::connect(rtsp).ok()?;
        s.write_all(b"OPTIONS * RTSP/1.0\r\nCSeq: 2\r\n\r\n").ok()?;
        let mut answer = [0u8; 15];
        s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        s.read_exact(&mut answer).ok()?;
        (&answer == b"RTSP/1.0 200 OK").then_some(())
    });
}

#[test]
fn a_push_camera_made_over_grpc_takes_a_publisher() {
    use ifc_integration_tests::grpc::{pb, Grpc};
    use pb::cameras_client::CamerasClient;
    let s = start();
    let token = s.api.token.clone().expect("token");
    let grpc = Grpc::connect(s.server.addr).expect("gRPC").with_token(&token);
    let spec = pb::CameraSpec {
        name: "grpc-cam".into(),
        kind: pb::CameraKind::Push as i32,
        username: Some(USER.into()),
        password: Some(PASSWORD.into()),
        ..Default::default()
    };
    let created = grpc
        .run(
            CamerasClient::new(grpc.channel.clone())
                .create_camera(grpc.request(pb::CreateCameraRequest { camera: Some(spec) })),
        )
        .expect("CreateCamera")
        .into_inner();
    assert_eq!(created.kind, pb::CameraKind::Push as i32);
    assert_eq!((created.url.as_str(), created.has_password), ("/cameras/grpc-cam", true));
    let pipeline = add_pipeline(&s.api);
    let inspection = start_inspection(&s.api, &created.id, &pipeline);
    wait_for(Duration::from_secs(30), "the inspection to wait on the feed", || {
        (camera_state(&s.api, &created.id) == "connecting").then_some(())
    });
    let clip = clip("hevc_main_320x240_25.mp4");
    let url = publish_url(&s, "grpc-cam", &format!("{USER}:{PASSWORD}@"));
    assert_ran(&run_with_timeout(&mut ffmpeg_publish(&clip, "udp", &url, &[]), Duration::from_secs(60)), "ffmpeg");
    assert_decodes_exactly(&s.api, &inspection, frame_count(&clip), "gRPC-made push camera");
}
