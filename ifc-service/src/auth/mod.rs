//! Who is calling: users (argon2id passwords, short-lived JWTs plus refresh tokens) and API
//! keys (devices and services); roles admin ⊇ operator ⊇ viewer.

mod password;
mod tokens;

pub use password::{hash_password, verify_password, PasswordError};
pub use tokens::{hash_secret, new_secret, Claims, JwtKeys, TokenError, API_KEY_PREFIX, REFRESH_TOKEN_PREFIX};

use serde::{Deserialize, Serialize};

/// What a caller may do. Ordered: each role can do everything the ones below it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads everything but users and keys.
    Viewer,
    /// Also manages cameras, pipelines and inspections.
    Operator,
    /// Also manages users and API keys.
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Operator => "operator",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "viewer" => Some(Self::Viewer),
            "operator" => Some(Self::Operator),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// How the caller proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    AccessToken,
    ApiKey,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The user's id, or the API key's id.
    pub subject: String,
    pub role: Role,
    pub credential: Credential,
}
