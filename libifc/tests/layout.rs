//! The layering rule: libifc's core modules are free of any async runtime. tokio may appear only
//! in the Triton gRPC client (`infer/triton/`, behind the `triton` feature: tonic needs it, and
//! it owns its runtime on its own thread), and in libifc's manifest only as an optional
//! dependency of that feature. The service's runtime lives in `ifc-service`.

use std::path::{Path, PathBuf};

const ALLOWED: &[&str] = &["infer/triton/"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn no_core_module_uses_an_async_runtime() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 50, "found only {} source files under {}", files.len(), src.display());
    let mut offenders = Vec::new();
    for file in &files {
        let relative = file.strip_prefix(&src).expect("under src").to_string_lossy().replace('\\', "/");
        if ALLOWED.iter().any(|a| relative.starts_with(a)) {
            continue;
        }
        let text = std::fs::read_to_string(file).expect("read");
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if ["tokio", "async_std", "futures::executor", "async fn"].iter().any(|w| code.contains(w)) {
                offenders.push(format!("{relative}:{}: {}", n + 1, line.trim()));
            }
        }
    }
    assert!(offenders.is_empty(), "async runtime in libifc's core modules:\n{}", offenders.join("\n"));
}

#[test]
fn tokio_is_only_an_optional_dependency_of_the_triton_feature() {
    let manifest = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml")).expect("manifest");
    for line in manifest.lines().filter(|l| l.trim_start().starts_with("tokio")) {
        assert!(line.contains("optional = true"), "tokio must stay optional in libifc: {line}");
    }
    let features: Vec<&str> = manifest.lines().filter(|l| l.contains("\"dep:tokio\"")).collect();
    assert!(features.iter().all(|l| l.trim_start().starts_with("triton =")), "only `triton` enables tokio: {features:?}");
}
