//! Server-side HTTP authentication for RTSP (RFC 2326 §D.3 → RFC 2617; RFC 7616 for the MD5
//! Digest it keeps): the server issues nonces that expire, challenges with
//! `WWW-Authenticate: Digest realm=…, nonce=…, algorithm=MD5`, and checks each request's
//! `response` for the method and the URI that request used. Basic is refused unless configured
//! (it sends the password in clear on every request).
//!
//! The request-digest arithmetic is the client's (`rtsp::auth`), not a second copy.

use std::collections::VecDeque;
use std::fmt;
use std::time::{Duration, Instant};

use crate::rtsp::auth::{digest_ha1, digest_response, md5_hex, quote, split_challenges, Algorithm, DigestInputs, Qop};
use crate::rtsp::base64;

/// What the server keeps to check a publisher: the password, or Digest's HA1
/// (`MD5(user:realm:password)`, realm-bound) so the password need not be stored. `Debug` shows
/// neither.
#[derive(Clone, PartialEq, Eq)]
pub enum PublishSecret {
    Password(String),
    /// Lower-case hex, for the authority's realm. Basic cannot be checked against it.
    Ha1(String),
}

impl fmt::Debug for PublishSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PublishSecret::Password(_) => "Password(***)",
            PublishSecret::Ha1(_) => "Ha1(***)",
        })
    }
}

/// Why a request's credentials were not accepted. Messages name no secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthRefusal {
    #[error("no Authorization header")]
    Missing,
    #[error("Authorization header is malformed: {0}")]
    Malformed(&'static str),
    #[error("Basic authentication is not enabled; use Digest")]
    BasicRefused,
    #[error("unsupported Digest {0}")]
    Unsupported(&'static str),
    #[error("Digest realm is not this server's")]
    WrongRealm,
    #[error("Digest uri does not match the request's URI")]
    UriMismatch,
    /// A nonce this server issued, now past its lifetime: the client may retry (`stale=true`).
    #[error("nonce expired")]
    StaleNonce,
    #[error("nonce was not issued by this server")]
    UnknownNonce,
    /// Unknown user or wrong password (not told apart, so users cannot be probed).
    #[error("wrong user name or password")]
    WrongCredentials,
}

/// Nonces remembered per authority (one per connection): a client uses the last one it got,
/// so a handful covers retries.
const REMEMBERED_NONCES: usize = 16;

/// Issues nonces and checks `Authorization` headers for one realm. One per connection.
#[derive(Debug)]
pub struct DigestAuthority {
    realm: String,
    nonce_lifetime: Duration,
    allow_basic: bool,
    /// Secret material from the caller (random per connection in the service), so nonces are
    /// unpredictable without a random number generator here.
    nonce_key: String,
    issued_count: u64,
    issued: VecDeque<(String, Instant)>,
}

impl DigestAuthority {
    /// `nonce_key`: unpredictable bytes (hex or any text) that seed this authority's nonces.
    pub fn new(realm: impl Into<String>, nonce_lifetime: Duration, allow_basic: bool, nonce_key: &str) -> Self {
        Self {
            realm: realm.into(),
            nonce_lifetime,
            allow_basic,
            nonce_key: nonce_key.to_owned(),
            issued_count: 0,
            issued: VecDeque::new(),
        }
    }

    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// A fresh nonce, remembered as issued at `now`.
    pub fn issue_nonce(&mut self, now: Instant) -> String {
        self.issued_count += 1;
        let nonce = md5_hex(&format!("{}:{}:{}", self.nonce_key, self.issued_count, self.issued.len()));
        self.remember_nonce(nonce.clone(), now);
        nonce
    }

    /// Accepts `nonce` as issued at `now` (what [`DigestAuthority::issue_nonce`] does; public so
    /// captured exchanges with a known nonce can be replayed in tests).
    pub fn remember_nonce(&mut self, nonce: String, now: Instant) {
        if self.issued.len() == REMEMBERED_NONCES {
            self.issued.pop_front();
        }
        self.issued.push_back((nonce, now));
    }

    /// The `WWW-Authenticate` values of a 401: Digest with a fresh nonce (`stale=true` when the
    /// client's nonce had only expired), then Basic when it is enabled.
    pub fn challenges(&mut self, now: Instant, stale: bool) -> Vec<String> {
        let nonce = self.issue_nonce(now);
        let mut digest = format!("Digest realm={}, nonce={}, algorithm=MD5", quote(&self.realm), quote(&nonce));
        if stale {
            digest += ", stale=TRUE";
        }
        let mut out = vec![digest];
        if self.allow_basic {
            out.push(format!("Basic realm={}", quote(&self.realm)));
        }
        out
    }

    /// Checks one request's `Authorization` value: `method` and `request_uri` as in its request
    /// line; `user` and `secret` what the server holds for the resource.
    pub fn verify(
        &self,
        authorization: Option<&str>,
        method: &str,
        request_uri: &str,
        user: &str,
        secret: &PublishSecret,
        now: Instant,
    ) -> Result<(), AuthRefusal> {
        let value = authorization.map(str::trim).ok_or(AuthRefusal::Missing)?;
        let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
        if scheme.eq_ignore_ascii_case("basic") {
            return self.verify_basic(rest.trim(), user, secret);
        }
        if !scheme.eq_ignore_ascii_case("digest") {
            return Err(AuthRefusal::Malformed("scheme is neither Digest nor Basic"));
        }
        let parsed = split_challenges(value);
        let Some((_, params)) = parsed.first() else { return Err(AuthRefusal::Malformed("no parameters")) };
        let get = |name: &str| params.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
        let need = |name: &'static str| get(name).ok_or(AuthRefusal::Malformed(name));
        let (username, realm, nonce, uri, response) =
            (need("username")?, need("realm")?, need("nonce")?, need("uri")?, need("response")?);
        let algorithm = match get("algorithm") {
            None => Algorithm::Md5,
            Some(a) if a.eq_ignore_ascii_case("md5") => Algorithm::Md5,
            Some(a) if a.eq_ignore_ascii_case("md5-sess") => Algorithm::Md5Sess,
            Some(_) => return Err(AuthRefusal::Unsupported("algorithm (MD5 and MD5-sess are)")),
        };
        let qop = match get("qop") {
            None => Qop::None,
            Some(q) if q.eq_ignore_ascii_case("auth") => Qop::Auth,
            Some(_) => return Err(AuthRefusal::Unsupported("qop (auth is)")),
        };
        let (nc, cnonce) = match qop {
            Qop::None => ("", get("cnonce").unwrap_or_default()),
            _ => (need("nc")?, need("cnonce")?),
        };
        if algorithm == Algorithm::Md5Sess && cnonce.is_empty() {
            return Err(AuthRefusal::Malformed("cnonce"));
        }
        if realm != self.realm {
            return Err(AuthRefusal::WrongRealm);
        }
        // RFC 2617 §3.2.2.5: the digest-uri must be the Request-URI, else a digest for one
        // resource could be replayed against another.
        if uri != request_uri {
            return Err(AuthRefusal::UriMismatch);
        }
        // The digest is checked before the nonce's age, so `stale` is only ever said to a client
        // that knows the password (RFC 2617 §3.2.1).
        let ha1 = match secret {
            PublishSecret::Password(password) => digest_ha1(username, &self.realm, password),
            PublishSecret::Ha1(ha1) => ha1.to_ascii_lowercase(),
        };
        let expected = digest_response(&DigestInputs { ha1: &ha1, algorithm, nonce, cnonce, nc, qop, method, uri });
        let user_ok = constant_time_eq(username.as_bytes(), user.as_bytes());
        let digest_ok = constant_time_eq(expected.as_bytes(), response.to_ascii_lowercase().as_bytes());
        if !(user_ok && digest_ok) {
            return Err(AuthRefusal::WrongCredentials);
        }
        match self.issued.iter().find(|(n, _)| n == nonce) {
            None => Err(AuthRefusal::UnknownNonce),
            Some((_, issued_at)) if now.saturating_duration_since(*issued_at) > self.nonce_lifetime => {
                Err(AuthRefusal::StaleNonce)
            }
            Some(_) => Ok(()),
        }
    }

    fn verify_basic(&self, token: &str, user: &str, secret: &PublishSecret) -> Result<(), AuthRefusal> {
        if !self.allow_basic {
            return Err(AuthRefusal::BasicRefused);
        }
        let decoded =
            base64::decode(token, "rtsp.authorization.basic").map_err(|_| AuthRefusal::Malformed("base64"))?;
        let text = String::from_utf8(decoded).map_err(|_| AuthRefusal::Malformed("not UTF-8"))?;
        let (given_user, given_password) = text.split_once(':').ok_or(AuthRefusal::Malformed("no ':'"))?;
        let password_ok = match secret {
            PublishSecret::Password(password) => constant_time_eq(given_password.as_bytes(), password.as_bytes()),
            PublishSecret::Ha1(ha1) => constant_time_eq(
                digest_ha1(given_user, &self.realm, given_password).as_bytes(),
                ha1.to_ascii_lowercase().as_bytes(),
            ),
        };
        if constant_time_eq(given_user.as_bytes(), user.as_bytes()) && password_ok {
            Ok(())
        } else {
            Err(AuthRefusal::WrongCredentials)
        }
    }
}

/// Compares without an early exit on the first differing byte (the length is not secret).
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
