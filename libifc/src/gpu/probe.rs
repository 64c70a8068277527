//! Whether the CUDA path can run here, and why not: [`GpuProbe`]. Loading libcuda or libnvrtc
//! is tried first, so that a machine without them gets a typed error and never reaches
//! cudarc's loader (which panics when a library is missing).
#![allow(unsafe_code)]

use cudarc::driver::{result, sys};

use super::error::GpuError;

/// One CUDA device as the driver reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    pub ordinal: usize,
    pub name: String,
    /// Compute capability `(major, minor)`: (9, 0) for H100/H200.
    pub compute_capability: (i32, i32),
    pub total_mem_bytes: usize,
}

/// What the driver and NVRTC look like on this machine.
#[derive(Debug, Clone, PartialEq)]
pub struct GpuProbe {
    /// The driver's devices, or why there are none.
    pub devices: Result<Vec<DeviceInfo>, GpuError>,
    /// CUDA version the driver supports, e.g. 13000 for 13.0.
    pub driver_version: Option<i32>,
    pub nvrtc_present: bool,
}

/// Whether libcuda can be loaded; cudarc panics on first use when it cannot.
pub fn driver_present() -> bool {
    // SAFETY: loads (and unloads) the driver library by name; its initialisers are the
    // vendor's and run as for any CUDA program.
    unsafe { sys::is_culib_present() }
}

/// Whether libnvrtc can be loaded.
pub fn nvrtc_present() -> bool {
    // SAFETY: as for the driver: loading NVRTC by name runs only its own initialisers.
    unsafe { cudarc::nvrtc::sys::is_culib_present() }
}

/// Initialises the driver; checks that it is there first.
pub(crate) fn init_driver() -> Result<(), GpuError> {
    if !driver_present() {
        return Err(GpuError::NoDriver);
    }
    result::init().map_err(|e| GpuError::driver("cuInit", e))
}

impl GpuProbe {
    /// Looks at the driver, its devices and NVRTC. Cheap enough to call once per process.
    pub fn run() -> Self {
        let nvrtc_present = nvrtc_present();
        let mut driver_version = None;
        let devices = init_driver().and_then(|()| {
            let mut version = 0;
            // SAFETY: the driver is loaded (init_driver); the pointer is to a local.
            if unsafe { sys::cuDriverGetVersion(&mut version) } == sys::CUresult::CUDA_SUCCESS {
                driver_version = Some(version);
            }
            list_devices()
        });
        Self { devices, driver_version, nvrtc_present }
    }

    /// The device to use, or why the CUDA path cannot run (NVRTC is needed for the kernels).
    pub fn usable_device(&self) -> Result<&DeviceInfo, GpuError> {
        let devices = self.devices.as_ref().map_err(Clone::clone)?;
        let device = devices.first().ok_or(GpuError::NoDevice)?;
        if !self.nvrtc_present {
            return Err(GpuError::NvrtcMissing);
        }
        Ok(device)
    }

    /// One line for logs and `ifc doctor`: which preprocessing path applies and why.
    pub fn summary(&self) -> String {
        match self.usable_device() {
            Ok(d) => format!(
                "CUDA preprocessing: {} (sm_{}{}, {} MiB, driver CUDA {}), NVRTC found",
                d.name,
                d.compute_capability.0,
                d.compute_capability.1,
                d.total_mem_bytes >> 20,
                self.driver_version.map_or_else(|| "?".to_owned(), |v| format!("{}.{}", v / 1000, v % 1000 / 10)),
            ),
            Err(why) => format!("CPU preprocessing: {why}"),
        }
    }
}

fn list_devices() -> Result<Vec<DeviceInfo>, GpuError> {
    let count = result::device::get_count().map_err(|e| GpuError::driver("cuDeviceGetCount", e))?;
    if count <= 0 {
        return Err(GpuError::NoDevice);
    }
    (0..count)
        .map(|ordinal| {
            let dev = result::device::get(ordinal).map_err(|e| GpuError::driver("cuDeviceGet", e))?;
            let name = result::device::get_name(dev).map_err(|e| GpuError::driver("cuDeviceGetName", e))?;
            let attribute = |a| {
                // SAFETY: `dev` is a valid device handle from cuDeviceGet.
                unsafe { result::device::get_attribute(dev, a) }
                    .map_err(|e| GpuError::driver("cuDeviceGetAttribute", e))
            };
            let major = attribute(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)?;
            let minor = attribute(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)?;
            // SAFETY: as above.
            let total =
                unsafe { result::device::total_mem(dev) }.map_err(|e| GpuError::driver("cuDeviceTotalMem", e))?;
            Ok(DeviceInfo {
                ordinal: ordinal as usize,
                name,
                compute_capability: (major, minor),
                total_mem_bytes: total,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On a machine without an NVIDIA driver (CI, this workspace) the probe must say so
    /// with a typed error instead of panicking inside cudarc. Where a driver is present the
    /// probe must list at least one device or say why not.
    #[test]
    fn probe_reports_the_missing_driver_without_panicking() {
        let probe = GpuProbe::run();
        let summary = probe.summary();
        eprintln!("{summary}");
        if driver_present() {
            assert!(
                probe.devices.is_ok() || matches!(probe.devices, Err(GpuError::NoDevice | GpuError::Driver { .. }))
            );
        } else {
            assert_eq!(probe.devices, Err(GpuError::NoDriver));
            assert_eq!(summary, "CPU preprocessing: no NVIDIA driver: libcuda.so could not be loaded");
            assert!(matches!(super::super::Device::open(0), Err(GpuError::NoDriver)));
        }
    }
}
