use super::*;
use crate::error::ParseErrorKind;
use crate::test_rng::XorShift as Rng;

/// Responses as gst-rtsp-server 1.22 sent them (captured), then a request from the server
/// and interleaved RTP/RTCP frames.
const OPTIONS_RESPONSE: &str = "RTSP/1.0 200 OK\r\nCSeq: 1\r\nPublic: OPTIONS, DESCRIBE, ANNOUNCE, GET_PARAMETER, PAUSE, PLAY, RECORD, SETUP, SET_PARAMETER, TEARDOWN\r\nServer: GStreamer RTSP server\r\nDate: Wed, 02 Dec 2026 21:13:00 GMT\r\n\r\n";
const SDP: &str = "v=0\r\no=- 11899544227677035813 1 IN IP4 127.0.0.1\r\ns=Session streamed with GStreamer\r\ni=rtsp-server\r\nt=0 0\r\na=tool:GStreamer\r\na=type:broadcast\r\na=control:*\r\na=range:npt=now-\r\nm=video 0 RTP/AVP 96\r\nc=IN IP4 0.0.0.0\r\na=rtpmap:96 H264/90000\r\na=framerate:25\r\na=fmtp:96 packetization-mode=1;sprop-parameter-sets=Z01ADeygoP2AiAAAAwAIAAADAZB4oUyw,aOvjyyA=;profile-level-id=4d400d;level-asymmetry-allowed=1\r\na=control:stream=0\r\na=ts-refclk:local\r\na=mediaclk:sender\r\na=ssrc:3079568628 cname:user3519365104@host-f1e6bca\r\n";
const PLAY_RESPONSE: &str = "RTSP/1.0 200 OK\r\nCSeq: 4\r\nRTP-Info: url=rtsp://127.0.0.1:39641/test/stream=0;seq=28788;rtptime=2125382132\r\nRange: npt=0-\r\nServer: GStreamer RTSP server\r\nSession: i49Km8.ENGh9GoKN\r\nDate: Wed, 02 Dec 2026 21:13:00 GMT\r\n\r\n";
const SERVER_REQUEST: &str =
    "GET_PARAMETER rtsp://127.0.0.1:39641/test/ RTSP/1.0\r\nCSeq: 9\r\nContent-Length: 0\r\n\r\n";

fn describe_response() -> String {
    format!(
        "RTSP/1.0 200 OK\r\nCSeq: 2\r\nContent-Type: application/sdp\r\nContent-Base: rtsp://127.0.0.1:39641/test/\r\nServer: GStreamer RTSP server\r\nContent-Length: {}\r\n\r\n{SDP}",
        SDP.len()
    )
}

fn interleaved(channel: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![b'$', channel];
    out.extend_from_slice(&u16::try_from(payload.len()).unwrap().to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn rtp(seq: u16, len: usize) -> Vec<u8> {
    let mut p = vec![0x80, 96];
    p.extend_from_slice(&seq.to_be_bytes());
    p.extend((0..len).map(|i| i as u8));
    p
}

fn session_bytes() -> Vec<u8> {
    let mut all = OPTIONS_RESPONSE.as_bytes().to_vec();
    all.extend_from_slice(describe_response().as_bytes());
    all.extend(interleaved(0, &rtp(1, 1400)));
    all.extend_from_slice(PLAY_RESPONSE.as_bytes());
    all.extend(interleaved(1, &[0x80, 200, 0, 6, 1, 2, 3, 4]));
    all.extend_from_slice(SERVER_REQUEST.as_bytes());
    all.extend(interleaved(0, &rtp(2, 0)));
    all.extend(interleaved(0, &[]));
    all
}

fn pull_all(reader: &mut MessageReader) -> Result<Vec<ReadItem>> {
    let mut items = Vec::new();
    while let Some(item) = reader.pull()? {
        items.push(item);
    }
    Ok(items)
}

fn read_in_chunks(data: &[u8], chunk: usize) -> Result<Vec<ReadItem>> {
    let mut reader = MessageReader::new();
    let mut items = Vec::new();
    for piece in data.chunks(chunk.max(1)) {
        reader.push(piece);
        items.extend(pull_all(&mut reader)?);
    }
    assert_eq!(reader.buffered(), 0);
    Ok(items)
}

#[test]
fn gst_rtsp_server_session_parses_into_items() {
    let items = read_in_chunks(&session_bytes(), usize::MAX).unwrap();
    assert_eq!(items.len(), 8);
    let ReadItem::Response(options) = &items[0] else { panic!("{:?}", items[0]) };
    assert_eq!((options.status, options.reason.as_str(), options.headers.cseq()), (200, "OK", Some(1)));
    assert!(options.headers.get("public").unwrap().contains("GET_PARAMETER"));
    let ReadItem::Response(describe) = &items[1] else { panic!() };
    assert_eq!(describe.body, SDP.as_bytes());
    assert_eq!(describe.headers.get("Content-Base"), Some("rtsp://127.0.0.1:39641/test/"));
    assert!(matches!(&items[2], ReadItem::Interleaved { channel: 0, payload } if payload.len() == 1404));
    assert!(matches!(&items[4], ReadItem::Interleaved { channel: 1, payload } if payload[1] == 200));
    let ReadItem::Request(request) = &items[5] else { panic!() };
    assert_eq!((request.method.as_str(), request.headers.cseq()), ("GET_PARAMETER", Some(9)));
    assert!(matches!(&items[7], ReadItem::Interleaved { channel: 0, payload } if payload.is_empty()));
}

#[test]
fn every_split_of_the_stream_gives_the_same_items() {
    let data = session_bytes();
    let whole = read_in_chunks(&data, usize::MAX).unwrap();
    for chunk in [1, 2, 3, 4, 5, 7, 64, 1000] {
        assert_eq!(read_in_chunks(&data, chunk).unwrap(), whole, "chunk {chunk}");
    }
    for split in 0..data.len() {
        let mut reader = MessageReader::new();
        reader.push(&data[..split]);
        let mut items = pull_all(&mut reader).unwrap();
        reader.push(&data[split..]);
        items.extend(pull_all(&mut reader).unwrap());
        assert_eq!(items, whole, "split at {split}");
    }
}

#[test]
fn interleaved_payloads_are_slices_of_one_buffer() {
    let mut data = interleaved(0, &rtp(1, 100));
    data.extend(interleaved(0, &rtp(2, 100)));
    let mut reader = MessageReader::new();
    reader.push(&data);
    let items = pull_all(&mut reader).unwrap();
    let [ReadItem::Interleaved { payload: a, .. }, ReadItem::Interleaved { payload: b, .. }] = &items[..] else {
        panic!()
    };
    // Consecutive payloads sit 4 bytes (the next frame's header) apart: no copy was made.
    assert_eq!(a.as_ptr().wrapping_add(a.len() + 4), b.as_ptr());
}

#[test]
fn announce_from_the_server_carries_its_body() {
    let mut reader = MessageReader::new();
    reader.push(b"ANNOUNCE rtsp://h/x RTSP/1.0\r\nCSeq: 3\r\nContent-Length: 5\r\n\r\nv=0\r\n");
    let Some(ReadItem::Request(req)) = reader.pull().unwrap() else { panic!() };
    assert_eq!((req.method.as_str(), req.uri.as_str(), &req.body[..]), ("ANNOUNCE", "rtsp://h/x", &b"v=0\r\n"[..]));
}

#[test]
fn bare_lf_line_ends_folded_headers_and_blank_lines_between_messages_are_tolerated() {
    let mut reader = MessageReader::new();
    reader.push(
        b"\r\n\r\nRTSP/1.0 454 Session Not Found\nCSeq: 5\nX-Long: a\n  b\n\n\r\nRTSP/1.0 200\r\nCSeq: 6\r\n\r\n",
    );
    let items = pull_all(&mut reader).unwrap();
    let [ReadItem::Response(a), ReadItem::Response(b)] = &items[..] else { panic!("{items:?}") };
    assert_eq!((a.status, a.reason.as_str(), a.headers.get("x-long")), (454, "Session Not Found", Some("a b")));
    assert_eq!((b.status, b.reason.as_str(), b.headers.cseq()), (200, "", Some(6)));
}

fn first_error(data: &[u8]) -> ParseError {
    let mut reader = MessageReader::new();
    reader.push(data);
    let err = pull_all(&mut reader).expect_err("an error");
    assert_eq!(reader.pull(), Err(err.clone()), "errors are sticky");
    err
}

#[test]
fn junk_that_is_neither_interleaved_nor_rtsp_is_an_error_naming_the_offset() {
    let mut data = OPTIONS_RESPONSE.as_bytes().to_vec();
    data.extend_from_slice(&[0x80, 0x60, 0x12, 0x34]);
    let err = first_error(&data);
    assert_eq!(err.offset, Some(OPTIONS_RESPONSE.len() as u64));
    assert_eq!(
        err.to_string(),
        format!(
            "rtsp.message (byte {}): invalid: expected '$' or an RTSP/1.0 message, found bytes 80 60 12 34",
            OPTIONS_RESPONSE.len()
        )
    );
    for junk in [
        &b"HTTP/1.1 200 OK\r\n\r\n"[..],
        b"hello\r\n\r\n",
        b"RTSP/1.0 200 OK\x01\r\n",
        b"GET / HTTP/1.1\r\n\r\n",
        b"OK\r\n\r\n",
    ] {
        let err = first_error(junk);
        assert!(matches!(err.kind, ParseErrorKind::Invalid(_) | ParseErrorKind::Unsupported(_)), "{junk:?}: {err}");
    }
    assert!(matches!(first_error(b"RTSP/2.0 200 OK\r\n\r\n").kind, ParseErrorKind::Unsupported(_)));
    assert!(matches!(first_error(b"RTSP/1.0 20 OK\r\n\r\n").kind, ParseErrorKind::Invalid(_)));
    assert!(matches!(first_error(b"RTSP/1.0 200 OK\r\nno colon\r\n\r\n").kind, ParseErrorKind::Invalid(_)));
    assert!(matches!(first_error(b"RTSP/1.0 200 OK\r\n folded first\r\n\r\n").kind, ParseErrorKind::Invalid(_)));
}

#[test]
fn junk_fails_before_its_line_ends() {
    let mut reader = MessageReader::new();
    reader.push(b"\x17\x03\x03");
    assert!(reader.pull().is_err(), "a TLS record is junk at once");
}

#[test]
fn header_block_over_64_kib_is_too_large() {
    let mut reader = MessageReader::new();
    reader.push(b"RTSP/1.0 200 OK\r\n");
    let filler = format!("X-Filler: {}\r\n", "a".repeat(1000));
    for _ in 0..70 {
        reader.push(filler.as_bytes());
        match reader.pull() {
            Ok(None) => {}
            Err(err) => {
                assert!(matches!(err.kind, ParseErrorKind::TooLarge(_)), "{err}");
                assert!(reader.buffered() >= MAX_HEADER_BYTES);
                return;
            }
            Ok(Some(item)) => panic!("{item:?}"),
        }
    }
    panic!("no error after 70 KiB of headers");
}

#[test]
fn header_block_of_nearly_64_kib_is_accepted() {
    let head = "RTSP/1.0 200 OK\r\nCSeq: 1\r\n";
    let filler = format!("X-Filler: {}\r\n\r\n", "a".repeat(MAX_HEADER_BYTES - head.len() - 16));
    let mut reader = MessageReader::new();
    reader.push(format!("{head}{filler}").as_bytes());
    assert!(matches!(reader.pull(), Ok(Some(ReadItem::Response(_)))));
}

#[test]
fn content_length_over_1_mib_fails_before_the_body_arrives() {
    let err = first_error(b"RTSP/1.0 200 OK\r\nContent-Length: 1048577\r\n\r\n");
    assert_eq!(
        err.to_string(),
        "rtsp.message.content_length (byte 0): too large: 1048577 bytes (at most 1048576 accepted)"
    );
    assert!(matches!(
        first_error(b"RTSP/1.0 200 OK\r\nContent-Length: 99999999999999999999999\r\n\r\n").kind,
        ParseErrorKind::TooLarge(_)
    ));
    assert!(matches!(first_error(b"RTSP/1.0 200 OK\r\nContent-Length: -1\r\n\r\n").kind, ParseErrorKind::Invalid(_)));
    assert!(matches!(
        first_error(b"RTSP/1.0 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab").kind,
        ParseErrorKind::Invalid(_)
    ));
}

#[test]
fn truncated_stream_leaves_bytes_buffered() {
    let mut reader = MessageReader::new();
    reader.push(&interleaved(0, &rtp(1, 10))[..7]);
    assert_eq!(reader.pull(), Ok(None));
    assert_eq!(reader.buffered(), 7);
    let describe = describe_response();
    let mut reader = MessageReader::new();
    reader.push(&describe.as_bytes()[..describe.len() - 1]);
    assert_eq!(reader.pull(), Ok(None));
}

/// Mutated real sessions, pushed in random splits: the reader never panics, every payload it
/// returns is no longer than the input, and once it fails it keeps failing.
#[test]
fn mutated_sessions_never_panic() {
    let base = session_bytes();
    let mut rng = Rng(0x1fc_2326);
    let interesting: [&[u8]; 8] =
        [b"$", b"\r\n", b"\r\n\r\n", b":", b"Content-Length: 9999\r\n", b"\xff\xff", b"RTSP/1.0 ", b" "];
    for _ in 0..3000 {
        let mut data = base.clone();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(data.len());
            match rng.below(5) {
                0 => data[at] = rng.next() as u8,
                1 => data[at] ^= 1 << rng.below(8),
                2 => {
                    let end = (at + rng.below(16)).min(data.len());
                    data.drain(at..end);
                }
                3 => {
                    let piece = interesting[rng.below(interesting.len())];
                    data.splice(at..at, piece.iter().copied());
                }
                _ => data.truncate(at),
            }
        }
        let mut reader = MessageReader::new();
        let mut pos = 0;
        let mut failed = None;
        while pos < data.len() && failed.is_none() {
            let end = (pos + 1 + rng.below(700)).min(data.len());
            reader.push(&data[pos..end]);
            pos = end;
            loop {
                match reader.pull() {
                    Ok(Some(ReadItem::Interleaved { payload, .. })) => assert!(payload.len() <= data.len()),
                    Ok(Some(ReadItem::Response(r))) => assert!(r.body.len() <= data.len()),
                    Ok(Some(ReadItem::Request(r))) => assert!(r.body.len() <= data.len()),
                    Ok(None) => break,
                    Err(err) => {
                        failed = Some(err);
                        break;
                    }
                }
            }
        }
        if let Some(err) = failed {
            assert_eq!(reader.pull(), Err(err));
        }
    }
}
