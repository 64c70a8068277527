//! The RTSP client against a real server: GStreamer's gst-rtsp-server
//! (scripts/rtsp-test-server.sh) packetising the committed raw streams in testdata/, and plain
//! TCP listeners for the broken servers. A server that cannot start fails the test (needs gcc
//! and libgstrtspserver-1.0-dev; see the script).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::time::{Duration, Instant};

use bytes::Bytes;
use ifc::codec::nal::AnnexBNals;
use ifc::codec::{AccessUnitAssembler, Codec};
use ifc::rtsp::{RtspError, RtspOptions, Session};

#[path = "support/rtsp_server.rs"]
mod rtsp_server;
use rtsp_server::{repo_root, RtspServer};
#[path = "support/captured_log.rs"]
mod captured_log;
use captured_log::CapturedLog;

const H264: &str = "h264_main_320x240_25.h264";
const H265: &str = "hevc_main_320x240_25.h265";

fn options() -> RtspOptions {
    RtspOptions::default().read_timeout(Duration::from_secs(5))
}

/// The file's parameter sets (VPS, SPS, PPS), each once, in order of first appearance; and
/// its number of frames.
fn file_parameter_sets_and_frames(file: &str, codec: Codec) -> (Vec<Bytes>, usize) {
    let data = std::fs::read(repo_root().join("testdata").join(file)).expect("testdata");
    let mut sets: Vec<Bytes> = Vec::new();
    for (_, nal) in AnnexBNals::new(&data) {
        if codec.classify(nal).is_some_and(|k| k.is_parameter_set()) && !sets.iter().any(|s| s == nal) {
            sets.push(Bytes::copy_from_slice(nal));
        }
    }
    let mut assembler = AccessUnitAssembler::new(codec);
    assert!(assembler.push_annex_b(Bytes::from(data)).is_empty());
    assert!(assembler.flush().is_empty());
    let frames = std::iter::from_fn(|| assembler.pull()).count();
    (sets, frames)
}

#[derive(Debug, Default)]
struct PlayStats {
    packets: usize,
    markers: usize,
    ended_cleanly: bool,
}

/// Plays to the end, checking each RTP header (RFC 3550 §5.1) on the way.
fn play_to_end(url: &str, codec: Codec) -> PlayStats {
    let described = Session::describe(url, options()).expect("describe");
    assert_eq!(described.video().codec, codec);
    let mut playing = described.play().expect("play");
    let mut stats = PlayStats::default();
    let mut last_seq: Option<u16> = None;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        assert!(Instant::now() < deadline, "the stream did not end");
        let Some(packet) = playing.next_packet().expect("next_packet") else {
            stats.ended_cleanly = true;
            return stats;
        };
        assert!(packet.len() > 12, "RTP header and payload");
        assert_eq!(packet[0] >> 6, 2, "RTP version 2");
        assert_eq!(packet[1] & 0x7f, 96, "payload type");
        let seq = u16::from_be_bytes([packet[2], packet[3]]);
        if let Some(last) = last_seq {
            assert_eq!(seq, last.wrapping_add(1), "sequence numbers are contiguous over TCP");
        }
        last_seq = Some(seq);
        stats.packets += 1;
        stats.markers += usize::from(packet[1] >> 7);
    }
}

#[test]
fn h264_describe_gives_codec_payload_type_and_the_files_parameter_sets() {
    let server = RtspServer::start(H264, None);
    let described = Session::describe(&server.url(""), options()).expect("describe");
    let video = described.video();
    assert_eq!((video.codec, video.payload_type, video.clock_rate), (Codec::H264, 96, 90_000));
    assert_eq!(video.control, format!("rtsp://127.0.0.1:{}/test/stream=0", server.port));
    assert_eq!(video.framerate, Some(25.0));
    let (sets, _) = file_parameter_sets_and_frames(H264, Codec::H264);
    assert_eq!(sets.len(), 2);
    assert_eq!(video.parameter_sets, sets, "SPS and PPS as in the file");
}

#[test]
fn h265_describe_gives_the_files_vps_sps_pps() {
    let server = RtspServer::start(H265, None);
    let described = Session::describe(&server.url(""), options()).expect("describe");
    let video = described.video();
    assert_eq!((video.codec, video.payload_type, video.clock_rate), (Codec::H265, 96, 90_000));
    let (sets, _) = file_parameter_sets_and_frames(H265, Codec::H265);
    assert_eq!(sets.len(), 3);
    assert_eq!(video.parameter_sets, sets, "VPS, SPS and PPS as in the file");
}

#[test]
fn h264_play_yields_every_frame_until_the_server_closes() {
    let server = RtspServer::start(H264, None);
    let (_, frames) = file_parameter_sets_and_frames(H264, Codec::H264);
    let stats = play_to_end(&server.url(""), Codec::H264);
    assert!(stats.ended_cleanly);
    assert!(stats.packets > frames, "{stats:?}, {frames} frames");
    // rtph264pay sets the marker on the last packet of each access unit (RFC 6184 §5.1).
    assert_eq!(stats.markers, frames, "{stats:?}");
}

#[test]
fn h265_play_yields_every_frame_until_the_server_closes() {
    let server = RtspServer::start(H265, None);
    let (_, frames) = file_parameter_sets_and_frames(H265, Codec::H265);
    let stats = play_to_end(&server.url(""), Codec::H265);
    assert!(stats.ended_cleanly);
    assert!(stats.packets > frames, "{stats:?}, {frames} frames");
    assert_eq!(stats.markers, frames, "{stats:?}");
}

const PASSWORD: &str = "Op3n-S3same";

fn assert_unauthorized_without_leaking(server: &RtspServer) {
    let err = match Session::describe(&server.url("viewer:wr0ng-pw@"), options()) {
        Err(err) => err,
        Ok(_) => panic!("a wrong password was accepted"),
    };
    assert!(matches!(err, RtspError::Unauthorized { .. }), "{err}");
    let text = format!("{err} {err:?}");
    assert!(!text.contains("wr0ng-pw") && !text.contains("viewer"), "{text}");
    let err = Session::describe(&server.url(""), options()).expect_err("no credentials");
    assert!(matches!(err, RtspError::Unauthorized { .. }), "{err}");
}

#[test]
fn basic_auth_right_password_plays_and_wrong_password_is_unauthorized() {
    let server = RtspServer::start(H264, Some(&format!("basic:viewer:{PASSWORD}")));
    let stats = play_to_end(&server.url(&format!("viewer:{PASSWORD}@")), Codec::H264);
    assert!(stats.ended_cleanly && stats.packets > 0);
    assert_unauthorized_without_leaking(&server);
}

#[test]
fn digest_auth_right_password_plays_and_wrong_password_is_unauthorized() {
    let server = RtspServer::start(H265, Some(&format!("digest:viewer:{PASSWORD}")));
    let stats = play_to_end(&server.url(&format!("viewer:{PASSWORD}@")), Codec::H265);
    assert!(stats.ended_cleanly && stats.packets > 0);
    assert_unauthorized_without_leaking(&server);
}

fn traced<T>(f: impl FnOnce() -> T) -> (T, String) {
    let log = CapturedLog::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(log.clone())
        .with_ansi(false)
        .with_max_level(tracing::Level::TRACE)
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    (out, log.text())
}

#[test]
fn digest_is_chosen_when_both_are_offered_and_no_log_line_holds_the_credentials() {
    let server = RtspServer::start(H264, Some(&format!("both:viewer:{PASSWORD}")));
    let url = server.url(&format!("viewer:{PASSWORD}@"));
    let (packets, log) = traced(|| {
        let mut playing = Session::describe(&url, options()).expect("describe").play().expect("play");
        (0..10).map(|_| playing.next_packet().expect("packet").expect("not ended")).count()
    });
    assert_eq!(packets, 10);
    assert!(log.contains("answering the authentication challenge digest=true"), "{log}");
    assert!(log.contains("rtsp{url=rtsp://***@127.0.0.1:"), "the span names the redacted URL: {log}");
    assert!(log.contains(" rtp ") && log.contains("TRACE"), "per-packet TRACE events: {log}");
    assert!(!log.contains(PASSWORD) && !log.contains("viewer"), "{log}");
}

#[test]
fn keep_alives_go_out_every_half_session_timeout_and_are_answered() {
    let server = RtspServer::start_with(H264, None, &[("RTSP_TEST_SESSION_TIMEOUT", "2")]);
    let url = server.url("");
    let (stats, log) = traced(|| play_to_end(&url, Codec::H264));
    assert!(stats.ended_cleanly);
    // The 2 s stream with a 1 s keep-alive interval: at least one GET_PARAMETER (listed in
    // gst-rtsp-server's Public header), answered in the interleaved stream.
    assert!(log.contains("method=GET_PARAMETER"), "{log}");
    assert!(log.contains("keep-alive answered"), "{log}");
}

#[test]
fn wrong_path_is_not_found_with_the_url_redacted() {
    let server = RtspServer::start(H264, None);
    let url = format!("rtsp://cam:s3cr3t@127.0.0.1:{}/nothing-here", server.port);
    let err = Session::describe(&url, options()).expect_err("404");
    assert!(matches!(err, RtspError::NotFound { .. }), "{err}");
    let text = err.to_string();
    assert!(text.starts_with(&format!("rtsp://***@127.0.0.1:{}/nothing-here: DESCRIBE", server.port)), "{text}");
    assert!(!text.contains("s3cr3t"));
}

#[test]
fn connection_refused_is_a_quick_connect_error() {
    // A port freed here can be taken at once by a server of a test running in parallel (then
    // the connection is not refused at all): try a few fresh ports until one is refused.
    let mut last = None;
    for _ in 0..5 {
        let port = TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
        let started = Instant::now();
        let err = Session::describe(&format!("rtsp://127.0.0.1:{port}/x"), options()).expect_err("refused");
        if matches!(err, RtspError::Connect { .. }) {
            // Generous upper bounds throughout: CI machines are loaded; the lower bounds are the point.
            assert!(started.elapsed() < Duration::from_secs(5));
            return;
        }
        last = Some(err);
    }
    panic!("no refused port gave a connect error; last: {last:?}");
}

#[test]
fn server_that_accepts_but_never_answers_times_out_within_the_read_timeout() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let holder = std::thread::spawn(move || listener.accept().map(|(stream, _)| stream));
    let started = Instant::now();
    let options = RtspOptions::default().read_timeout(Duration::from_millis(500));
    let err = Session::describe(&format!("rtsp://127.0.0.1:{port}/x"), options).expect_err("timeout");
    let elapsed = started.elapsed();
    assert!(matches!(err, RtspError::Timeout { .. }), "{err}");
    assert!(elapsed >= Duration::from_millis(450) && elapsed < Duration::from_secs(6), "{elapsed:?}");
    drop(holder.join());
}

#[test]
fn server_that_sends_garbage_is_a_protocol_error() {
    for garbage in [&b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"[..], b"HTTP/1.1 400 Bad Request\r\n\r\n"] {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let server = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().expect("accept");
            let mut request = [0u8; 1024];
            let _ = stream.read(&mut request);
            let _ = stream.write_all(garbage);
            std::thread::sleep(Duration::from_millis(500));
        });
        let err = Session::describe(&format!("rtsp://127.0.0.1:{port}/x"), options()).expect_err("garbage");
        assert!(matches!(err, RtspError::Protocol { .. }), "{err}");
        server.join().expect("server thread");
    }
}

#[test]
fn killing_the_server_mid_stream_ends_with_an_error_or_none_and_no_hang() {
    let mut server = RtspServer::start(H264, None);
    let options = RtspOptions::default().read_timeout(Duration::from_secs(2));
    let mut playing = Session::describe(&server.url(""), options).expect("describe").play().expect("play");
    for _ in 0..5 {
        playing.next_packet().expect("packet").expect("not ended yet");
    }
    server.kill();
    let started = Instant::now();
    let end = loop {
        match playing.next_packet() {
            Ok(Some(_)) => assert!(started.elapsed() < Duration::from_secs(10), "packets keep coming"),
            other => break other,
        }
    };
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
    assert!(matches!(end, Ok(None) | Err(RtspError::Io { .. } | RtspError::ConnectionClosed { .. })), "{end:?}");
}

/// Reads one request (through its empty line); returns its text.
fn read_request(stream: &mut std::net::TcpStream) -> String {
    let mut text = Vec::new();
    let mut byte = [0u8; 1];
    while !text.ends_with(b"\r\n\r\n") {
        match stream.read(&mut byte) {
            Ok(1) => text.push(byte[0]),
            _ => break,
        }
    }
    String::from_utf8(text).expect("utf-8 request")
}

fn cseq_of(request: &str) -> &str {
    request.lines().find_map(|l| l.strip_prefix("CSeq: ")).expect("CSeq")
}

fn frame(channel: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![b'$', channel];
    out.extend_from_slice(&u16::try_from(payload.len()).expect("short").to_be_bytes());
    out.extend_from_slice(payload);
    out
}

/// RTSP details gst-rtsp-server does not exercise, from a scripted peer on a plain TCP
/// listener: channels other than requested, RTP before the PLAY response, a request from the
/// server, OPTIONS as keep-alive when `Public` lacks GET_PARAMETER, silence while playing,
/// and the TEARDOWN on drop.
#[test]
fn scripted_server_quirks_are_handled() {
    const SDP: &str = "v=0\r\ns=x\r\nt=0 0\r\na=control:*\r\nm=video 0 RTP/AVP 97\r\na=rtpmap:97 H264/90000\r\na=fmtp:97 packetization-mode=1;sprop-parameter-sets=Z01ADeygoP2AiAAAAwAIAAADAZB4oUyw,aOvjyyA=\r\na=control:trackID=1\r\n";
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().expect("accept");
        let mut seen = Vec::new();
        let options = read_request(&mut s);
        let reply = format!(
            "RTSP/1.0 200 OK\r\nCSeq: {}\r\nPublic: OPTIONS, DESCRIBE, SETUP, PLAY, TEARDOWN\r\n\r\n",
            cseq_of(&options)
        );
        s.write_all(reply.as_bytes()).expect("write");
        let describe = read_request(&mut s);
        let reply = format!(
            "RTSP/1.0 200 OK\r\nCSeq: {}\r\nContent-Base: rtsp://127.0.0.1:{port}/cam\r\nContent-Length: {}\r\n\r\n{SDP}",
            cseq_of(&describe),
            SDP.len()
        );
        s.write_all(reply.as_bytes()).expect("write");
        let setup = read_request(&mut s);
        let reply = format!(
            "RTSP/1.0 200 OK\r\nCSeq: {}\r\nTransport: RTP/AVP/TCP;unicast;interleaved=2-3\r\nSession: abc123;timeout=2\r\n\r\n",
            cseq_of(&setup)
        );
        s.write_all(reply.as_bytes()).expect("write");
        let play = read_request(&mut s);
        let mut burst = frame(2, &[0x80, 97, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x65]);
        burst.extend(format!("RTSP/1.0 200 OK\r\nCSeq: {}\r\nSession: abc123\r\n\r\n", cseq_of(&play)).bytes());
        burst.extend(b"ANNOUNCE rtsp://127.0.0.1/cam RTSP/1.0\r\nCSeq: 77\r\nContent-Length: 3\r\n\r\nv=0");
        s.write_all(&burst).expect("write");
        let answer = read_request(&mut s);
        let mut burst =
            frame(3, &[0x80, 200, 0, 6, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        burst.extend(frame(2, &[0x80, 97, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0x41]));
        s.write_all(&burst).expect("write");
        // The first keep-alive (every timeout/2 = 1 s) is answered; then silence, while the
        // keep-alives go on, until the client gives up and tears down.
        let keepalive = read_request(&mut s);
        let reply = format!("RTSP/1.0 200 OK\r\nCSeq: {}\r\n\r\n", cseq_of(&keepalive));
        s.write_all(reply.as_bytes()).expect("write");
        seen.extend([setup, play, answer, keepalive]);
        loop {
            let request = read_request(&mut s);
            let done = request.is_empty() || request.starts_with("TEARDOWN");
            seen.push(request);
            if done {
                return seen;
            }
        }
    });

    let options = RtspOptions::default().read_timeout(Duration::from_millis(2500));
    let described = Session::describe(&format!("rtsp://127.0.0.1:{port}/cam"), options).expect("describe");
    assert_eq!(described.video().payload_type, 97);
    let mut playing = described.play().expect("play");
    let first = playing.next_packet().expect("early packet").expect("packet");
    assert_eq!(&first[2..4], &[0, 1], "the RTP sent before the PLAY response comes first");
    let second = playing.next_packet().expect("packet").expect("packet");
    assert_eq!(&second[2..4], &[0, 2], "RTCP on channel 3 is dropped");
    let started = Instant::now();
    let err = playing.next_packet().expect_err("silence");
    assert!(matches!(err, RtspError::Timeout { .. }), "{err}");
    // Silent from the keep-alive answer at ~1 s: the 2.5 s read timeout ends it at ~3.5 s.
    let elapsed = started.elapsed();
    assert!(elapsed > Duration::from_secs(3) && elapsed < Duration::from_secs(8), "{elapsed:?}");
    drop(playing);

    let seen = server.join().expect("server thread");
    let [setup, play, answer, keepalive, more_keepalives @ .., teardown] = &seen[..] else { panic!("{seen:?}") };
    assert!(more_keepalives.iter().all(|k| k.starts_with("OPTIONS ")), "{more_keepalives:?}");
    assert!(setup.starts_with(&format!("SETUP rtsp://127.0.0.1:{port}/cam/trackID=1 RTSP/1.0\r\n")), "{setup}");
    assert!(setup.contains("Transport: RTP/AVP/TCP;unicast;interleaved=0-1\r\n"), "{setup}");
    assert!(play.starts_with(&format!("PLAY rtsp://127.0.0.1:{port}/cam RTSP/1.0\r\n")), "{play}");
    assert!(play.contains("Session: abc123\r\n") && play.contains("Range: npt=0.000-\r\n"), "{play}");
    assert_eq!(answer, "RTSP/1.0 501 Not Implemented\r\nCSeq: 77\r\n\r\n");
    assert!(keepalive.starts_with("OPTIONS ") && keepalive.contains("Session: abc123\r\n"), "{keepalive}");
    assert!(teardown.starts_with(&format!("TEARDOWN rtsp://127.0.0.1:{port}/cam RTSP/1.0\r\n")), "{teardown}");
    assert!(teardown.contains("Session: abc123\r\n"), "{teardown}");
}
