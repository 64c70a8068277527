//! The RTSP message reader (responses, server requests, `$` interleaved frames, headers,
//! Content-Length) and the authentication challenges in what it reads, on arbitrary bytes
//! pushed in arbitrary chunks. Invariants: chunking never changes the items or whether the
//! stream fails; errors are sticky; bodies and header blocks stay within their limits;
//! interleaved payloads are at most 65535 bytes; a request the client writes reads back as
//! itself (write → read round trip).
#![no_main]

use ifc::rtsp::{Challenge, MessageReader, Method, ReadItem, Request, MAX_BODY_BYTES};
use libfuzzer_sys::fuzz_target;

fn read_all(data: &[u8], chunk: usize) -> (Vec<ReadItem>, bool) {
    let mut reader = MessageReader::new();
    let mut items = Vec::new();
    for c in data.chunks(chunk.max(1)) {
        reader.push(c);
        loop {
            match reader.pull() {
                Ok(Some(item)) => items.push(item),
                Ok(None) => break,
                Err(e) => {
                    assert_eq!(reader.pull().err(), Some(e), "errors are sticky");
                    return (items, true);
                }
            }
        }
    }
    (items, false)
}

fuzz_target!(|input: &[u8]| {
    let Some((&first, data)) = input.split_first() else { return };
    let whole = read_all(data, data.len());
    let chunked = read_all(data, usize::from(first) + 1);
    assert_eq!(whole, chunked, "chunking changes nothing");
    for item in &whole.0 {
        match item {
            ReadItem::Interleaved { payload, .. } => assert!(payload.len() <= usize::from(u16::MAX)),
            ReadItem::Response(r) => {
                // Any three digits are a status (even "000"; the client treats it as a failure).
                assert!(r.body.len() <= MAX_BODY_BYTES && r.status <= 999);
                let _ = Challenge::choose(r.headers.get_all("WWW-Authenticate"));
            }
            ReadItem::Request(r) => assert!(r.body.len() <= MAX_BODY_BYTES && !r.method.is_empty()),
        }
    }
    // Round trip: the client's own request, with a URI taken from the input, reads back.
    let uri = String::from_utf8_lossy(data).into_owned();
    if let Ok(bytes) =
        Request::new(Method::Describe, uri.clone()).header("Accept", "application/sdp").serialize(7, "fuzz")
    {
        let (items, failed) = read_all(&bytes, bytes.len());
        assert!(!failed, "own request parses");
        match items.as_slice() {
            [ReadItem::Request(r)] => {
                assert_eq!((r.method.as_str(), r.uri.as_str()), ("DESCRIBE", uri.as_str()));
                assert_eq!(r.headers.cseq(), Some(7));
                assert_eq!(r.headers.get("Accept"), Some("application/sdp"));
            }
            other => panic!("own request read back as {other:?}"),
        }
    }
});
