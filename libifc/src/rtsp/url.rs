//! RTSP URLs (RFC 2326 §3.2): `rtsp://[user[:password]@]host[:port][/path][?query]`.
//!
//! The credentials are split off at parse time: request lines carry [`RtspUrl::request_uri`]
//! (no user information), and `Display`/`Debug` show `***@` in their place and mask query
//! values that look like secrets (`?password=…`, `?token=…`), so that a URL can go into logs
//! and error messages. Nothing here echoes the raw input.

use std::fmt;

use super::auth::Credentials;

/// RTSP's well-known port (RFC 2326 §3.2).
pub const DEFAULT_PORT: u16 = 554;

/// A URL that cannot be used. The messages never contain the input's user information.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UrlError {
    /// A valid URL that this build cannot open (`rtsps://`: no TLS; `rtspu://`: no UDP).
    #[error("url: unsupported: {what}")]
    Unsupported { what: String },
    #[error("url: invalid: {reason}")]
    Invalid { reason: String },
}

fn invalid(reason: impl Into<String>) -> UrlError {
    UrlError::Invalid { reason: reason.into() }
}

/// A parsed `rtsp://` URL. See the module docs for what is redacted where.
#[derive(Clone, PartialEq, Eq)]
pub struct RtspUrl {
    /// Without the brackets of an IPv6 literal.
    host: String,
    port: u16,
    /// Starts with `/`; the query, if any, is kept verbatim.
    path_and_query: String,
    credentials: Option<Credentials>,
}

impl RtspUrl {
    /// Parses an `rtsp://` URL; the user information is percent-decoded (RFC 3986 §2.1).
    ///
    /// The authority ends at the first `/` or `?` and the user information at the last `@`
    /// before it, so a password may hold `@` or `:` unencoded (cameras' users write them so),
    /// but `/` and `?` must be written `%2F` and `%3F`. `#` is not a fragment delimiter:
    /// RTSP has no use for fragments, and passwords do contain it.
    pub fn parse(text: &str) -> Result<Self, UrlError> {
        let text = text.trim();
        if let Some(i) = text.bytes().position(|b| b.is_ascii_control() || b == b' ') {
            return Err(invalid(format!("whitespace or a control character at byte {i}")));
        }
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(invalid("no scheme (expected rtsp://)"));
        };
        check_scheme(scheme)?;
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, path) = rest.split_at(authority_end);
        let (userinfo, host_port) = match authority.rfind('@') {
            Some(at) => (Some(&authority[..at]), &authority[at + 1..]),
            None => (None, authority),
        };
        let credentials = match userinfo {
            None | Some("") => None,
            Some(info) => {
                let (user, password) = info.split_once(':').unwrap_or((info, ""));
                Some(Credentials::new(percent_decode(user, "user")?, percent_decode(password, "password")?))
            }
        };
        let (host, port) = split_host_port(host_port)?;
        let path_and_query = match path.as_bytes().first() {
            None => "/".to_owned(),
            Some(b'?') => format!("/{path}"),
            Some(_) => path.to_owned(),
        };
        Ok(Self { host, port, path_and_query, credentials })
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Path and query as given, e.g. `/Streaming/Channels/101?transportmode=unicast`.
    pub fn path_and_query(&self) -> &str {
        &self.path_and_query
    }

    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// The URL for request lines and SDP control resolution: no user information (RFC 2326
    /// §3.2 URLs carry none on the wire). The query is kept verbatim: not for logs.
    pub fn request_uri(&self) -> String {
        format!("rtsp://{}:{}{}", self.bracketed_host(), self.port, self.path_and_query)
    }

    fn bracketed_host(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        }
    }
}

fn check_scheme(scheme: &str) -> Result<(), UrlError> {
    match scheme.to_ascii_lowercase().as_str() {
        "rtsp" => Ok(()),
        "rtsps" => Err(UrlError::Unsupported { what: "rtsps:// (RTSP over TLS): this build has no TLS".into() }),
        "rtspu" => Err(UrlError::Unsupported { what: "rtspu:// (RTSP over UDP): only TCP is supported".into() }),
        // Echo the scheme only when it is one: `user:secret@host://` must not come back.
        s if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"+-.".contains(&b)) => {
            Err(invalid(format!("scheme {s}:// is not rtsp://")))
        }
        _ => Err(invalid("no scheme (expected rtsp://)")),
    }
}

/// Errors do not echo the host or port: with an unencoded `/` in a password
/// (`rtsp://admin:se/cret@cam/`), what looks like the host and port is part of the password.
fn split_host_port(host_port: &str) -> Result<(String, u16), UrlError> {
    let (host, port) = if let Some(v6) = host_port.strip_prefix('[') {
        let Some((host, after)) = v6.split_once(']') else {
            return Err(invalid("IPv6 address without its closing ']'"));
        };
        if host.is_empty() || !host.bytes().all(|b| b.is_ascii_hexdigit() || b":.".contains(&b)) {
            return Err(invalid("IPv6 address holds characters other than hex digits, ':' and '.'"));
        }
        match after {
            "" => (host, None),
            _ => match after.strip_prefix(':') {
                Some(port) => (host, Some(port)),
                None => return Err(invalid("characters after the IPv6 address's ']'")),
            },
        }
    } else {
        match host_port.split_once(':') {
            Some((_, port)) if port.contains(':') => return Err(invalid("IPv6 address not in brackets")),
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    if host.is_empty() {
        return Err(invalid("no host"));
    }
    if !host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._:".contains(&b)) {
        return Err(invalid("host holds characters other than letters, digits, '-', '.' and '_'"));
    }
    let port = match port {
        None | Some("") => DEFAULT_PORT,
        Some(p) => match p.parse::<u16>() {
            Ok(port) if port > 0 && p.bytes().all(|b| b.is_ascii_digit()) => port,
            _ => return Err(invalid("port is not a number from 1 to 65535")),
        },
    };
    Ok((host.to_owned(), port))
}

/// RFC 3986 §2.1 percent-decoding of user information. Errors name the part, never its text.
fn percent_decode(text: &str, part: &str) -> Result<String, UrlError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
            match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                Some(b) => out.push(b),
                None => return Err(invalid(format!("{part}: '%' not followed by two hex digits"))),
            }
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| invalid(format!("{part}: percent-decodes to invalid UTF-8")))
}

/// Query keys whose values are masked in `Display` (substrings, ASCII case-insensitive).
const SECRET_QUERY_KEYS: [&str; 7] = ["pass", "pwd", "user", "token", "auth", "secret", "key"];

fn write_redacted_query(f: &mut fmt::Formatter<'_>, query: &str) -> fmt::Result {
    for (i, pair) in query.split('&').enumerate() {
        if i > 0 {
            f.write_str("&")?;
        }
        match pair.split_once('=') {
            Some((key, _)) if SECRET_QUERY_KEYS.iter().any(|s| key.to_ascii_lowercase().contains(s)) => {
                write!(f, "{key}=***")?;
            }
            _ => f.write_str(pair)?,
        }
    }
    Ok(())
}

/// Redacted: `rtsp://***@host:port/path?query` with secret-looking query values masked.
impl fmt::Display for RtspUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let userinfo = if self.credentials.is_some() { "***@" } else { "" };
        write!(f, "rtsp://{userinfo}{}:{}", self.bracketed_host(), self.port)?;
        match self.path_and_query.split_once('?') {
            Some((path, query)) => {
                write!(f, "{path}?")?;
                write_redacted_query(f, query)
            }
            None => f.write_str(&self.path_and_query),
        }
    }
}

impl fmt::Debug for RtspUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RtspUrl({self})")
    }
}

/// A URL the server sent (a control URL, Content-Base), redacted for logs.
pub(crate) fn redact(url: &str) -> String {
    RtspUrl::parse(url).map_or_else(|_| "<unparseable URL>".to_owned(), |u| u.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_url_with_percent_encoded_credentials() {
        let url = RtspUrl::parse("rtsp://ad%6Din:p%40ss%2Fw:rd@cam.local:8554/Streaming/Channels/101?a=1").unwrap();
        assert_eq!(url.host(), "cam.local");
        assert_eq!(url.port(), 8554);
        assert_eq!(url.path_and_query(), "/Streaming/Channels/101?a=1");
        let creds = url.credentials().unwrap();
        assert_eq!((creds.user(), creds.password()), ("admin", "p@ss/w:rd"));
        assert_eq!(url.request_uri(), "rtsp://cam.local:8554/Streaming/Channels/101?a=1");
    }

    #[test]
    fn default_port_and_path() {
        let url = RtspUrl::parse("RTSP://10.0.0.7").unwrap();
        assert_eq!((url.host(), url.port(), url.path_and_query()), ("10.0.0.7", 554, "/"));
        assert!(url.credentials().is_none());
        assert_eq!(RtspUrl::parse("rtsp://h:/x").unwrap().port(), 554);
        assert_eq!(RtspUrl::parse("rtsp://h?ch=1").unwrap().path_and_query(), "/?ch=1");
    }

    #[test]
    fn ipv6_literal_in_brackets() {
        let url = RtspUrl::parse("rtsp://u@[::1]:8554/live").unwrap();
        assert_eq!((url.host(), url.port()), ("::1", 8554));
        assert_eq!(url.request_uri(), "rtsp://[::1]:8554/live");
        assert_eq!(RtspUrl::parse("rtsp://[fe80::1]/").unwrap().port(), 554);
        assert!(RtspUrl::parse("rtsp://::1/live").is_err());
        assert!(RtspUrl::parse("rtsp://[fe80::1%25eth0]/").is_err(), "zone ids are not supported");
        assert!(RtspUrl::parse("rtsp://[::1/live").is_err());
        assert!(RtspUrl::parse("rtsp://[::1]x/live").is_err());
    }

    #[test]
    fn raw_at_sign_in_password_splits_at_the_last_at() {
        let url = RtspUrl::parse("rtsp://admin:p@ss#1@cam/live").unwrap();
        assert_eq!(url.credentials().unwrap().password(), "p@ss#1");
        assert_eq!(url.host(), "cam");
    }

    #[test]
    fn rtsps_is_a_typed_unsupported_error() {
        assert!(matches!(RtspUrl::parse("rtsps://cam/live"), Err(UrlError::Unsupported { .. })));
        assert!(matches!(RtspUrl::parse("rtspu://cam/live"), Err(UrlError::Unsupported { .. })));
        assert!(matches!(RtspUrl::parse("http://cam/live"), Err(UrlError::Invalid { .. })));
    }

    #[test]
    fn malformed_urls_are_errors() {
        for bad in [
            "",
            "cam/live",
            "rtsp://",
            "rtsp:///path",
            "rtsp://cam:0/",
            "rtsp://cam:65536/",
            "rtsp://cam:+5/",
            "rtsp://cam:x/",
            "rtsp://ca m/",
            "rtsp://cam/a\r\nInjected: 1",
            "rtsp://c<a>m/",
            "rtsp://u:%zz@cam/",
            "rtsp://u:%ff@cam/",
        ] {
            assert!(RtspUrl::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn display_and_debug_redact_credentials_and_secret_query_values() {
        let url = RtspUrl::parse("rtsp://admin:s3cr3t@[::1]:554/live?channel=1&password=s3cr3t&Token=abc").unwrap();
        let shown = format!("{url} {url:?}");
        assert!(!shown.contains("s3cr3t") && !shown.contains("admin") && !shown.contains("abc"), "{shown}");
        assert_eq!(url.to_string(), "rtsp://***@[::1]:554/live?channel=1&password=***&Token=***");
        assert_eq!(redact("rtsp://u:s3cr3t@h/x"), "rtsp://***@h:554/x");
        assert_eq!(redact("not a url"), "<unparseable URL>");
    }

    #[test]
    fn no_error_message_contains_the_secret() {
        for bad in [
            "admin:s3cr3t@cam/live",
            "admin:s3cr3t@cam://x",
            "http://admin:s3cr3t@cam/",
            "rtsps://admin:s3cr3t@cam/",
            "rtsp://admin:s3cr3t@/",
            "rtsp://admin:s3cr3t%@cam/",
            "rtsp://admin:s3cr3t%C3@cam/",
            "rtsp://admin:s3cr3t@cam:99999/",
            "rtsp://admin:s3cr3t@[::1/",
            "rtsp://admin:s3cr3t@c*m/",
            "rtsp://admin:s3cr3t @cam/",
            "rtsp://admin:s3cr3t@cam:s3cr3t/",
            "rtsp://admin:s3cr3t/x@cam/",
            "rtsp://admin:s3cr3t?x@cam/",
        ] {
            let err = RtspUrl::parse(bad).expect_err(bad);
            let text = format!("{err} {err:?}");
            assert!(!text.contains("s3cr3t") && !text.contains("admin"), "{bad:?} -> {text}");
        }
    }
}
