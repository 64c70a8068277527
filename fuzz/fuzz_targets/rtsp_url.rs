//! RTSP URLs (and the percent-decoding of their user information) on arbitrary text.
//! Invariants: a URL that parses shows no password in Display/Debug or in its request URI;
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
    if let Some(credentials) = url.credentials() {
        let shown = format!("{url} {url:?}");
        assert!(shown.contains("***@"), "{shown}");
        // A password long enough not to occur by chance in the rest of the URL never shows.
        let password = credentials.password();
        if password.len() >= 12 && !request_uri.contains(password) {
            assert!(!shown.contains(password), "{shown}");
        }
    }
});
