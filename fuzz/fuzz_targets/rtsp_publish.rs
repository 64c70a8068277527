//! The RTSP publish server (`rtsp::server::PublishSession`) on arbitrary client bytes, read by
//! the crate's `MessageReader` in arbitrary chunks. Invariants: nothing panics; every request
//! gets exactly one response, carrying the request's CSeq, which serialises and reads back as a
//! response with that status and CSeq; a request refused (non-2xx) raises no event; RTP may flow
//! (`Recording`) only after a RECORD answered 200; without valid credentials nothing but
//! OPTIONS succeeds.
#![no_main]

use std::time::{Duration, Instant};

use ifc::rtsp::server::{Mount, PublishConfig, PublishEvent, PublishSecret, PublishSession, PublishState, RequestContext};
use ifc::rtsp::{MessageReader, ReadItem};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|input: &[u8]| {
    let Some((&first, data)) = input.split_first() else { return };
    let now = Instant::now();
    let mount = Mount {
        name: "cam1".into(),
        camera_id: "id".into(),
        user: "user".into(),
        secret: PublishSecret::Password("pass".into()),
    };
    // Odd selector bytes: no password will match, so nothing past OPTIONS may succeed.
    let locked = first & 1 == 1;
    let mount = if locked { Mount { secret: PublishSecret::Password(String::new()), user: String::new(), ..mount } } else { mount };
    let config = PublishConfig { allow_basic: first & 2 == 2, ..PublishConfig::default() };
    let mut session = PublishSession::new(config, "12345678".into(), "fuzz");
    // The nonce of the committed captures (testdata/rtsp), so their Digest answers verify.
    session.authority_mut().remember_nonce("0123456789abcdef".into(), now);
    let mut reader = MessageReader::with_limits(16 * 1024, 64 * 1024);
    for chunk in data.chunks(usize::from(first >> 2) + 1) {
        reader.push(chunk);
        while let Ok(Some(item)) = reader.pull() {
            let ReadItem::Request(request) = item else { continue };
            let ctx = RequestContext {
                now: now + Duration::from_secs(u64::from(first >> 5)),
                mount: Some(&mount),
                udp_server_ports: (first & 4 == 4).then_some((40000, 40001)),
            };
            let before = session.state();
            let reply = session.handle(&request, &ctx);
            assert_eq!(reply.response.cseq, request.headers.cseq(), "CSeq echoed");
            let bytes = reply.response.serialize();
            let mut back = MessageReader::new();
            back.push(&bytes);
            match back.pull() {
                Ok(Some(ReadItem::Response(r))) => {
                    assert_eq!(r.status, reply.response.status.clamp(100, 999));
                    assert_eq!(r.headers.cseq(), request.headers.cseq());
                }
                other => panic!("response does not read back: {other:?}"),
            }
            assert!(matches!(back.pull(), Ok(None)), "exactly one response");
            let ok = (200..300).contains(&reply.response.status);
            if !ok {
                assert!(reply.event.is_none(), "a refusal raises no event");
            }
            if locked && request.method != "OPTIONS" {
                assert!(!ok, "{} succeeded without credentials", request.method);
            }
            if session.state() == PublishState::Recording && before != PublishState::Recording {
                assert_eq!(reply.event, Some(PublishEvent::Recording));
                assert_eq!(request.method, "RECORD");
            }
        }
    }
});
