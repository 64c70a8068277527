//! The object store (images, later clips): a local directory by default, or S3-compatible
//! storage. Keys are made by the server from ids ([`snapshot_key`]) and checked by
//! [`check_key`]; no user-supplied path ever becomes a key.
//!
//! Whichever store it is, the service talks to it through [`SpoolingStore`]: an object the
//! store cannot take right now (S3 down) waits in a spool directory and is uploaded when the
//! store answers again, so a snapshot a result refers to is never lost.
//!
//! Recorded segments go up with [`ObjectStore::put_file`] (S3: streamed from the file, in parts
//! above `multipart_threshold_bytes`) and are deleted with [`ObjectStore::delete`] when
//! retention deletes them locally: the remote copies follow the local index.

mod local;
mod s3;
mod s3_multipart;
mod spool;

pub use local::LocalDirStore;
pub use s3::S3Store;
pub use spool::SpoolingStore;

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;

use crate::config::{ObjectsConfig, ServeConfig};

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObjectError {
    #[error("object key {key:?}: {reason}")]
    BadKey { key: String, reason: &'static str },
    #[error("object {key}: not found")]
    NotFound { key: String },
    #[error("object store {store}: {key}: {source}")]
    Io { store: &'static str, key: String, source: std::io::Error },
    /// A remote store refused or did not answer (network, timeout, server error, access).
    #[error("object store {store}: {key}: {message}")]
    Remote { store: &'static str, key: String, message: String },
    #[error("object store configuration: {0}")]
    Config(String),
}

pub type ObjectFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ObjectError>> + Send + 'a>>;

pub trait ObjectStore: Send + Sync {
    fn name(&self) -> &'static str;
    /// Stores `bytes` under `key` durably (whole or not at all).
    fn put<'a>(&'a self, key: &'a str, bytes: Bytes, content_type: &'a str) -> ObjectFuture<'a, ()>;
    /// Stores the file at `path` under `key`, like [`Self::put`], without holding it whole
    /// in memory where the store can stream (S3: from the file, in parts when it is large).
    /// The file must not change meanwhile (segment files never do once renamed).
    fn put_file<'a>(&'a self, key: &'a str, path: &'a Path, content_type: &'a str) -> ObjectFuture<'a, ()> {
        Box::pin(async move {
            let bytes = tokio::fs::read(path)
                .await
                .map_err(|source| ObjectError::Io { store: self.name(), key: key.to_owned(), source })?;
            self.put(key, Bytes::from(bytes), content_type).await
        })
    }
    fn get<'a>(&'a self, key: &'a str) -> ObjectFuture<'a, Bytes>;
    /// Deletes `key`; an object that is not there is deleted already (`Ok`).
    fn delete<'a>(&'a self, key: &'a str) -> ObjectFuture<'a, ()>;
    /// Removes `key`'s copy waiting to be stored, without asking the store (which may be
    /// down); whether there was one. Only [`SpoolingStore`] keeps waiting copies.
    fn remove_waiting<'a>(&'a self, key: &'a str) -> ObjectFuture<'a, bool> {
        Box::pin(async move { check_key(key).map(|()| false) })
    }
    /// Whether the store answers (for `/readyz`).
    fn ping(&self) -> ObjectFuture<'_, ()>;
}

/// The configured store behind its spool (`spool/objects/` in the data dir). The caller runs
/// [`SpoolingStore::run_uploader`].
pub fn open(config: &ServeConfig) -> Result<Arc<SpoolingStore>, ObjectError> {
    let inner: Arc<dyn ObjectStore> = match &config.objects {
        ObjectsConfig::Local { dir } => Arc::new(LocalDirStore::new(config.in_data_dir(dir))),
        ObjectsConfig::S3(s3) => Arc::new(S3Store::new(s3, |name| std::env::var(name).ok())?),
    };
    Ok(Arc::new(SpoolingStore::new(inner, config.data_dir.join("spool"))))
}

/// `snapshots/<camera id>/<event id>.jpg` (both ids are made by the server).
pub fn snapshot_key(camera_id: &str, event_id: &str) -> String {
    format!("snapshots/{camera_id}/{event_id}.jpg")
}

/// The content type of an object from its key's extension (the spool keeps bytes only).
pub fn content_type_of(key: &str) -> &'static str {
    match key.rsplit_once('.').map(|(_, ext)| ext) {
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("png") => "image/png",
        Some("mp4") => "video/mp4",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

/// Keys are `/`-separated segments of `[A-Za-z0-9._-]`, none of them `.` or `..`, and none
/// starting with `.` (the spool's temporary files do).
pub fn check_key(key: &str) -> Result<(), ObjectError> {
    let bad = |reason| Err(ObjectError::BadKey { key: key.to_owned(), reason });
    if key.is_empty() || key.len() > 512 {
        return bad("empty or longer than 512 bytes");
    }
    for segment in key.split('/') {
        if segment.is_empty() || segment.starts_with('.') {
            return bad("empty segment, or one starting with `.`");
        }
        if !segment.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
            return bad("only letters, digits, `.`, `_` and `-` are allowed");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape_the_store() {
        for bad in ["", "../etc/passwd", "a//b", "/abs", "a/./b", "a/b c", "a/\u{e9}", "a/.tmp-1"] {
            assert!(check_key(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_key(&snapshot_key("0192-ab", "0193-cd")).is_ok());
        assert_eq!(content_type_of(&snapshot_key("c", "e")), "image/jpeg");
        assert_eq!(content_type_of("clips/x"), "application/octet-stream");
    }
}
