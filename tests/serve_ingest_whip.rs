//! `ifc serve`'s WHIP ingest (RFC 9725) against a real browser: headless Chromium (Debian's
//! `chromium`, driven by npm's `playwright-core` through `tests/whip/publish.js`) publishes its
//! fake camera as H.264 from a page on another origin (CORS), trickling its candidates in a
//! PATCH; the camera goes live, the recording decodes in ffprobe to the frames Chromium sent,
//! and DELETE ends it. The protocol's edges (OPTIONS, PATCH, If-Match, DELETE), refused tokens
//! and hostile offers are checked over plain HTTP with a Chromium offer captured once
//! (`tests/whip/chromium-offer.sdp`).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use ifc_integration_tests::browser::node_modules;
use ifc_integration_tests::run_with_timeout;
use ifc_integration_tests::serve::{wait_for, Api, ServeProcess};
use ifc_integration_tests::serve_steps::{camera_state, record_camera, recorded_frames_decoded, recordings};
use serde_json::{json, Value};

const SECRET: &str = "whip-device-s3cret";
const STUN: &str = "stun:127.0.0.1:3478";

fn whip_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("whip")
}

fn chromium_offer() -> Vec<u8> {
    std::fs::read(whip_dir().join("chromium-offer.sdp")).expect("offer")
}

/// `ifc serve` with `yaml` as its config file.
fn start(dir: &Path, yaml: &str) -> ServeProcess {
    let config = dir.join("serve.yaml");
    std::fs::write(&config, yaml).expect("config");
    let arg = config.display().to_string();
    ServeProcess::start_with_args(&dir.join("data"), dir, &[], &["--config", &arg])
}

fn push_camera(api: &Api, name: &str) -> String {
    let (status, camera) =
        api.post("/api/v1/cameras", &json!({"name": name, "kind": "push", "username": "device", "password": SECRET}));
    assert_eq!(status, 201, "{camera}");
    camera["id"].as_str().expect("id").to_owned()
}

/// One raw HTTP exchange: (status, headers as lower-case name → values, body).
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

fn http(method: &str, url: &str, headers: &[(&str, &str)], body: Option<&[u8]>) -> Reply {
    let agent = ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).build();
    let mut req = agent.request(method, url);
    for (name, value) in headers {
        req = req.set(name, value);
    }
    let result = match body {
        Some(b) => req.send_bytes(b),
        None => req.call(),
    };
    let response = match result {
        Ok(r) | Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("{method} {url}: {e}"),
    };
    let status = response.status();
    let headers = response
        .headers_names()
        .into_iter()
        .flat_map(|n| response.all(&n).into_iter().map(|v| (n.to_ascii_lowercase(), v.to_owned())).collect::<Vec<_>>())
        .collect();
    let body = response.into_string().unwrap_or_default();
    Reply { status, headers, body }
}

fn post_offer(server: &ServeProcess, camera: &str, token: Option<&str>, offer: &[u8]) -> Reply {
    let bearer = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/sdp")];
    if let Some(b) = &bearer {
        headers.push(("Authorization", b.as_str()));
    }
    http("POST", &server.url(&format!("/api/v1/whip/cameras/{camera}")), &headers, Some(offer))
}

fn metric(server: &ServeProcess, name: &str) -> Option<u64> {
    let text = http("GET", &server.url("/metrics"), &[], None).body;
    text.lines().find(|l| l.starts_with(name)).and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

fn chromium_publish(endpoint: &str, token: &str, seconds: u32) -> Value {
    let params = json!({"endpoint": endpoint, "token": token, "seconds": seconds}).to_string();
    let out = run_with_timeout(
        Command::new("node")
            .arg(whip_dir().join("publish.js"))
            .arg(params)
            .env("IFC_NODE_MODULES", node_modules())
            .stderr(Stdio::piped()),
        Duration::from_secs(120),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "publish.js: {:?}\n{stdout}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("publish.js output {stdout:?}: {e}"))
}

#[test]
fn chromium_publishes_its_camera_over_whip_and_the_recording_decodes_to_the_frames_it_sent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), "recording: {min_free_bytes: 0}\n");
    let camera = push_camera(&server.admin(), "browser-cam");
    // Recorded through the API: no config edit, no restart.
    record_camera(&server.admin(), &camera, 60);
    let api = server.admin();
    let endpoint = server.url("/api/v1/whip/cameras/browser-cam");

    // The publish runs in Chromium while the camera is watched here.
    let publisher = std::thread::spawn(move || chromium_publish(&endpoint, SECRET, 4));
    wait_for(Duration::from_secs(60), "the camera to go live", || {
        (camera_state(&api, &camera) == "live").then_some(())
    });
    wait_for(Duration::from_secs(20), "pictures in the camera's feed", || {
        (metric(&server, "ifc_whip_frames_published{").unwrap_or(0) > 10).then_some(())
    });
    let result = publisher.join().expect("publisher thread");
    eprintln!("chromium: {result}");
    assert_eq!(result["post"]["status"], 201, "{result}");
    assert!(result["post"]["location"].as_str().unwrap_or_default().starts_with("/api/v1/whip/sessions/"), "{result}");
    assert_eq!(result["patch"]["status"], 204, "trickled candidates: {result}");
    assert!(result["patch"]["candidates"].as_u64().unwrap_or(0) > 0, "candidates came by PATCH only: {result}");
    assert_eq!(result["delete"]["status"], 200, "{result}");
    assert_eq!(result["sent"]["codec"], "video/H264", "{result}");
    let sent = result["sent"]["framesSent"].as_u64().expect("framesSent");
    assert!(sent >= 20, "Chromium sent {sent} frames in 4 s");

    // DELETE answered once the session was over: the camera is not live, no session is left.
    assert_ne!(camera_state(&api, &camera), "live");
    assert_eq!(metric(&server, "ifc_whip_sessions "), Some(0));

    // The recording: the session's segment(s), closed by the session's end.
    wait_for(Duration::from_secs(20), "the recording's segments", || {
        (!recordings(&api, &camera).is_empty()).then_some(())
    });
    let recorded = recorded_frames_decoded(&api, &camera, dir.path());
    // Loopback loses nothing, and Chromium's first frame is a key frame: every frame sent is
    // recorded. The one allowance: a frame Chromium counted as sent whose last packet was still
    // in flight when the session ended (none is expected after the 1 s pause, but the count is
    // taken in the browser, not the server).
    eprintln!("frames sent by Chromium: {sent}, recorded and decoded: {recorded}");
    assert!(recorded <= sent && recorded + 1 >= sent, "sent {sent}, recorded {recorded}");
}

#[test]
fn wrong_or_missing_tokens_are_refused_and_nothing_is_published() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), "{}\n");
    let admin = server.admin();
    push_camera(&admin, "guarded");
    let (status, viewer) = admin.post("/api/v1/api-keys", &json!({"name": "dashboard", "role": "viewer"}));
    assert_eq!(status, 201, "{viewer}");
    let viewer_key = viewer["secret"].as_str().expect("secret").to_owned();
    let offer = chromium_offer();
    for (what, token, expected) in [
        ("no token", None, 401),
        ("a wrong secret", Some("not-the-secret"), 401),
        ("another camera's kind of key, unknown", Some("ifck_unknownkeyunknownkeyunknownkeyunknownkey1"), 401),
        ("a viewer's API key", Some(viewer_key.as_str()), 403),
    ] {
        let reply = post_offer(&server, "guarded", token, &offer);
        assert_eq!(reply.status, expected, "{what}: {}", reply.body);
        assert_eq!(reply.header("access-control-allow-origin"), Some("*"), "{what}: CORS on refusals too");
        assert!(reply.header("location").is_none(), "{what}: no session");
    }
    assert_eq!(metric(&server, "ifc_whip_sessions "), Some(0), "no session was made");
    let camera_id = {
        let (_, list) = admin.get("/api/v1/cameras");
        list.as_array().expect("cameras")[0]["id"].as_str().expect("id").to_owned()
    };
    assert_ne!(camera_state(&admin, &camera_id), "live");
    // An unknown camera, and an operator's token is accepted (the control plane may publish).
    assert_eq!(post_offer(&server, "nobody", Some(SECRET), &offer).status, 404);
    let (_, operator) = admin.post("/api/v1/api-keys", &json!({"name": "ops", "role": "operator"}));
    let reply = post_offer(&server, "guarded", operator["secret"].as_str(), &offer);
    assert_eq!(reply.status, 201, "{}", reply.body);
    let session = server.url(reply.header("location").expect("location"));
    assert_eq!(http("DELETE", &session, &[("Authorization", "Bearer wrong")], None).status, 401);
    let bearer = format!("Bearer {SECRET}");
    assert_eq!(http("DELETE", &session, &[("Authorization", &bearer)], None).status, 200);
}

#[test]
fn options_patch_and_delete_follow_rfc_9725() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), &format!("ingest: {{whip: {{ice_servers: ['{STUN}']}}}}\n"));
    let camera = push_camera(&server.admin(), "cam");
    let endpoint = server.url("/api/v1/whip/cameras/cam");

    // A browser's preflight for a cross-origin POST with a bearer token.
    let preflight = http(
        "OPTIONS",
        &endpoint,
        &[
            ("Origin", "http://127.0.0.1:9"),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "authorization, content-type"),
        ],
        None,
    );
    assert!(matches!(preflight.status, 200 | 204), "{}", preflight.status);
    assert_eq!(preflight.header("access-control-allow-origin"), Some("*"));
    let methods = preflight.header("access-control-allow-methods").unwrap_or_default();
    assert!(["POST", "PATCH", "DELETE"].iter().all(|m| methods.contains(m)), "{methods}");
    let allowed = preflight.header("access-control-allow-headers").unwrap_or_default().to_ascii_lowercase();
    assert!(
        allowed.contains("authorization") && allowed.contains("content-type") && allowed.contains("if-match"),
        "{allowed}"
    );
    assert_eq!(preflight.header("accept-post"), Some("application/sdp"));

    let reply = post_offer(&server, "cam", Some(SECRET), &chromium_offer());
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert_eq!(reply.header("content-type"), Some("application/sdp"));
    assert!(
        reply.body.starts_with("v=0") && reply.body.contains("a=candidate:") && reply.body.contains("H264/90000"),
        "{}",
        reply.body
    );
    assert!(reply.body.contains("127.0.0.1"), "host candidate on loopback: {}", reply.body);
    assert_eq!(reply.header("link"), Some(format!("<{STUN}>; rel=\"ice-server\"").as_str()));
    let expose = reply.header("access-control-expose-headers").unwrap_or_default();
    assert!(expose.contains("Location") && expose.contains("ETag") && expose.contains("Link"), "{expose}");
    let etag = reply.header("etag").expect("etag").to_owned();
    let session = server.url(reply.header("location").expect("location"));
    assert_eq!(metric(&server, "ifc_whip_sessions "), Some(1));

    let auth = format!("Bearer {SECRET}");
    let trickle = |body: &str, if_match: Option<&str>, content_type: &str| {
        let mut headers = vec![("Authorization", auth.as_str()), ("Content-Type", content_type)];
        if let Some(tag) = if_match {
            headers.push(("If-Match", tag));
        }
        http("PATCH", &session, &headers, Some(body.as_bytes()))
    };
    let fragment =
        "a=ice-ufrag:m57s\r\na=ice-pwd:TM8Yi2S2k0jPa/gvyn1P0I3u\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n\
        a=candidate:367725155 1 udp 2122194687 127.0.0.1 54594 typ host generation 0 ufrag m57s network-id 3\r\n\
        a=end-of-candidates\r\n";
    let sdpfrag = "application/trickle-ice-sdpfrag";
    assert_eq!(trickle(fragment, Some(&etag), sdpfrag).status, 204, "trickle with the ETag");
    assert_eq!(trickle(fragment, None, sdpfrag).status, 204, "trickle without If-Match");
    let bad = trickle("a=ice-ufrag:m57s\r\na=candidate:1 1 udp notanumber 1.2.3.4 5 typ host\r\n", None, sdpfrag);
    assert_eq!(bad.status, 400, "{}", bad.body);
    assert!(bad.body.contains("line 2") && bad.body.contains("candidate"), "says what is wrong: {}", bad.body);
    assert_eq!(trickle("hello", None, sdpfrag).status, 400);
    assert_eq!(trickle(fragment, None, "application/sdp").status, 415);
    assert_eq!(trickle(fragment, Some("\"stale\""), sdpfrag).status, 412);
    let restart = trickle(&fragment.replace("m57s", "newu"), Some("*"), sdpfrag);
    assert_eq!(restart.status, 422, "ICE restart is not supported: {}", restart.body);
    assert_eq!(trickle(&fragment.replace("m57s", "newu"), None, sdpfrag).status, 422, "new credentials = restart");

    let deleted = http("DELETE", &session, &[("Authorization", &auth)], None);
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.header("access-control-allow-origin"), Some("*"));
    assert_eq!(metric(&server, "ifc_whip_sessions "), Some(0));
    assert_ne!(camera_state(&server.admin(), &camera), "live");
    assert_eq!(http("DELETE", &session, &[("Authorization", &auth)], None).status, 404, "gone");
    assert_eq!(trickle(fragment, None, sdpfrag).status, 404);
    // The camera takes a new publisher after that.
    let again = post_offer(&server, "cam", Some(SECRET), &chromium_offer());
    assert_eq!(again.status, 201, "{}", again.body);
    let second = post_offer(&server, "cam", Some(SECRET), &chromium_offer());
    assert_eq!(second.status, 409, "one publisher per camera: {}", second.body);
}

/// Debian's Chromium offers no H.265; an offer that does (the captured one with its H.264
/// formats renamed, as Safari and Chrome with hardware H.265 offer it) is answered with H.265.
#[test]
fn an_offer_of_h265_only_is_answered_with_h265() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), "{}\n");
    push_camera(&server.admin(), "hevc");
    let offer = String::from_utf8(chromium_offer()).expect("text");
    let h265: String = offer
        .lines()
        .map(|l| {
            if l.starts_with("a=fmtp:") && l.contains("profile-level-id") {
                let pt = &l["a=fmtp:".len()..l.find(' ').unwrap_or(l.len())];
                format!("a=fmtp:{pt} level-id=93;profile-id=1;tier-flag=0;tx-mode=SRST\r\n")
            } else {
                format!("{}\r\n", l.replace("H264/90000", "H265/90000"))
            }
        })
        .collect();
    let reply = post_offer(&server, "hevc", Some(SECRET), h265.as_bytes());
    assert_eq!(reply.status, 201, "{}", reply.body);
    assert!(reply.body.contains("H265/90000") && !reply.body.contains("H264/90000"), "{}", reply.body);
}

#[test]
fn hostile_offers_get_a_typed_4xx_and_the_server_goes_on() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = start(dir.path(), "ingest: {whip: {max_offer_bytes: 16384}}\n");
    push_camera(&server.admin(), "target");
    let offer = String::from_utf8(chromium_offer()).expect("text");
    let audio_only = offer.replace("m=video", "m=audio");
    let two_videos = format!("{offer}{}", &offer[offer.find("m=video").expect("video")..]);
    let no_ufrag: String =
        offer.lines().filter(|l| !l.starts_with("a=ice-ufrag")).map(|l| format!("{l}\r\n")).collect();
    let vp8_only: String = offer
        .lines()
        .filter(|l| !(l.contains("H264") || l.contains("AV1") || l.contains("VP9") || l.starts_with("a=fmtp")))
        .map(|l| format!("{l}\r\n"))
        .collect();
    let huge = format!("{offer}{}", "a=x-padding:0123456789\r\n".repeat(1000));
    let mut cases: Vec<(String, Vec<u8>, &[u16])> = vec![
        ("empty".into(), Vec::new(), &[400, 422]),
        ("binary".into(), vec![0xff, 0xfe, 0x00, 0x80, 0x16, 0x03], &[400]),
        ("v=0 only".into(), b"v=0\r\n".to_vec(), &[422]),
        ("audio only".into(), audio_only.into_bytes(), &[422]),
        ("two videos".into(), two_videos.into_bytes(), &[422]),
        ("no ICE credentials".into(), no_ufrag.into_bytes(), &[400]),
        ("no common codec".into(), vp8_only.into_bytes(), &[400]),
        ("over max_offer_bytes".into(), huge.into_bytes(), &[413]),
        ("junk lines".into(), b"m=video 9 X 96\r\na=ice-ufrag:x\r\n\x01\x02garbage\r\nzz\r\n".to_vec(), &[400]),
    ];
    // Every cut of the offer: whatever str0m makes of it, a 4xx or a session, never a crash.
    for cut in (0..offer.len()).step_by(97) {
        cases.push((format!("cut at {cut}"), offer.as_bytes()[..cut].to_vec(), &[201, 400, 422]));
    }
    for (what, body, allowed) in &cases {
        let reply = post_offer(&server, "target", Some(SECRET), body);
        assert!(allowed.contains(&reply.status), "{what}: {} {}", reply.status, reply.body);
        if reply.status == 201 {
            let session = server.url(reply.header("location").expect("location"));
            assert_eq!(http("DELETE", &session, &[("Authorization", &format!("Bearer {SECRET}"))], None).status, 200);
        } else {
            let error: Value = serde_json::from_str(&reply.body).unwrap_or(Value::Null);
            assert!(
                error["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
                "{what}: a reason: {}",
                reply.body
            );
        }
    }
    let wrong_type = http(
        "POST",
        &server.url("/api/v1/whip/cameras/target"),
        &[("Authorization", &format!("Bearer {SECRET}")), ("Content-Type", "application/json")],
        Some(b"{}"),
    );
    assert_eq!(wrong_type.status, 415);
    assert_eq!(http("GET", &server.url("/livez"), &[], None).status, 200, "the server goes on");
    assert_eq!(
        post_offer(&server, "target", Some(SECRET), &chromium_offer()).status,
        201,
        "and still takes a good offer"
    );
}
