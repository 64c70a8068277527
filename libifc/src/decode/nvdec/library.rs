//! The NVDEC library of this process: `libnvcuvid.so.1`, loaded on first use and kept for
//! the life of the process (frames unmap their surfaces through it when dropped, on any
//! thread, at any time).

// FFI into the NVIDIA driver: every unsafe block says why it holds.
#![allow(unsafe_code)]

use std::sync::OnceLock;

use ifc_sys::NvcuvidLibrary;

/// The loaded library, or why it did not load (dlerror's text).
pub(crate) fn nvcuvid() -> Result<&'static NvcuvidLibrary, String> {
    static LIBRARY: OnceLock<Result<NvcuvidLibrary, String>> = OnceLock::new();
    LIBRARY
        .get_or_init(|| {
            // SAFETY: loading the driver's NVDEC library runs its initialisers, which the driver
            // installation is trusted with; every symbol is resolved here or the load fails.
            unsafe { NvcuvidLibrary::open_default() }.map_err(|e| format!("{e:?}"))
        })
        .as_ref()
        .map_err(Clone::clone)
}

/// `CUresult` as a result, with the call named.
pub(crate) fn check(call: &'static str, code: ifc_sys::CUresult) -> Result<(), String> {
    if code == ifc_sys::cudaError_enum::CUDA_SUCCESS {
        Ok(())
    } else {
        Err(format!("{call} failed with CUresult {code}"))
    }
}
