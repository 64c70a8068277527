//! Run-time compilation of ifc's kernels with NVRTC, cached: each kernel is compiled once per
//! GPU architecture and loaded once per device.
//!
//! The device gets a CUBIN for its own architecture (`nvrtcGetCUBIN`, `sm_XY`), not PTX: the
//! driver JIT-compiles PTX and refuses PTX from an NVRTC newer than itself
//! (`CUDA_ERROR_UNSUPPORTED_PTX_VERSION`), while a CUBIN needs no JIT. PTX stays available for
//! the tests that assemble it with ptxas.
#![allow(unsafe_code)]

use std::ffi::{c_char, CString};

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

/// The NVRTC options shared by PTX and CUBIN builds: IEEE division and square root, no
/// flush-to-zero (the CPU path's f32 semantics).
fn options(kernel: &'static str, arch: &'static str) -> CompileOptions {
    CompileOptions {
        arch: Some(arch),
        // IEEE division and square root, no flush-to-zero: the CPU path's f32 semantics.
        ftz: Some(false),
        prec_div: Some(true),
        prec_sqrt: Some(true),
        name: Some(format!("{kernel}.cu")),
        ..CompileOptions::default()
    }
}

/// Compiles `source` to PTX for `arch` (e.g. `compute_90`). Checks that NVRTC loads first.
pub fn compile_ptx(kernel: &'static str, source: &str, arch: &'static str) -> Result<Ptx, GpuError> {
    if !nvrtc_present() {
        return Err(GpuError::NvrtcMissing);
    }
    cudarc::nvrtc::compile_ptx_with_opts(source, options(kernel, arch))
        .map_err(|e| GpuError::Compile { kernel, log: e.to_string() })
}

/// Compiles `source` to a CUBIN (an ELF image the driver loads without JIT) for a real
/// architecture `sm_arch` (e.g. `sm_90`). Checks that NVRTC loads first; needs no driver.
pub fn compile_cubin(kernel: &'static str, source: &str, sm_arch: &'static str) -> Result<Vec<u8>, GpuError> {
    use cudarc::nvrtc::result as nvrtc;
    if !nvrtc_present() {
        return Err(GpuError::NvrtcMissing);
    }
    let compile_error = |log: String| GpuError::Compile { kernel, log };
    let c_source = CString::new(source).map_err(|_| compile_error("the source holds a NUL byte".into()))?;
    let c_name = CString::new(format!("{kernel}.cu")).map_err(|_| compile_error("the name holds a NUL byte".into()))?;
    let program = nvrtc::create_program(&c_source, Some(&c_name)).map_err(|e| compile_error(e.to_string()))?;
    // The same options as `options()` (cudarc's builder is private to it).
    let built = [
        "--ftz=false".to_owned(),
        "--prec-sqrt=true".to_owned(),
        "--prec-div=true".to_owned(),
        format!("--gpu-architecture={sm_arch}"),
    ];
    // SAFETY: `program` was created above and is destroyed once, below, after its last use;
    // the source and name strings outlive it.
    let compiled = unsafe { nvrtc::compile_program(program, &built) };
    let cubin = match compiled {
        // SAFETY: as above; the program compiled.
        Ok(()) => unsafe { read_cubin(program) }.map_err(|e| compile_error(format!("nvrtcGetCUBIN: {e}"))),
        Err(e) => {
            // SAFETY: as above; the log is read before the program is destroyed.
            let log = unsafe { nvrtc::get_program_log(program) }.map(|raw| c_text(&raw)).unwrap_or_default();
            Err(compile_error(format!("{e} ({}): {log}", built.join(" "))))
        }
    };
    // SAFETY: created above, destroyed once; a failure to free is only logged.
    if let Err(e) = unsafe { nvrtc::destroy_program(program) } {
        tracing::warn!(target: "ifc::gpu", error = %e, "nvrtcDestroyProgram failed");
    }
    match cubin {
        // NVRTC reports a CUBIN of 0 bytes when `sm_arch` is a virtual architecture.
        Ok(cubin) if cubin.is_empty() => Err(compile_error(format!("no CUBIN for {sm_arch} (a virtual architecture?)"))),
        other => other,
    }
}

/// # Safety
///
/// `program` is a live NVRTC program that compiled successfully.
unsafe fn read_cubin(program: cudarc::nvrtc::sys::nvrtcProgram) -> Result<Vec<u8>, cudarc::nvrtc::result::NvrtcError> {
    use cudarc::nvrtc::sys;
    let mut size = 0usize;
    // SAFETY: the caller's contract; `size` is a valid out pointer.
    unsafe { sys::nvrtcGetCUBINSize(program, &mut size) }.result()?;
    let mut cubin = vec![0u8; size];
    // SAFETY: `cubin` holds exactly the size NVRTC reported.
    unsafe { sys::nvrtcGetCUBIN(program, cubin.as_mut_ptr().cast::<c_char>()) }.result()?;
    Ok(cubin)
}

fn c_text(raw: &[c_char]) -> String {
    let bytes: Vec<u8> = raw.iter().take_while(|&&c| c != 0).map(|&c| c as u8).collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// `--gpu-architecture=sm_XY` for a compute capability: a CUBIN for exactly that device.
pub fn sm_arch_for(compute_capability: (i32, i32)) -> Result<&'static str, GpuError> {
    Ok(match compute_capability {
        (7, 5) => "sm_75",
        (8, 0) => "sm_80",
        (8, 6) => "sm_86",
        (8, 7) => "sm_87",
        (8, 9) => "sm_89",
        (9, 0) => "sm_90",
        (10, 0) => "sm_100",
        (12, 0) => "sm_120",
        (major, minor) => {
            return Err(GpuError::Compile {
                kernel: PREPROCESS_ENTRY,
                log: format!("compute capability {major}.{minor} is not supported"),
            })
        }
    })
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
            let arch = sm_arch_for(device.compute_capability()?)?;
            let cubin = compile_cubin(PREPROCESS_ENTRY, PREPROCESS_SOURCE, arch)?;
            tracing::debug!(target: "ifc::gpu", arch, cubin_bytes = cubin.len(), "preprocessing kernel compiled");
            let module = device
                .context()
                .load_module(Ptx::from_binary(cubin))
                .map_err(|e| GpuError::driver("cuModuleLoadData (CUBIN)", e))?;
            cache.insert(device.ordinal(), module.clone());
            module
        }
    };
    module.load_function(PREPROCESS_ENTRY).map_err(|e| GpuError::driver("cuModuleGetFunction", e))
}
