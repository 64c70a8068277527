//! The spool in front of the object store: objects the store cannot take right now are kept
//! on the local disk and uploaded when it answers again.
//!
//! A put goes straight to the store while the spool is empty. When the store fails, the
//! object is written durably to `spool/objects/<key>` (a temporary file in `spool/tmp`,
//! synced, renamed, the directory synced) and the put succeeds: the result row that names the
//! key is stored as usual. From then on puts go to the spool without trying the store (the
//! writer is never held by a server that is down, and objects reach the store in order) until
//! the uploader has emptied it. The uploader retries with exponential backoff, deletes each
//! spool file only after the store took it, and carries on after a restart of the service.
//! Reads look in the spool first, so a waiting snapshot can be shown.
//!
//! A file (a recorded segment, [`ObjectStore::put_file`]) is spooled as a hard link to it
//! where the spool is on the same file system (no second copy of the bytes on disk), else as
//! a durable copy. Deleting a key ([`ObjectStore::delete`]) removes a waiting copy, which then
//! never reaches the store, or else deletes it from the store; the uploader and deletes take
//! one lock per step, so an object is never uploaded after its delete. (One case is left: a
//! put that failed after the server had in fact stored the object, then was spooled and
//! deleted from the spool; the remote copy stays. S3 answers before a timeout in practice.)

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::Notify;

use super::local::{copy_durably, write_durably};
use super::{check_key, content_type_of, ObjectError, ObjectFuture, ObjectStore};
use crate::shutdown::Shutdown;

const FIRST_RETRY: Duration = Duration::from_millis(500);
const LONGEST_RETRY: Duration = Duration::from_secs(10);

pub struct SpoolingStore {
    inner: Arc<dyn ObjectStore>,
    /// `spool/objects`: one file per waiting object, at its key's path.
    objects: PathBuf,
    /// `spool/tmp`: files being written (same file system, so the rename is atomic).
    tmp: PathBuf,
    /// Whether objects may be waiting; true at start until the uploader has looked.
    backlog: AtomicBool,
    wake: Notify,
    /// Held by the uploader while it moves one object and by a delete while it looks in the
    /// spool: a waiting object is either deleted before its upload or after it, never during.
    moving: tokio::sync::Mutex<()>,
}

impl SpoolingStore {
    pub fn new(inner: Arc<dyn ObjectStore>, spool_dir: PathBuf) -> Self {
        Self {
            inner,
            objects: spool_dir.join("objects"),
            tmp: spool_dir.join("tmp"),
            backlog: AtomicBool::new(true),
            wake: Notify::new(),
            moving: tokio::sync::Mutex::new(()),
        }
    }

    /// The store behind the spool (its name is what `/readyz` reports).
    pub fn inner(&self) -> &Arc<dyn ObjectStore> {
        &self.inner
    }

    /// How many objects wait in the spool.
    pub async fn waiting(&self) -> usize {
        let root = self.objects.clone();
        tokio::task::spawn_blocking(move || spooled_keys(&root).len()).await.unwrap_or(0)
    }

    async fn spool(&self, key: &str, bytes: Bytes) -> Result<(), ObjectError> {
        let path = self.objects.join(key);
        let tmp = self.tmp.clone();
        self.spool_with(key, move || write_durably(&tmp, &path, &bytes)).await
    }

    /// Spools the file at `source`: a hard link where it can, else a copy.
    async fn spool_file(&self, key: &str, source: &Path) -> Result<(), ObjectError> {
        let (path, tmp, source) = (self.objects.join(key), self.tmp.clone(), source.to_owned());
        self.spool_with(key, move || match link_durably(&tmp, &path, &source) {
            Ok(()) => Ok(()),
            // Another file system (or one without links): a copy.
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => copy_durably(&tmp, &path, &source),
            Err(e) => Err(e),
        })
        .await
    }

    async fn spool_with(
        &self,
        key: &str,
        write: impl FnOnce() -> std::io::Result<()> + Send + 'static,
    ) -> Result<(), ObjectError> {
        tokio::task::spawn_blocking(write)
            .await
            .map_err(|e| ObjectError::Io { store: "spool", key: key.to_owned(), source: std::io::Error::other(e) })?
            .map_err(|source| ObjectError::Io { store: "spool", key: key.to_owned(), source })?;
        self.backlog.store(true, Ordering::SeqCst);
        self.wake.notify_one();
        Ok(())
    }

    /// Whether the store should be tried: nothing waits before this object (objects reach
    /// the store in order, and a store known down does not hold the caller).
    fn try_store_first(&self) -> bool {
        !self.backlog.load(Ordering::SeqCst)
    }

    /// Uploads what waits in the spool until `shutdown`; what is left stays for the next start.
    pub async fn run_uploader(self: Arc<Self>, shutdown: Shutdown) {
        let mut delay = FIRST_RETRY;
        loop {
            let root = self.objects.clone();
            let keys = tokio::task::spawn_blocking(move || spooled_keys(&root)).await.unwrap_or_default();
            if keys.is_empty() {
                self.backlog.store(false, Ordering::SeqCst);
                // A put that saw the flag set before we cleared it has written its file and
                // notified: the stored permit wakes this wait at once.
                tokio::select! {
                    () = self.wake.notified() => continue,
                    () = shutdown.wait() => return,
                }
            }
            let mut failed = false;
            for key in &keys {
                if shutdown.is_fired() {
                    return;
                }
                match self.upload(key).await {
                    Ok(()) => delay = FIRST_RETRY,
                    Err(e) => {
                        tracing::warn!(key = %key, error = %e, waiting = keys.len(), retry_in_ms = delay.as_millis() as u64,
                            "object store unavailable: objects wait in the spool");
                        failed = true;
                        break;
                    }
                }
            }
            if failed {
                // Not woken by new spool files while backing off: the store is known down.
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = shutdown.wait() => return,
                }
                delay = (delay * 2).min(LONGEST_RETRY);
            } else {
                tracing::info!(uploaded = keys.len(), "spooled objects uploaded");
            }
        }
    }

    async fn upload(&self, key: &str) -> Result<(), ObjectError> {
        let _moving = self.moving.lock().await;
        let path = self.objects.join(key);
        match tokio::fs::metadata(&path).await {
            Ok(_) => {}
            // Deleted meanwhile, or gone already (another uploader of the same data dir).
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(source) => return Err(ObjectError::Io { store: "spool", key: key.to_owned(), source }),
        }
        self.inner.put_file(key, &path, content_type_of(key)).await?;
        match tokio::fs::remove_file(&path).await {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(ObjectError::Io { store: "spool", key: key.to_owned(), source }),
        }
    }
}

impl ObjectStore for SpoolingStore {
    fn name(&self) -> &'static str {
        self.inner.name()
    }

    fn put<'a>(&'a self, key: &'a str, bytes: Bytes, content_type: &'a str) -> ObjectFuture<'a, ()> {
        Box::pin(async move {
            check_key(key)?;
            if self.try_store_first() {
                match self.inner.put(key, bytes.clone(), content_type).await {
                    Ok(()) => return Ok(()),
                    Err(e @ ObjectError::BadKey { .. }) => return Err(e),
                    Err(e) => tracing::warn!(key = %key, error = %e, "object store unavailable: the object waits in the spool"),
                }
            }
            self.spool(key, bytes).await
        })
    }

    fn put_file<'a>(&'a self, key: &'a str, path: &'a Path, content_type: &'a str) -> ObjectFuture<'a, ()> {
        Box::pin(async move {
            check_key(key)?;
            if self.try_store_first() {
                match self.inner.put_file(key, path, content_type).await {
                    Ok(()) => return Ok(()),
                    Err(e @ ObjectError::BadKey { .. }) => return Err(e),
                    // The file itself is unreadable: the spool could not take it either.
                    Err(e @ ObjectError::Io { .. }) if !path.exists() => return Err(e),
                    Err(e) => tracing::warn!(key = %key, error = %e, "object store unavailable: the object waits in the spool"),
                }
            }
            self.spool_file(key, path).await
        })
    }

    /// A delete while the store is down: the spool must not keep, nor upload later, what
    /// was deleted.
    fn remove_waiting<'a>(&'a self, key: &'a str) -> ObjectFuture<'a, bool> {
        Box::pin(async move {
            check_key(key)?;
            let _moving = self.moving.lock().await;
            match tokio::fs::remove_file(self.objects.join(key)).await {
                Ok(()) => Ok(true),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                Err(source) => Err(ObjectError::Io { store: "spool", key: key.to_owned(), source }),
            }
        })
    }

    fn delete<'a>(&'a self, key: &'a str) -> ObjectFuture<'a, ()> {
        Box::pin(async move {
            // It was waiting, so the store never got it: nothing to delete there.
            if self.remove_waiting(key).await? {
                return Ok(());
            }
            self.inner.delete(key).await
        })
    }

    fn get<'a>(&'a self, key: &'a str) -> ObjectFuture<'a, Bytes> {
        Box::pin(async move {
            check_key(key)?;
            match tokio::fs::read(self.objects.join(key)).await {
                Ok(bytes) => Ok(Bytes::from(bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.inner.get(key).await,
                Err(source) => Err(ObjectError::Io { store: "spool", key: key.to_owned(), source }),
            }
        })
    }

    fn ping(&self) -> ObjectFuture<'_, ()> {
        self.inner.ping()
    }
}

/// Makes `path` a hard link to `source` durably: a link in `tmp_dir` renamed over `path`,
/// the directory synced.
fn link_durably(tmp_dir: &Path, path: &Path, source: &Path) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(tmp_dir);
    std::fs::create_dir_all(dir)?;
    std::fs::create_dir_all(tmp_dir)?;
    let tmp = tmp_dir.join(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
    std::fs::hard_link(source, &tmp)?;
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir)?.sync_all()
}

/// The keys of the files under `root`, sorted (oldest ids first: event ids are UUID v7);
/// files that are not valid keys are left alone.
fn spooled_keys(root: &Path) -> Vec<String> {
    let mut keys = Vec::new();
    let mut dirs = vec![root.to_owned()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let path = entry.path();
            match entry.file_type() {
                Ok(t) if t.is_dir() => dirs.push(path),
                Ok(t) if t.is_file() => {
                    let key = path
                        .strip_prefix(root)
                        .ok()
                        .and_then(|p| p.to_str())
                        .map(|p| p.replace(std::path::MAIN_SEPARATOR, "/"));
                    if let Some(key) = key.filter(|k| check_key(k).is_ok()) {
                        keys.push(key);
                    }
                }
                _ => {}
            }
        }
    }
    keys.sort();
    keys
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::objects::LocalDirStore;

    /// A local store that can be switched off, standing in for a server that goes down.
    struct Switchable {
        up: AtomicBool,
        store: LocalDirStore,
        puts: Mutex<usize>,
    }

    impl ObjectStore for Switchable {
        fn name(&self) -> &'static str {
            "switchable"
        }
        fn put<'a>(&'a self, key: &'a str, bytes: Bytes, ct: &'a str) -> ObjectFuture<'a, ()> {
            Box::pin(async move {
                *self.puts.lock().unwrap_or_else(std::sync::PoisonError::into_inner) += 1;
                if !self.up.load(Ordering::SeqCst) {
                    return Err(ObjectError::Remote { store: "switchable", key: key.into(), message: "down".into() });
                }
                self.store.put(key, bytes, ct).await
            })
        }
        fn get<'a>(&'a self, key: &'a str) -> ObjectFuture<'a, Bytes> {
            self.store.get(key)
        }
        fn delete<'a>(&'a self, key: &'a str) -> ObjectFuture<'a, ()> {
            self.store.delete(key)
        }
        fn ping(&self) -> ObjectFuture<'_, ()> {
            self.store.ping()
        }
    }

    #[tokio::test]
    async fn objects_wait_while_the_store_is_down_and_arrive_when_it_returns() {
        let dir = tempfile::tempdir().expect("tempdir");
        let inner = Arc::new(Switchable {
            up: AtomicBool::new(false),
            store: LocalDirStore::new(dir.path().join("store")),
            puts: Mutex::new(0),
        });
        let spool = Arc::new(SpoolingStore::new(Arc::clone(&inner) as Arc<dyn ObjectStore>, dir.path().join("spool")));
        let (trigger, shutdown) = crate::shutdown::channel();
        let uploader = tokio::spawn(Arc::clone(&spool).run_uploader(shutdown));
        // Let the uploader see the empty spool, so the first put tries the store.
        tokio::time::sleep(Duration::from_millis(100)).await;
        for i in 0..5 {
            spool.put(&format!("snapshots/c/{i}.jpg"), Bytes::from(vec![i as u8; 10]), "image/jpeg").await.expect("accepted");
        }
        assert_eq!(spool.waiting().await, 5);
        assert_eq!(spool.get("snapshots/c/3.jpg").await.expect("readable while waiting"), Bytes::from(vec![3u8; 10]));
        inner.up.store(true, Ordering::SeqCst);
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while spool.waiting().await > 0 {
            assert!(std::time::Instant::now() < deadline, "the spool did not drain");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        for i in 0..5 {
            assert_eq!(inner.store.get(&format!("snapshots/c/{i}.jpg")).await.expect("uploaded"), Bytes::from(vec![i as u8; 10]));
        }
        // Drained: puts go straight to the store again.
        tokio::time::sleep(Duration::from_millis(100)).await;
        spool.put("snapshots/c/9.jpg", Bytes::from_static(b"x"), "image/jpeg").await.expect("put");
        assert_eq!(spool.waiting().await, 0);
        trigger.fire();
        uploader.await.expect("uploader ends on shutdown");
    }

    /// A segment deleted by retention while the store is down: its waiting copy (a hard link,
    /// no second copy of the bytes) goes, and the store never gets it.
    #[tokio::test]
    async fn a_waiting_file_deleted_while_the_store_is_down_is_never_uploaded() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let inner = Arc::new(Switchable {
            up: AtomicBool::new(false),
            store: LocalDirStore::new(dir.path().join("store")),
            puts: Mutex::new(0),
        });
        let spool = Arc::new(SpoolingStore::new(Arc::clone(&inner) as Arc<dyn ObjectStore>, dir.path().join("spool")));
        let segment = dir.path().join("1.m4s");
        std::fs::write(&segment, b"segment").expect("write");
        spool.put_file("recordings/c/1.m4s", &segment, "video/mp4").await.expect("spooled");
        let spooled = dir.path().join("spool/objects/recordings/c/1.m4s");
        let ino = |p: &Path| std::fs::metadata(p).expect("metadata").ino();
        assert_eq!(ino(&spooled), ino(&segment), "spooled as a hard link");
        spool.delete("recordings/c/1.m4s").await.expect("deleted without the store");
        assert_eq!(spool.waiting().await, 0);
        inner.up.store(true, Ordering::SeqCst);
        let (trigger, shutdown) = crate::shutdown::channel();
        let uploader = tokio::spawn(Arc::clone(&spool).run_uploader(shutdown));
        spool.put("recordings/c/2.m4s", Bytes::from_static(b"next"), "video/mp4").await.expect("put");
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while spool.waiting().await > 0 {
            assert!(std::time::Instant::now() < deadline, "the spool did not drain");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert!(matches!(inner.store.get("recordings/c/1.m4s").await, Err(ObjectError::NotFound { .. })));
        assert_eq!(inner.store.get("recordings/c/2.m4s").await.expect("uploaded"), Bytes::from_static(b"next"));
        trigger.fire();
        uploader.await.expect("uploader ends");
    }

    #[tokio::test]
    async fn a_restart_uploads_what_the_last_run_left() {
        let dir = tempfile::tempdir().expect("tempdir");
        let leftover = dir.path().join("spool/objects/snapshots/c/1.jpg");
        std::fs::create_dir_all(leftover.parent().expect("parent")).expect("mkdir");
        std::fs::write(&leftover, b"jpeg").expect("write");
        std::fs::write(dir.path().join("spool/objects/snapshots/c/.tmp-x"), b"half").expect("write");
        let store = Arc::new(LocalDirStore::new(dir.path().join("store")));
        let spool = Arc::new(SpoolingStore::new(Arc::clone(&store) as Arc<dyn ObjectStore>, dir.path().join("spool")));
        let (trigger, shutdown) = crate::shutdown::channel();
        let uploader = tokio::spawn(Arc::clone(&spool).run_uploader(shutdown));
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while spool.waiting().await > 0 {
            assert!(std::time::Instant::now() < deadline, "the spool did not drain");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        assert_eq!(store.get("snapshots/c/1.jpg").await.expect("uploaded"), Bytes::from_static(b"jpeg"));
        trigger.fire();
        uploader.await.expect("uploader ends");
    }
}
