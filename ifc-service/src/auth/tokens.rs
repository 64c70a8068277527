//! Access tokens (HS256 JWTs: the algorithm pinned, `iss`, `aud` and `exp` required and
//! checked), refresh tokens and API keys (256 random bits, stored as sha256).

use std::path::Path;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Role;

/// API keys start with this, so a bearer token says which kind it is.
pub const API_KEY_PREFIX: &str = "ifck_";
pub const REFRESH_TOKEN_PREFIX: &str = "ifcr_";

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    #[error("JWT key file {path}: {source}")]
    KeyFile { path: String, source: std::io::Error },
    #[error("JWT key file {path}: must hold at least 32 bytes")]
    KeyTooShort { path: String },
    #[error("random source: {0}")]
    Random(String),
    #[error("token: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: Role,
    pub iss: String,
    pub aud: String,
    pub iat: u64,
    pub exp: u64,
}

/// Signs and checks access tokens.
#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl_s: u64,
    /// Signs download links (HMAC-SHA256): derived from the JWT secret, so one secret file
    /// serves both, but a link signature is never a valid token signature or the reverse.
    link_key: [u8; 32],
}

type HmacSha256 = hmac::Hmac<Sha256>;

impl JwtKeys {
    pub fn new(secret: &[u8], issuer: &str, audience: &str, ttl_s: u64) -> Self {
        // Only HS256 is accepted: a token naming another algorithm (`none` included) fails.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            ttl_s,
            link_key: link_key(secret),
        }
    }

    /// The key in `path`, made (256 random bits, mode 0600) when missing.
    pub fn load_or_create(path: &Path, issuer: &str, audience: &str, ttl_s: u64) -> Result<Self, TokenError> {
        let err = |source| TokenError::KeyFile { path: path.display().to_string(), source };
        let secret = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let secret = new_random::<32>()?.to_vec();
                write_private(path, &secret).map_err(err)?;
                secret
            }
            Err(e) => return Err(err(e)),
        };
        if secret.len() < 32 {
            return Err(TokenError::KeyTooShort { path: path.display().to_string() });
        }
        Ok(Self::new(&secret, issuer, audience, ttl_s))
    }

    /// The signature of a link's canonical text (base64url).
    pub fn sign_link(&self, message: &str) -> String {
        URL_SAFE_NO_PAD.encode(hmac::Mac::finalize(link_mac(&self.link_key, message)).into_bytes())
    }

    /// Whether `signature` is the link signature of `message` (compared in constant time).
    pub fn verify_link(&self, message: &str, signature: &str) -> bool {
        match URL_SAFE_NO_PAD.decode(signature) {
            Ok(sig) => hmac::Mac::verify_slice(link_mac(&self.link_key, message), &sig).is_ok(),
            Err(_) => false,
        }
    }

    pub fn ttl_s(&self) -> u64 {
        self.ttl_s
    }

    /// A token for `subject` with `role`, valid from `now_s` for the configured lifetime.
    pub fn issue(&self, subject: &str, role: Role, now_s: u64) -> Result<String, TokenError> {
        let claims = Claims {
            sub: subject.to_owned(),
            role,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            iat: now_s,
            exp: now_s + self.ttl_s,
        };
        Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?)
    }

    /// The claims of a valid token (signature, algorithm, issuer, audience and expiry checked
    /// against the system clock).
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        Ok(jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)?.claims)
    }
}

/// sha256("ifc download links" ‖ secret): a key of its own for link signatures.
fn link_key(secret: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"ifc download links\0");
    h.update(secret);
    h.finalize().into()
}

fn link_mac(key: &[u8; 32], message: &str) -> HmacSha256 {
    use hmac::Mac;
    // A key shorter than SHA-256's 64-byte block is zero-padded by HMAC (RFC 2104): padding it
    // here gives the same MAC through the infallible constructor.
    let mut block = [0u8; 64];
    block[..32].copy_from_slice(key);
    let mut mac = <HmacSha256 as hmac::digest::KeyInit>::new(&block.into());
    mac.update(message.as_bytes());
    mac
}

fn new_random<const N: usize>() -> Result<[u8; N], TokenError> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|e| TokenError::Random(e.to_string()))?;
    Ok(bytes)
}

/// A new high-entropy secret (refresh token, API key): `prefix` + 256 random bits, base64url.
pub fn new_secret(prefix: &str) -> Result<String, TokenError> {
    Ok(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(new_random::<32>()?)))
}

/// How a secret is stored: sha256, hex.
pub fn hash_secret(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    }

    #[test]
    fn issued_tokens_verify_and_carry_the_role() {
        let keys = JwtKeys::new(&[7; 32], "ifc", "ifc-api", 60);
        let token = keys.issue("u1", Role::Operator, now()).expect("issue");
        let claims = keys.verify(&token).expect("valid");
        assert_eq!((claims.sub.as_str(), claims.role), ("u1", Role::Operator));
    }

    #[test]
    fn expired_foreign_unsigned_and_misaddressed_tokens_fail() {
        let keys = JwtKeys::new(&[7; 32], "ifc", "ifc-api", 60);
        let expired = keys.issue("u1", Role::Admin, now() - 3600).expect("issue");
        assert!(keys.verify(&expired).is_err());
        let other = JwtKeys::new(&[8; 32], "ifc", "ifc-api", 60).issue("u1", Role::Admin, now()).expect("issue");
        assert!(keys.verify(&other).is_err());
        let audience = JwtKeys::new(&[7; 32], "ifc", "elsewhere", 60).issue("u1", Role::Admin, now()).expect("issue");
        assert!(keys.verify(&audience).is_err());
        // alg: none, the payload of a real token, no signature.
        let payload = keys.issue("u1", Role::Admin, now()).expect("issue");
        let body = payload.split('.').nth(1).expect("three parts");
        let none = format!("{}.{body}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#));
        assert!(keys.verify(&none).is_err());
    }

    #[test]
    fn secrets_are_prefixed_random_and_hashed_stably() {
        let a = new_secret(API_KEY_PREFIX).expect("random");
        let b = new_secret(API_KEY_PREFIX).expect("random");
        assert!(a.starts_with(API_KEY_PREFIX) && a.len() == API_KEY_PREFIX.len() + 43, "{a}");
        assert_ne!(a, b);
        assert_eq!(hash_secret("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("jwt.key");
        let a = JwtKeys::load_or_create(&path, "ifc", "ifc-api", 60).expect("create");
        let token = a.issue("u", Role::Viewer, now()).expect("issue");
        let b = JwtKeys::load_or_create(&path, "ifc", "ifc-api", 60).expect("reuse");
        assert!(b.verify(&token).is_ok(), "same key after a restart");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("stat").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
    }
}
