//! `ifc serve`'s live view of a camera (a `file` camera: the demo clip, H.264 with B-frames,
//! replayed in real time and inspected with the demo pipeline):
//! - LL-HLS: the playlist's tags, blocking reload (`_HLS_msn`/`_HLS_part`) that waits for the
//!   segment asked for, a 400 for one too far ahead, the preload-hinted part answered when it is
//!   made, signed URIs (403 without), parts that decode in ffprobe, and ffmpeg playing the
//!   playlist as a plain HLS client;
//! - headless Chromium (Debian's, through playwright-core) on the player page: with its own
//!   HLS player on a camera nobody watched, over the WebSocket (fMP4 into Media Source
//!   Extensions) with the verdicts drawn on the pictures whose pts they carry, and over LL-HLS
//!   with hls.js in low-latency mode: time advances, frames are decoded, no media error;
//! - the recent history: the recorder's segments as a VOD playlist (404 before any), played by
//!   ffmpeg, Chromium's own player and hls.js, the player going back to live at its end;
//! - WHEP: Chromium watching over WebRTC a camera without B-frames, the overlays matched by RTP
//!   timestamp; a camera with B-frames refused with a 422 that says why (the player falls back
//!   to the WebSocket); the session's PATCH/DELETE;
//! - glass-to-glass latency read back from a clock burnt into the picture of a canvas Chromium
//!   publishes over WHIP (WHEP, WebSocket, LL-HLS), and overlays checked against that clock;
//! - limits: viewers per camera (429), the egress bound, a viewer that stops reading dropped;
//!   WHEP's malformed offers, unknown cameras, wrong tokens and too many viewers: clear 4xx.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ifc_integration_tests::browser::node_modules;
use ifc_integration_tests::demo::demo_clip;
use ifc_integration_tests::run_with_timeout;
use ifc_integration_tests::serve::{wait_for, ServeProcess};
use ifc_integration_tests::serve_steps::{add_camera, add_pipeline, start_inspection};
use serde_json::Value;

/// A server with one file camera (inspected) and its admin token.
fn live_camera(dir: &Path, yaml: &str) -> (ServeProcess, String, String) {
    let clip = demo_clip(dir);
    let config = dir.join("serve.yaml");
    std::fs::write(&config, yaml).expect("config");
    let arg = config.display().to_string();
    let server = ServeProcess::start_with_args(&dir.join("data"), dir, &[], &["--config", &arg]);
    let (camera, token) = inspected_camera(&server, "line-1", &clip);
    (server, camera, token)
}

/// A file camera of `clip`, inspected with the demo pipeline: (camera id, admin token).
fn inspected_camera(server: &ServeProcess, name: &str, clip: &Path) -> (String, String) {
    let api = server.admin();
    let camera = add_camera(&api, name, "file", &clip.display().to_string());
    let (status, pipelines) = api.get("/api/v1/pipelines");
    assert_eq!(status, 200);
    let pipeline = match pipelines.as_array().and_then(|p| p.first()) {
        Some(p) => p["id"].as_str().expect("id").to_owned(),
        None => add_pipeline(&api),
    };
    start_inspection(&api, &camera, &pipeline);
    (camera, api.token.clone().expect("token"))
}

/// The demo clip re-encoded by x264 without B-frames (what WebRTC needs), 12 s, in its own
/// directory (making the demo clip rewrites it: never under a camera that plays it).
fn clip_without_b_frames(dir: &Path) -> PathBuf {
    let own = dir.join("no-b-frames");
    std::fs::create_dir_all(&own).expect("dir");
    let clip = demo_clip(&own);
    let out = dir.join("no_bframes.mp4");
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-i"])
        .arg(&clip)
        .args(["-c:v", "libx264", "-preset", "veryfast", "-bf", "0", "-g", "25", "-pix_fmt", "yuv420p"])
        .arg(&out)
        .status()
        .expect("ffmpeg");
    assert!(status.success(), "ffmpeg re-encode");
    out
}

struct Reply {
    status: u16,
    body: Vec<u8>,
    content_type: String,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

fn get(url: &str, token: Option<&str>) -> Reply {
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(60)).build();
    let mut req = agent.get(url);
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    let response = match req.call() {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("GET {url}: {e}"),
    };
    let status = response.status();
    let content_type = response.content_type().to_owned();
    let mut body = Vec::new();
    std::io::Read::read_to_end(&mut response.into_reader(), &mut body).expect("body");
    Reply { status, body, content_type }
}

/// The `URI="…"` values and the segment lines of a playlist, relative to `base`.
fn uri_of(line: &str) -> Option<&str> {
    let start = line.find("URI=\"")? + 5;
    let end = line[start..].find('"')? + start;
    Some(&line[start..end])
}

fn tag_value<'a>(playlist: &'a str, tag: &str) -> Option<&'a str> {
    playlist.lines().find_map(|l| l.strip_prefix(tag))
}

/// (media sequence number of the last segment listed complete, parts listed of the open one).
fn live_edge(playlist: &str) -> (u64, u32) {
    let first: u64 = tag_value(playlist, "#EXT-X-MEDIA-SEQUENCE:").and_then(|v| v.parse().ok()).expect("media sequence");
    let complete = playlist.lines().filter(|l| l.starts_with("#EXTINF:")).count() as u64;
    let hint = playlist.lines().find(|l| l.starts_with("#EXT-X-PRELOAD-HINT:")).and_then(uri_of).expect("preload hint");
    let name = hint.split('?').next().expect("name");
    let (msn, index) = name.strip_prefix("part-").and_then(|s| s.strip_suffix(".m4s")).and_then(|s| s.split_once('-')).expect("part name");
    let (msn, index): (u64, u32) = (msn.parse().expect("msn"), index.parse().expect("index"));
    assert!(complete > 0, "a complete segment listed: {playlist}");
    assert!(msn == first + complete || msn == first + complete - 1, "{playlist}");
    (first + complete - 1, if msn == first + complete { index } else { 0 })
}

fn ffprobe_frames(file: &Path) -> u64 {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0"])
        .arg(file)
        .output()
        .expect("ffprobe");
    assert!(out.status.success() && out.stderr.is_empty(), "ffprobe {}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().parse().expect("frame count")
}

#[test]
fn ll_hls_blocks_until_asked_for_serves_hinted_parts_and_plays_in_ffmpeg() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, camera, token) = live_camera(dir.path(), "distribution: {part_target_ms: 200, segment_target_ms: 2000}\n");
    let base = server.url(&format!("/api/v1/cameras/{camera}/live/"));
    let playlist_url = format!("{base}index.m3u8");

    assert_eq!(get(&playlist_url, None).status, 401, "a token is needed");
    // The first request starts the camera's packaging and waits for its first segment.
    let playlist = wait_for(Duration::from_secs(30), "a complete segment", || {
        let r = get(&playlist_url, Some(&token));
        assert_eq!(r.status, 200, "{}", r.text());
        let text = r.text();
        text.contains("#EXTINF:").then_some((text, r.content_type))
    });
    let (playlist, content_type) = playlist;
    assert_eq!(content_type, "application/vnd.apple.mpegurl");
    for tag in ["#EXT-X-VERSION:9", "#EXT-X-PART-INF:PART-TARGET=", "#EXT-X-INDEPENDENT-SEGMENTS", "#EXT-X-MAP:URI=\"init-1.mp4?"] {
        assert!(playlist.contains(tag), "{tag} in {playlist}");
    }
    let control = tag_value(&playlist, "#EXT-X-SERVER-CONTROL:").expect("server control");
    assert!(control.contains("CAN-BLOCK-RELOAD=YES") && control.contains("PART-HOLD-BACK="), "{control}");
    let target_s: f64 = tag_value(&playlist, "#EXT-X-TARGETDURATION:").and_then(|v| v.parse().ok()).expect("target");
    for line in playlist.lines().filter(|l| l.starts_with("#EXT-X-PART:")) {
        let duration: f64 = line["#EXT-X-PART:DURATION=".len()..].split(',').next().and_then(|v| v.parse().ok()).expect("part duration");
        assert!(duration > 0.0 && duration <= 0.201, "a part within the target: {line}");
    }
    for line in playlist.lines().filter(|l| l.starts_with("#EXTINF:")) {
        let duration: f64 = line["#EXTINF:".len()..].trim_end_matches(',').parse().expect("segment duration");
        assert!(duration.round() <= target_s, "EXTINF {duration} within the target {target_s}");
    }

    // Blocking reload: the next segment is not there yet; the request waits for it.
    let (last, _) = live_edge(&playlist);
    let asked = Instant::now();
    let next = get(&format!("{playlist_url}?_HLS_msn={}&access_token={token}", last + 1), None);
    let waited = asked.elapsed();
    assert_eq!(next.status, 200, "{}", next.text());
    let (new_last, _) = live_edge(&next.text());
    assert!(new_last > last, "the playlist holds segment {}: {}", last + 1, next.text());
    assert!(waited > Duration::from_millis(100), "the request waited for the segment ({waited:?})");
    // A part of the open segment, then a segment too far ahead (RFC 8216bis: 400).
    let (edge, open_parts) = live_edge(&next.text());
    let part = get(&format!("{playlist_url}?_HLS_msn={}&_HLS_part={open_parts}", edge + 1), Some(&token));
    assert_eq!(part.status, 200, "{}", part.text());
    assert!(part.text().contains(&format!("part-{}-{open_parts}.m4s", edge + 1)), "{}", part.text());
    assert_eq!(get(&format!("{playlist_url}?_HLS_msn={}", edge + 10), Some(&token)).status, 400);

    // The preload hint names a part not made yet: fetching it waits until it is.
    let text = get(&playlist_url, Some(&token)).text();
    let hint = text.lines().find(|l| l.starts_with("#EXT-X-PRELOAD-HINT:")).and_then(uri_of).expect("hint").to_owned();
    let hinted = get(&format!("{base}{hint}"), None);
    assert_eq!(hinted.status, 200, "the hinted part {hint}");
    assert!(hinted.body.windows(4).any(|w| w == b"moof"), "a fragment");

    // URIs are signed for the camera: without the signature, or with another camera's, 403.
    let init_uri = text.lines().find(|l| l.starts_with("#EXT-X-MAP:")).and_then(uri_of).expect("map").to_owned();
    assert_eq!(get(&format!("{base}init-1.mp4?expires_ms=99999999999999&sig=AAAA"), None).status, 403);
    assert_eq!(get(&format!("{base}nothing.mp4?{}", init_uri.split_once('?').expect("signed").1), None).status, 404);

    // A segment and its init decode whole; so do the init and its first parts.
    let init = get(&format!("{base}{init_uri}"), None);
    assert_eq!(init.status, 200);
    let segment_uri = text.lines().rfind(|l| l.starts_with("seg-")).expect("a segment").to_owned();
    let segment = get(&format!("{base}{segment_uri}"), None);
    assert_eq!(segment.status, 200);
    let file = dir.path().join("segment.mp4");
    std::fs::write(&file, [init.body.clone(), segment.body].concat()).expect("write");
    let frames = ffprobe_frames(&file);
    let duration_s: f64 = text
        .lines()
        .zip(text.lines().skip(1))
        .find(|(_, next)| *next == segment_uri)
        .and_then(|(l, _)| l.strip_prefix("#EXTINF:")?.trim_end_matches(',').parse().ok())
        .expect("its EXTINF");
    assert_eq!(frames, (duration_s * 25.0).round() as u64, "a {duration_s} s segment at 25 fps decodes whole");

    // ffmpeg, a plain HLS client, plays the live playlist (token in the URL, segments signed).
    let out = run_with_timeout(
        Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-i"])
            .arg(format!("{playlist_url}?access_token={token}"))
            .args(["-frames:v", "75", "-f", "framemd5", "-"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped()),
        Duration::from_secs(60),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ffmpeg: {stderr}");
    let decoded = String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.starts_with('#')).count();
    assert_eq!(decoded, 75, "ffmpeg decoded 3 s of the live stream: {stderr}");
}

/// One browser at a time: the tests measure playback and latency, which a second Chromium
/// decoding beside it on two cores would distort.
static BROWSER: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_browser() -> std::sync::MutexGuard<'static, ()> {
    BROWSER.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The player page on `camera` with `query` (`mode=ws`, `back_s=60`) for `seconds`, with or
/// without hls.js in the page: the video's state every half second.
fn play_in_chromium(server: &ServeProcess, camera: &str, token: &str, query: &str, hls_js: bool, seconds: u32) -> Vec<Value> {
    let _browser = one_browser();
    let url = server.url(&format!("/player?camera={camera}&{query}#token={token}"));
    let params = serde_json::json!({"url": url, "seconds": seconds, "hls_js": hls_js}).to_string();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("live/play.js");
    let out = run_with_timeout(
        Command::new("node").arg(script).arg(params).env("IFC_NODE_MODULES", node_modules()).stderr(Stdio::piped()),
        Duration::from_secs(120),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "play.js: {:?}\n{stdout}\n{stderr}", out.status);
    let result: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("play.js output {stdout:?}: {e}"));
    eprintln!("{query}: {result}\n{stderr}");
    result["samples"].as_array().expect("samples").clone()
}

/// Playback advanced: time moves on and pictures are decoded over the last seconds, with no
/// media or player error at any time.
fn assert_plays(samples: &[Value], what: &str) {
    for s in samples {
        assert!(s["media_error"].is_null() && s["player_error"].is_null(), "{what}: {s}");
    }
    let (first, last) = (&samples[samples.len() / 2], &samples[samples.len() - 1]);
    let advanced = last["current_time_s"].as_f64().expect("a number") - first["current_time_s"].as_f64().expect("a number");
    let elapsed = (samples.len() - 1 - samples.len() / 2) as f64 * 0.5;
    assert!(advanced > elapsed * 0.6, "{what}: time advanced {advanced} s in {elapsed} s: {last}");
    let frames = last["total_video_frames"].as_u64().expect("a count") - first["total_video_frames"].as_u64().expect("a count");
    assert!(frames as f64 > elapsed * 25.0 * 0.6, "{what}: {frames} frames decoded in {elapsed} s: {last}");
}

#[test]
fn chromium_plays_the_camera_over_its_own_hls_over_websocket_with_overlays_and_over_ll_hls_with_hls_js() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, camera, token) = live_camera(dir.path(), "distribution: {part_target_ms: 200}\n");

    // Chromium's own HLS player (what the page uses without hls.js), first: nobody watches the
    // camera yet, so its first playlist request waits for a whole segment (a playlist of
    // parts alone made this player fail with DEMUXER_ERROR_COULD_NOT_PARSE).
    let native = play_in_chromium(&server, &camera, &token, "mode=hls", false, 10);
    assert_plays(&native, "HLS (Chromium's own player)");
    assert_eq!(native.last().expect("samples")["mode"], "hls");

    let ws = play_in_chromium(&server, &camera, &token, "mode=ws", false, 8);
    assert_plays(&ws, "WebSocket");
    let last = ws.last().expect("samples");
    assert_eq!(last["mode"], "ws");
    assert_eq!(last["inits"], 1, "one stream: {last}");
    // Near the live edge: what is buffered is at most a couple of parts ahead of the picture.
    let behind = last["buffered_end_s"].as_f64().expect("a number") - last["current_time_s"].as_f64().expect("a number");
    assert!(behind < 1.5, "{behind} s behind the live edge");
    // The verdicts came, and each one drawn was the one of the picture on screen.
    assert!(last["overlays"].as_u64().expect("a count") > 0, "verdicts arrived: {last}");
    assert!(last["drawn"].as_u64().expect("a count") > 0, "overlays drawn: {last}");
    let drawn = &last["last_drawn"];
    let pts_s = drawn["pts_90k"].as_f64().expect("a number") / 90_000.0;
    let media_time = drawn["media_time"].as_f64().expect("a number");
    assert!(pts_s <= media_time + 0.001 && media_time - pts_s < 0.5, "drawn on its picture: {drawn}");

    let hls = play_in_chromium(&server, &camera, &token, "mode=hls", true, 10);
    assert_plays(&hls, "LL-HLS (hls.js)");
    let last = hls.last().expect("samples");
    assert_eq!(last["mode"], "hls.js");
    assert_eq!(last["hls"]["low_latency"], true, "{last}");
    assert_eq!(last["hls"]["can_block_reload"], true, "{last}");
    assert!(last["hls"]["parts"].as_u64().expect("a count") > 0, "hls.js reads the parts: {last}");
    // hls.js holds back three parts (PART-HOLD-BACK) and catches up; about 1 s here.
    let latency_s = last["hls"]["latency_s"].as_f64().expect("a number");
    assert!(latency_s < 2.0, "hls.js plays {latency_s} s behind the live edge");
}

#[test]
fn the_player_rewinds_into_the_recorded_history_and_comes_back_live() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, camera, token) = live_camera(dir.path(), "distribution: {part_target_ms: 200}\n");
    let api = server.admin();
    let history = |query: &str| api.get(&format!("/api/v1/cameras/{camera}/live/history.m3u8?{query}"));

    // Not recorded: nothing to rewind into, and the answer says so.
    let (status, body) = history("seconds=60");
    assert_eq!(status, 404, "{body}");
    assert!(body["error"]["message"].as_str().expect("message").contains("nothing recorded"), "{body}");
    let (status, body) = history("seconds=0");
    assert_eq!(status, 422, "{body}");
    let (status, body) = history("seconds=100000");
    assert_eq!(status, 422, "more than a day: {body}");
    assert_eq!(history("seconds=x").0, 422);
    assert_eq!(history("seconds=60").0, 404);

    // Recorded in 2 s segments: the history lists them, newest last, with signed URIs.
    let (status, body) = api.request("PUT", &format!("/api/v1/cameras/{camera}/recording"), Some(&serde_json::json!({"segment_s": 2})));
    assert_eq!(status, 201, "{body}");
    wait_for(Duration::from_secs(60), "three recorded segments", || {
        let (status, list) = api.get(&format!("/api/v1/cameras/{camera}/recordings?from_ms=0&to_ms={}", i64::MAX / 2));
        (status == 200 && list.as_array().is_some_and(|l| l.len() >= 3)).then_some(())
    });
    let url = server.url(&format!("/api/v1/cameras/{camera}/live/history.m3u8?seconds=600&access_token={token}"));
    let playlist = get(&url, None);
    assert_eq!(playlist.status, 200);
    let text = playlist.text();
    assert!(text.contains("#EXT-X-ENDLIST") && text.matches("#EXTINF:").count() >= 3, "{text}");
    assert!(text.contains("../../../signed/recordings/"), "{text}");
    // ffmpeg reads it as a player does (relative URIs from the playlist's own URL).
    let out = dir.path().join("history.mp4");
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i", &url, "-c", "copy"])
        .arg(&out)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg plays the history playlist");
    assert!(ffprobe_frames(&out) >= 3 * 2 * 25 * 9 / 10, "three 2 s segments of 25 fps pictures");

    // In Chromium, with its own HLS player and with hls.js: the last 8 s of the recording (the
    // segments that overlap them: 8 to 12 s) play, then the page goes back to live by itself
    // at their end (the clip has B-frames, so not over WebRTC: LL-HLS with hls.js, else the
    // WebSocket).
    for hls_js in [false, true] {
        let samples = play_in_chromium(&server, &camera, &token, "back_s=8", hls_js, 20);
        let what = if hls_js { "history (hls.js)" } else { "history (Chromium's own HLS player)" };
        for s in &samples {
            assert!(s["media_error"].is_null() && s["player_error"].is_null(), "{what}: {s}");
        }
        let rewound: Vec<&Value> = samples.iter().take_while(|s| s["mode"] == "history").collect();
        assert!(rewound.len() >= 4, "{what}: played from the recording first: {samples:?}");
        let advanced = rewound[rewound.len() - 1]["current_time_s"].as_f64().expect("a number");
        assert!(advanced > 1.0, "{what}: the recording played: {samples:?}");
        let last = samples.last().expect("samples");
        let live = if hls_js { "hls.js" } else { "ws" };
        assert_eq!(last["mode"], live, "{what}: live again at the end of the recording: {last}");
        assert!(last["total_video_frames"].as_u64().expect("a count") > 0, "{what}: live plays: {last}");
    }
}

fn ws_connect(server: &ServeProcess, camera: &str, token: &str) -> Result<tungstenite::WebSocket<tungstenite::stream::MaybeTlsStream<std::net::TcpStream>>, u16> {
    let url = server.url(&format!("/api/v1/cameras/{camera}/live.ws?access_token={token}")).replacen("http", "ws", 1);
    match tungstenite::connect(url.as_str()) {
        Ok((socket, _)) => Ok(socket),
        Err(tungstenite::Error::Http(response)) => Err(response.status().as_u16()),
        Err(e) => panic!("{url}: {e}"),
    }
}

#[test]
fn websocket_viewers_get_the_init_then_parts_within_the_limits() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, camera, token) = live_camera(dir.path(), "distribution: {max_viewers_per_camera: 1}\n");
    let mut viewer = ws_connect(&server, &camera, &token).expect("the first viewer");
    let tungstenite::Message::Text(init) = viewer.read().expect("init message") else { panic!("text first") };
    let init: Value = serde_json::from_str(&init).expect("json");
    assert_eq!(init["type"], "init");
    assert!(init["mime"].as_str().expect("mime").starts_with("video/mp4; codecs=\"avc1.64"), "{init}");
    assert_eq!((init["width"].as_u64(), init["height"].as_u64()), (Some(1280), Some(720)));
    let mut file = match viewer.read().expect("init segment") {
        tungstenite::Message::Binary(b) => b,
        other => panic!("binary init, got {other:?}"),
    };
    assert_eq!(&file[4..8], b"ftyp");
    // The second viewer of this camera is over the limit.
    assert_eq!(ws_connect(&server, &camera, &token).err(), Some(429));
    // Three seconds of parts, from a key frame: they decode whole after the init.
    let until = Instant::now() + Duration::from_secs(3);
    while Instant::now() < until {
        match viewer.read().expect("a part") {
            tungstenite::Message::Binary(part) => file.extend_from_slice(&part),
            other => panic!("binary parts only, got {other:?}"),
        }
    }
    let path: PathBuf = dir.path().join("ws.mp4");
    std::fs::write(&path, &file).expect("write");
    assert!(ffprobe_frames(&path) >= 50, "about 3 s of pictures at 25 fps");
    let viewers = format!("ifc_live_viewers{{camera=\"{camera}\"}} 1");
    assert!(metrics(&server).contains(&viewers), "{viewers} in /metrics");
    drop(viewer);
    // Its place is free again once it went.
    wait_for(Duration::from_secs(10), "the viewer's place freed", || ws_connect(&server, &camera, &token).ok());
}

fn metrics(server: &ServeProcess) -> String {
    get(&server.url("/metrics"), None).text()
}

#[test]
fn egress_is_bounded_by_the_viewers_bit_rates() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The demo clip runs at about 22 kbit/s: room for one viewer, not two.
    let (server, camera, token) = live_camera(dir.path(), "distribution: {max_egress_kbps: 30}\n");
    let mut first = ws_connect(&server, &camera, &token).expect("the first viewer");
    let until = Instant::now() + Duration::from_secs(4);
    while Instant::now() < until {
        first.read().expect("parts");
    }
    let rate: u64 = metrics(&server)
        .lines()
        .find_map(|l| l.strip_prefix(&format!("ifc_live_bitrate_bps{{camera=\"{camera}\"}} ")).and_then(|v| v.parse().ok()))
        .expect("the camera's bit rate in /metrics");
    assert!((16_000..30_000).contains(&rate), "{rate} bit/s");
    assert_eq!(ws_connect(&server, &camera, &token).err(), Some(429), "a second viewer would take 2 × {rate} bit/s");
    drop(first);
    wait_for(Duration::from_secs(10), "room again", || ws_connect(&server, &camera, &token).ok());
}

/// A noisy 640×360 clip that x264 cannot squeeze: several Mbit/s, so that a viewer who does
/// not read fills the socket buffers in seconds. 20 s: the test ends before the file loops.
fn heavy_clip(dir: &Path) -> PathBuf {
    let out = dir.join("heavy.mp4");
    let status = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25,noise=alls=60:allf=t"])
        .args(["-t", "20", "-c:v", "libx264", "-preset", "ultrafast", "-crf", "20", "-g", "25", "-bf", "0", "-pix_fmt", "yuv420p"])
        .arg(&out)
        .status()
        .expect("ffmpeg");
    assert!(status.success(), "ffmpeg heavy clip");
    out
}

#[test]
fn a_viewer_that_stops_reading_is_dropped_and_the_others_play_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = heavy_clip(dir.path());
    let config = dir.path().join("serve.yaml");
    std::fs::write(&config, "distribution: {send_timeout_ms: 500}\n").expect("config");
    let arg = config.display().to_string();
    let server = ServeProcess::start_with_args(&dir.path().join("data"), dir.path(), &[], &["--config", &arg]);
    let api = server.admin();
    let camera = add_camera(&api, "heavy", "file", &clip.display().to_string());
    let token = api.token.clone().expect("token");

    let stalled = ws_connect(&server, &camera, &token).expect("a viewer that will not read");
    let mut reader = ws_connect(&server, &camera, &token).expect("a viewer that reads");
    let gauge = format!("ifc_live_viewers{{camera=\"{camera}\"}} ");
    let viewers = || metrics(&server).lines().find_map(|l| l.strip_prefix(&gauge).and_then(|v| v.parse::<u64>().ok()));
    assert_eq!(viewers(), Some(2));
    // The reader keeps getting parts at the camera's pace (one every 200 ms or so) while the
    // other one's buffers fill.
    let started = Instant::now();
    let mut last_part: Option<Instant> = None;
    let mut longest_gap = Duration::ZERO;
    let mut bytes = 0usize;
    let mut dropped_after = None;
    while started.elapsed() < Duration::from_secs(15) {
        if let tungstenite::Message::Binary(part) = reader.read().expect("the reader's stream goes on") {
            bytes += part.len();
            if let Some(at) = last_part {
                longest_gap = longest_gap.max(at.elapsed());
            }
            last_part = Some(Instant::now());
        }
        if dropped_after.is_none() && viewers() == Some(1) {
            dropped_after = Some(started.elapsed());
        }
    }
    let dropped_after = dropped_after.expect("the viewer that stopped reading was dropped within 15 s");
    eprintln!("dropped after {dropped_after:?}; the reader got {bytes} bytes, longest gap {longest_gap:?}");
    assert!(bytes > 5_000_000, "a heavy stream: {bytes} bytes in 15 s");
    assert!(longest_gap < Duration::from_secs(1), "the reader was never held up: {longest_gap:?}");
    drop(stalled);
}

fn whep_post(server: &ServeProcess, camera: &str, token: Option<&str>, offer: &str) -> (u16, String) {
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build();
    let mut req = agent.post(&server.url(&format!("/api/v1/whep/cameras/{camera}"))).set("Content-Type", "application/sdp");
    if let Some(t) = token {
        req = req.set("Authorization", &format!("Bearer {t}"));
    }
    match req.send_string(offer) {
        Ok(r) | Err(ureq::Error::Status(_, r)) => (r.status(), r.into_string().unwrap_or_default()),
        Err(e) => panic!("POST whep: {e}"),
    }
}

#[test]
fn chromium_watches_over_whep_and_a_b_frame_stream_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (server, b_frames, token) = live_camera(dir.path(), "distribution: {part_target_ms: 200}\n");
    let clip = clip_without_b_frames(dir.path());
    let (plain, _) = inspected_camera(&server, "line-2", &clip);

    // Over HTTP: a token is needed; the B-frame stream is refused, saying why.
    // Chromium's captured WHIP offer, turned into a viewer's (receive only).
    let offer = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("whip/chromium-offer.sdp"))
        .expect("offer")
        .replace("a=sendonly", "a=recvonly");
    assert_eq!(whep_post(&server, &plain, None, &offer).0, 401);
    let (status, body) = whep_post(&server, &b_frames, Some(&token), &offer);
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("B-frames"), "{body}");
    // A session's resource: DELETE ends it, then it is gone.
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build();
    let created = agent
        .post(&server.url(&format!("/api/v1/whep/cameras/{plain}")))
        .set("Content-Type", "application/sdp")
        .set("Authorization", &format!("Bearer {token}"))
        .send_string(&offer)
        .expect("201");
    assert_eq!(created.status(), 201);
    assert!(created.content_type() == "application/sdp");
    let location = created.header("Location").expect("Location").to_owned();
    assert!(created.into_string().expect("answer").contains("a=sendonly"), "the server sends");
    let delete = agent.delete(&server.url(&location)).set("Authorization", &format!("Bearer {token}")).call().expect("DELETE");
    assert_eq!(delete.status(), 200);
    let gone = agent.delete(&server.url(&location)).set("Authorization", &format!("Bearer {token}")).call();
    assert!(matches!(gone, Err(ureq::Error::Status(404, _))), "the session is gone");

    // Chromium over WebRTC: the picture plays, and overlays land on the RTP timestamps.
    let whep = play_in_chromium(&server, &plain, &token, "mode=whep", false, 8);
    assert_plays(&whep, "WHEP");
    let last = whep.last().expect("samples");
    assert_eq!(last["mode"], "whep");
    assert!(last["drawn"].as_u64().expect("a count") > 0, "overlays drawn over WebRTC: {last}");
    let drawn = &last["last_drawn"];
    let pts_s = drawn["pts_90k"].as_f64().expect("a number") / 90_000.0;
    let media_time = drawn["media_time"].as_f64().expect("a number");
    assert!(pts_s <= media_time + 0.001 && media_time - pts_s < 0.5, "drawn on its picture: {drawn}");

    // The B-frame camera in auto mode: WHEP is refused, the player says why and plays the WebSocket.
    let auto = play_in_chromium(&server, &b_frames, &token, "mode=auto", false, 6);
    assert_plays(&auto, "auto → WebSocket");
    let last = auto.last().expect("samples");
    assert_eq!(last["mode"], "ws");
    assert!(last["whep_refused"].as_str().is_some_and(|m| m.contains("B-frames")), "{last}");
}

#[test]
fn whep_refusals_are_clear_4xx_and_the_server_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = clip_without_b_frames(dir.path());
    let config = dir.path().join("serve.yaml");
    std::fs::write(&config, "distribution: {max_viewers_per_camera: 1}\n").expect("config");
    let arg = config.display().to_string();
    let server = ServeProcess::start_with_args(&dir.path().join("data"), dir.path(), &[], &["--config", &arg]);
    let api = server.admin();
    let camera = add_camera(&api, "plain", "file", &clip.display().to_string());
    let token = api.token.clone().expect("token");
    let offer = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("whip/chromium-offer.sdp"))
        .expect("offer")
        .replace("a=sendonly", "a=recvonly");
    let post = |camera: &str, token: Option<&str>, content_type: &str, body: &[u8]| -> (u16, String) {
        let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build();
        let mut req = agent.post(&server.url(&format!("/api/v1/whep/cameras/{camera}"))).set("Content-Type", content_type);
        if let Some(t) = token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        match req.send_bytes(body) {
            Ok(r) | Err(ureq::Error::Status(_, r)) => (r.status(), r.into_string().unwrap_or_default()),
            Err(e) => panic!("POST whep: {e}"),
        }
    };
    let sdp = "application/sdp";
    assert_eq!(post(&camera, None, sdp, offer.as_bytes()).0, 401, "no token");
    assert_eq!(post(&camera, Some("not-a-token"), sdp, offer.as_bytes()).0, 401, "a wrong token");
    assert_eq!(post("no-such-camera", Some(&token), sdp, offer.as_bytes()).0, 404, "an unknown camera");
    assert_eq!(post(&camera, Some(&token), "text/plain", offer.as_bytes()).0, 415, "not SDP");
    let cases: [(&[u8], u16); 4] = [
        (b"\xff\xfe", 400),
        (b"v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:x\r\n", 422),
        (b"v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=ice-ufrag:x\r\na=rtpmap:96 H264/90000\r\nthis is not sdp\r\n", 400),
        (b"m=video 9 X 0\r\nm=video 9 X 0\r\na=ice-ufrag:a\r\n", 422),
    ];
    for (body, status) in cases {
        let (got, text) = post(&camera, Some(&token), sdp, body);
        assert_eq!(got, status, "{}: {text}", String::from_utf8_lossy(body));
        assert!(text.contains("\"message\""), "a clear error body: {text}");
    }
    // One viewer per camera here: a WebSocket viewer holds the place, WHEP gets a 429.
    let viewer = ws_connect(&server, &camera, &token).expect("a viewer");
    let (status, text) = post(&camera, Some(&token), sdp, offer.as_bytes());
    assert_eq!(status, 429, "{text}");
    assert!(text.contains("max_viewers_per_camera"), "{text}");
    drop(viewer);
    // The server goes on: the place comes back and a good offer is answered.
    let (status, answer) = wait_for(Duration::from_secs(10), "a place for the viewer", || {
        let reply = post(&camera, Some(&token), sdp, offer.as_bytes());
        (reply.0 != 429).then_some(reply)
    });
    assert_eq!(status, 201, "{answer}");
    assert!(answer.starts_with("v=0"), "an SDP answer");
}

/// Glass to glass, in one browser: a canvas with the wall clock burnt in as blocks is published
/// over WHIP and read back from every picture each viewer presents (`live/latency.js`).
#[test]
fn latency_from_a_clock_in_the_picture_and_overlays_on_their_own_pictures() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("serve.yaml");
    // Parts of 100 ms: the WebSocket's latency is about two of them plus the browser's.
    std::fs::write(&config, "distribution: {part_target_ms: 100}\n").expect("config");
    let arg = config.display().to_string();
    let server = ServeProcess::start_with_args(&dir.path().join("data"), dir.path(), &[], &["--config", &arg]);
    let api = server.admin();
    let (status, camera) = api.post("/api/v1/cameras", &serde_json::json!({"name": "clock", "kind": "push", "username": "device", "password": "clock-s3cret"}));
    assert_eq!(status, 201, "{camera}");
    let camera = camera["id"].as_str().expect("id").to_owned();
    let pipeline = add_pipeline(&api);
    start_inspection(&api, &camera, &pipeline);
    let token = api.token.clone().expect("token");

    let params = serde_json::json!({
        "server": server.url(""), "camera": "clock", "camera_id": camera, "token": token,
        "modes": ["whep", "whep-sync", "ws", "hls"], "seconds": 10,
    });
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("live/latency.js");
    let _browser = one_browser();
    let out = run_with_timeout(
        Command::new("node").arg(script).arg(params.to_string()).env("IFC_NODE_MODULES", node_modules()).stderr(Stdio::piped()),
        Duration::from_secs(180),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "latency.js: {:?}\n{stdout}\n{stderr}", out.status);
    let result: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("latency.js output {stdout:?}: {e}"));
    eprintln!("latency: {result}");
    eprintln!("{}", metrics(&server).lines().filter(|l| l.starts_with("ifc_whip") || l.starts_with("ifc_live")).collect::<Vec<_>>().join("\n"));
    for (mode, p95_limit_ms) in [("whep", 200), ("ws", 500), ("hls", 2000)] {
        let m = &result[mode];
        assert!(m["error"].is_null(), "{mode}: {m}");
        let frames = m["frames"].as_u64().expect("frames");
        assert!(frames >= 150, "{mode}: {frames} pictures read in 10 s");
        assert!(m["unreadable"].as_u64().expect("count") * 10 < frames, "{mode}: the clock reads back: {m}");
        let p95 = m["latency_ms"]["p95"].as_i64().expect("p95");
        assert!(p95 < p95_limit_ms, "{mode}: p95 {p95} ms glass to glass (limit {p95_limit_ms}): {m}");
    }
    // Overlays drawn on their own pictures: the pts of the verdict and the clock in the picture
    // agree within one frame, over the WebSocket and over WebRTC held back for its verdicts
    // (without sync=1 a WebRTC picture is shown before inference has judged it).
    for mode in ["whep-sync", "ws"] {
        let m = &result[mode];
        assert!(m["overlays_on_frames"].as_u64().expect("count") > 5, "{mode}: overlays matched to pictures: {m}");
        assert_eq!(m["overlays_misaligned"], 0, "{mode}: {m}");
    }
}

