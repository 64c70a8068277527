//! `ifc serve` end to end: two real RTSP cameras (gst-rtsp-server serving the demo clip and a
//! second clip in real time) are added through the API and inspected with the demo pipeline;
//! the verdicts stored, streamed over WebSocket and streamed over gRPC (`Events.Watch`, live
//! and resumed) equal `ifc run`'s records for the same frames, gRPC's paged results equal
//! REST's, and the NG snapshots are in the object store. Each test runs on the embedded
//! defaults and on the servers (the backends matrix, `support/backends.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use ifc_integration_tests::backends::Backends;
use ifc_integration_tests::demo::{demo_clip_cut, demo_document, demo_model, ifc_run, read_jsonl};
use ifc_integration_tests::grpc::{pb, Grpc};
use ifc_integration_tests::rtsp_server::RtspServer;
use ifc_integration_tests::serve::{subscribe, wait_for, Api, ServeProcess};
use serde_json::{json, Value};

/// `ifc run`'s records of `clip` with the demo model, by frame index.
fn reference_records(clip: &Path, dir: &Path) -> BTreeMap<u64, Value> {
    let out = dir.join(format!("ref-{}", clip.file_stem().and_then(|s| s.to_str()).unwrap_or("x")));
    let model = demo_model();
    let run = ifc_run(
        &["--input", clip.to_str().expect("utf-8"), "--model", model.to_str().expect("utf-8"), "--out", out.to_str().expect("utf-8"), "--quiet"],
        dir,
    );
    assert!(run.status.success(), "ifc run: {}", String::from_utf8_lossy(&run.stderr));
    read_jsonl(&out.join("results.jsonl")).into_iter().map(|r| (r["frame_index"].as_u64().expect("index"), r)).collect()
}

/// Every result of `camera` over gRPC (`Results.ListResults`, following the cursor), as
/// (id, record).
fn grpc_results(grpc: &Grpc, camera: &str) -> Vec<(i64, Value)> {
    let mut out = Vec::new();
    let mut cursor = None;
    loop {
        let request =
            pb::ListResultsRequest { camera_id: Some(camera.to_owned()), cursor, limit: Some(500), ..Default::default() };
        let page = grpc
            .run(pb::results_client::ResultsClient::new(grpc.channel.clone()).list_results(grpc.request(request)))
            .expect("ListResults")
            .into_inner();
        out.extend(page.items.into_iter().map(|r| (r.id, serde_json::from_str(&r.record_json).expect("record JSON"))));
        match page.next_cursor {
            Some(c) => cursor = Some(c),
            None => return out,
        }
    }
}

/// Checks a streamed verdict event against `ifc run`'s record of its frame (first pass only);
/// returns its result id.
fn check_streamed_verdict(e: &Value, expected: &BTreeMap<&str, &BTreeMap<u64, Value>>) -> i64 {
    assert_eq!(e["topic"], "verdicts");
    let p = &e["payload"];
    let camera = p["camera_id"].as_str().expect("camera id");
    let index = p["frame_index"].as_u64().expect("frame index");
    if let Some(want) = expected[camera].get(&index) {
        assert_eq!(p["record"]["detections"], want["detections"], "streamed: camera {camera} frame {index}: detections");
        assert_eq!(p["record"]["verdict"], want["verdict"], "streamed: camera {camera} frame {index}: verdict");
    }
    p["result_id"].as_i64().expect("result id")
}

fn add_camera(api: &Api, name: &str, url: &str) -> String {
    let (status, camera) = api.post("/api/v1/cameras", &json!({"name": name, "kind": "rtsp", "url": url}));
    assert_eq!(status, 201, "add camera: {camera}");
    camera["id"].as_str().expect("id").to_owned()
}

#[test]
fn two_rtsp_cameras_give_ifc_runs_verdicts_over_rest_websocket_and_grpc() {
    two_rtsp_cameras(Backends::EMBEDDED);
}

#[test]
fn two_rtsp_cameras_give_ifc_runs_verdicts_on_postgres_s3_and_kafka() {
    two_rtsp_cameras(Backends::SERVERS);
}

fn two_rtsp_cameras(backends: Backends) {
    let servers = backends.start();
    let dir = tempfile::tempdir().expect("tempdir");
    // The demo clip (300 frames) and its frames 100..200 as a second clip; file names say the
    // codec for the RTSP test server.
    demo_clip_cut(dir.path(), 100, 100);
    let clip_a = dir.path().join("h264_conveyor.mp4");
    let clip_b = dir.path().join("h264_cut.mp4");
    std::fs::rename(dir.path().join("conveyor.mp4"), &clip_a).expect("rename");
    std::fs::rename(dir.path().join("cut.mp4"), &clip_b).expect("rename");
    let expected_a = reference_records(&clip_a, dir.path());
    let expected_b = reference_records(&clip_b, dir.path());
    assert_eq!((expected_a.len(), expected_b.len()), (300, 100), "ifc run infers every frame");

    let camera_a = RtspServer::start(clip_a.to_str().expect("utf-8"), None);
    let camera_b = RtspServer::start(clip_b.to_str().expect("utf-8"), None);
    let server = ServeProcess::start_on(&servers, &dir.path().join("data"), dir.path(), &[]);
    let api = server.admin();
    let token = api.token.clone().expect("logged in");
    let events = subscribe(&server, &token, "topics=verdicts");
    // gRPC on the same port (h2c), with the same access token.
    let grpc = Grpc::connect(server.addr).expect("gRPC connects").with_token(&token);
    let watched = grpc
        .watch(pb::WatchRequest { after_event_id: None, topics: vec!["verdicts".into()] })
        .expect("Events.Watch opens");

    let id_a = add_camera(&api, "line-a", &camera_a.url(""));
    let id_b = add_camera(&api, "line-b", &camera_b.url(""));
    let (status, pipeline) =
        api.post("/api/v1/pipelines", &json!({"name": "demo", "document": demo_document(&clip_a, dir.path())}));
    assert_eq!(status, 201, "pipeline: {pipeline}");
    let pipeline_id = pipeline["id"].as_str().expect("id");
    let mut inspections = Vec::new();
    for camera in [&id_a, &id_b] {
        let (status, inspection) =
            api.post("/api/v1/inspections", &json!({"camera_id": camera, "pipeline_id": pipeline_id, "lot": "L-001"}));
        assert_eq!(status, 201, "inspection: {inspection}");
        inspections.push(inspection["id"].as_str().expect("id").to_owned());
    }

    // Both clips play once in real time (12 s and 4 s); a camera that ends is reconnected and
    // plays again, with frame indices going on past the clip's, so the first pass is
    // `frame_index < frames`.
    for (inspection, frames) in inspections.iter().zip([300u64, 100]) {
        wait_for(Duration::from_secs(120), "the first pass of each clip to be decoded", || {
            let (_, v) = api.get(&format!("/api/v1/inspections/{inspection}"));
            (v["counters"]["frames_decoded"].as_u64().unwrap_or(0) >= frames).then_some(())
        });
    }
    for inspection in &inspections {
        let (status, v) = api.post(&format!("/api/v1/inspections/{inspection}/stop"), &json!({}));
        assert_eq!(status, 200, "stop: {v}");
        assert_eq!(v["state"], "stopped");
    }

    let mut stored_ids = BTreeSet::new();
    for (camera, expected) in [(&id_a, &expected_a), (&id_b, &expected_b)] {
        let results = api.all_results(&format!("camera_id={camera}"));
        stored_ids.extend(results.iter().map(|r| r["id"].as_i64().expect("id")));
        let over_grpc = grpc_results(&grpc, camera);
        let over_rest: Vec<(i64, Value)> =
            results.iter().map(|r| (r["id"].as_i64().expect("id"), r["record"].clone())).collect();
        assert!(over_grpc == over_rest, "camera {camera}: gRPC's ListResults differs from REST's /results");
        let first_pass: Vec<&Value> =
            results.iter().filter(|r| r["frame_index"].as_u64().is_some_and(|i| i < expected.len() as u64)).collect();
        assert!(
            first_pass.len() >= expected.len() / 10,
            "camera {camera}: only {} of {} frames inferred in the first pass",
            first_pass.len(),
            expected.len()
        );
        for r in &first_pass {
            let index = r["frame_index"].as_u64().expect("index");
            let want = &expected[&index];
            let got = &r["record"];
            assert_eq!(got["detections"], want["detections"], "camera {camera} frame {index}: detections");
            assert_eq!(got["verdict"], want["verdict"], "camera {camera} frame {index}: verdict");
            assert_eq!(r["lot"], "L-001");
        }
        let ng: Vec<&&Value> = first_pass.iter().filter(|r| r["verdict"] == "ng").collect();
        for r in ng.iter().filter(|r| !r["snapshot_url"].is_null()) {
            let (status, jpeg) = api.get_bytes(r["snapshot_url"].as_str().expect("url"));
            assert_eq!(status, 200);
            assert!(jpeg.starts_with(&[0xFF, 0xD8, 0xFF]), "a JPEG");
        }
    }
    // Camera A's clip has marked parts in its first pass (frames 100–149 and 250–299).
    let ng_a = api.all_results(&format!("camera_id={id_a}&verdict=ng"));
    assert!(!ng_a.is_empty(), "camera A: no NG verdict stored");
    assert!(ng_a.iter().any(|r| !r["snapshot_url"].is_null()), "camera A: no NG snapshot stored");
    // Every snapshot a result names is in the store itself (the bucket on S3), one object each.
    let mut with_snapshot = 0;
    for camera in [&id_a, &id_b] {
        with_snapshot += api.all_results(&format!("camera_id={camera}")).iter().filter(|r| !r["snapshot_url"].is_null()).count();
    }
    let stored = wait_for(Duration::from_secs(30), "one stored object per snapshot", || {
        let stored = servers.stored_objects(&server.data_dir);
        (stored.len() == with_snapshot).then_some(stored)
    });
    assert!(stored.iter().all(|k| k.starts_with("snapshots/") && k.ends_with(".jpg")), "{stored:?}");
    if let Some(rows) = servers.postgres_result_count() {
        assert_eq!(rows, stored_ids.len() as i64, "results in PostgreSQL");
    }

    // Every stored verdict came over the WebSocket, once.
    let mut streamed = BTreeSet::new();
    wait_for(Duration::from_secs(30), "every verdict on the WebSocket", || {
        while let Ok(e) = events.try_recv() {
            assert_eq!(e["topic"], "verdicts");
            let id = e["payload"]["result_id"].as_i64().expect("result id");
            assert!(streamed.insert(id), "result {id} streamed twice");
        }
        (streamed == stored_ids).then_some(())
    });

    // And over gRPC: the same verdicts, each once, with ifc run's records.
    let expected: BTreeMap<&str, &BTreeMap<u64, Value>> = [(id_a.as_str(), &expected_a), (id_b.as_str(), &expected_b)].into();
    let mut over_grpc = Vec::new();
    wait_for(Duration::from_secs(30), "every verdict over gRPC", || {
        while let Ok(item) = watched.try_recv() {
            let e = item.expect("the Watch stream stays open");
            over_grpc.push(e["id"].as_str().expect("event id").to_owned());
            assert!(streamed.remove(&check_streamed_verdict(&e, &expected)), "a result streamed twice over gRPC, or never stored");
        }
        streamed.is_empty().then_some(())
    });

    // Resumed from the first event: every later one again, from the store, in order.
    let resumed = grpc
        .watch(pb::WatchRequest { after_event_id: Some(over_grpc[0].clone()), topics: vec!["verdicts".into()] })
        .expect("Events.Watch resumes");
    let mut again = Vec::new();
    wait_for(Duration::from_secs(30), "the resumed gRPC feed", || {
        while let Ok(item) = resumed.try_recv() {
            let e = item.expect("the resumed stream stays open");
            check_streamed_verdict(&e, &expected);
            again.push(e["id"].as_str().expect("event id").to_owned());
        }
        (again.len() >= over_grpc.len() - 1).then_some(())
    });
    assert_eq!(again, over_grpc[1..], "resumed after the first event: the rest, in order");
}
