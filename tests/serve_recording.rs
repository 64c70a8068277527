//! `ifc serve` recording a real camera (a `file` camera: the demo clip replayed in real time,
//! its feed filled by the service's ingest) while an inspection runs on it: every indexed
//! segment downloads, matches its checksum and decodes whole in ffmpeg; NG verdicts protect
//! their pre/post-roll window, and the export of that window starts at a key frame, decodes and
//! contains the NG moment; `kill -9` of the server at random moments loses at most the
//! unfinished segment and leaves no orphan file.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ifc_integration_tests::demo::demo_clip;
use ifc_integration_tests::serve::{wait_for, Api, ServeProcess};
use ifc_integration_tests::serve_steps::{add_camera, add_pipeline, start_inspection};
use serde_json::Value;
use sha2::Digest;

const PRE_ROLL_MS: i64 = 1500;
const POST_ROLL_MS: i64 = 1500;

fn write_config(path: &Path, cameras: &[&str]) {
    let mut yaml = format!(
        "recording:\n  retention_interval_s: 1\n  min_free_bytes: 0\n  ng_pre_roll_ms: {PRE_ROLL_MS}\n  ng_post_roll_ms: {POST_ROLL_MS}\n  cameras:\n"
    );
    if cameras.is_empty() {
        yaml = yaml.replace("  cameras:\n", "  cameras: []\n");
    }
    for id in cameras {
        yaml.push_str(&format!("    - camera_id: {id}\n      segment_s: 2\n"));
    }
    std::fs::write(path, yaml).expect("config");
}

/// A server with one file camera recorded and inspected with the demo pipeline.
fn recorded_camera(dir: &Path) -> (ServeProcess, String, PathBuf) {
    let clip = demo_clip(dir);
    let config = dir.join("serve.yaml");
    write_config(&config, &[]);
    let config_arg = config.display().to_string();
    let mut server = ServeProcess::start_with_args(&dir.join("data"), dir, &[], &["--config", &config_arg]);
    let api = server.admin();
    let camera = add_camera(&api, "line-1", "file", &clip.display().to_string());
    let pipeline = add_pipeline(&api);
    // Recording is configuration: name the camera and restart.
    write_config(&config, &[&camera]);
    assert!(server.terminate(Duration::from_secs(20)), "graceful stop");
    server.restart();
    start_inspection(&server.admin(), &camera, &pipeline);
    let segments = server_segment_dir(dir, &camera);
    (server, camera, segments)
}

fn server_segment_dir(dir: &Path, camera: &str) -> PathBuf {
    dir.join("data/recordings").join(camera)
}

fn recordings(api: &Api, camera: &str) -> Vec<Value> {
    let (status, list) = api.get(&format!("/api/v1/cameras/{camera}/recordings?from_ms=0&to_ms={}", i64::MAX / 2));
    assert_eq!(status, 200, "{list}");
    list.as_array().expect("list").clone()
}

/// Decodes a file whole: (frames, what ffmpeg warned).
fn decode(path: &Path) -> (u64, String) {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "warning", "-i"])
        .arg(path)
        .args(["-f", "framemd5", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success(), "ffmpeg {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    let frames = String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.starts_with('#')).count() as u64;
    (frames, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Every listed segment, downloaded: its checksum, and a whole decode without warnings.
fn check_segments(api: &Api, list: &[Value], scratch: &Path) {
    for r in list {
        let id = r["id"].as_i64().expect("id");
        let (status, bytes) = api.get_bytes(&format!("/api/v1/recordings/{id}/file"));
        assert_eq!(status, 200, "segment {id}");
        assert_eq!(
            format!("{:x}", sha2::Sha256::digest(&bytes)),
            r["sha256"].as_str().expect("sha256"),
            "segment {id}: checksum"
        );
        let path = scratch.join(format!("{id}.mp4"));
        std::fs::write(&path, &bytes).expect("write");
        assert_eq!(
            decode(&path),
            (r["frame_count"].as_u64().expect("frames"), String::new()),
            "segment {id} decodes whole"
        );
    }
}

#[test]
fn a_recorded_camera_decodes_and_an_ng_verdict_protects_a_window_whose_export_contains_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, camera, _) = recorded_camera(dir.path());
    let api = server.admin();
    // An NG verdict (the clip's marked parts), and recording past its post-roll.
    let ng = wait_for(Duration::from_secs(120), "an NG verdict", || {
        api.all_results(&format!("camera_id={camera}&verdict=ng")).into_iter().next()
    });
    let ng_ms = ng["wall_ms"].as_i64().expect("wall_ms");
    wait_for(Duration::from_secs(60), "recordings past the NG window", || {
        let list = recordings(&api, &camera);
        list.iter().any(|r| r["start_ms"].as_i64().unwrap_or(0) > ng_ms + POST_ROLL_MS).then_some(())
    });
    let list = recordings(&api, &camera);
    assert!(list.len() >= 3, "{list:#?}");
    check_segments(&api, &list, dir.path());

    let (status, protections) = api.get(&format!("/api/v1/cameras/{camera}/protections"));
    assert_eq!(status, 200);
    let covering = protections.as_array().expect("list").iter().find(|p| {
        p["who"] == "ng-verdict"
            && p["from_ms"].as_i64() <= Some(ng_ms - PRE_ROLL_MS)
            && p["to_ms"].as_i64() >= Some(ng_ms + POST_ROLL_MS)
    });
    assert!(covering.is_some(), "the NG verdict at {ng_ms} protects its window: {protections:#}");

    let (from_ms, to_ms) = (ng_ms - PRE_ROLL_MS, ng_ms + POST_ROLL_MS);
    let response = ureq::get(&server.url(&format!("/api/v1/cameras/{camera}/export?from_ms={from_ms}&to_ms={to_ms}")))
        .set("Authorization", &format!("Bearer {}", api.token.clone().expect("token")))
        .call()
        .expect("export");
    let start_ms: i64 = response.header("x-ifc-start-ms").expect("start header").parse().expect("ms");
    let mut mp4 = Vec::new();
    std::io::Read::read_to_end(&mut response.into_reader(), &mut mp4).expect("body");
    let path = dir.path().join("ng-window.mp4");
    std::fs::write(&path, &mp4).expect("write");
    let (frames, warnings) = decode(&path);
    assert_eq!(warnings, "", "the export decodes without warnings");
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts,flags", "-of", "csv=p=0"])
        .arg(&path)
        .output()
        .expect("ffprobe");
    let packets: Vec<(i64, bool)> = String::from_utf8_lossy(&probe.stdout)
        .lines()
        .map(|l| {
            let (pts, flags) = l.split_once(',').expect("pts,flags");
            (pts.parse().expect("pts"), flags.starts_with('K'))
        })
        .collect();
    assert_eq!(frames, packets.len() as u64, "every packet decodes");
    assert!(packets[0].1, "the export starts at a key frame");
    let end_ms = start_ms + packets.iter().map(|p| p.0).max().unwrap_or(0) / 90;
    assert!(
        start_ms <= from_ms && to_ms <= end_ms + 100,
        "covers the window [{from_ms}, {to_ms}): [{start_ms}, {end_ms}]"
    );
    assert!(start_ms <= ng_ms && ng_ms <= end_ms, "contains the NG moment {ng_ms}");
}

/// xorshift64*: the kill moments, reproducible from the printed seed.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

#[test]
fn kill9_of_the_server_while_recording_leaves_only_whole_indexed_segments() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut server, camera, segment_dir) = recorded_camera(dir.path());
    let mut seed =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1)
            | 1;
    println!("kill -9 moments: seed {seed}");
    let began = Instant::now();
    let mut kills = 0;
    let mut checked = std::collections::HashSet::new();
    while kills < 20 && began.elapsed() < Duration::from_secs(240) {
        std::thread::sleep(Duration::from_millis(500 + next(&mut seed) % 5000));
        server.kill9();
        kills += 1;
        server.restart();
        let api = server.admin();
        // Recovery runs before the recorder records again: wait until the directory and the
        // index agree (at most the new run's part file in between).
        let list = recordings(&api, &camera);
        let indexed: std::collections::BTreeSet<String> =
            list.iter().map(|r| format!("{}.m4s", r["id"].as_i64().unwrap_or(0))).collect();
        let on_disk: std::collections::BTreeSet<String> = std::fs::read_dir(&segment_dir)
            .expect("segment dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .filter(|n| !n.ends_with(".part"))
            .collect();
        let orphans: Vec<&String> = on_disk.difference(&indexed).collect();
        // A segment committed between the listing and the directory read is not an orphan.
        let newest = list.iter().filter_map(|r| r["id"].as_i64()).max().unwrap_or(0);
        assert!(
            orphans.iter().all(|n| n.trim_end_matches(".m4s").parse::<i64>().is_ok_and(|id| id > newest)),
            "kill {kills}: orphan files {orphans:?}"
        );
        let fresh: Vec<Value> = list.into_iter().filter(|r| checked.insert(r["id"].as_i64().unwrap_or(0))).collect();
        check_segments(&api, &fresh, dir.path());
    }
    println!(
        "kill -9 of ifc serve: {kills} kills in {:.0} s, {} segments checked",
        began.elapsed().as_secs_f64(),
        checked.len()
    );
    assert!(kills >= 10, "only {kills} kills in the time budget");
    assert!(checked.len() >= 5, "recorded {} segments", checked.len());
}
