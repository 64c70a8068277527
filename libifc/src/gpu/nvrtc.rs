//! Run-time compilation of ifc's kernels with NVRTC, cached: each kernel is compiled once per
//! GPU architecture and loaded once per device.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::driver::{CudaFunction, CudaModule};
use cudarc::nvrtc::{CompileOptions, Ptx};

use super::device::Device;
use super::error::GpuError;
use super::probe::nvrtc_present;

/// The preprocessing kernel's source (also compiled as C++ by build.rs for the tests).
pub const PREPROCESS_SOURCE: &str = include_str!("kernel/preprocess.cu");
/// Its entry point.
pub const PREPROCESS_ENTRY: &str = "ifc_preprocess";

/// Compiles `source` to PTX for `arch` (e.g. `compute_90`). Checks that NVRTC loads first.
pub fn compile_ptx(kernel: &'static str, source: &str, arch: &'static str) -> Result<Ptx, GpuError> {
    if !nvrtc_present() {
        return Err(GpuError::NvrtcMissing);
    }
    let options = CompileOptions {
        arch: Some(arch),
        // IEEE division and square root, no flush-to-zero: the CPU path's f32 semantics.
        ftz: Some(false),
        prec_div: Some(true),
        prec_sqrt: Some(true),
        name: Some(format!("{kernel}.cu")),
        ..CompileOptions::default()
    };
    cudarc::nvrtc::compile_ptx_with_opts(source, options).map_err(|e| GpuError::Compile { kernel, log: e.to_string() })
}

/// NVRTC's `--gpu-architecture` for a compute capability; only the ones NVRTC 12/13 know.
pub fn arch_for(compute_capability: (i32, i32)) -> Result<&'static str, GpuError> {
    Ok(match compute_capability {
        (7, 5) => "compute_75",
        (8, 0) => "compute_80",
        (8, 6) => "compute_86",
        (8, 7) => "compute_87",
        (8, 9) => "compute_89",
        (9, 0) => "compute_90",
        (10, 0) => "compute_100",
        (12, 0) => "compute_120",
        (major, minor) => {
            return Err(GpuError::Compile {
                kernel: PREPROCESS_ENTRY,
                log: format!("compute capability {major}.{minor} is not supported"),
            })
        }
    })
}

/// Loaded modules by device ordinal.
fn module_cache() -> &'static Mutex<HashMap<usize, Arc<CudaModule>>> {
    static CACHE: OnceLock<Mutex<HashMap<usize, Arc<CudaModule>>>> = OnceLock::new();
    CACHE.get_or_init(Mutex::default)
}

/// The preprocessing kernel on `device`, compiled and loaded on first use.
pub fn preprocess_function(device: &Device) -> Result<CudaFunction, GpuError> {
    let mut cache = module_cache().lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let module = match cache.get(&device.ordinal()) {
        Some(module) => module.clone(),
        None => {
            let arch = arch_for(device.compute_capability()?)?;
            let ptx = compile_ptx(PREPROCESS_ENTRY, PREPROCESS_SOURCE, arch)?;
            let module = device.context().load_module(ptx).map_err(|e| GpuError::driver("cuModuleLoadData", e))?;
            cache.insert(device.ordinal(), module.clone());
            module
        }
    };
    module.load_function(PREPROCESS_ENTRY).map_err(|e| GpuError::driver("cuModuleGetFunction", e))
}
