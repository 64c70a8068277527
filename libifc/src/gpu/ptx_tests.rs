//! The preprocessing kernel compiled by NVRTC to PTX for compute_90 and assembled by ptxas for
//! sm_90 (H100/H200), with the NVRTC and ptxas of PyPI's `nvidia-cuda-nvrtc` and
//! `nvidia-cuda-nvcc` wheels (CUDA 13, matching cudarc's `cuda-13000` bindings), which
//! scripts/setup.sh installs. No GPU and no libcuda are needed: this runs on every CI run.
//! Missing wheels are a failure, not a skip.
#![allow(unsafe_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use super::nvrtc::{compile_ptx, PREPROCESS_ENTRY, PREPROCESS_SOURCE};

const SETUP_HINT: &str = "run scripts/setup.sh (pip install nvidia-cuda-nvrtc==13.* nvidia-cuda-nvcc==13.*)";

/// `nvidia/cu13` of the installed wheels (or `IFC_CUDA_WHEEL_DIR`).
fn wheel_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("IFC_CUDA_WHEEL_DIR") {
        return PathBuf::from(dir);
    }
    let script = "import nvidia, os\nfor p in nvidia.__path__:\n    d = os.path.join(p, 'cu13')\n    \
                  if os.path.isdir(d):\n        print(d)\n        break";
    let out = Command::new("python3").args(["-c", script]).output();
    let dir = match out {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_owned(),
        Ok(out) => panic!(
            "python3 cannot find the nvidia CUDA 13 wheels ({}): {SETUP_HINT}",
            String::from_utf8_lossy(&out.stderr).trim()
        ),
        Err(e) => panic!("python3 does not run ({e}): {SETUP_HINT}"),
    };
    assert!(!dir.is_empty(), "no nvidia/cu13 directory in the nvidia wheels: {SETUP_HINT}");
    PathBuf::from(dir)
}

/// Loads the wheel's libnvrtc by path and keeps it loaded, so that cudarc's `dlopen` by
/// soname (`libnvrtc.so.13`) finds this copy: the dynamic loader matches an already loaded
/// library by its soname. LD_LIBRARY_PATH cannot be changed for a running process.
fn preload_nvrtc() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    static LIB: OnceLock<libloading::Library> = OnceLock::new();
    let dir = DIR.get_or_init(wheel_dir);
    LIB.get_or_init(|| {
        let lib = dir.join("lib/libnvrtc.so.13");
        assert!(lib.exists(), "{} is missing: {SETUP_HINT}", lib.display());
        // SAFETY: loading NVIDIA's NVRTC runs only its own initialisers; it stays loaded for
        // the life of the test process.
        unsafe { libloading::Library::new(&lib) }.unwrap_or_else(|e| panic!("loading {}: {e}", lib.display()))
    });
    dir
}

#[test]
fn preprocess_kernel_compiles_to_ptx_and_assembles_for_sm_90() {
    let dir = preload_nvrtc();
    // No libcuda on CI: NVRTC must work without the driver.
    let ptx = compile_ptx(PREPROCESS_ENTRY, PREPROCESS_SOURCE, "compute_90").expect("NVRTC compiles the kernel");
    let text = ptx.to_src();
    assert!(text.contains(".target sm_90"), "PTX not for sm_90:\n{}", &text[..text.len().min(400)]);
    assert!(text.contains(&format!(".entry {PREPROCESS_ENTRY}")), "no .entry {PREPROCESS_ENTRY} in the PTX");

    let ptxas = dir.join("bin/ptxas");
    assert!(ptxas.exists(), "{} is missing: {SETUP_HINT}", ptxas.display());
    let work = tempfile::tempdir().expect("temp dir");
    let (ptx_path, cubin_path) = (work.path().join("preprocess.ptx"), work.path().join("preprocess.cubin"));
    std::fs::write(&ptx_path, &text).expect("write PTX");
    let out = Command::new(&ptxas)
        .args(["-arch=sm_90", "-v", "-o"])
        .arg(&cubin_path)
        .arg(&ptx_path)
        .output()
        .expect("ptxas runs");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "ptxas -arch=sm_90 failed:\n{log}");
    eprintln!(
        "ptxas: {}",
        log.lines().filter(|l| l.contains("registers") || l.contains("spill")).collect::<Vec<_>>().join("; ")
    );
    let cubin = std::fs::read(&cubin_path).expect("cubin written");
    assert!(cubin.starts_with(b"\x7fELF"), "ptxas did not write an ELF cubin");
}

#[test]
fn a_kernel_with_a_syntax_error_is_a_typed_compile_error() {
    preload_nvrtc();
    let err = compile_ptx("broken", "extern \"C\" __global__ void k() { this is not C++ }", "compute_90")
        .expect_err("must not compile");
    assert!(matches!(&err, super::GpuError::Compile { kernel: "broken", .. }), "{err:?}");
}

#[test]
fn preprocess_kernel_compiles_to_a_cubin_for_sm_90_without_a_driver() {
    preload_nvrtc();
    let arch = super::nvrtc::sm_arch_for((9, 0)).expect("sm_90 is known");
    assert_eq!(arch, "sm_90");
    let cubin = super::nvrtc::compile_cubin(PREPROCESS_ENTRY, PREPROCESS_SOURCE, arch).expect("NVRTC writes a CUBIN");
    assert!(cubin.starts_with(b"\x7fELF"), "nvrtcGetCUBIN did not return an ELF image");
    // The entry point is in the ELF's string table, so the driver finds it without JIT.
    assert!(cubin.windows(PREPROCESS_ENTRY.len()).any(|w| w == PREPROCESS_ENTRY.as_bytes()), "no {PREPROCESS_ENTRY} symbol");
}

#[test]
fn a_cubin_for_a_virtual_architecture_is_a_typed_error() {
    preload_nvrtc();
    // compute_90 is PTX-only: NVRTC cannot produce a CUBIN for it.
    let err = super::nvrtc::compile_cubin(PREPROCESS_ENTRY, PREPROCESS_SOURCE, "compute_90").expect_err("no CUBIN");
    assert!(matches!(&err, super::GpuError::Compile { .. }), "{err:?}");
}
