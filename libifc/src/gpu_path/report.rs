//! [`GpuProbe`]: what a look at the machine found (printed by `ifc doctor`, also as JSON).

use serde::Serialize;

/// One shared library the GPU path loads at run time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LibraryProbe {
    /// The file asked for (`libcuda.so.1`, `libnvcuvid.so.1`, `libnvrtc`).
    pub library: String,
    pub loaded: bool,
    /// The version it reports, or why it did not load.
    pub detail: String,
}

impl LibraryProbe {
    pub fn loaded(library: &str, detail: impl Into<String>) -> Self {
        Self { library: library.into(), loaded: true, detail: detail.into() }
    }

    pub fn missing(library: &str, why: impl Into<String>) -> Self {
        Self { library: library.into(), loaded: false, detail: why.into() }
    }
}

/// What NVDEC can decode for one codec and bit depth (4:2:0), from `cuvidGetDecoderCaps`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CodecCaps {
    /// `h264` or `hevc`.
    pub codec: &'static str,
    pub bit_depth: u8,
    pub supported: bool,
    pub max_width: u32,
    pub max_height: u32,
    /// NVDEC engines on the GPU, as the driver reports them with the caps.
    pub nvdec_engines: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpuDevice {
    pub ordinal: u32,
    pub name: String,
    pub memory_bytes: u64,
    /// (major, minor), e.g. (9, 0) for Hopper.
    pub compute_capability: (u32, u32),
    /// Empty when libnvcuvid did not load; one entry per codec and bit depth asked about.
    pub decoder_caps: Vec<CodecCaps>,
    /// Why the caps could not be read, if they could not.
    pub decoder_caps_error: Option<String>,
}

/// Everything [`probe`](super::probe) found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GpuProbe {
    /// Built with libifc's `cuda` feature.
    pub cuda_compiled_in: bool,
    pub driver: LibraryProbe,
    /// `cuDriverGetVersion`, e.g. "13.0".
    pub driver_version: Option<String>,
    /// Why the driver could not list devices (`cuInit` failed), if it could not.
    pub device_error: Option<String>,
    pub devices: Vec<GpuDevice>,
    pub nvdec: LibraryProbe,
    pub nvrtc: LibraryProbe,
}

impl GpuProbe {
    /// The answer of a build without the `cuda` feature.
    pub fn not_compiled_in() -> Self {
        let absent = |library: &str| LibraryProbe::missing(library, "not probed: built without the `cuda` feature");
        Self {
            cuda_compiled_in: false,
            driver: absent("libcuda.so.1"),
            driver_version: None,
            device_error: None,
            devices: Vec::new(),
            nvdec: absent(ifc_sys_library_name()),
            nvrtc: absent("libnvrtc"),
        }
    }
}

fn ifc_sys_library_name() -> &'static str {
    "libnvcuvid.so.1"
}
