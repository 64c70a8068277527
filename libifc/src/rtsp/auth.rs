//! RTSP authentication, as HTTP's (RFC 2326 §D.3 → RFC 2617): Basic (§2) and Digest (§3) with
//! MD5 or MD5-sess, `qop=auth` (nc/cnonce) or no qop. Sans-IO: the client passes the
//! `WWW-Authenticate` values of a 401 in and gets `Authorization` values out; the client
//! nonce comes from the caller.

use std::fmt;

use md5::{Digest, Md5};

/// A user name and password. `Debug` shows neither.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    user: String,
    password: String,
}

impl Credentials {
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Self {
        Self { user: user.into(), password: password.into() }
    }

    pub fn user(&self) -> &str {
        &self.user
    }

    pub fn password(&self) -> &str {
        &self.password
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Credentials(***)")
    }
}

/// Why a 401 cannot be answered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    #[error("401 without a WWW-Authenticate header")]
    NoChallenge,
    #[error("WWW-Authenticate offers no usable scheme ({offered}); supported: Digest (MD5, MD5-sess), Basic")]
    Unsupported { offered: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Algorithm {
    Md5,
    Md5Sess,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Qop {
    None,
    Auth,
    /// `auth-int` over an empty body: RTSP requests from this client carry none.
    AuthInt,
}

/// A challenge this module can answer (RFC 2617 §1.2, §3.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Digest(DigestChallenge),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestChallenge {
    realm: String,
    nonce: String,
    opaque: Option<String>,
    /// Whether the challenge named its algorithm: then the answer names it too.
    algorithm_named: bool,
    algorithm: Algorithm,
    qop: Qop,
    /// §3.2.1: the nonce expired but the credentials were right; retrying is worthwhile.
    pub stale: bool,
}

impl Challenge {
    /// Picks the strongest answerable challenge from all `WWW-Authenticate` values of a 401
    /// (a server may send several headers, or several challenges in one): Digest before Basic.
    pub fn choose<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Self, AuthError> {
        let mut basic = false;
        let mut offered = Vec::new();
        let mut any = false;
        for value in values {
            for (scheme, params) in split_challenges(value) {
                any = true;
                if scheme.eq_ignore_ascii_case("digest") {
                    match DigestChallenge::from_params(&params) {
                        Ok(digest) => return Ok(Challenge::Digest(digest)),
                        Err(why) => offered.push(format!("Digest ({why})")),
                    }
                } else if scheme.eq_ignore_ascii_case("basic") {
                    basic = true;
                } else {
                    offered.push(scheme);
                }
            }
        }
        match (basic, any) {
            (true, _) => Ok(Challenge::Basic),
            (false, false) => Err(AuthError::NoChallenge),
            (false, true) => Err(AuthError::Unsupported { offered: offered.join(", ") }),
        }
    }
}

impl DigestChallenge {
    fn from_params(params: &[(String, String)]) -> Result<Self, String> {
        let get = |name: &str| params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
        let nonce = get("nonce").ok_or("no nonce")?.to_owned();
        let algorithm = match get("algorithm") {
            None => Algorithm::Md5,
            Some(a) if a.eq_ignore_ascii_case("md5") => Algorithm::Md5,
            Some(a) if a.eq_ignore_ascii_case("md5-sess") => Algorithm::Md5Sess,
            Some(a) => return Err(format!("algorithm {a}")),
        };
        let qop = match get("qop") {
            None => Qop::None,
            Some(list) => {
                let options: Vec<&str> = list.split(',').map(str::trim).collect();
                if options.iter().any(|o| o.eq_ignore_ascii_case("auth")) {
                    Qop::Auth
                } else if options.iter().any(|o| o.eq_ignore_ascii_case("auth-int")) {
                    Qop::AuthInt
                } else {
                    return Err(format!("qop {list}"));
                }
            }
        };
        Ok(Self {
            realm: get("realm").unwrap_or_default().to_owned(),
            nonce,
            opaque: get("opaque").map(str::to_owned),
            algorithm_named: get("algorithm").is_some(),
            algorithm,
            qop,
            stale: get("stale").is_some_and(|s| s.eq_ignore_ascii_case("true")),
        })
    }
}

/// Answers one challenge for every later request (Digest counts its requests in `nc`).
#[derive(Debug, Clone)]
pub struct Authenticator {
    credentials: Credentials,
    challenge: Challenge,
    nonce_count: u32,
}

impl Authenticator {
    pub fn new(credentials: Credentials, challenge: Challenge) -> Self {
        Self { credentials, challenge, nonce_count: 0 }
    }

    pub fn challenge(&self) -> &Challenge {
        &self.challenge
    }

    /// The `Authorization` value for a request. `uri`: the Request-URI exactly as in the
    /// request line; `cnonce`: a fresh client nonce (used when the challenge has a qop).
    pub fn authorization(&mut self, method: &str, uri: &str, cnonce: &str) -> String {
        let digest = match &self.challenge {
            Challenge::Basic => {
                let pair = format!("{}:{}", self.credentials.user, self.credentials.password);
                return format!("Basic {}", super::base64::encode(pair.as_bytes()));
            }
            Challenge::Digest(digest) => digest,
        };
        self.nonce_count = self.nonce_count.wrapping_add(1);
        let nc = format!("{:08x}", self.nonce_count);
        let Credentials { user, password } = &self.credentials;
        let ha1 = digest_ha1(user, &digest.realm, password);
        let response = digest_response(&DigestInputs {
            ha1: &ha1,
            algorithm: digest.algorithm,
            nonce: &digest.nonce,
            cnonce,
            nc: &nc,
            qop: digest.qop,
            method,
            uri,
        });
        let qop = if digest.qop == Qop::AuthInt { "auth-int" } else { "auth" };
        let mut out = format!(
            "Digest username={}, realm={}, nonce={}, uri={}, response=\"{response}\"",
            quote(user),
            quote(&digest.realm),
            quote(&digest.nonce),
            quote(uri)
        );
        if digest.algorithm_named {
            out += match digest.algorithm {
                Algorithm::Md5 => ", algorithm=MD5",
                Algorithm::Md5Sess => ", algorithm=MD5-sess",
            };
        }
        if digest.qop != Qop::None {
            out += &format!(", qop={qop}, nc={nc}, cnonce={}", quote(cnonce));
        }
        if let Some(opaque) = &digest.opaque {
            out += &format!(", opaque={}", quote(opaque));
        }
        out
    }
}

pub(crate) fn md5_hex(text: &str) -> String {
    Md5::digest(text.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// RFC 2617 §3.2.2.2 A1 for MD5: `MD5(user:realm:password)`. A server may store this instead
/// of the password (it is realm-bound).
pub(crate) fn digest_ha1(user: &str, realm: &str, password: &str) -> String {
    md5_hex(&format!("{user}:{realm}:{password}"))
}

/// What the request-digest of RFC 2617 §3.2.2.1 is computed from; shared by the client
/// ([`Authenticator`]) and the server (`rtsp::server`), so both sides use one arithmetic.
pub(crate) struct DigestInputs<'a> {
    /// `digest_ha1` (for MD5-sess, the `-sess` step is applied here).
    pub ha1: &'a str,
    pub algorithm: Algorithm,
    pub nonce: &'a str,
    pub cnonce: &'a str,
    /// `nc` as sent: eight hex digits.
    pub nc: &'a str,
    pub qop: Qop,
    pub method: &'a str,
    pub uri: &'a str,
}

/// §3.2.2.1 request-digest (lower-case hex).
pub(crate) fn digest_response(i: &DigestInputs<'_>) -> String {
    let ha1 = match i.algorithm {
        Algorithm::Md5 => i.ha1.to_owned(),
        Algorithm::Md5Sess => md5_hex(&format!("{}:{}:{}", i.ha1, i.nonce, i.cnonce)),
    };
    // §3.2.2.3 A2; auth-int over an empty body (RTSP requests here carry none).
    let ha2 = match i.qop {
        Qop::None | Qop::Auth => md5_hex(&format!("{}:{}", i.method, i.uri)),
        Qop::AuthInt => md5_hex(&format!("{}:{}:{}", i.method, i.uri, md5_hex(""))),
    };
    match i.qop {
        Qop::None => md5_hex(&format!("{ha1}:{}:{ha2}", i.nonce)),
        Qop::Auth | Qop::AuthInt => {
            let qop = if i.qop == Qop::Auth { "auth" } else { "auth-int" };
            md5_hex(&format!("{ha1}:{}:{}:{}:{qop}:{ha2}", i.nonce, i.nc, i.cnonce))
        }
    }
}

/// RFC 2616 §2.2 quoted-string.
pub(crate) fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('"');
    for c in text.chars() {
        if c == '"' || c == '\\' {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Splits a `WWW-Authenticate` value into challenges (RFC 2617 §1.2): `scheme` followed by
/// comma-separated `name=value` or `name="quoted"` parameters; a token not followed by `=`
/// starts the next challenge. Malformed text ends the scan; what was read is kept.
pub(crate) fn split_challenges(value: &str) -> Vec<(String, Vec<(String, String)>)> {
    let mut cursor = Cursor { s: value.as_bytes(), pos: 0 };
    let mut out: Vec<(String, Vec<(String, String)>)> = Vec::new();
    loop {
        cursor.skip(|b| b.is_ascii_whitespace() || b == b',');
        let scheme = cursor.token();
        if scheme.is_empty() {
            return out;
        }
        let mut params = Vec::new();
        loop {
            cursor.skip(|b| b.is_ascii_whitespace() || b == b',');
            let start = cursor.pos;
            let name = cursor.token();
            cursor.skip(|b| b == b' ' || b == b'\t');
            if name.is_empty() || !cursor.eat(b'=') {
                cursor.pos = start;
                break;
            }
            cursor.skip(|b| b == b' ' || b == b'\t');
            let value = if cursor.eat(b'"') { cursor.quoted() } else { cursor.token() };
            params.push((name, value));
        }
        out.push((scheme, params));
    }
}

struct Cursor<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn skip(&mut self, pred: impl Fn(u8) -> bool) {
        while self.s.get(self.pos).is_some_and(|&b| pred(b)) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, b: u8) -> bool {
        let hit = self.s.get(self.pos) == Some(&b);
        self.pos += usize::from(hit);
        hit
    }

    fn peek_token_len(&self) -> usize {
        self.s[self.pos..].iter().take_while(|&&b| is_token_byte(b)).count()
    }

    fn token(&mut self) -> String {
        let len = self.peek_token_len();
        let token = String::from_utf8_lossy(&self.s[self.pos..self.pos + len]).into_owned();
        self.pos += len;
        token
    }

    /// After the opening quote; consumes the closing one (or runs to the end).
    fn quoted(&mut self) -> String {
        let mut out = Vec::new();
        while let Some(&b) = self.s.get(self.pos) {
            self.pos += 1;
            match b {
                b'"' => break,
                b'\\' => {
                    if let Some(&next) = self.s.get(self.pos) {
                        out.push(next);
                        self.pos += 1;
                    }
                }
                _ => out.push(b),
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

/// RFC 2616 §2.2 token characters, plus `/` (seen in token68 values).
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_graphic() && !b"()<>@,;:\\\"[]?={}".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc2617_challenge() -> &'static str {
        // RFC 2617 §3.5.
        r#"Digest realm="testrealm@host.com", qop="auth,auth-int", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", opaque="5ccc069c403ebaf9f0171e9517f40e41""#
    }

    #[test]
    fn rfc2617_section_3_5_digest_example() {
        let challenge = Challenge::choose([rfc2617_challenge()]).unwrap();
        let mut auth = Authenticator::new(Credentials::new("Mufasa", "Circle Of Life"), challenge);
        let value = auth.authorization("GET", "/dir/index.html", "0a4f113b");
        assert_eq!(
            value,
            r#"Digest username="Mufasa", realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093", uri="/dir/index.html", response="6629fae49393a05397450978507c4ef1", qop=auth, nc=00000001, cnonce="0a4f113b", opaque="5ccc069c403ebaf9f0171e9517f40e41""#
        );
        assert!(auth.authorization("GET", "/dir/index.html", "0a4f113b").contains("nc=00000002"));
    }

    #[test]
    fn digest_without_qop_and_md5_sess() {
        // Expected values computed with Python's hashlib from the §3.5 inputs.
        let plain = r#"Digest realm="testrealm@host.com", nonce="dcd98b7102dd2f0e8b11d0f600bfb0c093""#;
        let mut auth =
            Authenticator::new(Credentials::new("Mufasa", "Circle Of Life"), Challenge::choose([plain]).unwrap());
        let value = auth.authorization("GET", "/dir/index.html", "unused");
        assert!(value.ends_with(r#"response="670fd8c2df070c60b045671b8b24ff02""#), "{value}");
        assert!(!value.contains("qop") && !value.contains("cnonce") && !value.contains("algorithm"));

        let sess = format!("{}, algorithm=MD5-sess", rfc2617_challenge());
        let mut auth = Authenticator::new(
            Credentials::new("Mufasa", "Circle Of Life"),
            Challenge::choose([sess.as_str()]).unwrap(),
        );
        let value = auth.authorization("GET", "/dir/index.html", "0a4f113b");
        assert!(value.contains(r#"response="8e3825c57e897f5a0dec6c2d4e5059d0", algorithm=MD5-sess"#), "{value}");
    }

    #[test]
    fn rfc2617_section_2_basic_example() {
        let mut auth = Authenticator::new(Credentials::new("Aladdin", "open sesame"), Challenge::Basic);
        assert_eq!(auth.authorization("DESCRIBE", "rtsp://h/", ""), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    }

    #[test]
    fn digest_is_chosen_over_basic_in_either_order_and_header_layout() {
        let basic = r#"Basic realm="cam""#;
        let digest = r#"Digest realm="cam", nonce="abc""#;
        for values in [vec![basic, digest], vec![digest, basic]] {
            assert!(matches!(Challenge::choose(values).unwrap(), Challenge::Digest(_)));
        }
        let one_header = format!("{basic}, {digest}");
        assert!(matches!(Challenge::choose([one_header.as_str()]).unwrap(), Challenge::Digest(_)));
        assert_eq!(Challenge::choose([basic]).unwrap(), Challenge::Basic);
    }

    #[test]
    fn unanswerable_digest_falls_back_to_basic_or_names_what_was_offered() {
        let sha = r#"Digest realm="cam", nonce="n", algorithm=SHA-256"#;
        assert_eq!(Challenge::choose([sha, "Basic realm=\"cam\""]).unwrap(), Challenge::Basic);
        let err = Challenge::choose([sha, "Negotiate abc=="]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "WWW-Authenticate offers no usable scheme (Digest (algorithm SHA-256), Negotiate); supported: Digest (MD5, MD5-sess), Basic"
        );
        assert_eq!(Challenge::choose(Vec::<&str>::new()), Err(AuthError::NoChallenge));
        assert!(Challenge::choose([r#"Digest realm="cam""#]).is_err(), "no nonce");
    }

    #[test]
    fn malformed_challenges_do_not_panic() {
        for value in [
            "",
            ",,,",
            "Digest",
            "Digest realm=\"unterminated",
            "Digest =x",
            "Digest realm=\"a\\",
            "\"",
            "=,=",
            "Digest a=b c",
        ] {
            let _ = Challenge::choose([value]);
        }
        let got = split_challenges(r#"Digest realm="a\"b", stale=TRUE, nonce=n1"#);
        assert_eq!(got[0].1[0], ("realm".to_owned(), "a\"b".to_owned()));
        let Ok(Challenge::Digest(d)) = Challenge::choose([r#"Digest realm="a\"b", stale=TRUE, nonce=n1"#]) else {
            panic!("digest")
        };
        assert!(d.stale);
    }

    #[test]
    fn credentials_debug_shows_neither_user_nor_password() {
        let auth = Authenticator::new(Credentials::new("admin", "s3cr3t"), Challenge::Basic);
        let shown = format!("{auth:?}");
        assert!(!shown.contains("admin") && !shown.contains("s3cr3t"), "{shown}");
    }
}
