//! Objects as files under a directory: written (or copied) to a temporary file, synced, renamed.

use std::path::{Path, PathBuf};

use bytes::Bytes;

use super::{check_key, ObjectError, ObjectFuture, ObjectStore};

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
            let tmp_dir = path.parent().unwrap_or(&self.root).to_owned();
            tokio::task::spawn_blocking(move || write_durably(&tmp_dir, &path, &bytes))
                .await
                .map_err(|e| ObjectError::Io { store: "local", key: key.to_owned(), source: std::io::Error::other(e) })?
                .map_err(Self::io(key))
        })
    }

    fn put_file<'a>(&'a self, key: &'a str, source: &'a Path, _content_type: &'a str) -> ObjectFuture<'a, ()> {
        Box::pin(async move {
            check_key(key)?;
            let path = self.root.join(key);
            let tmp_dir = path.parent().unwrap_or(&self.root).to_owned();
            let source = source.to_owned();
            tokio::task::spawn_blocking(move || copy_durably(&tmp_dir, &path, &source))
                .await
                .map_err(|e| ObjectError::Io { store: "local", key: key.to_owned(), source: std::io::Error::other(e) })?
                .map_err(Self::io(key))
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> ObjectFuture<'a, ()> {
        Box::pin(async move {
            check_key(key)?;
            match tokio::fs::remove_file(self.root.join(key)).await {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(Self::io(key)(e)),
            }
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

/// Writes `bytes` to `path` whole or not at all, surviving a power cut once it returns: a
/// temporary file in `tmp_dir` (on the same file system as `path`, so the rename is atomic),
/// synced, renamed over `path`, and the directory synced so the rename itself is durable.
pub(crate) fn write_durably(tmp_dir: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    replace_durably(tmp_dir, path, |file| file.write_all(bytes))
}

/// [`write_durably`] with the bytes of the file at `source`, copied without holding them whole.
pub(crate) fn copy_durably(tmp_dir: &Path, path: &Path, source: &Path) -> std::io::Result<()> {
    let mut from = std::fs::File::open(source)?;
    replace_durably(tmp_dir, path, |file| std::io::copy(&mut from, file).map(drop))
}

fn replace_durably(
    tmp_dir: &Path,
    path: &Path,
    fill: impl FnOnce(&mut std::fs::File) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(tmp_dir);
    std::fs::create_dir_all(dir)?;
    std::fs::create_dir_all(tmp_dir)?;
    let tmp = tmp_dir.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
    let mut file = std::fs::File::create(&tmp)?;
    if let Err(e) = fill(&mut file).and_then(|()| file.sync_all()) {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

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
