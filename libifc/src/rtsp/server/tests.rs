//! Requests as ffmpeg 5.1 and GStreamer 1.22 send them, captured from real publishes (see
//! `testdata/rtsp/README.md`), replayed through the session.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::Bytes;

use super::*;
use crate::codec::Codec;
use crate::rtsp::{Headers, IncomingRequest, MessageReader, ReadItem};

/// The nonce and credentials the captures were made with (the capturing server's challenge).
const CAPTURE_NONCE: &str = "0123456789abcdef";

fn fixture(name: &str) -> Vec<IncomingRequest> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/rtsp").join(name);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut reader = MessageReader::new();
    reader.push(&bytes);
    let mut out = Vec::new();
    while let Some(item) = reader.pull().unwrap() {
        match item {
            ReadItem::Request(request) => out.push(request),
            other => panic!("not a request: {other:?}"),
        }
    }
    out
}

fn mount(user: &str, password: &str) -> Mount {
    Mount {
        name: "cam1".into(),
        camera_id: "id-1".into(),
        user: user.into(),
        secret: PublishSecret::Password(password.into()),
    }
}

/// The session id the capturing server gave (the captured RECORDs carry it).
fn session() -> PublishSession {
    PublishSession::new(PublishConfig::default(), "12345678".into(), "test-key")
}

fn ctx<'a>(now: Instant, mount: Option<&'a Mount>) -> RequestContext<'a> {
    RequestContext { now, mount, udp_server_ports: Some((40000, 40001)) }
}

/// Replays a capture; returns each response's status and the events.
fn replay(name: &str, mount: &Mount, now: Instant) -> (PublishSession, Vec<u16>, Vec<PublishEvent>) {
    let mut s = session();
    s.authority_mut().remember_nonce(CAPTURE_NONCE.into(), now);
    let (mut statuses, mut events) = (Vec::new(), Vec::new());
    for request in fixture(name) {
        let reply = s.handle(&request, &ctx(now, Some(mount)));
        assert_eq!(reply.response.cseq, request.headers.cseq(), "{name}: CSeq echoed");
        statuses.push(reply.response.status);
        events.extend(reply.event);
    }
    (s, statuses, events)
}

#[test]
fn ffmpeg_and_gstreamer_publishes_are_accepted_with_their_real_digest_answers() {
    let now = Instant::now();
    let right = mount("user", "pass");
    for (name, udp) in [
        ("publish_ffmpeg_h264_tcp.rtsp", false),
        ("publish_ffmpeg_h264_udp.rtsp", true),
        ("publish_gst_h264_tcp.rtsp", false),
        ("publish_gst_h264_udp.rtsp", true),
    ] {
        let (s, statuses, events) = replay(name, &right, now);
        // OPTIONS (no credentials needed), ANNOUNCE without credentials → 401, then with.
        assert_eq!(statuses, [200, 401, 200, 200, 200], "{name}");
        assert_eq!(s.state(), PublishState::Recording, "{name}");
        assert_eq!(events.len(), 3, "{name}: {events:?}");
        let PublishEvent::Announced { camera_id, media } = &events[0] else { panic!("{events:?}") };
        assert_eq!((camera_id.as_str(), media.codec, media.payload_type), ("id-1", Codec::H264, 96));
        assert_eq!(media.parameter_sets.len(), 2, "{name}: SPS and PPS from sprop-parameter-sets");
        let PublishEvent::SetUp { transport } = events[1] else { panic!("{events:?}") };
        assert_eq!(transport.is_udp(), udp, "{name}");
        assert_eq!(events[2], PublishEvent::Recording);
    }
}

#[test]
fn a_wrong_password_is_refused_at_every_step_and_nothing_is_announced() {
    let now = Instant::now();
    for name in ["publish_ffmpeg_h264_tcp.rtsp", "publish_gst_h264_tcp.rtsp"] {
        let (s, statuses, events) = replay(name, &mount("user", "wrong"), now);
        assert_eq!(statuses[0], 200, "OPTIONS");
        assert!(statuses[1..].iter().all(|&st| st == 401 || st == 454 || st == 455), "{name}: {statuses:?}");
        assert!(statuses[1..3].iter().all(|&st| st == 401), "{name}: {statuses:?}");
        assert!(events.is_empty(), "{name}: {events:?}");
        assert_eq!(s.state(), PublishState::Ready);
        // Another user with the right password is refused the same way.
        let (_, statuses, events) = replay(name, &mount("other", "pass"), now);
        assert_eq!(&statuses[1..3], [401, 401]);
        assert!(events.is_empty());
    }
}

#[test]
fn a_401_carries_a_digest_challenge_and_basic_only_when_enabled() {
    let now = Instant::now();
    let requests = fixture("publish_ffmpeg_h264_tcp.rtsp");
    let m = mount("user", "pass");
    let reply = session().handle(&requests[1], &ctx(now, Some(&m)));
    assert_eq!(reply.response.status, 401);
    let challenges: Vec<&str> =
        reply.response.headers.iter().filter(|(n, _)| *n == "WWW-Authenticate").map(|(_, v)| v.as_str()).collect();
    assert_eq!(challenges.len(), 1, "{challenges:?}");
    assert!(challenges[0].starts_with("Digest realm=\"ifc\", nonce=\""), "{challenges:?}");
    // The client side of this crate answers the challenge, and the server accepts it.
    let mut s = session();
    let reply = s.handle(&requests[1], &ctx(now, Some(&m)));
    let challenge_values: Vec<&str> = reply.response.headers.iter().map(|(_, v)| v.as_str()).collect();
    let challenge =
        crate::rtsp::Challenge::choose(challenge_values.iter().copied().filter(|v| v.starts_with("Digest"))).unwrap();
    let mut auth = crate::rtsp::Authenticator::new(crate::rtsp::Credentials::new("user", "pass"), challenge);
    let mut announce = requests[1].clone();
    let value = auth.authorization("ANNOUNCE", &announce.uri, "c0ffee");
    announce.headers = with_header(&announce.headers, "Authorization", &value);
    assert_eq!(s.handle(&announce, &ctx(now, Some(&m))).response.status, 200);
    // Basic: refused by default, accepted when configured.
    let mut basic = requests[1].clone();
    basic.headers = with_header(&basic.headers, "Authorization", "Basic dXNlcjpwYXNz");
    assert_eq!(session().handle(&basic, &ctx(now, Some(&m))).response.status, 401);
    let config = PublishConfig { allow_basic: true, ..PublishConfig::default() };
    let mut s = PublishSession::new(config, "s".into(), "k");
    let refused = s.handle(&requests[1], &ctx(now, Some(&m)));
    assert!(refused.response.headers.iter().any(|(_, v)| v == "Basic realm=\"ifc\""));
    assert_eq!(s.handle(&basic, &ctx(now, Some(&m))).response.status, 200);
}

fn with_header(headers: &Headers, name: &str, value: &str) -> Headers {
    let mut out = Headers::default();
    for (n, v) in headers.iter().filter(|(n, _)| !n.eq_ignore_ascii_case(name)) {
        out.push(n.to_owned(), v.to_owned());
    }
    out.push(name.to_owned(), value.to_owned());
    out
}

#[test]
fn an_expired_nonce_is_stale_and_an_unknown_one_is_refused() {
    let then = Instant::now();
    let later = then + Duration::from_secs(301);
    let m = mount("user", "pass");
    let requests = fixture("publish_ffmpeg_h264_tcp.rtsp");
    let mut s = session();
    s.authority_mut().remember_nonce(CAPTURE_NONCE.into(), then);
    let reply = s.handle(&requests[2], &ctx(later, Some(&m)));
    assert_eq!(reply.response.status, 401);
    assert!(reply.response.get("WWW-Authenticate").is_some_and(|v| v.contains("stale=TRUE")));
    // Never issued by this session.
    let reply = session().handle(&requests[2], &ctx(then, Some(&m)));
    assert_eq!(reply.response.status, 401);
    assert!(!reply.response.get("WWW-Authenticate").is_some_and(|v| v.contains("stale")));
}

#[test]
fn a_digest_for_another_uri_is_refused() {
    let now = Instant::now();
    let m = mount("user", "pass");
    let requests = fixture("publish_ffmpeg_h264_tcp.rtsp");
    let mut s = session();
    s.authority_mut().remember_nonce(CAPTURE_NONCE.into(), now);
    assert_eq!(s.handle(&requests[2], &ctx(now, Some(&m))).response.status, 200);
    // SETUP's Authorization replayed on a RECORD (other method, other URI).
    let mut record = requests[4].clone();
    let setup_auth = requests[3].headers.get("Authorization").unwrap().to_owned();
    record.headers = with_header(&record.headers, "Authorization", &setup_auth);
    assert_eq!(s.handle(&requests[3], &ctx(now, Some(&m))).response.status, 200);
    assert_eq!(s.handle(&record, &ctx(now, Some(&m))).response.status, 401);
}

#[test]
fn h265_announces_and_unknown_cameras() {
    let now = Instant::now();
    for name in ["publish_ffmpeg_h265_tcp.rtsp", "publish_gst_h265_tcp.rtsp"] {
        // Captured without credentials: every request past OPTIONS is challenged.
        let (_, statuses, events) = replay(name, &mount("user", "pass"), now);
        assert_eq!(statuses[0], 200);
        assert!(statuses[1..].iter().all(|&s| s == 401), "{name}: {statuses:?}");
        assert!(events.is_empty());
        let announce = &fixture(name)[1];
        let sdp = crate::rtsp::parse_session(&announce.body, &announce.uri).unwrap();
        assert_eq!((sdp.video.codec, sdp.video.parameter_sets.len()), (Codec::H265, 3), "{name}");
        // No such camera: 404, whoever asks.
        let reply = session().handle(announce, &ctx(now, None));
        assert_eq!(reply.response.status, 404);
    }
}

fn request(method: &str, uri: &str, cseq: Option<u32>, headers: &[(&str, &str)], body: &str) -> IncomingRequest {
    let mut h = Headers::default();
    if let Some(cseq) = cseq {
        h.push("CSeq".into(), cseq.to_string());
    }
    for (n, v) in headers {
        h.push((*n).to_owned(), (*v).to_owned());
    }
    IncomingRequest {
        method: method.into(),
        uri: uri.into(),
        headers: h,
        body: Bytes::copy_from_slice(body.as_bytes()),
    }
}

/// A session past ANNOUNCE with Basic (so requests are easy to write by hand).
fn basic_session() -> (PublishSession, Mount) {
    let config = PublishConfig { allow_basic: true, ..PublishConfig::default() };
    (PublishSession::new(config, "abc123".into(), "k"), mount("user", "pass"))
}

const BASIC: (&str, &str) = ("Authorization", "Basic dXNlcjpwYXNz");
const URI: &str = "rtsp://127.0.0.1:8554/cameras/cam1";

fn sdp_with(media: &str) -> String {
    format!("v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=x\r\nt=0 0\r\n{media}")
}

const H264_VIDEO: &str =
    "m=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\na=fmtp:96 packetization-mode=1\r\na=control:streamid=0\r\n";

#[test]
fn wrong_order_unknown_methods_and_sessions() {
    let now = Instant::now();
    let (mut s, m) = basic_session();
    let c = ctx(now, Some(&m));
    let setup_uri = format!("{URI}/streamid=0");
    let tcp = ("Transport", "RTP/AVP/TCP;unicast;interleaved=0-1;mode=record");
    assert_eq!(s.handle(&request("SETUP", &setup_uri, Some(1), &[BASIC, tcp], ""), &c).response.status, 455);
    assert_eq!(s.handle(&request("RECORD", URI, Some(2), &[BASIC], ""), &c).response.status, 455);
    assert_eq!(s.handle(&request("TEARDOWN", URI, Some(3), &[BASIC], ""), &c).response.status, 455);
    assert_eq!(s.handle(&request("PLAY", URI, Some(4), &[BASIC], ""), &c).response.status, 405);
    assert_eq!(s.handle(&request("FROB", URI, Some(5), &[BASIC], ""), &c).response.status, 501);
    assert_eq!(s.handle(&request("OPTIONS", URI, None, &[], ""), &c).response.status, 400);
    let announce =
        request("ANNOUNCE", URI, Some(6), &[BASIC, ("Content-Type", "application/sdp")], &sdp_with(H264_VIDEO));
    assert_eq!(s.handle(&announce, &c).response.status, 200);
    assert_eq!(s.handle(&announce, &c).response.status, 455, "second ANNOUNCE");
    assert_eq!(
        s.handle(&request("RECORD", URI, Some(7), &[BASIC], ""), &c).response.status,
        455,
        "RECORD before SETUP"
    );
    // Another track's URL, then the video's with unusable transports.
    let audio = request("SETUP", &format!("{URI}/streamid=1"), Some(8), &[BASIC, tcp], "");
    assert_eq!(s.handle(&audio, &c).response.status, 404);
    for bad in [
        "RTP/AVP;multicast;client_port=5000-5001;mode=record",
        "RTP/AVP/TCP;unicast;interleaved=0-1;mode=play",
        "RTP/SAVP;unicast;client_port=5000-5001",
        "RTP/AVP;unicast",
        "",
    ] {
        let r = s.handle(&request("SETUP", &setup_uri, Some(9), &[BASIC, ("Transport", bad)], ""), &c);
        assert_eq!(r.response.status, 461, "{bad}: {:?}", r.response);
    }
    let no_udp = RequestContext { udp_server_ports: None, ..c };
    let udp = ("Transport", "RTP/AVP;unicast;client_port=5000-5001;mode=record");
    assert_eq!(s.handle(&request("SETUP", &setup_uri, Some(10), &[BASIC, udp], ""), &no_udp).response.status, 461);
    let reply = s.handle(&request("SETUP", &setup_uri, Some(11), &[BASIC, udp], ""), &c);
    assert_eq!(reply.response.status, 200);
    assert_eq!(
        reply.response.get("Transport"),
        Some("RTP/AVP/UDP;unicast;client_port=5000-5001;server_port=40000-40001;mode=record")
    );
    assert_eq!(reply.response.get("Session"), Some("abc123;timeout=60"));
    // Session ids: missing or another on RECORD is 454.
    assert_eq!(s.handle(&request("RECORD", URI, Some(12), &[BASIC], ""), &c).response.status, 454);
    let other = ("Session", "zzz");
    assert_eq!(s.handle(&request("RECORD", URI, Some(13), &[BASIC, other], ""), &c).response.status, 454);
    let ours = ("Session", "abc123");
    // Another camera's URI on this session.
    let elsewhere = "rtsp://127.0.0.1:8554/cameras/cam2";
    assert_eq!(s.handle(&request("RECORD", elsewhere, Some(14), &[BASIC, ours], ""), &c).response.status, 404);
    let r = s.handle(&request("RECORD", URI, Some(15), &[BASIC, ours], ""), &c);
    assert_eq!((r.response.status, r.event), (200, Some(PublishEvent::Recording)));
    // Keep-alives.
    assert_eq!(s.handle(&request("GET_PARAMETER", URI, Some(16), &[BASIC, ours], ""), &c).response.status, 200);
    assert_eq!(s.handle(&request("SET_PARAMETER", URI, Some(17), &[BASIC, ours], "x: 1\r\n"), &c).response.status, 451);
    let r = s.handle(&request("TEARDOWN", URI, Some(18), &[BASIC, ours], ""), &c);
    assert_eq!((r.response.status, r.event), (200, Some(PublishEvent::TornDown)));
    assert_eq!(s.state(), PublishState::Ready);
}

#[test]
fn announces_with_two_videos_or_another_codec_are_refused_with_a_reason() {
    let now = Instant::now();
    for (media, words) in [
        (format!("{H264_VIDEO}{H264_VIDEO}"), "2 video tracks"),
        ("m=video 0 RTP/AVP 26\r\na=control:streamid=0\r\n".to_owned(), "JPEG"),
        ("m=video 0 RTP/AVP 97\r\na=rtpmap:97 VP8/90000\r\n".to_owned(), "VP8"),
        ("m=audio 0 RTP/AVP 97\r\na=rtpmap:97 MPEG4-GENERIC/48000/2\r\n".to_owned(), "no H.264 or H.265"),
    ] {
        let (mut s, m) = basic_session();
        let r = s.handle(&request("ANNOUNCE", URI, Some(1), &[BASIC], &sdp_with(&media)), &ctx(now, Some(&m)));
        assert_eq!(r.response.status, 415);
        assert!(r.response.reason.contains(words), "{}", r.response.reason);
        assert!(r.event.is_none());
        assert_eq!(s.state(), PublishState::Ready);
    }
    let (mut s, m) = basic_session();
    let wrong_type = request("ANNOUNCE", URI, Some(1), &[BASIC, ("Content-Type", "text/plain")], &sdp_with(H264_VIDEO));
    assert_eq!(s.handle(&wrong_type, &ctx(now, Some(&m))).response.status, 415);
}

#[test]
fn responses_serialise_with_cseq_and_cannot_inject_headers() {
    let r =
        ServerResponse::new(401, "Unauthorized\r\nX: y", Some(3)).header("WWW-Authenticate", "Digest a=\"b\"\nEvil: 1");
    let text = String::from_utf8(r.serialize()).unwrap();
    assert!(text.starts_with("RTSP/1.0 401 Unauthorized  X: y\r\nCSeq: 3\r\nServer: ifc/"), "{text}");
    assert!(text.contains("WWW-Authenticate: Digest a=\"b\" Evil: 1\r\n"), "{text}");
    assert!(text.ends_with("\r\n\r\n"));
    let mut with_body = ServerResponse::ok(Some(1));
    with_body.body = Bytes::from_static(b"abc");
    assert!(String::from_utf8(with_body.serialize()).unwrap().ends_with("Content-Length: 3\r\n\r\nabc"));
    // Found by the fuzzer: an SDP with a NUL and other controls in its rtpmap came back in a
    // 415's reason, which readers refuse (fuzz/corpus/rtsp_publish/regression-control-in-reason).
    let controls = ServerResponse::new(415, "Unsupported (video \u{0}H264\u{1}\u{7f}\t)", Some(2));
    let text = String::from_utf8(controls.serialize()).unwrap();
    assert!(text.starts_with("RTSP/1.0 415 Unsupported (video  H264   )\r\n"), "{text:?}");
    let mut reader = MessageReader::new();
    reader.push(text.as_bytes());
    assert!(matches!(reader.pull(), Ok(Some(ReadItem::Response(_)))));
    // What this server writes, the crate's own reader reads back.
    let mut reader = MessageReader::new();
    reader.push(&r.serialize());
    let Some(ReadItem::Response(back)) = reader.pull().unwrap() else { panic!() };
    assert_eq!((back.status, back.headers.cseq()), (401, Some(3)));
}

#[test]
fn transports_as_publishers_write_them() {
    let cases = [
        (
            "RTP/AVP/TCP;unicast;interleaved=0-1;mode=record",
            PublishTransport::Interleaved { rtp_channel: 0, rtcp_channel: 1 },
        ),
        (
            "RTP/AVP/TCP;unicast;interleaved=0-1;mode=RECORD",
            PublishTransport::Interleaved { rtp_channel: 0, rtcp_channel: 1 },
        ),
        (
            "RTP/AVP/TCP;unicast;interleaved=4;mode=\"RECORD\"",
            PublishTransport::Interleaved { rtp_channel: 4, rtcp_channel: 5 },
        ),
        (
            "RTP/AVP/UDP;unicast;client_port=10284-10285;mode=record",
            PublishTransport::Udp { client_rtp_port: 10284, client_rtcp_port: 10285 },
        ),
        (
            "RTP/AVP;unicast;client_port=5000;mode=record",
            PublishTransport::Udp { client_rtp_port: 5000, client_rtcp_port: 5001 },
        ),
        (
            "RTP/AVP;multicast, RTP/AVP/TCP;unicast;interleaved=2-3;mode=record",
            PublishTransport::Interleaved { rtp_channel: 2, rtcp_channel: 3 },
        ),
    ];
    for (text, want) in cases {
        assert_eq!(parse_publish_transport(text), Ok(want), "{text}");
    }
    for bad in [
        "RTP/AVP/TCP;interleaved=1-1",
        "RTP/AVP/TCP;interleaved=255",
        "RTP/AVP;client_port=65535",
        "RTP/AVP;client_port=0-1",
    ] {
        assert!(parse_publish_transport(bad).is_err(), "{bad}");
    }
}

#[test]
fn camera_names_from_publish_uris() {
    assert_eq!(camera_name_from_uri("rtsp://h:8554/cameras/line-1"), Some("line-1"));
    assert_eq!(camera_name_from_uri("rtsp://h:8554/cameras/line-1/streamid=0"), Some("line-1"));
    assert_eq!(camera_name_from_uri("rtsp://h/cameras/a?x=1"), Some("a"));
    assert_eq!(camera_name_from_uri("/cameras/a"), Some("a"));
    for none in ["rtsp://h/", "rtsp://h/cameras/", "rtsp://h/other/a", "*", "", "rtsp://h"] {
        assert_eq!(camera_name_from_uri(none), None, "{none}");
    }
}

#[test]
fn no_input_panics_and_every_request_gets_its_cseq_back() {
    // A light in-tree version of the fuzz target's invariant over mutated real requests.
    let now = Instant::now();
    let m = mount("user", "pass");
    let mut rng = crate::test_rng::XorShift(0x9e37_79b9_7f4a_7c15);
    let mut base = Vec::new();
    for name in ["publish_ffmpeg_h264_tcp.rtsp", "publish_gst_h264_udp.rtsp"] {
        base.extend(
            std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/rtsp").join(name)).unwrap(),
        );
    }
    for _ in 0..300 {
        let mut bytes = base.clone();
        for _ in 0..4 {
            let at = rng.below(bytes.len());
            bytes[at] = rng.below(256) as u8;
        }
        let mut reader = MessageReader::new();
        reader.push(&bytes);
        let mut s = session();
        s.authority_mut().remember_nonce(CAPTURE_NONCE.into(), now);
        while let Ok(Some(item)) = reader.pull() {
            if let ReadItem::Request(req) = item {
                let reply = s.handle(&req, &ctx(now, Some(&m)));
                assert_eq!(reply.response.cseq, req.headers.cseq());
                let _ = reply.response.serialize();
            }
        }
    }
}

#[test]
fn server_digest_checks_rfc2617_answers_with_qop_md5_sess_and_a_stored_ha1() {
    use super::digest::AuthRefusal;
    let now = Instant::now();
    let mut authority = DigestAuthority::new("testrealm@host.com", Duration::from_secs(60), false, "k");
    authority.remember_nonce("dcd98b7102dd2f0e8b11d0f600bfb0c093".into(), now);
    let password = PublishSecret::Password("Circle Of Life".into());
    // RFC 2617 §3.5's own Authorization header.
    let rfc = r#"Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", qop=auth, nc=00000001, cnonce="0a4f113b", response="6629fae49393a05397450978507c4ef1", opaque="5ccc069c403ebaf9f0171e9517f40e41""#;
    let uri = "/dir/index.html";
    assert_eq!(authority.verify(Some(rfc), "GET", uri, "Mufasa", &password, now), Ok(()));
    let ha1 = PublishSecret::Ha1(crate::rtsp::auth::digest_ha1("Mufasa", "testrealm@host.com", "Circle Of Life"));
    assert_eq!(authority.verify(Some(rfc), "GET", uri, "Mufasa", &ha1, now), Ok(()));
    // MD5-sess (the client test's value, from Python's hashlib).
    let sess = rfc.replace(
        r#"response="6629fae49393a05397450978507c4ef1""#,
        r#"response="8e3825c57e897f5a0dec6c2d4e5059d0", algorithm=MD5-sess"#,
    );
    assert_eq!(authority.verify(Some(&sess), "GET", uri, "Mufasa", &password, now), Ok(()));
    // The same answer for another method, user, URI, or with a changed nc: refused.
    assert_eq!(authority.verify(Some(rfc), "POST", uri, "Mufasa", &password, now), Err(AuthRefusal::WrongCredentials));
    assert_eq!(authority.verify(Some(rfc), "GET", uri, "Simba", &password, now), Err(AuthRefusal::WrongCredentials));
    assert_eq!(authority.verify(Some(rfc), "GET", "/other", "Mufasa", &password, now), Err(AuthRefusal::UriMismatch));
    let nc = rfc.replace("nc=00000001", "nc=00000002");
    assert_eq!(authority.verify(Some(&nc), "GET", uri, "Mufasa", &password, now), Err(AuthRefusal::WrongCredentials));
    let sha = rfc.replace("qop=auth,", "algorithm=SHA-256, qop=auth,");
    assert!(matches!(
        authority.verify(Some(&sha), "GET", uri, "Mufasa", &password, now),
        Err(AuthRefusal::Unsupported(_))
    ));
    for malformed in ["Digest", "Digest username=\"Mufasa\"", "Negotiate abc", "Basic !!!", ""] {
        assert!(authority.verify(Some(malformed), "GET", uri, "Mufasa", &password, now).is_err(), "{malformed}");
    }
}

#[test]
fn a_body_and_a_start_line_trickling_in_a_byte_at_a_time_read_the_same() {
    // The reader keeps what it parsed while a body arrives, and what it checked of a first
    // line, instead of starting over on every push.
    let bytes =
        std::fs::read(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../testdata/rtsp/publish_gst_h264_tcp.rtsp"))
            .unwrap();
    let mut whole = MessageReader::new();
    whole.push(&bytes);
    let mut expected = Vec::new();
    while let Some(item) = whole.pull().unwrap() {
        expected.push(item);
    }
    let mut trickle = MessageReader::new();
    let mut got = Vec::new();
    for b in &bytes {
        trickle.push(std::slice::from_ref(b));
        while let Some(item) = trickle.pull().unwrap() {
            got.push(item);
        }
    }
    assert_eq!(got, expected);
    assert_eq!(got.len(), 5);
    // A control character late in a start line still fails it, however it arrived.
    let mut reader = MessageReader::new();
    for b in b"OPTIONS rtsp://h/ RTSP/1.0\x01\r\nCSeq: 1\r\n\r\n" {
        reader.push(std::slice::from_ref(b));
        let _ = reader.pull();
    }
    assert!(reader.pull().is_err());
}
