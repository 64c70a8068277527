//! RTSP URLs (and the percent-decoding of their user information) on arbitrary text.
//! Invariants: a URL that parses shows its user information only as `***@` in Display/Debug,
//! and none in its request URI;
//! its request URI parses to the same host, port and path.
#![no_main]

use ifc::rtsp::RtspUrl;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(url) = RtspUrl::parse(&text) else { return };
    let request_uri = url.request_uri();
    let again = RtspUrl::parse(&request_uri).expect("the request URI parses");
    assert_eq!((again.host(), again.port(), again.path_and_query()), (url.host(), url.port(), url.path_and_query()));
    assert!(again.credentials().is_none(), "request URIs carry no user information");
    // The user information changes nothing shown but `***@`: the URL displays as its request
    // URI does (query secrets redacted alike), with `***@` before the host. (Searching the
    // shown text for the password is not enough: a password can equal other text by chance,
    // as `@[f::` did with an IPv6 host and `)` with Debug's closing parenthesis.)
    let shown = url.to_string();
    let expected = if url.credentials().is_some() {
        again.to_string().replacen("rtsp://", "rtsp://***@", 1)
    } else {
        again.to_string()
    };
    assert_eq!(shown, expected);
    assert_eq!(format!("{url:?}"), format!("RtspUrl({shown})"));
});
