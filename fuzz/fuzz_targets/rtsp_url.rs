//! RTSP URLs (and the percent-decoding of their user information) on arbitrary text.
//! Invariants: a URL that parses shows its user information as `***@` in Display/Debug and
//! no password elsewhere, nor in its request URI;
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
        // Shown, the authority is the request URI's with `***@` for the user information, and
        // the rest comes from the path alone: the password shows there only if the path holds
        // it too. (Comparing the password with the whole text is not enough: a password can
        // equal text of the host by chance, as `@[f::` did.)
        let path = url.path_and_query();
        let authority = request_uri.strip_suffix(path).expect("the request URI ends with the path");
        let redacted = authority.replacen("rtsp://", "rtsp://***@", 1);
        let password = credentials.password();
        for shown in [url.to_string(), format!("{url:?}")] {
            let at = shown.find(&redacted).unwrap_or_else(|| panic!("{shown}: no {redacted}"));
            let rest = &shown[at + redacted.len()..];
            if !password.is_empty() && !path.contains(password) {
                assert!(!rest.contains(password), "{shown}");
            }
        }
    }
});
