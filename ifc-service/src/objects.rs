//! The object store (images, later clips): a local directory by default. Keys are made by the
//! server from ids ([`snapshot_key`]) and checked by [`check_key`]; no user-supplied path ever
//! becomes a key.

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use bytes::Bytes;

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ObjectError {
    #[error("object key {key:?}: {reason}")]
    BadKey { key: String, reason: &'static str },
    #[error("object {key}: not found")]
    NotFound { key: String },
    #[error("object store {store}: {key}: {source}")]
    Io { store: &'static str, key: String, source: std::io::Error },
}

pub type ObjectFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, ObjectError>> + Send + 'a>>;

pub trait ObjectStore: Send + Sync {
    fn name(&self) -> &'static str;
    /// Stores `bytes` under `key` durably (whole or not at all).
    fn put<'a>(&'a self, key: &'a str, bytes: Bytes, content_type: &'a str) -> ObjectFuture<'a, ()>;
    fn get<'a>(&'a self, key: &'a str) -> ObjectFuture<'a, Bytes>;
    /// Whether the store answers (for `/readyz`).
    fn ping(&self) -> ObjectFuture<'_, ()>;
}

/// `snapshots/<camera id>/<event id>.jpg` (both ids are made by the server).
pub fn snapshot_key(camera_id: &str, event_id: &str) -> String {
    format!("snapshots/{camera_id}/{event_id}.jpg")
}

/// Keys are `/`-separated segments of `[A-Za-z0-9._-]`, none of them `.` or `..`.
pub fn check_key(key: &str) -> Result<(), ObjectError> {
    let bad = |reason| Err(ObjectError::BadKey { key: key.to_owned(), reason });
    if key.is_empty() || key.len() > 512 {
        return bad("empty or longer than 512 bytes");
    }
    for segment in key.split('/') {
        if segment.is_empty() || segment == "." || segment == ".." {
            return bad("empty, `.` or `..` segment");
        }
        if !segment.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b)) {
            return bad("only letters, digits, `.`, `_` and `-` are allowed");
        }
    }
    Ok(())
}

/// Objects as files under a directory: written to a temporary file, synced, renamed.
pub struct LocalDirStore {
    root: PathBuf,
}

impl LocalDirStore {
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    fn io(key: &str) -> impl Fn(std::io::Error) -> ObjectError + '_ {
        move |source| ObjectError::Io { store: "local", key: key.to_owned(), source }
    }
}

impl ObjectStore for LocalDirStore {
    fn name(&self) -> &'static str {
        "local"
    }

    fn put<'a>(&'a self, key: &'a str, bytes: Bytes, _content_type: &'a str) -> ObjectFuture<'a, ()> {
        Box::pin(async move {
            check_key(key)?;
            let path = self.root.join(key);
            let root = self.root.clone();
            tokio::task::spawn_blocking(move || write_durably(&root, &path, &bytes))
                .await
                .map_err(|e| ObjectError::Io { store: "local", key: key.to_owned(), source: std::io::Error::other(e) })?
                .map_err(Self::io(key))
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> ObjectFuture<'a, Bytes> {
        Box::pin(async move {
            check_key(key)?;
            match tokio::fs::read(self.root.join(key)).await {
                Ok(bytes) => Ok(Bytes::from(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(ObjectError::NotFound { key: key.to_owned() }),
                Err(e) => Err(Self::io(key)(e)),
            }
        })
    }

    fn ping(&self) -> ObjectFuture<'_, ()> {
        Box::pin(async move {
            tokio::fs::create_dir_all(&self.root).await.map_err(Self::io(""))?;
            let meta = tokio::fs::metadata(&self.root).await.map_err(Self::io(""))?;
            if meta.permissions().readonly() {
                return Err(Self::io("")(std::io::Error::other("read-only")));
            }
            Ok(())
        })
    }
}

fn write_durably(root: &std::path::Path, path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let dir = path.parent().unwrap_or(root);
    std::fs::create_dir_all(dir)?;
    let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_cannot_escape_the_store() {
        for bad in ["", "../etc/passwd", "a//b", "/abs", "a/./b", "a/b c", "a/\u{e9}"] {
            assert!(check_key(bad).is_err(), "{bad:?} accepted");
        }
        assert!(check_key(&snapshot_key("0192-ab", "0193-cd")).is_ok());
    }

    #[tokio::test]
    async fn local_store_round_trips_and_reports_missing_objects() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = LocalDirStore::new(dir.path().to_owned());
        store.ping().await.expect("ready");
        store.put("snapshots/c/1.jpg", Bytes::from_static(b"jpeg"), "image/jpeg").await.expect("put");
        assert_eq!(store.get("snapshots/c/1.jpg").await.expect("get"), Bytes::from_static(b"jpeg"));
        assert!(matches!(store.get("snapshots/c/2.jpg").await, Err(ObjectError::NotFound { .. })));
        assert!(matches!(store.get("../x").await, Err(ObjectError::BadKey { .. })));
    }
}
