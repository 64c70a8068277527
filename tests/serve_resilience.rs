//! `ifc serve` when things break: the process killed with SIGKILL mid-inspection, a camera
//! killed and brought back, cameras that send garbage. Real processes throughout: `ifc serve`,
//! gst-rtsp-server cameras, scripted hostile RTSP peers.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use ifc_integration_tests::demo::demo_clip;
use ifc_integration_tests::hostile_peer::{HostilePeer, Misbehaviour};
use ifc_integration_tests::rtsp_server::RtspServer;
use ifc_integration_tests::serve::{subscribe, wait_for, Api, ServeProcess};
use ifc_integration_tests::serve_steps::{
    add_camera, add_pipeline, camera_state, counter, inspection, long_clip, start_inspection, SAMPLED_FPS,
};
use serde_json::json;

/// The tests here measure rates: one at a time, so that they do not take each other's cores.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Frames inferred per second for `inspection` over `window`.
fn inferred_rate(api: &Api, inspection: &str, window: Duration) -> f64 {
    let (start, t0) = (counter(api, inspection, "frames_inferred"), Instant::now());
    std::thread::sleep(window);
    let end = counter(api, inspection, "frames_inferred");
    end.saturating_sub(start) as f64 / t0.elapsed().as_secs_f64()
}

/// `PRAGMA integrity_check` of an SQLite file, by Python's sqlite3 (a reader that is not ifc).
fn sqlite_integrity(path: &Path) -> String {
    let out = Command::new("python3")
        .args(["-c", "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('pragma integrity_check').fetchone()[0])"])
        .arg(path)
        .output()
        .expect("python3");
    assert!(out.status.success(), "integrity check: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn kill_9_during_inspection_keeps_the_database_the_outbox_and_the_running_inspections() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = demo_clip(dir.path());
    let mut server = ServeProcess::start(&dir.path().join("data"), dir.path(), &[]);
    let api = server.admin();
    let token = api.token.clone().expect("token");
    let live = subscribe(&server, &token, "topics=verdicts");
    let camera = add_camera(&api, "line-file", "file", clip.to_str().expect("utf-8"));
    let pipeline = add_pipeline(&api);
    let inspection_id = start_inspection(&api, &camera, &pipeline);

    let first_event = live.recv_timeout(Duration::from_secs(60)).expect("a verdict event");
    let first_event_id = first_event["id"].as_str().expect("event id").to_owned();
    wait_for(Duration::from_secs(60), "20 results before the kill", || {
        (api.all_results(&format!("camera_id={camera}")).len() >= 20).then_some(())
    });
    server.kill9();
    assert_eq!(sqlite_integrity(&dir.path().join("data/ifc.sqlite")), "ok", "the database after SIGKILL");

    server.restart();
    let api = server.admin();
    // The inspection that was running runs again, by itself.
    wait_for(Duration::from_secs(60), "the inspection to run again after the restart", || {
        let v = inspection(&api, &inspection_id);
        (v["state"] == "running" && v["counters"]["frames_inferred"].as_u64().unwrap_or(0) >= 10).then_some(())
    });
    let (status, v) = api.post(&format!("/api/v1/inspections/{inspection_id}/stop"), &json!({}));
    assert_eq!(status, 200, "stop: {v}");

    // Every stored result has its verdict event, once: the outbox went on from where it stopped.
    let stored: BTreeSet<i64> = api.all_results(&format!("camera_id={camera}")).iter().filter_map(|r| r["id"].as_i64()).collect();
    let first_result = first_event["payload"]["result_id"].as_i64().expect("result id");
    let expected: BTreeSet<i64> = stored.range(first_result + 1..).copied().collect();
    let replay = subscribe(&server, &token, &format!("topics=verdicts&after={first_event_id}"));
    let mut streamed = BTreeSet::new();
    wait_for(Duration::from_secs(60), "every stored verdict from the resumed feed", || {
        while let Ok(e) = replay.try_recv() {
            let id = e["payload"]["result_id"].as_i64().expect("result id");
            assert!(streamed.insert(id), "result {id} has two verdict events");
        }
        (streamed.is_superset(&expected)).then_some(())
    });
    assert_eq!(sqlite_integrity(&dir.path().join("data/ifc.sqlite")), "ok");
}

#[test]
fn a_camera_killed_and_restarted_goes_live_backoff_live_and_the_other_keeps_its_rate() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = long_clip(dir.path());
    let clip = clip.to_str().expect("utf-8");
    let mut camera_a = RtspServer::start(clip, None);
    let camera_b = RtspServer::start(clip, None);
    let server = ServeProcess::start(&dir.path().join("data"), dir.path(), &[]);
    let api = server.admin();
    let statuses = subscribe(&server, &api.token.clone().expect("token"), "topics=camera-status");
    let id_a = add_camera(&api, "line-a", "rtsp", &camera_a.url(""));
    let id_b = add_camera(&api, "line-b", "rtsp", &camera_b.url(""));
    let pipeline = add_pipeline(&api);
    let inspection_a = start_inspection(&api, &id_a, &pipeline);
    let inspection_b = start_inspection(&api, &id_b, &pipeline);
    wait_for(Duration::from_secs(60), "both cameras inferring", || {
        (counter(&api, &inspection_a, "frames_inferred") >= 5 && counter(&api, &inspection_b, "frames_inferred") >= 5)
            .then_some(())
    });

    let window = Duration::from_secs(8);
    let rate_before = inferred_rate(&api, &inspection_b, window);
    // Camera A goes away for a few seconds and comes back on its address; B's rate is measured
    // over the same span.
    let (b_start, t0) = (counter(&api, &inspection_b, "frames_inferred"), Instant::now());
    let port_a = camera_a.port;
    camera_a.kill();
    wait_for(Duration::from_secs(30), "camera A in backoff", || (camera_state(&api, &id_a) == "backoff").then_some(()));
    std::thread::sleep(Duration::from_secs(3));
    let _camera_a = RtspServer::start_on(port_a, clip, None, &[]);
    let a_inferred = counter(&api, &inspection_a, "frames_inferred");
    wait_for(Duration::from_secs(60), "camera A live and inferring again", || {
        (camera_state(&api, &id_a) == "live" && counter(&api, &inspection_a, "frames_inferred") > a_inferred + 5)
            .then_some(())
    });
    std::thread::sleep(window.saturating_sub(t0.elapsed()));
    let rate_during = counter(&api, &inspection_b, "frames_inferred").saturating_sub(b_start) as f64 / t0.elapsed().as_secs_f64();
    assert!(
        (rate_during - rate_before).abs() < 0.10 * rate_before,
        "camera B's inferred rate changed from {rate_before:.2}/s to {rate_during:.2}/s while A was down"
    );
    assert!((rate_before - SAMPLED_FPS).abs() < 0.10 * SAMPLED_FPS, "camera B inferred {rate_before:.2}/s, sampled at {SAMPLED_FPS}/s");

    // A's status went live → backoff → live, as events.
    let mut states_a = Vec::new();
    while let Ok(e) = statuses.try_recv() {
        if e["payload"]["camera_id"] == id_a.as_str() {
            states_a.push(e["payload"]["status"]["state"].as_str().unwrap_or_default().to_owned());
        }
    }
    let live_backoff_live = states_a
        .iter()
        .position(|s| s == "live")
        .and_then(|i| states_a[i..].iter().position(|s| s == "backoff").map(|j| i + j))
        .is_some_and(|j| states_a[j..].iter().any(|s| s == "live"));
    assert!(live_backoff_live, "camera A's status events: {states_a:?}");
    assert_eq!(counter(&api, &inspection_b, "reconnects"), 0, "camera B reconnected");
}

#[test]
fn cameras_sending_garbage_get_errors_of_their_own_and_the_good_camera_is_untouched() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = long_clip(dir.path());
    let good_camera = RtspServer::start(clip.to_str().expect("utf-8"), None);
    // Random bytes as interleaved RTP after a proper PLAY.
    let random_rtp = HostilePeer::start(Misbehaviour::RandomRtp);
    // A real encoder's stream with broken NAL units: ffmpeg's noise filter corrupts one byte in
    // 200 of every packet, so slices decode with errors.
    let noisy = dir.path().join("h264_noisy.mp4");
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(&clip)
        .args(["-t", "30", "-c", "copy", "-bsf:v", "noise=amount=200"])
        .arg(&noisy)
        .status()
        .expect("ffmpeg");
    assert!(status.success(), "ffmpeg noise bsf failed");
    let noisy_camera = RtspServer::start(noisy.to_str().expect("utf-8"), None);

    let server = ServeProcess::start(&dir.path().join("data"), dir.path(), &[]);
    let api = server.admin();
    let statuses = subscribe(&server, &api.token.clone().expect("token"), "topics=camera-status,inspection-status");
    let pipeline = add_pipeline(&api);
    let good = add_camera(&api, "good", "rtsp", &good_camera.url(""));
    let random = add_camera(&api, "random-rtp", "rtsp", &random_rtp.url());
    let broken = add_camera(&api, "broken-nal", "rtsp", &noisy_camera.url(""));
    let good_inspection = start_inspection(&api, &good, &pipeline);
    let random_inspection = start_inspection(&api, &random, &pipeline);
    let broken_inspection = start_inspection(&api, &broken, &pipeline);

    wait_for(Duration::from_secs(60), "the garbage to show as errors of the garbage cameras", || {
        let random_failed = ["backoff", "error"].contains(&camera_state(&api, &random).as_str())
            || counter(&api, &random_inspection, "decode_errors") > 0;
        let broken_failed = counter(&api, &broken_inspection, "decode_errors") > 0
            || ["backoff", "error"].contains(&camera_state(&api, &broken).as_str());
        (random_failed && broken_failed).then_some(())
    });
    for (camera, inspection_id) in [(&random, &random_inspection), (&broken, &broken_inspection)] {
        let (_, c) = api.get(&format!("/api/v1/cameras/{camera}"));
        eprintln!("garbage camera {}: status {}, counters {}", c["name"], c["status"], inspection(&api, inspection_id)["counters"]);
    }
    let rate = inferred_rate(&api, &good_inspection, Duration::from_secs(8));
    assert!((rate - SAMPLED_FPS).abs() < 0.10 * SAMPLED_FPS, "the good camera inferred {rate:.2}/s, sampled at {SAMPLED_FPS}/s");
    let good_now = inspection(&api, &good_inspection);
    assert_eq!(good_now["state"], "running", "{good_now}");
    assert_eq!(good_now["counters"]["decode_errors"], 0, "{good_now}");
    assert_eq!(good_now["counters"]["reconnects"], 0, "{good_now}");
    assert_eq!(camera_state(&api, &good), "live");
    // No status event of the good camera other than connecting and live; the server answers.
    while let Ok(e) = statuses.try_recv() {
        if e["payload"]["camera_id"] == good.as_str() {
            let state = e["payload"]["status"]["state"].as_str().or(e["payload"]["state"].as_str()).unwrap_or_default();
            assert!(["connecting", "live", "running"].contains(&state), "good camera event: {e}");
        }
    }
    let (status, _) = api.get("/readyz");
    assert_eq!(status, 200);
    let good_results = api.all_results(&format!("camera_id={good}"));
    assert!(good_results.iter().all(|r| r["record"]["detections"].is_array()), "the good camera's results are whole");
}

/// Two inspections on one camera share its one ingest: stopping the first leaves the camera's
/// session alone (no new connection, the second goes on inferring); stopping the last ends the
/// ingest (the camera goes idle); starting again connects again.
#[test]
fn inspections_of_one_camera_share_its_ingest_until_the_last_stops() {
    let _serial = one_at_a_time();
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = long_clip(dir.path());
    let camera_server = RtspServer::start(clip.to_str().expect("utf-8"), None);
    let server = ServeProcess::start(&dir.path().join("data"), dir.path(), &[]);
    let api = server.admin();
    let statuses = subscribe(&server, &api.token.clone().expect("token"), "topics=camera-status");
    let camera = add_camera(&api, "line-shared", "rtsp", &camera_server.url(""));
    let pipeline = add_pipeline(&api);
    let first = start_inspection(&api, &camera, &pipeline);
    let second = start_inspection(&api, &camera, &pipeline);
    wait_for(Duration::from_secs(60), "both inspections inferring", || {
        (counter(&api, &first, "frames_inferred") >= 5 && counter(&api, &second, "frames_inferred") >= 5).then_some(())
    });
    assert_eq!(camera_state(&api, &camera), "live");
    let states = |rx: &std::sync::mpsc::Receiver<serde_json::Value>| -> Vec<String> {
        rx.try_iter().map(|e| e["payload"]["status"]["state"].as_str().unwrap_or_default().to_owned()).collect()
    };
    let before = states(&statuses);
    assert_eq!(before, ["connecting", "live"], "one ingest for both inspections: {before:?}");

    let (status, v) = api.post(&format!("/api/v1/inspections/{first}/stop"), &json!({}));
    assert_eq!(status, 200, "stop: {v}");
    let inferred = counter(&api, &second, "frames_inferred");
    wait_for(Duration::from_secs(30), "the second inspection to go on", || {
        (counter(&api, &second, "frames_inferred") > inferred + 10).then_some(())
    });
    assert_eq!(camera_state(&api, &camera), "live");
    assert_eq!(states(&statuses), Vec::<String>::new(), "the camera's session was not touched");

    let (status, v) = api.post(&format!("/api/v1/inspections/{second}/stop"), &json!({}));
    assert_eq!(status, 200, "stop: {v}");
    wait_for(Duration::from_secs(30), "the camera to go idle", || (camera_state(&api, &camera) == "idle").then_some(()));
    let (status, v) = api.post(&format!("/api/v1/inspections/{second}/start"), &json!({}));
    assert_eq!(status, 200, "start again: {v}");
    wait_for(Duration::from_secs(60), "the camera live again", || (camera_state(&api, &camera) == "live").then_some(()));
}
