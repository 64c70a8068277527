//! The real probe (feature `cuda`): libcuda and its devices through cudarc, libnvcuvid through
//! ifc-sys, NVRTC through cudarc; each asked whether it loads before anything calls into it
//! (cudarc panics on a call into a library that is missing).

// FFI into the NVIDIA driver: every unsafe block says why it holds.
#![allow(unsafe_code)]

use cudarc::driver::{result as driver, sys as driver_sys, CudaContext};

use super::{CodecCaps, GpuDevice, GpuProbe, LibraryProbe};
use crate::codec::Codec;
use crate::decode::nvdec_probe;

pub(super) fn probe() -> GpuProbe {
    let mut probe = GpuProbe {
        cuda_compiled_in: true,
        driver: LibraryProbe::missing("libcuda.so.1", ""),
        driver_version: None,
        device_error: None,
        devices: Vec::new(),
        nvdec: nvdec_library(),
        nvrtc: nvrtc_library(),
    };
    // SAFETY: tries to load libcuda, running the driver's initialisers (trusted).
    if !unsafe { driver_sys::is_culib_present() } {
        probe.driver.detail = "not found by the dynamic loader (no NVIDIA driver installed or mounted)".into();
        return probe;
    }
    let mut version = 0;
    // SAFETY: libcuda is present; `version` is a valid out pointer.
    let version_result = unsafe { driver_sys::cuDriverGetVersion(&mut version) }.result();
    probe.driver_version = version_result.ok().map(|()| format!("{}.{}", version / 1000, (version % 1000) / 10));
    probe.driver = LibraryProbe::loaded("libcuda.so.1", probe.driver_version.clone().unwrap_or_default());
    if let Err(e) = driver::init() {
        probe.device_error = Some(format!("cuInit: {e}"));
        return probe;
    }
    let count = match driver::device::get_count() {
        Ok(n) => n,
        Err(e) => {
            probe.device_error = Some(format!("cuDeviceGetCount: {e}"));
            return probe;
        }
    };
    for ordinal in 0..count {
        match device(ordinal, probe.nvdec.loaded) {
            Ok(gpu) => probe.devices.push(gpu),
            Err(e) => probe.device_error = Some(format!("device {ordinal}: {e}")),
        }
    }
    probe
}

fn nvdec_library() -> LibraryProbe {
    match crate::decode::nvdec_library() {
        Ok(()) => LibraryProbe::loaded(ifc_sys::NVCUVID_LIBRARY, "loaded"),
        Err(e) => LibraryProbe::missing(ifc_sys::NVCUVID_LIBRARY, e),
    }
}

fn nvrtc_library() -> LibraryProbe {
    // SAFETY: tries to load NVRTC by cudarc's candidate names, running its initialisers.
    if !unsafe { cudarc::nvrtc::sys::is_culib_present() } {
        return LibraryProbe::missing(
            "libnvrtc",
            "not found by the dynamic loader (searched cudarc's names for CUDA 13)",
        );
    }
    let (mut major, mut minor) = (0, 0);
    // SAFETY: NVRTC is present; the out pointers are valid.
    let result = unsafe { cudarc::nvrtc::sys::nvrtcVersion(&mut major, &mut minor) };
    if result == cudarc::nvrtc::sys::nvrtcResult::NVRTC_SUCCESS {
        LibraryProbe::loaded("libnvrtc", format!("{major}.{minor}"))
    } else {
        LibraryProbe::loaded("libnvrtc", format!("version unknown ({result:?})"))
    }
}

fn device(ordinal: i32, with_nvdec: bool) -> Result<GpuDevice, String> {
    let dev = driver::device::get(ordinal).map_err(|e| e.to_string())?;
    let name = driver::device::get_name(dev).map_err(|e| e.to_string())?;
    // SAFETY: `dev` is a valid device handle from cuDeviceGet.
    let memory_bytes = unsafe { driver::device::total_mem(dev) }.map_err(|e| e.to_string())?;
    let attribute = |a| {
        // SAFETY: `dev` is valid and `a` a device attribute.
        unsafe { driver::device::get_attribute(dev, a) }.map_or(0, |v| u32::try_from(v).unwrap_or(0))
    };
    use driver_sys::CUdevice_attribute::{
        CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR as MAJOR, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR as MINOR,
    };
    let mut gpu = GpuDevice {
        ordinal: u32::try_from(ordinal).unwrap_or(0),
        name,
        memory_bytes: memory_bytes as u64,
        compute_capability: (attribute(MAJOR), attribute(MINOR)),
        decoder_caps: Vec::new(),
        decoder_caps_error: None,
    };
    if with_nvdec {
        match decoder_caps(ordinal) {
            Ok(caps) => gpu.decoder_caps = caps,
            Err(e) => gpu.decoder_caps_error = Some(e),
        }
    }
    Ok(gpu)
}

/// H.264 and HEVC at 8 and 10 bits (H.264 10-bit is High 10, which NVDEC does not decode:
/// asked anyway so that the answer comes from the driver).
fn decoder_caps(ordinal: i32) -> Result<Vec<CodecCaps>, String> {
    let ctx = CudaContext::new(usize::try_from(ordinal).unwrap_or(0)).map_err(|e| e.to_string())?;
    ctx.bind_to_thread().map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for (codec, name) in [(Codec::H264, "h264"), (Codec::H265, "hevc")] {
        for bit_depth in [8, 10] {
            let caps = nvdec_probe::decoder_caps(codec, bit_depth)?;
            out.push(CodecCaps {
                codec: name,
                bit_depth,
                supported: caps.limits.supported,
                max_width: caps.limits.max_width,
                max_height: caps.limits.max_height,
                nvdec_engines: caps.nvdec_engines,
            });
        }
    }
    Ok(out)
}
