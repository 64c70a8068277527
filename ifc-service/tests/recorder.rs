//! The recorder in process, against real files and ffprobe/ffmpeg: a real clip published into a
//! camera's feed (as an ingest session does) is recorded into segments that each decode and
//! match their indexed checksum; the API lists them, exports a range as one MP4 from the key
//! frame at or before its start (whole and by byte ranges, with a token or a signed link),
//! serves an HLS playlist whose signed parts rebuild the segments, and protects ranges.
//! Against a real S3 server (moto, behind a loopback proxy that cuts it off): multipart
//! uploads, uploaded copies deleted with their segments, and the issue's 5-minute outage.

mod support;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use ifc_service::api::{app, AppState};
use ifc_service::auth::Role;
use ifc_service::config::{CameraRecording, ObjectsConfig, S3Config, ServeConfig};
use ifc_service::db::RecordingRow;
use ifc_service::objects::{ObjectStore, S3Store};
use ifc_service::recorder::{object_key, Recorder};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use support::s3::{self, S3Server};
use support::tcp_proxy::TcpProxy;
use support::{app_state, clip, create_camera, decode, open_db, packets, publish};
use tower::ServiceExt;

struct Harness {
    state: AppState,
    _dir: tempfile::TempDir,
    token: String,
    camera_id: String,
}

async fn harness(configure: impl FnOnce(&mut ServeConfig)) -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut config = ServeConfig { data_dir: dir.path().join("data"), ..ServeConfig::default() };
    let db = open_db(&config).await;
    let camera_id = create_camera(&db, "line-1").await;
    config.recording.cameras =
        vec![CameraRecording { camera_id: camera_id.clone(), segment_s: 1, max_age_s: None, max_bytes: None }];
    config.recording.min_free_bytes = 0;
    config.recording.retention_interval_s = 3600;
    configure(&mut config);
    config.validate().expect("valid config");
    let state = app_state(db, config, &[7u8; 32]);
    let token = state.jwt.issue("tester", Role::Operator, now_s()).expect("token");
    let recorder = Recorder::start(&state).await.expect("recorder");
    let _ = state.recorder.set(recorder);
    Harness { state, _dir: dir, token, camera_id }
}

fn now_s() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

async fn rows_when(h: &Harness, count: usize) -> Vec<RecordingRow> {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let rows = h.state.db.camera_recordings_all(&h.camera_id).await.expect("rows");
        if rows.len() >= count || Instant::now() > deadline {
            return rows;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn segment_path(h: &Harness, id: i64) -> PathBuf {
    Recorder::camera_dir(&Recorder::root(&h.state), &h.camera_id).join(format!("{id}.m4s"))
}

async fn get(
    h: &Harness,
    uri: &str,
    token: bool,
    range: Option<&str>,
) -> (StatusCode, axum::http::HeaderMap, bytes::Bytes) {
    let mut req = Request::builder().uri(uri);
    if token {
        req = req.header("authorization", format!("Bearer {}", h.token));
    }
    if let Some(r) = range {
        req = req.header("range", r);
    }
    let resp = app(h.state.clone()).oneshot(req.body(Body::empty()).expect("request")).await.expect("response");
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
    (status, headers, body)
}

async fn send(h: &Harness, method: &str, uri: &str, body: Value) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {}", h.token))
        .header("content-type", "application/json")
        .body(Body::from(body.to_string()))
        .expect("request");
    let resp = app(h.state.clone()).oneshot(req).await.expect("response");
    let status = resp.status();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.expect("body");
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_clip_is_recorded_into_segments_that_decode_and_export_from_a_key_frame() {
    let h = harness(|_| {}).await;
    let input = clip("h264_high_bpyramid_320x240_25.mp4");
    // Two ingest sessions of the clip (75 frames, key frames every 30): 1 s segments cut at
    // each key frame, and the end of each session closes its last segment.
    publish(&h.state, &h.camera_id, &input);
    publish(&h.state, &h.camera_id, &input);
    let rows = rows_when(&h, 6).await;
    assert_eq!(rows.iter().map(|r| r.frame_count).collect::<Vec<_>>(), [30, 30, 15, 30, 30, 15], "{rows:#?}");
    for r in &rows {
        let path = segment_path(&h, r.id);
        let data = std::fs::read(&path).expect("segment file");
        assert_eq!(data.len() as i64, r.bytes);
        assert_eq!(format!("{:x}", Sha256::digest(&data)), r.sha256, "checksum of {}", path.display());
        assert_eq!(decode(&path), (r.frame_count as u64, String::new()), "{} decodes whole", path.display());
        assert!(r.end_ms > r.start_ms);
        assert_eq!(r.codec, input.config.params.codec_string);
    }
    for w in rows.windows(2) {
        assert!(w[1].start_ms >= w[0].end_ms, "wall times never overlap: {w:#?}");
    }
    // Nothing but finished segments in the directory.
    let dir = segment_path(&h, 0).parent().expect("dir").to_owned();
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let mut expected: Vec<String> = rows.iter().map(|r| format!("{}.m4s", r.id)).collect();
    expected.sort();
    assert_eq!(names, expected);

    // The API lists them by range.
    let cam = &h.camera_id;
    let (status, _, body) =
        get(&h, &format!("/api/v1/cameras/{cam}/recordings?from_ms=0&to_ms={}", i64::MAX), true, None).await;
    assert_eq!(status, StatusCode::OK);
    let listed: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(listed.as_array().map(Vec::len), Some(6));
    assert_eq!(listed[0]["key_frames_90k"][0], json!(rows[0].media_start_90k));

    // Export from inside the second segment to inside the third: it starts at the second's
    // key frame (its first picture) and covers the range.
    let from_ms = rows[1].start_ms + 200;
    let to_ms = rows[2].start_ms + 100;
    let (status, headers, mp4) =
        get(&h, &format!("/api/v1/cameras/{cam}/export?from_ms={from_ms}&to_ms={to_ms}"), true, None).await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&mp4));
    assert_eq!(headers["content-type"], "video/mp4");
    assert_eq!(
        headers["x-ifc-start-ms"].to_str().expect("text"),
        rows[1].start_ms.to_string(),
        "starts at the key frame before the range"
    );
    let export_path = h._dir.path().join("export.mp4");
    std::fs::write(&export_path, &mp4).expect("write");
    assert_eq!(decode(&export_path), (45, String::new()), "segments 2 and 3 whole, decoded without warnings");
    let p = packets(&export_path);
    assert!(p[0].2, "starts with a key frame");
    assert!(p.windows(2).all(|w| w[0].1 < w[1].1), "dts increases");
    let covered_ms = (p.iter().map(|x| x.0).max().unwrap_or(0) - p.iter().map(|x| x.0).min().unwrap_or(0)) / 90;
    assert!(rows[1].start_ms + covered_ms >= to_ms, "covers the range: {covered_ms} ms");

    // Byte ranges of the same export.
    let (status, headers, part) =
        get(&h, &format!("/api/v1/cameras/{cam}/export?from_ms={from_ms}&to_ms={to_ms}"), true, Some("bytes=100-199"))
            .await;
    assert_eq!(status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(headers["content-range"].to_str().expect("text"), format!("bytes 100-199/{}", mp4.len()));
    assert_eq!(part, mp4.slice(100..200));
    let (status, _, _) = get(
        &h,
        &format!("/api/v1/cameras/{cam}/export?from_ms={from_ms}&to_ms={to_ms}"),
        true,
        Some(&format!("bytes={}-", mp4.len())),
    )
    .await;
    assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
    let (status, _, _) =
        get(&h, &format!("/api/v1/cameras/{cam}/export?from_ms={from_ms}&to_ms={to_ms}"), false, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    // A signed link needs no token; a changed one is refused.
    let (status, link) =
        send(&h, "POST", &format!("/api/v1/cameras/{cam}/export-links"), json!({"from_ms": from_ms, "to_ms": to_ms}))
            .await;
    assert_eq!(status, StatusCode::CREATED, "{link}");
    let url = link["url"].as_str().expect("url");
    let (status, _, linked) = get(&h, url, false, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(linked, mp4);
    let tampered = url.replace(&format!("to_ms={to_ms}"), &format!("to_ms={}", to_ms + 1));
    assert_eq!(get(&h, &tampered, false, None).await.0, StatusCode::FORBIDDEN);

    // HLS: each segment's signed init and media parts make the segment file again.
    let (status, headers, playlist) = get(
        &h,
        &format!("/api/v1/cameras/{cam}/playlist.m3u8?from_ms={}&to_ms={}", rows[0].start_ms, rows[5].end_ms),
        true,
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/vnd.apple.mpegurl");
    let text = String::from_utf8_lossy(&playlist).into_owned();
    assert!(text.contains("#EXT-X-ENDLIST") && text.contains("#EXT-X-MAP"), "{text}");
    let uris: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            l.strip_prefix("#EXT-X-MAP:URI=\"")
                .map(|u| u.trim_end_matches('"'))
                .or_else(|| (!l.starts_with('#') && !l.is_empty()).then_some(l))
        })
        .collect();
    assert_eq!(uris.len(), 12, "{text}");
    let absolute = |u: &str| format!("/api/v1/{}", u.trim_start_matches("../../"));
    let (_, _, init) = get(&h, &absolute(uris[0]), false, None).await;
    let (_, _, media) = get(&h, &absolute(uris[1]), false, None).await;
    assert_eq!([init, media].concat(), std::fs::read(segment_path(&h, rows[0].id)).expect("file"));

    // Protections: made with the caller's name, listed, deleted.
    let (status, p) = send(
        &h,
        "POST",
        &format!("/api/v1/cameras/{cam}/protections"),
        json!({"from_ms": 10, "to_ms": 20, "reason": "audit"}),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    assert_eq!(p["who"], "tester");
    let (status, _, list) = get(&h, &format!("/api/v1/cameras/{cam}/protections"), true, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(serde_json::from_slice::<Value>(&list).expect("json")[0]["reason"], "audit");
    let pid = p["id"].as_str().expect("id");
    assert_eq!(
        send(&h, "DELETE", &format!("/api/v1/cameras/{cam}/protections/{pid}"), Value::Null).await.0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        send(&h, "DELETE", &format!("/api/v1/cameras/{cam}/protections/{pid}"), Value::Null).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        send(
            &h,
            "POST",
            &format!("/api/v1/cameras/{cam}/protections"),
            json!({"from_ms": 20, "to_ms": 10, "reason": "x"})
        )
        .await
        .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    if let Some(r) = h.state.recorder.get() {
        r.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_keeps_a_camera_under_its_byte_budget_but_never_deletes_protected_segments() {
    let h = harness(|c| {
        c.recording.retention_interval_s = 1;
    })
    .await;
    let input = clip("hevc_main_320x240_25.mp4");
    for _ in 0..4 {
        publish(&h.state, &h.camera_id, &input);
    }
    let rows = rows_when(&h, 8).await;
    assert_eq!(rows.len(), 8, "two segments per session");
    // Protect the first session's second segment; then a budget of about two segments.
    let protected = &rows[1];
    h.state
        .db
        .insert_protection(&h.camera_id, protected.start_ms, protected.start_ms + 1, "evidence", "tester", None)
        .await
        .expect("protect");
    let _ = h;
    // Budgets are configuration: restart the recorder with one.
    let state = &h.state;
    if let Some(r) = state.recorder.get() {
        r.stop().await;
    }
    let total: i64 = rows.iter().map(|r| r.bytes).sum();
    let budget = u64::try_from(rows[6].bytes + rows[7].bytes + protected.bytes).expect("bytes");
    assert!(budget < u64::try_from(total).expect("bytes"));
    let mut config = (*state.config).clone();
    config.recording.cameras[0].max_bytes = Some(budget);
    let state2 = AppState { config: Arc::new(config), recorder: Arc::default(), ..state.clone() };
    let recorder = Recorder::start(&state2).await.expect("recorder");
    let deadline = Instant::now() + Duration::from_secs(10);
    let left = loop {
        let left: Vec<i64> =
            state2.db.camera_recordings_all(&h.camera_id).await.expect("rows").iter().map(|r| r.id).collect();
        if left.len() <= 3 || Instant::now() > deadline {
            break left;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(left, [rows[1].id, rows[6].id, rows[7].id], "the oldest unprotected went; the protected one stayed");
    for id in &left {
        assert!(segment_path(&h, *id).exists());
    }
    assert!(!segment_path(&h, rows[0].id).exists(), "deleted segments' files are gone");
    assert_eq!(recorder.status(&h.camera_id).map(|s| s.halted), Some(false), "budget met without protected data");
    recorder.stop().await;
}

/// A real small filesystem (a 4 MiB tmpfs, mounted here: the test fails when it cannot mount)
/// filled by recording: retention deletes the oldest unprotected segments and raises the
/// `recording-disk-full` alarm; once everything left is protected, recording of the camera
/// stops with `recording-stopped-protected` and not one protected segment is deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_deletes_the_oldest_unprotected_segments_and_stops_before_protected_ones() {
    let mount = tempfile::tempdir().expect("tempdir");
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(mount.path())
        .status()
        .expect("mount runs");
    assert!(
        status.success(),
        "cannot mount a tmpfs at {} (the test needs root): this is a failure, not a skip",
        mount.path().display()
    );
    struct Unmount(PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _unmount = Unmount(mount.path().to_owned());
    let floor: u64 = 1_500_000;
    let h = harness(|c| {
        c.recording.dir = mount.path().to_owned();
        c.recording.min_free_bytes = floor;
        c.recording.retention_interval_s = 1;
    })
    .await;
    let input = clip("h264_high_bpyramid_320x240_25.mp4");
    // The first two sessions (each 3 s of media, placed one after the other) are evidence:
    // every segment overlapping the range.
    let t0 = ifc_service::db::now_ms();
    h.state
        .db
        .insert_protection(&h.camera_id, t0 - 1000, t0 + 5_000, "evidence", "tester", None)
        .await
        .expect("protect");
    let alarms = |kind: &'static str| {
        let db = h.state.db.clone();
        async move {
            db.unpublished_events(10_000)
                .await
                .expect("events")
                .into_iter()
                .filter(|e| e.topic == "alarms" && e.payload.contains(&format!("\"kind\":\"{kind}\"")))
                .count()
        }
    };
    publish(&h.state, &h.camera_id, &input);
    publish(&h.state, &h.camera_id, &input);
    let first = rows_when(&h, 6).await;
    let protected_ids: Vec<i64> =
        first.iter().filter(|r| r.start_ms < t0 + 5_000 && r.end_ms > t0 - 1000).map(|r| r.id).collect();
    assert!(protected_ids.len() >= 4, "{first:#?}");
    let mut sessions = 2;
    while alarms("recording-disk-full").await == 0 {
        assert!(sessions < 200, "no disk-full alarm after {sessions} sessions");
        publish(&h.state, &h.camera_id, &input);
        sessions += 1;
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    // Keep recording a while past the floor: retention keeps making room.
    for _ in 0..20 {
        publish(&h.state, &h.camera_id, &input);
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let rows = h.state.db.camera_recordings_all(&h.camera_id).await.expect("rows");
    for id in &protected_ids {
        assert!(rows.iter().any(|r| r.id == *id), "protected segment {id} was deleted: {rows:#?}");
    }
    let first_ids = protected_ids.clone();
    assert!(
        rows.len() < 3 * (sessions + 20),
        "unprotected segments were deleted ({} left of {})",
        rows.len(),
        3 * (sessions + 20)
    );
    let free = ifc_service::recorder::free_bytes(mount.path()).expect("statvfs");
    assert!(free > 0);

    // Now everything is evidence: nothing more may be deleted, so recording stops.
    h.state.db.insert_protection(&h.camera_id, 0, i64::MAX / 2, "all of it", "tester", None).await.expect("protect");
    let before: Vec<i64> =
        h.state.db.camera_recordings_all(&h.camera_id).await.expect("rows").iter().map(|r| r.id).collect();
    let mut more = 0;
    while alarms("recording-stopped-protected").await == 0 {
        assert!(more < 200, "no recording-stopped alarm after {more} more sessions");
        publish(&h.state, &h.camera_id, &input);
        more += 1;
        tokio::time::sleep(Duration::from_millis(60)).await;
    }
    let recorder = h.state.recorder.get().expect("recorder");
    assert_eq!(recorder.status(&h.camera_id).map(|s| s.halted), Some(true), "recording of the camera stopped");
    let after = h.state.db.camera_recordings_all(&h.camera_id).await.expect("rows");
    for id in &before {
        assert!(after.iter().any(|r| r.id == *id), "protected segment {id} was deleted");
    }
    // Every segment left decodes and matches its checksum, the first evidence included.
    for r in &after {
        let path = segment_path(&h, r.id);
        let data = std::fs::read(&path).expect("segment file");
        assert_eq!(format!("{:x}", Sha256::digest(&data)), r.sha256);
        if first_ids.contains(&r.id) {
            assert_eq!(decode(&path), (r.frame_count as u64, String::new()));
        }
    }
    recorder.stop().await;
}

/// The NG protection an inspection's writer makes for each NG verdict of a recorded camera
/// (`recorder::protect_ng`, called with the verdict's wall time and result id): close verdicts
/// merge into one range, retention under a tiny budget keeps exactly what overlaps it, and the
/// export of the window starts at a key frame, decodes, and contains the NG moment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ng_verdicts_protect_their_window_and_its_export_contains_the_ng_moment() {
    let h = harness(|c| {
        c.recording.ng_pre_roll_ms = 500;
        c.recording.ng_post_roll_ms = 500;
    })
    .await;
    let input = clip("h264_high_bpyramid_320x240_25.mp4");
    for _ in 0..3 {
        publish(&h.state, &h.camera_id, &input);
    }
    let rows = rows_when(&h, 9).await;
    assert_eq!(rows.len(), 9);
    // Two NG verdicts 300 ms apart inside the fifth segment: one merged range.
    let ng_ms = rows[4].start_ms + 400;
    ifc_service::recorder::protect_ng(&h.state, &h.camera_id, ng_ms, 17).await;
    ifc_service::recorder::protect_ng(&h.state, &h.camera_id, ng_ms + 300, 18).await;
    let protections = h.state.db.protections(&h.camera_id).await.expect("protections");
    assert_eq!(protections.len(), 1, "merged: {protections:#?}");
    assert_eq!((protections[0].from_ms, protections[0].to_ms), (ng_ms - 500, ng_ms + 800));
    assert_eq!((protections[0].who.as_str(), protections[0].result_id), ("ng-verdict", Some(17)));
    // A verdict of a camera that is not recorded protects nothing.
    ifc_service::recorder::protect_ng(&h.state, "not-recorded", ng_ms, 19).await;
    assert!(h.state.db.protections("not-recorded").await.expect("protections").is_empty());

    // Retention with a budget of one byte: only what overlaps the NG window survives.
    let recorder = h.state.recorder.get().expect("recorder");
    recorder.stop().await;
    let mut config = (*h.state.config).clone();
    config.recording.cameras[0].max_bytes = Some(1);
    config.recording.retention_interval_s = 1;
    let state2 = AppState { config: Arc::new(config), recorder: Arc::default(), ..h.state.clone() };
    let recorder2 = Recorder::start(&state2).await.expect("recorder");
    let window: Vec<i64> =
        rows.iter().filter(|r| r.start_ms < ng_ms + 800 && r.end_ms > ng_ms - 500).map(|r| r.id).collect();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left: Vec<i64> =
            state2.db.camera_recordings_all(&h.camera_id).await.expect("rows").iter().map(|r| r.id).collect();
        if left == window {
            break;
        }
        assert!(Instant::now() < deadline, "left {left:?}, the NG window's segments {window:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        recorder2.status(&h.camera_id).map(|s| s.halted),
        Some(true),
        "over budget with only protected data: halted"
    );
    let alarms = state2.db.unpublished_events(1000).await.expect("events");
    assert!(
        alarms.iter().any(|e| e.topic == "alarms" && e.payload.contains("recording-stopped-protected")),
        "{alarms:#?}"
    );

    // The export of the window.
    let cam = &h.camera_id;
    let (status, headers, mp4) =
        get(&h, &format!("/api/v1/cameras/{cam}/export?from_ms={}&to_ms={}", ng_ms - 500, ng_ms + 800), true, None)
            .await;
    assert_eq!(status, StatusCode::OK, "{}", String::from_utf8_lossy(&mp4));
    let start_ms: i64 = headers["x-ifc-start-ms"].to_str().expect("text").parse().expect("ms");
    let path = h._dir.path().join("ng.mp4");
    std::fs::write(&path, &mp4).expect("write");
    let (frames, warnings) = decode(&path);
    assert_eq!(warnings, "");
    let p = packets(&path);
    assert!(p[0].2, "starts at a key frame");
    assert_eq!(frames, p.len() as u64, "every packet decodes");
    let last_ms = start_ms + p.iter().map(|x| x.0).max().unwrap_or(0) / 90;
    assert!(
        start_ms <= ng_ms && ng_ms + 300 < last_ms,
        "the NG moments {ng_ms}, {} lie in [{start_ms}, {last_ms}]",
        ng_ms + 300
    );
    recorder2.stop().await;
}

/// With `upload: true` every indexed segment goes to the object store (here the local one,
/// through the spool) under `recordings/CAMERA/ID.m4s`, byte for byte, and its row says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finished_segments_are_uploaded_to_the_object_store() {
    let h = harness(|c| c.recording.upload = true).await;
    let input = clip("hevc_main_320x240_25.mp4");
    publish(&h.state, &h.camera_id, &input);
    let rows = rows_when(&h, 2).await;
    assert_eq!(rows.len(), 2);
    let deadline = Instant::now() + Duration::from_secs(10);
    let uploaded = loop {
        let rows = h.state.db.camera_recordings_all(&h.camera_id).await.expect("rows");
        if rows.iter().all(|r| r.uploaded == 1) {
            break rows;
        }
        assert!(Instant::now() < deadline, "not uploaded: {rows:#?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    for r in &uploaded {
        let key = r.object_key.clone().expect("object key");
        assert_eq!(key, format!("recordings/{}/{}.m4s", h.camera_id, r.id));
        let stored = h.state.objects.get(&key).await.expect("the object store has it");
        assert_eq!(stored, std::fs::read(segment_path(&h, r.id)).expect("file"), "byte for byte");
    }
    if let Some(r) = h.state.recorder.get() {
        r.stop().await;
    }
}

/// moto behind a loopback proxy that can cut it off (its objects survive the outage), and
/// the harness's config pointing the object store at the proxy.
struct S3Outage {
    server: S3Server,
    proxy: TcpProxy,
}

impl S3Outage {
    fn start() -> Self {
        let server = S3Server::start();
        let proxy = TcpProxy::start(([127, 0, 0, 1], server.port).into());
        Self { server, proxy }
    }

    fn config(&self) -> S3Config {
        S3Config {
            bucket: s3::BUCKET.into(),
            endpoint: Some(self.proxy.endpoint()),
            region: "us-east-1".into(),
            path_style: true,
            access_key_id: Some(s3::ACCESS_KEY.into()),
            secret_access_key: Some(s3::SECRET_KEY.into()),
            multipart_threshold_bytes: 16 << 20,
            multipart_part_bytes: 8 << 20,
        }
    }

    /// key → sha256 of every object under `recordings/`.
    fn recordings(&self) -> BTreeMap<String, String> {
        let server = &self.server;
        server
            .keys()
            .into_iter()
            .filter(|k| k.starts_with("recordings/"))
            .map(|k| {
                let data = server.get(&k).expect("listed object");
                (k, format!("{:x}", Sha256::digest(&data)))
            })
            .collect()
    }
}

/// key → sha256 the index says, for every live row (what the store must hold, exactly).
fn indexed(rows: &[RecordingRow], camera_id: &str) -> BTreeMap<String, String> {
    rows.iter().filter(|r| r.garbage == 0).map(|r| (object_key(camera_id, r.id), r.sha256.clone())).collect()
}

/// Bytes of the files waiting under `spool/objects/`.
fn spool_bytes(state: &AppState) -> u64 {
    let mut total = 0;
    let mut dirs = vec![state.config.data_dir.join("spool/objects")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            match entry.metadata() {
                Ok(m) if m.is_dir() => dirs.push(entry.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

async fn wait_for<T>(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A file above `multipart_threshold_bytes` goes to a real S3 server (moto) in parts, from the
/// file: the object is whole (same sha256) and no multipart upload is left open; `put` of the
/// same bytes in memory takes the same path.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_object_above_the_multipart_threshold_goes_to_s3_in_parts_and_arrives_whole() {
    let outage = S3Outage::start();
    let config = S3Config { multipart_threshold_bytes: 5 << 20, multipart_part_bytes: 5 << 20, ..outage.config() };
    let store = S3Store::new(&config, |_| None).expect("client");
    let dir = tempfile::tempdir().expect("tempdir");
    // 12 MiB + 1 byte: parts of 5, 5 and 2 MiB + 1; not repeating, so a misplaced part shows.
    let data: Vec<u8> = (0u64..(12 << 20) + 1).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let path = dir.path().join("big.m4s");
    std::fs::write(&path, &data).expect("write");
    let started = Instant::now();
    store.put_file("recordings/c/1.m4s", &path, "video/mp4").await.expect("multipart from the file");
    store
        .put("recordings/c/2.m4s", bytes::Bytes::from(data.clone()), "video/mp4")
        .await
        .expect("multipart from memory");
    let want = format!("{:x}", Sha256::digest(&data));
    for key in ["recordings/c/1.m4s", "recordings/c/2.m4s"] {
        let got = outage.server.get(key).expect("stored");
        assert_eq!((got.len(), format!("{:x}", Sha256::digest(&got))), (data.len(), want.clone()), "{key} whole");
    }
    assert_eq!(outage.server.unfinished_uploads(), 0, "every multipart upload completed");
    // Deleting is idempotent: a key that is gone is deleted already.
    store.delete("recordings/c/2.m4s").await.expect("delete");
    store.delete("recordings/c/2.m4s").await.expect("delete again");
    assert_eq!(outage.server.get("recordings/c/2.m4s"), None);
    eprintln!("multipart: 2 × 12 MiB in {:?}", started.elapsed());
}

/// A multipart upload the server refuses to complete (moto, as S3, refuses parts under
/// 5 MiB but the last: `EntityTooSmall`) is an error and is aborted: no parts are left in the
/// bucket and no object appears.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_multipart_upload_is_aborted_and_leaves_no_parts() {
    let outage = S3Outage::start();
    let config = S3Config { multipart_threshold_bytes: 1 << 20, multipart_part_bytes: 1 << 20, ..outage.config() };
    let store = S3Store::new(&config, |_| None).expect("client");
    let err = store
        .put("recordings/c/3.m4s", bytes::Bytes::from(vec![7u8; 3 << 20]), "video/mp4")
        .await
        .expect_err("parts of 1 MiB are refused at completion");
    assert!(err.to_string().contains("EntityTooSmall"), "{err}");
    assert_eq!(outage.server.unfinished_uploads(), 0, "the upload was aborted");
    assert_eq!(outage.server.get("recordings/c/3.m4s"), None);
}

/// Retention deletes a segment's uploaded copy with it. The store down at that moment: the
/// local files go, the garbage rows stay as the record of the pending remote deletes (and
/// survive a restart's recovery), and the copies are deleted once it answers; protected
/// segments keep theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_deletes_uploaded_copies_too_and_catches_up_after_the_store_was_down() {
    let outage = S3Outage::start();
    let h = harness(|c| {
        c.recording.upload = true;
        c.objects = ObjectsConfig::S3(outage.config());
    })
    .await;
    let input = clip("hevc_main_320x240_25.mp4");
    for _ in 0..4 {
        publish(&h.state, &h.camera_id, &input);
    }
    let rows = rows_when(&h, 8).await;
    assert_eq!(rows.len(), 8);
    wait_for("all 8 uploaded", Duration::from_secs(30), async || {
        (outage.recordings() == indexed(&rows, &h.camera_id)).then_some(())
    })
    .await;
    let protected = &rows[1];
    h.state
        .db
        .insert_protection(&h.camera_id, protected.start_ms, protected.start_ms + 1, "evidence", "tester", None)
        .await
        .expect("protect");
    if let Some(r) = h.state.recorder.get() {
        r.stop().await;
    }

    // The store goes down; a budget of three segments deletes five locally.
    outage.proxy.set_down();
    let mut config = (*h.state.config).clone();
    config.recording.retention_interval_s = 1;
    config.recording.cameras[0].max_bytes =
        Some(u64::try_from(rows[6].bytes + rows[7].bytes + protected.bytes).expect("bytes"));
    let state2 = AppState { config: Arc::new(config), recorder: Arc::default(), ..h.state.clone() };
    let recorder = Recorder::start(&state2).await.expect("recorder");
    let kept = [rows[1].id, rows[6].id, rows[7].id];
    let garbage = wait_for("local deletion", Duration::from_secs(20), async || {
        let all = state2.db.camera_recordings_all(&h.camera_id).await.expect("rows");
        let live: Vec<i64> = all.iter().filter(|r| r.garbage == 0).map(|r| r.id).collect();
        (live == kept).then(|| all.iter().filter(|r| r.garbage != 0).map(|r| r.id).collect::<Vec<_>>())
    })
    .await;
    assert_eq!(garbage.len(), 5, "the pending remote deletes are recorded as garbage rows");
    for id in &garbage {
        assert!(!segment_path(&h, *id).exists(), "local files go at once");
    }
    assert_eq!(outage.recordings().len(), 8, "the store was down: the copies are still there");
    recorder.stop().await;

    // A restart while it is still down: recovery keeps the garbage rows.
    let recorder = Recorder::start(&state2).await.expect("recorder");
    tokio::time::sleep(Duration::from_secs(2)).await;
    let all = state2.db.camera_recordings_all(&h.camera_id).await.expect("rows");
    assert_eq!(all.iter().filter(|r| r.garbage != 0).count(), 5, "recovery kept the pending remote deletes");

    // Back up: the next passes delete the copies and then the rows.
    outage.proxy.set_up();
    wait_for("remote copies follow the index", Duration::from_secs(30), async || {
        let all = state2.db.camera_recordings_all(&h.camera_id).await.expect("rows");
        (all.iter().all(|r| r.garbage == 0) && outage.recordings() == indexed(&all, &h.camera_id)).then_some(())
    })
    .await;
    assert_eq!(outage.recordings().len(), 3, "the protected segment's copy and the two newest stay");
    recorder.stop().await;
}

/// The issue's outage: the object store (moto, cut off by a loopback proxy so it keeps its
/// objects) is down for 5 real minutes while a camera records 1 s segments of a small clip
/// published every 2 s, under a byte budget of about 40 segments. Segments wait in the spool;
/// retention deletes the oldest, and their spooled copies with them, so the spool (sampled
/// every second) never outgrows the budget; when the store returns every segment in the index
/// is in it with the index's checksum, and nothing else is (no deleted segment uploaded, no
/// copy of a deleted one left).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_object_store_down_for_5_minutes_loses_no_segment_and_the_spool_stays_within_the_budget() {
    const OUTAGE: Duration = Duration::from_secs(300);
    let outage = S3Outage::start();
    let input = clip("hevc_main_320x240_25.mp4");
    // About 40 segments of this clip (two of about 28 kB per 2 s session).
    let budget: u64 = 40 * 28_000;
    let h = harness(|c| {
        c.recording.upload = true;
        c.recording.retention_interval_s = 1;
        c.recording.cameras[0].max_bytes = Some(budget);
        c.objects = ObjectsConfig::S3(outage.config());
    })
    .await;
    let stop = Arc::new(AtomicBool::new(false));
    let publisher = {
        let (state, camera_id, stop) = (h.state.clone(), h.camera_id.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                publish(&state, &camera_id, &input);
                std::thread::sleep(Duration::from_secs(2));
            }
        })
    };
    tokio::time::sleep(Duration::from_secs(10)).await;
    let before = h.state.db.max_recording_id().await.expect("max id");
    assert!(outage.recordings().len() >= 4, "uploads go straight to the store while it is up");

    outage.proxy.set_down();
    let started = Instant::now();
    let (mut spool_max, mut largest_segment) = (0u64, 0i64);
    while started.elapsed() < OUTAGE {
        tokio::time::sleep(Duration::from_secs(1)).await;
        spool_max = spool_max.max(spool_bytes(&h.state));
        let rows = h.state.db.camera_recordings_all(&h.camera_id).await.expect("rows");
        largest_segment = rows.iter().map(|r| r.bytes).chain([largest_segment]).max().unwrap_or(0);
    }
    let during = h.state.db.max_recording_id().await.expect("max id") - before;
    // Retention runs every second (its pass takes a while too) and a session commits two
    // segments at once: the index, and with it the spool, may be over the budget by what one
    // interval records (here up to two sessions, four segments) until the next pass.
    let slack = 4 * u64::try_from(largest_segment).expect("bytes");
    eprintln!("outage: {during} segments recorded, spool at most {spool_max} bytes (budget {budget}, slack {slack})");
    assert!(during as u64 * 28_000 > 3 * budget, "the outage outlasted the budget several times over");
    assert!(spool_max > budget / 2, "segments waited in the spool");
    assert!(spool_max <= budget + slack, "the spool outgrew the budget: {spool_max} > {budget} + {slack}");

    outage.proxy.set_up();
    tokio::time::sleep(Duration::from_secs(10)).await;
    stop.store(true, Ordering::Relaxed);
    publisher.join().expect("publisher");
    let drained = Instant::now();
    let rows = wait_for("spool drained, copies follow the index", Duration::from_secs(120), async || {
        let rows = h.state.db.camera_recordings_all(&h.camera_id).await.expect("rows");
        let settled = spool_bytes(&h.state) == 0
            && rows.iter().all(|r| r.garbage == 0 && r.uploaded == 1)
            && outage.recordings() == indexed(&rows, &h.camera_id);
        settled.then_some(rows)
    })
    .await;
    let stored = outage.recordings();
    let matching = rows.iter().filter(|r| stored.get(&object_key(&h.camera_id, r.id)) == Some(&r.sha256)).count();
    eprintln!(
        "after the outage: {matching} of {} indexed segments in the store by checksum, drained in {:?}",
        rows.len(),
        drained.elapsed()
    );
    assert_eq!(matching, rows.len(), "every indexed segment is in the store with its checksum");
    assert!(rows.len() >= 30, "the camera kept its budget's worth: {}", rows.len());
    if let Some(r) = h.state.recorder.get() {
        r.stop().await;
    }
}

async fn rows_of(h: &Harness, camera_id: &str) -> Vec<RecordingRow> {
    h.state.db.camera_recordings_all(camera_id).await.expect("rows")
}

/// A camera created at run time is recorded through the API (`PUT /cameras/{id}/recording`)
/// without a restart: its segments appear, a changed budget applies at once, `DELETE` stops
/// recording (nothing more is written, the camera cannot be deleted while recorded), the
/// settings survive a restart, and the config's cameras are read-only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_is_recorded_changed_and_stopped_through_the_api() {
    let h = harness(|_| {}).await;
    let cam = create_camera(&h.state.db, "line-2").await;
    let uri = format!("/api/v1/cameras/{cam}/recording");
    let (status, _, _) = get(&h, &uri, true, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not recorded yet");

    // Bad settings, the config's camera, an unknown camera and a viewer are refused.
    for bad in [
        json!({ "segment_s": 0 }),
        json!({ "segment_s": 3601 }),
        json!({ "max_bytes": 0 }),
        json!({ "max_age_s": u64::MAX }),
        json!({ "segments": 2 }),
    ] {
        let (status, body) = send(&h, "PUT", &uri, bad.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {body}");
    }
    let config_uri = format!("/api/v1/cameras/{}/recording", h.camera_id);
    let (status, body) = send(&h, "PUT", &config_uri, json!({ "segment_s": 5 })).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body["error"]["message"].as_str().is_some_and(|m| m.contains("recording.cameras")), "{body}");
    assert_eq!(send(&h, "DELETE", &config_uri, Value::Null).await.0, StatusCode::CONFLICT);
    let (status, _, config_view) = get(&h, &config_uri, true, None).await;
    assert_eq!(status, StatusCode::OK);
    let config_view: Value = serde_json::from_slice(&config_view).expect("json");
    assert_eq!((config_view["source"].as_str(), config_view["recording"].as_bool()), (Some("config"), Some(true)));
    let (status, _) = send(&h, "PUT", "/api/v1/cameras/nope/recording", json!({})).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let viewer = h.state.jwt.issue("watcher", Role::Viewer, now_s()).expect("token");
    let req = Request::builder()
        .method("PUT")
        .uri(&uri)
        .header("authorization", format!("Bearer {viewer}"))
        .header("content-type", "application/json")
        .body(Body::from("{}"))
        .expect("request");
    assert_eq!(app(h.state.clone()).oneshot(req).await.expect("response").status(), StatusCode::FORBIDDEN);
    assert!(rows_of(&h, &cam).await.is_empty());

    // Recorded from now on: 201, then the clip's three segments.
    let (status, body) = send(&h, "PUT", &uri, json!({ "segment_s": 1 })).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(
        (body["source"].as_str(), body["who"].as_str(), body["recording"].as_bool()),
        (Some("api"), Some("tester"), Some(true)),
        "{body}"
    );
    let input = clip("h264_high_bpyramid_320x240_25.mp4");
    publish(&h.state, &cam, &input);
    let rows = wait_for("the API camera's segments", Duration::from_secs(20), async || {
        let rows = rows_of(&h, &cam).await;
        (rows.len() >= 3).then_some(rows)
    })
    .await;
    assert_eq!(rows.iter().map(|r| r.frame_count).collect::<Vec<_>>(), [30, 30, 15], "{rows:#?}");
    for r in &rows {
        let path = h.state.config.data_dir.join("recordings").join(&cam).join(format!("{}.m4s", r.id));
        assert_eq!(decode(&path), (r.frame_count as u64, String::new()), "{} decodes whole", path.display());
    }
    let (status, body) = send(&h, "GET", &uri, Value::Null).await;
    assert_eq!((status, body["segments_written"].as_u64()), (StatusCode::OK, Some(3)), "{body}");

    // A one-byte budget with one protected segment: retention runs at once (its timer is an
    // hour here) and keeps only the protected one.
    h.state
        .db
        .insert_protection(&cam, rows[1].start_ms, rows[1].start_ms + 1, "evidence", "tester", None)
        .await
        .expect("protect");
    let (status, body) = send(&h, "PUT", &uri, json!({ "segment_s": 1, "max_bytes": 1 })).await;
    assert_eq!((status, body["max_bytes"].as_u64()), (StatusCode::OK, Some(1)), "{body}");
    let left = wait_for("the new budget applied", Duration::from_secs(10), async || {
        let left: Vec<i64> = rows_of(&h, &cam).await.iter().map(|r| r.id).collect();
        (left.len() == 1).then_some(left)
    })
    .await;
    assert_eq!(left, [rows[1].id]);

    // Recorded cameras cannot be deleted; DELETE stops recording and the segments stay.
    let (status, body) = send(&h, "DELETE", &format!("/api/v1/cameras/{cam}"), Value::Null).await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(send(&h, "DELETE", &uri, Value::Null).await.0, StatusCode::NO_CONTENT);
    assert_eq!(send(&h, "DELETE", &uri, Value::Null).await.0, StatusCode::NOT_FOUND);
    assert_eq!(get(&h, &uri, true, None).await.0, StatusCode::NOT_FOUND);
    let recorder = h.state.recorder.get().expect("recorder");
    assert!(!recorder.records(&cam));
    publish(&h.state, &cam, &input);
    // The config's camera, published after, is recorded: by the time its segments are in,
    // the stopped camera's would be too.
    publish(&h.state, &h.camera_id, &input);
    rows_when(&h, 3).await;
    assert_eq!(
        rows_of(&h, &cam).await.iter().map(|r| r.id).collect::<Vec<_>>(),
        [rows[1].id],
        "nothing written after DELETE"
    );

    // Settings survive a restart; a new segment length restarts the camera's thread.
    let (status, _) = send(&h, "PUT", &uri, json!({ "segment_s": 1, "max_age_s": 86400 })).await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, body) = send(&h, "PUT", &uri, json!({ "segment_s": 2, "max_age_s": 86400 })).await;
    assert_eq!((status, body["segment_s"].as_u64()), (StatusCode::OK, Some(2)), "{body}");
    recorder.stop().await;
    let state2 = AppState { recorder: Arc::default(), ..h.state.clone() };
    let recorder2 = Recorder::start(&state2).await.expect("recorder");
    let settings = recorder2.recorded();
    let restarted = settings.iter().find(|c| c.camera_id == cam).expect("recorded after a restart");
    assert_eq!((restarted.segment_s, restarted.max_age_s, restarted.max_bytes), (2, Some(86400), None));
    assert!(settings.iter().any(|c| c.camera_id == h.camera_id), "the config's camera too");
    recorder2.stop().await;
}
