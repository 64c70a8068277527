//! `ifc serve` with the Kafka bus (a real tansu broker): the verdict events consumed from the
//! broker equal the ones the WebSocket feed gives (ids and whole envelopes), each keyed by its
//! camera, with payloads as schema/events.schema.json says; `/readyz` follows the broker, and
//! a broker that is gone does not hold the shutdown.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use ifc_integration_tests::demo::{demo_clip_cut, demo_document, repo};
use ifc_integration_tests::kafka::{consume, Broker};
use ifc_integration_tests::serve::{subscribe, wait_for, ServeProcess};
use serde_json::{json, Value};

/// The property names of a definition in schema/events.schema.json.
fn schema_properties(definition: &str) -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo().join("schema/events.schema.json")).expect("events schema");
    let schema: Value = serde_json::from_str(&text).expect("JSON");
    schema["definitions"][definition]["properties"]
        .as_object()
        .unwrap_or_else(|| panic!("{definition} in the events schema"))
        .keys()
        .cloned()
        .collect()
}

#[test]
fn verdicts_from_kafka_equal_the_websocket_feed() {
    let mut broker = Broker::start();
    let dir = tempfile::tempdir().expect("tempdir");
    // Frames 100..150 of the demo clip: 2 s, marked parts among them (NG verdicts, snapshots).
    let clip = demo_clip_cut(dir.path(), 100, 50);
    let bootstrap = broker.bootstrap();
    let env = broker.serve_env("e2e.");
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let server = ServeProcess::start(&dir.path().join("data"), dir.path(), &env);
    let open = server.client();
    let (status, ready) = open.get("/readyz");
    assert_eq!((status, &ready["bus"]), (200, &json!("ok")), "readyz: {ready}");

    let api = server.admin();
    let token = api.token.clone().expect("logged in");
    let feed = subscribe(&server, &token, "topics=verdicts");
    let (status, camera) =
        api.post("/api/v1/cameras", &json!({"name": "line", "kind": "file", "url": clip.to_str().expect("utf-8")}));
    assert_eq!(status, 201, "camera: {camera}");
    let camera_id = camera["id"].as_str().expect("id").to_owned();
    let (status, pipeline) =
        api.post("/api/v1/pipelines", &json!({"name": "demo", "document": demo_document(&clip, dir.path())}));
    assert_eq!(status, 201, "pipeline: {pipeline}");
    let (status, inspection) = api.post(
        "/api/v1/inspections",
        &json!({"camera_id": camera_id, "pipeline_id": pipeline["id"], "lot": "L-K"}),
    );
    assert_eq!(status, 201, "inspection: {inspection}");
    let inspection_id = inspection["id"].as_str().expect("id");
    wait_for(Duration::from_secs(120), "30 stored results", || {
        (api.all_results(&format!("camera_id={camera_id}")).len() >= 30).then_some(())
    });
    let (status, v) = api.post(&format!("/api/v1/inspections/{inspection_id}/stop"), &json!({}));
    assert_eq!(status, 200, "stop: {v}");
    let stored: BTreeSet<i64> =
        api.all_results(&format!("camera_id={camera_id}")).iter().map(|r| r["id"].as_i64().expect("id")).collect();

    // Every stored verdict on the WebSocket (after the broker acknowledged it).
    let mut streamed: BTreeMap<String, Value> = BTreeMap::new();
    wait_for(Duration::from_secs(60), "every verdict on the WebSocket", || {
        while let Ok(e) = feed.try_recv() {
            streamed.insert(e["id"].as_str().expect("id").to_owned(), e);
        }
        let ids: BTreeSet<i64> = streamed.values().map(|e| e["payload"]["result_id"].as_i64().expect("result")).collect();
        (ids == stored).then_some(())
    });

    // The same events from the broker: same ids, same envelopes, keyed by the camera.
    let want: BTreeSet<String> = streamed.keys().cloned().collect();
    let consumed = consume(&bootstrap, "e2e.verdicts", Duration::from_secs(60), |got| {
        let seen: BTreeSet<&String> = got.iter().map(|m| &m.event_id).collect();
        want.iter().all(|id| seen.contains(id))
    });
    let from_kafka: BTreeMap<String, Value> = consumed.iter().map(|m| (m.event_id.clone(), m.value.clone())).collect();
    assert_eq!(from_kafka.keys().collect::<Vec<_>>(), streamed.keys().collect::<Vec<_>>(), "the same event ids");
    for m in &consumed {
        assert_eq!(m.value, streamed[&m.event_id], "event {}: Kafka and WebSocket differ", m.event_id);
        assert_eq!(m.key, camera_id, "the message key is the camera");
    }
    eprintln!("{} verdict events, {} messages from the broker: equal", streamed.len(), consumed.len());
    let payload_keys: BTreeSet<String> =
        consumed[0].value["payload"].as_object().expect("payload").keys().cloned().collect();
    assert_eq!(payload_keys, schema_properties("VerdictPayload"), "verdict payloads as the schema says");
    assert!(streamed.values().any(|e| e["payload"]["verdict"] == "ng"), "the marked parts give NG verdicts");

    // The broker gone: not ready, saying why.
    broker.stop();
    let (status, ready) = open.get("/readyz");
    assert_eq!(status, 503, "readyz without a broker: {ready}");
    assert!(ready["bus"].as_str().is_some_and(|b| b.contains("kafka")), "{ready}");
    // A dead broker does not hold the shutdown (the relay's flush is bounded).
    let mut server = server;
    let started = std::time::Instant::now();
    assert!(server.terminate(Duration::from_secs(30)), "ifc serve exits 0 on SIGTERM with the broker gone");
    eprintln!("stopped in {:?} with the broker gone", started.elapsed());
}
