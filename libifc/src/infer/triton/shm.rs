//! A POSIX shared-memory region that ifc creates and Triton maps by name (Triton's
//! system-shared-memory extension): a file under `/dev/shm`, which is what `shm_open(key)`
//! opens on Linux.
//!
//! The only `unsafe` of the Triton backend is the mapping below.
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::unix::fs::OpenOptionsExt;
use std::path::PathBuf;

use memmap2::MmapMut;

const SHM_DIR: &str = "/dev/shm";

/// A mapped region, removed from `/dev/shm` when dropped. Registration with a server is the
/// caller's business ([`super::TritonClient::register_system_shm`]).
#[derive(Debug)]
pub struct SharedMemoryRegion {
    /// The name used both as the `shm_open` key (with a leading `/`) and as the region name
    /// in requests.
    name: String,
    path: PathBuf,
    map: MmapMut,
    _file: File,
}

impl SharedMemoryRegion {
    /// Creates a region of `byte_size` bytes (zeroed) with an unguessable name, mode 0600:
    /// only this user (and the server running as it) can open it.
    pub fn create(byte_size: usize) -> std::io::Result<Self> {
        let name = format!("ifc-{}", random_hex_128()?);
        let path = PathBuf::from(SHM_DIR).join(&name);
        // create_new: fail rather than reuse a file someone planted under the same name.
        let file = OpenOptions::new().read(true).write(true).create_new(true).mode(0o600).open(&path)?;
        let sized = u64::try_from(byte_size.max(1))
            .map_err(|_| std::io::Error::other("region size does not fit u64"))
            .and_then(|len| file.set_len(len));
        if let Err(e) = sized {
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        // SAFETY: the file was created just now by us (create_new, mode 0600, random name), so
        // no other process of another user can map or truncate it. The server maps it too and
        // writes outputs into it, but only while a request we sent is in flight, and we read
        // the output range only after that request's response arrived; the mapping keeps the
        // file's size, which nobody changes after `set_len` above.
        let map = match unsafe { MmapMut::map_mut(&file) } {
            Ok(map) => map,
            Err(e) => {
                let _ = std::fs::remove_file(&path);
                return Err(e);
            }
        };
        Ok(Self { name, path, map, _file: file })
    }

    /// Region name in requests (`shared_memory_region`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `shm_open` key Triton maps (`/` + name).
    pub fn key(&self) -> String {
        format!("/{}", self.name)
    }

    pub fn byte_size(&self) -> usize {
        self.map.len()
    }

    pub fn as_slice(&self) -> &[u8] {
        &self.map
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        &mut self.map
    }
}

impl Drop for SharedMemoryRegion {
    fn drop(&mut self) {
        // Best effort: the mapping itself goes with `map`; a server that still maps the file
        // keeps its pages until it unmaps.
        let _ = std::fs::remove_file(&self.path);
    }
}

pub(super) fn random_hex_128() -> std::io::Result<String> {
    let mut bytes = [0u8; 16];
    File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn region_is_private_sized_unique_and_removed_on_drop() {
        let mut a = SharedMemoryRegion::create(4096).expect("create");
        let b = SharedMemoryRegion::create(16).expect("create");
        assert_ne!(a.name(), b.name());
        assert_eq!(a.key(), format!("/{}", a.name()));
        let path = PathBuf::from(SHM_DIR).join(a.name());
        let meta = std::fs::metadata(&path).expect("file exists");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
        assert_eq!(meta.len(), 4096);
        a.as_mut_slice()[4095] = 7;
        // What we write is what another mapping of the file (the server's) sees.
        let on_disk = std::fs::read(&path).expect("read");
        assert_eq!(on_disk[4095], 7);
        drop(a);
        assert!(!path.exists());
    }
}
