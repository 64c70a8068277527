//! Which camera sources the server accepts: `rtsp://` URLs whose host resolves to no
//! link-local, cloud-metadata, multicast or unspecified address (and to loopback only when the
//! config allows it), and `file` sources under the configured root. Credentials found in a URL
//! are split off so the stored URL never carries them.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ifc::rtsp::RtspUrl;

use crate::config::CameraPolicy;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum PolicyError {
    #[error("url: {0}")]
    Url(String),
    #[error("url: {host} resolves to {addr}, which cameras may not use ({why})")]
    Address { host: String, addr: IpAddr, why: &'static str },
    #[error("url: cannot resolve {host}: {reason}")]
    Resolve { host: String, reason: String },
    #[error("url: file cameras are not enabled (set cameras.file_root in the config)")]
    FilesDisabled,
    #[error("url: {0}")]
    File(String),
}

/// A camera source that passed the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedSource {
    /// The URL without credentials (or the file's canonical path).
    pub url: String,
    /// Credentials that were in the URL, if any.
    pub username: Option<String>,
    pub password: Option<String>,
}

pub async fn check_rtsp(policy: &CameraPolicy, url: &str) -> Result<CheckedSource, PolicyError> {
    let parsed = RtspUrl::parse(url).map_err(|e| PolicyError::Url(e.to_string()))?;
    let host = parsed.host().to_owned();
    let addrs: Vec<IpAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![ip],
        Err(_) => tokio::net::lookup_host((host.as_str(), parsed.port()))
            .await
            .map_err(|e| PolicyError::Resolve { host: host.clone(), reason: e.to_string() })?
            .map(|a| a.ip())
            .collect(),
    };
    for addr in addrs {
        if let Some(why) = forbidden(addr, policy.allow_loopback) {
            return Err(PolicyError::Address { host, addr, why });
        }
    }
    Ok(CheckedSource {
        url: parsed.request_uri(),
        username: parsed.credentials().map(|c| c.user().to_owned()),
        password: parsed.credentials().map(|c| c.password().to_owned()),
    })
}

/// Why `addr` is refused, if it is.
pub fn forbidden(addr: IpAddr, allow_loopback: bool) -> Option<&'static str> {
    let addr = match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    };
    match addr {
        IpAddr::V4(v4) => {
            if v4.is_loopback() && !allow_loopback {
                Some("loopback; allow with cameras.allow_loopback")
            } else if v4.octets() == [169, 254, 169, 254] || v4.octets() == [100, 100, 100, 200] {
                Some("cloud metadata service")
            } else if v4.is_link_local() {
                Some("link-local")
            } else if v4.is_unspecified() || v4.is_broadcast() || v4.is_multicast() {
                Some("unspecified, broadcast or multicast")
            } else {
                None
            }
        }
        IpAddr::V6(v6) => {
            let seg = v6.segments();
            if v6.is_loopback() && !allow_loopback {
                Some("loopback; allow with cameras.allow_loopback")
            } else if seg[0] == 0xfd00 && seg[1] == 0x0ec2 {
                Some("cloud metadata service")
            } else if seg[0] & 0xffc0 == 0xfe80 {
                Some("link-local")
            } else if v6.is_unspecified() || v6.is_multicast() {
                Some("unspecified or multicast")
            } else {
                None
            }
        }
    }
}

/// A `file` camera: an existing file under the configured root.
pub fn check_file(policy: &CameraPolicy, path: &str) -> Result<CheckedSource, PolicyError> {
    let root = policy.file_root.as_ref().ok_or(PolicyError::FilesDisabled)?;
    let root = root.canonicalize().map_err(|e| PolicyError::File(format!("file root {}: {e}", root.display())))?;
    let path = Path::new(path.strip_prefix("file://").unwrap_or(path));
    let path: PathBuf = if path.is_absolute() { path.to_owned() } else { root.join(path) };
    let path = path.canonicalize().map_err(|_| PolicyError::File("no such file under the file root".into()))?;
    if !path.starts_with(&root) || !path.is_file() {
        return Err(PolicyError::File("no such file under the file root".into()));
    }
    Ok(CheckedSource { url: path.display().to_string(), username: None, password: None })
}

/// The URL to connect with: the stored URL with the credentials put back, percent-encoded.
pub fn url_with_credentials(url: &str, username: Option<&str>, password: Option<&str>) -> String {
    let Some(user) = username else { return url.to_owned() };
    let Some(rest) = url.strip_prefix("rtsp://") else { return url.to_owned() };
    let mut userinfo = percent_encode(user);
    if let Some(p) = password {
        userinfo.push(':');
        userinfo.push_str(&percent_encode(p));
    }
    format!("rtsp://{userinfo}@{rest}")
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allow_loopback: bool) -> CameraPolicy {
        CameraPolicy { allow_loopback, ..CameraPolicy::default() }
    }

    #[tokio::test]
    async fn metadata_link_local_and_loopback_are_refused_by_default() {
        for url in [
            "rtsp://169.254.169.254/latest",
            "rtsp://169.254.10.1/x",
            "rtsp://[fe80::1]/x",
            "rtsp://127.0.0.1:8554/x",
            "rtsp://[::ffff:127.0.0.1]/x",
            "rtsp://localhost/x",
            "rtsp://0.0.0.0/x",
        ] {
            assert!(check_rtsp(&policy(false), url).await.is_err(), "{url} accepted");
        }
        assert!(check_rtsp(&policy(true), "rtsp://127.0.0.1:8554/x").await.is_ok());
        assert!(check_rtsp(&policy(true), "rtsp://169.254.169.254/x").await.is_err());
        assert!(check_rtsp(&policy(false), "rtsp://192.0.2.10/x").await.is_ok());
    }

    #[tokio::test]
    async fn credentials_are_split_off_and_put_back_encoded() {
        let checked = check_rtsp(&policy(true), "rtsp://admin:p%40ss%2Fw@127.0.0.1:8554/cam").await.expect("valid");
        assert_eq!(checked.url, "rtsp://127.0.0.1:8554/cam");
        assert_eq!((checked.username.as_deref(), checked.password.as_deref()), (Some("admin"), Some("p@ss/w")));
        let back = url_with_credentials(&checked.url, checked.username.as_deref(), checked.password.as_deref());
        let reparsed = RtspUrl::parse(&back).expect("round trip");
        assert_eq!(reparsed.credentials().map(|c| c.password()), Some("p@ss/w"));
    }

    #[test]
    fn file_cameras_stay_under_the_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("clip.mp4"), b"x").expect("write");
        let p = CameraPolicy { file_root: Some(dir.path().to_owned()), ..CameraPolicy::default() };
        assert!(check_file(&p, "clip.mp4").is_ok());
        assert!(check_file(&p, "../etc/passwd").is_err());
        assert!(check_file(&p, "/etc/passwd").is_err());
        assert_eq!(check_file(&CameraPolicy::default(), "clip.mp4"), Err(PolicyError::FilesDisabled));
    }
}
