//! The hostile-peer kit against `ifc serve`: one camera per misbehaviour (slow-loris answers,
//! endless interleaved junk, lying Content-Length, CSeq mismatches, absurd SDP sizes, parameter
//! sets declaring huge pictures, fragments that never make a picture, random RTP), all at once
//! beside a good camera. Each hostile camera gets a typed error (its status leaves `connecting`
//! for `backoff` or `error`, with a reason) within its deadline; the server's memory stays
//! under a stated bound; the good camera keeps its rate with no error and no reconnect.

use std::time::{Duration, Instant};

use ifc_integration_tests::hostile_peer::{resident_bytes, HostilePeer, Misbehaviour};
use ifc_integration_tests::rtsp_server::RtspServer;
use ifc_integration_tests::serve::{wait_for, ServeProcess};
use ifc_integration_tests::serve_steps::{
    add_camera, add_pipeline, camera_state, camera_status, counter, inspection, long_clip, start_inspection, SAMPLED_FPS,
};

/// The RTSP client's longest default wait (20 s for a first picture) plus room for a loaded
/// machine.
const DEADLINE: Duration = Duration::from_secs(40);
/// Growth of the server's resident set allowed while eight peers keep sending.
const MEMORY_BOUND_BYTES: u64 = 128 << 20;

const MISBEHAVIOURS: [Misbehaviour; 9] = [
    Misbehaviour::SlowLoris,
    Misbehaviour::EndlessEmptyFrames,
    Misbehaviour::EndlessInterleavedJunk,
    Misbehaviour::LyingContentLength,
    Misbehaviour::CseqMismatch,
    Misbehaviour::AbsurdSdpSize,
    Misbehaviour::HugePictureParameterSets,
    Misbehaviour::NeverAPicture,
    Misbehaviour::RandomRtp,
];

#[test]
fn every_misbehaving_camera_fails_alone_within_its_deadline_with_bounded_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    // 60 s: the good camera does not end (and reconnect) during the test.
    let good_clip = long_clip(dir.path());
    let good_camera = RtspServer::start(good_clip.to_str().expect("utf-8"), None);
    let server = ServeProcess::start(&dir.path().join("data"), dir.path(), &[]);
    let api = server.admin();
    let pipeline = add_pipeline(&api);
    let good = add_camera(&api, "good", "rtsp", &good_camera.url(""));
    let good_inspection = start_inspection(&api, &good, &pipeline);
    wait_for(Duration::from_secs(60), "the good camera inferring", || {
        (counter(&api, &good_inspection, "frames_inferred") >= 5).then_some(())
    });
    let rss_before = resident_bytes(&server.pid().to_string());

    let peers: Vec<(Misbehaviour, HostilePeer)> = MISBEHAVIOURS.iter().map(|&m| (m, HostilePeer::start(m))).collect();
    let started = Instant::now();
    let cameras: Vec<(Misbehaviour, String)> = peers
        .iter()
        .map(|(m, peer)| {
            let camera = add_camera(&api, &format!("{m:?}"), "rtsp", &peer.url());
            start_inspection(&api, &camera, &pipeline);
            (*m, camera)
        })
        .collect();
    let good_start = (counter(&api, &good_inspection, "frames_inferred"), Instant::now());

    let mut failed_after = std::collections::BTreeMap::new();
    let mut peak_rss = rss_before;
    while failed_after.len() < cameras.len() && started.elapsed() < DEADLINE {
        for (m, camera) in &cameras {
            if failed_after.contains_key(&format!("{m:?}")) {
                continue;
            }
            let status = camera_status(&api, camera);
            if ["backoff", "error"].contains(&status["state"].as_str().unwrap_or_default()) {
                let reason = status["reason"].as_str().unwrap_or_default().to_owned();
                assert!(!reason.is_empty(), "{m:?}: a failure without a reason: {status}");
                failed_after.insert(format!("{m:?}"), (started.elapsed(), reason));
            }
        }
        peak_rss = peak_rss.max(resident_bytes(&server.pid().to_string()));
        std::thread::sleep(Duration::from_millis(200));
    }
    for (m, (after, reason)) in &failed_after {
        eprintln!("{m}: failed after {after:?}: {reason}");
    }
    let missing: Vec<String> =
        cameras.iter().map(|(m, _)| format!("{m:?}")).filter(|m| !failed_after.contains_key(m)).collect();
    assert!(missing.is_empty(), "no typed error within {DEADLINE:?} for {missing:?}");
    let grew = peak_rss.saturating_sub(rss_before);
    eprintln!("resident set: {} MiB before, peak {} MiB (+{} MiB)", rss_before >> 20, peak_rss >> 20, grew >> 20);
    assert!(grew < MEMORY_BOUND_BYTES, "ifc serve grew by {} MiB under the hostile peers", grew >> 20);

    // The good camera: its rate over the whole episode, no errors, no reconnects.
    std::thread::sleep(Duration::from_secs(3));
    let c = inspection(&api, &good_inspection)["counters"].clone();
    let rate = c["frames_inferred"].as_u64().unwrap_or(0).saturating_sub(good_start.0) as f64 / good_start.1.elapsed().as_secs_f64();
    assert!((rate - SAMPLED_FPS).abs() < 0.10 * SAMPLED_FPS, "the good camera inferred {rate:.2}/s, sampled at {SAMPLED_FPS}/s");
    assert_eq!((c["decode_errors"].as_u64(), c["reconnects"].as_u64()), (Some(0), Some(0)), "good camera: {c}");
    assert_eq!(camera_state(&api, &good), "live");
    assert_eq!(api.get("/readyz").0, 200);
}
