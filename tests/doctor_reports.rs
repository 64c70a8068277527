//! `ifc doctor` run as a real process: it reports what this machine offers the GPU path and
//! which path Auto takes. On a machine without a CUDA driver (CI) it must say so plainly and
//! name the CPU path; `ifc extract` with RUST_LOG shows the same choice in its log, once.

use std::process::Command;

use ifc_integration_tests::{ifc_bin, run_ok, testdata};

fn loader_knows(library: &str) -> bool {
    let out = Command::new("/sbin/ldconfig").arg("-p").output().expect("ldconfig -p runs");
    String::from_utf8_lossy(&out.stdout).contains(library)
}

#[test]
fn doctor_names_the_driver_nvdec_nvrtc_and_the_auto_path() {
    let table = run_ok(Command::new(ifc_bin()).arg("doctor"));
    for key in ["cuda feature", "driver", "NVDEC", "NVRTC", "Auto path", "why"] {
        assert!(table.lines().any(|l| l.starts_with(key)), "no `{key}` line in:\n{table}");
    }
    assert!(table.contains("compiled in"), "the CLI is built with the cuda feature:\n{table}");
    if !loader_knows("libcuda.so.1") {
        assert!(table.contains("no CUDA driver: libcuda.so.1 NOT loaded"), "{table}");
        assert!(table.contains("GPUs           none"), "{table}");
        let auto = table.lines().find(|l| l.starts_with("Auto path")).unwrap_or_default();
        assert!(auto.ends_with("CPU decode + CPU preprocessing"), "{auto}");
        assert!(table.contains("why            no CUDA driver"), "{table}");
    }
}

#[test]
fn doctor_json_agrees_with_the_table() {
    let json: serde_json::Value =
        serde_json::from_str(&run_ok(Command::new(ifc_bin()).args(["doctor", "--json"]))).expect("doctor prints JSON");
    let path = json["auto"]["path"].as_str().expect("auto.path");
    assert!(["nvdec_cuda", "cpu_decode_cuda_preprocess", "cpu"].contains(&path), "{json}");
    assert_eq!(json["probe"]["cuda_compiled_in"], true);
    let loaded = json["probe"]["driver"]["loaded"].as_bool().expect("probe.driver.loaded");
    assert_eq!(loaded, loader_knows("libcuda.so.1"), "{json}");
    if !loaded {
        assert_eq!(path, "cpu");
        assert_eq!(json["probe"]["devices"].as_array().map(Vec::len), Some(0));
        assert!(json["auto"]["reason"].as_str().is_some_and(|r| r.starts_with("no CUDA driver")), "{json}");
    }
}

#[test]
fn extract_logs_the_auto_path_once() {
    let out_dir = tempfile::tempdir().expect("temp dir");
    let input = testdata().join("h264_main_320x240_25.mp4");
    let out = ifc_integration_tests::run_with_timeout(
        Command::new(ifc_bin())
            .env("RUST_LOG", "ifc::gpu_path=info")
            .args(["extract", "--format", "none", "--quiet"])
            .arg(&input)
            .arg(out_dir.path()),
        std::time::Duration::from_secs(120),
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "extract failed: {stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("processing path chosen")).collect();
    assert_eq!(lines.len(), 1, "one log line:\n{stderr}");
    if !loader_knows("libcuda.so.1") {
        assert!(
            lines[0].contains("CPU decode + CPU preprocessing") && lines[0].contains("no CUDA driver"),
            "{}",
            lines[0]
        );
    }
}

#[test]
fn the_gpu_check_stops_with_a_clear_message_and_code_2_without_a_gpu() {
    let bin = ifc_bin().with_file_name("ifc-gpu-check");
    assert!(bin.exists(), "{} is missing: run `cargo build --workspace` first", bin.display());
    let out_dir = tempfile::tempdir().expect("temp dir");
    let out = ifc_integration_tests::run_with_timeout(
        Command::new(&bin).arg("--out").arg(out_dir.path()),
        std::time::Duration::from_secs(60),
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut lines = stdout.lines();
    assert!(lines.next().is_some_and(|l| l.starts_with("tracing to ")), "says first where the trace goes: {stdout}");
    let first = lines.next().unwrap_or_default();
    assert!(first.starts_with("libnvcuvid.so.1: "), "then whether libnvcuvid was found: {stdout}");
    assert!(stdout.lines().any(|l| l.starts_with("NVRTC: ")), "{stdout}");
    let log = std::fs::read_to_string(out_dir.path().join("gpu-check.log")).expect("the log is written under --out");
    assert_eq!(log, stdout, "the log holds what was printed");
    if !loader_knows("libcuda.so.1") {
        assert_eq!(out.status.code(), Some(2), "{stdout}");
        assert!(stdout.contains("NO GPU: nothing to check here (no CUDA driver"), "{stdout}");
    }
}
