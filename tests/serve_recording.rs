//! `ifc serve` recording a real camera (a `file` camera: the demo clip replayed in real time,
//! its feed filled by the service's ingest) while an inspection runs on it: every indexed
//! segment downloads, matches its checksum and decodes whole in ffmpeg; NG verdicts protect
//! their pre/post-roll window, and the export of that window starts at a key frame, decodes and
//! contains the NG moment; the same operations over gRPC (`ifc.v1.Recordings`) give the same
//! answers and the same bytes; `kill -9` of the server at random moments loses at most the
//! unfinished segment and leaves no orphan file.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use ifc_integration_tests::demo::demo_clip;
use ifc_integration_tests::grpc::{pb, Grpc};
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

    grpc_gives_the_same_recordings(&server, &camera, &list, (from_ms, to_ms), (start_ms, &mp4));
}

/// `ifc.v1.Recordings` against what REST gave: the listing, the export's bytes, protections
/// and the recording settings of a config-recorded and of an API-recorded camera.
// tonic's calls return `Status` by value; the closures here pass them on.
#[allow(clippy::result_large_err)]
fn grpc_gives_the_same_recordings(
    server: &ServeProcess,
    camera: &str,
    rest_list: &[Value],
    (from_ms, to_ms): (i64, i64),
    (rest_start_ms, rest_mp4): (i64, &[u8]),
) {
    use pb::recordings_client::RecordingsClient;
    use tonic::Code;
    let api = server.admin();
    let grpc = Grpc::connect(server.addr).expect("gRPC").with_token(api.token.as_deref().expect("token"));
    let client = || RecordingsClient::new(grpc.channel.clone());

    let listed = grpc
        .run(client().list_recordings(grpc.request(pb::ListRecordingsRequest {
            camera_id: camera.into(),
            from_ms: 0,
            to_ms: i64::MAX / 2,
            limit: None,
        })))
        .expect("ListRecordings")
        .into_inner()
        .recordings;
    // Recording goes on: the REST listing taken earlier is a prefix.
    assert!(listed.len() >= rest_list.len(), "{} over gRPC, {} over REST", listed.len(), rest_list.len());
    for (g, r) in listed.iter().zip(rest_list) {
        assert_eq!(
            (g.id, g.sha256.as_str(), g.frame_count, g.start_ms),
            (r["id"].as_i64().unwrap_or(-1), r["sha256"].as_str().unwrap_or(""), r["frame_count"].as_i64().unwrap_or(-1), r["start_ms"].as_i64().unwrap_or(-1)),
        );
    }

    let (start_ms, total_bytes, bytes) = grpc.run(async {
        let mut stream = client()
            .export_range(grpc.request(pb::ExportRangeRequest { camera_id: camera.into(), from_ms, to_ms }))
            .await
            .expect("ExportRange")
            .into_inner();
        let (mut start_ms, mut total_bytes, mut bytes) = (None, None, Vec::new());
        while let Some(chunk) = stream.message().await.expect("an export chunk") {
            start_ms = start_ms.or(chunk.start_ms);
            total_bytes = total_bytes.or(chunk.total_bytes);
            bytes.extend_from_slice(&chunk.data);
        }
        (start_ms, total_bytes, bytes)
    });
    assert_eq!((start_ms, total_bytes), (Some(rest_start_ms), Some(rest_mp4.len() as u64)));
    assert!(bytes == rest_mp4, "the gRPC export is the REST export, byte for byte");
    let empty = grpc.run(client().export_range(grpc.request(pb::ExportRangeRequest {
        camera_id: camera.into(),
        from_ms: 1000,
        to_ms: 2000,
    })));
    assert_eq!(empty.err().map(|s| s.code()), Some(Code::NotFound), "no recording in 1970");

    let protected = grpc
        .run(client().protect(grpc.request(pb::ProtectRequest {
            camera_id: camera.into(),
            from_ms,
            to_ms,
            reason: "gRPC: kept for the audit".into(),
        })))
        .expect("Protect")
        .into_inner();
    assert_eq!((protected.from_ms, protected.to_ms), (from_ms, to_ms));
    let rest_protections = |api: &Api| -> Vec<Value> {
        let (status, list) = api.get(&format!("/api/v1/cameras/{camera}/protections"));
        assert_eq!(status, 200, "{list}");
        list.as_array().expect("list").clone()
    };
    let rest_ids = |api: &Api| -> Vec<String> {
        rest_protections(api).iter().filter_map(|p| p["id"].as_str().map(str::to_owned)).collect()
    };
    let seen = rest_protections(&api).into_iter().find(|p| p["id"] == protected.id.as_str());
    let seen = seen.expect("REST lists the protection made over gRPC");
    assert_eq!((seen["who"].as_str(), seen["reason"].as_str()), (Some(protected.who.as_str()), Some(protected.reason.as_str())));
    assert!(!protected.who.is_empty() && protected.who != "ng-verdict", "made by the caller: {}", protected.who);
    let grpc_ids: Vec<String> = grpc
        .run(client().list_protections(grpc.request(pb::ListProtectionsRequest { camera_id: camera.into() })))
        .expect("ListProtections")
        .into_inner()
        .protections
        .into_iter()
        .map(|p| p.id)
        .collect();
    assert_eq!(grpc_ids, rest_ids(&api));
    grpc.run(client().unprotect(grpc.request(pb::UnprotectRequest {
        camera_id: camera.into(),
        protection_id: protected.id.clone(),
    })))
    .expect("Unprotect");
    assert!(!rest_ids(&api).contains(&protected.id), "unprotected");
    let bad = grpc.run(client().protect(grpc.request(pb::ProtectRequest {
        camera_id: camera.into(),
        from_ms: to_ms,
        to_ms: from_ms,
        reason: "backwards".into(),
    })));
    assert_eq!(bad.err().map(|s| s.code()), Some(Code::InvalidArgument));

    let link = grpc
        .run(client().create_export_link(grpc.request(pb::CreateExportLinkRequest { camera_id: camera.into(), from_ms, to_ms })))
        .expect("CreateExportLink")
        .into_inner();
    let (status, linked) = server.client().get_bytes(&link.url);
    assert_eq!(status, 200, "the link downloads without a token");
    assert!(linked == rest_mp4, "the link gives the same export");

    // Settings: the config records `camera`; another camera is recorded through gRPC.
    let get = |id: &str| grpc.run(client().get_recording_settings(grpc.request(pb::GetRecordingSettingsRequest { camera_id: id.into() })));
    let config_owned = get(camera).expect("GetRecordingSettings").into_inner();
    assert_eq!((config_owned.source.as_str(), config_owned.recording, config_owned.segment_s), ("config", true, 2));
    let put = |id: &str, segment_s: Option<u32>| {
        grpc.run(client().put_recording_settings(grpc.request(pb::PutRecordingSettingsRequest {
            camera_id: id.into(),
            segment_s,
            max_age_s: Some(3600),
            max_bytes: None,
        })))
    };
    assert_eq!(put(camera, None).err().map(|s| s.code()), Some(Code::AlreadyExists), "the config owns it");
    let (_, first) = api.get(&format!("/api/v1/cameras/{camera}"));
    let other = add_camera(&api, "line-2", "file", first["url"].as_str().expect("the clip"));
    assert_eq!(get(&other).err().map(|s| s.code()), Some(Code::NotFound), "not recorded yet");
    assert_eq!(put(&other, Some(0)).err().map(|s| s.code()), Some(Code::InvalidArgument));
    let made = put(&other, None).expect("PutRecordingSettings").into_inner();
    let settings = made.settings.expect("settings");
    assert!(made.created);
    assert_eq!((settings.source.as_str(), settings.max_age_s), ("api", Some(3600)));
    let (status, rest) = api.get(&format!("/api/v1/cameras/{other}/recording"));
    assert_eq!(status, 200, "{rest}");
    assert_eq!((rest["segment_s"].as_u64(), rest["who"].as_str()), (Some(u64::from(settings.segment_s)), settings.who.as_deref()));
    assert!(!put(&other, Some(5)).expect("changed").into_inner().created);
    grpc.run(client().stop_recording(grpc.request(pb::StopRecordingRequest { camera_id: other.clone() })))
        .expect("StopRecording");
    assert_eq!(get(&other).err().map(|s| s.code()), Some(Code::NotFound), "stopped");
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
