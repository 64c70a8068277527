//! The checked-in bindings (src/nvcuvid.rs) came from the headers now installed: each header's
//! sha256, recorded by generate.sh, still matches. When this fails, run ifc-sys/generate.sh
//! (needs bindgen-cli) and commit the result. Needs Debian's libffmpeg-nvenc-dev
//! (scripts/setup.sh installs it).

use std::path::{Path, PathBuf};
use std::process::Command;

fn include_dir() -> PathBuf {
    let out = Command::new("pkg-config").args(["--variable=includedir", "ffnvcodec"]).output();
    let dir = match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_owned(),
        _ => panic!("pkg-config finds no ffnvcodec: install libffmpeg-nvenc-dev (scripts/setup.sh)"),
    };
    Path::new(&dir).join("ffnvcodec")
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().expect("sha256sum runs");
    assert!(out.status.success(), "sha256sum {} failed: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or_default().to_owned()
}

#[test]
fn bindings_were_generated_from_the_installed_headers() {
    // The directory cargo runs the test in, not the one it was compiled in: a build cache shared
    // between checkouts (CI's and a developer's) may hold a binary compiled elsewhere.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| env!("CARGO_MANIFEST_DIR").to_owned());
    let manifest = Path::new(&manifest_dir);
    let generated = std::fs::read_to_string(manifest.join("src/nvcuvid.rs")).expect("src/nvcuvid.rs is there");
    let recorded: Vec<(&str, &str)> = generated
        .lines()
        .take_while(|l| l.starts_with("//"))
        .filter_map(|l| l.strip_prefix("// sha256 "))
        .filter_map(|l| l.split_once(' '))
        .collect();
    assert_eq!(recorded.len(), 4, "three headers and wrapper.h are recorded: {recorded:?}");
    let include = include_dir();
    for (name, hash) in recorded {
        let path = if name == "wrapper.h" { manifest.join(name) } else { include.join(name) };
        assert!(path.is_file(), "{} is missing: install libffmpeg-nvenc-dev (scripts/setup.sh)", path.display());
        assert_eq!(
            sha256(&path),
            hash,
            "{} changed since src/nvcuvid.rs was generated: run ifc-sys/generate.sh",
            path.display()
        );
    }
}

#[test]
fn a_missing_library_is_an_error_not_a_crash() {
    // SAFETY: the path names no file, so no library code runs.
    let opened = unsafe { ifc_sys::NvcuvidLibrary::new("/nonexistent/libnvcuvid.so.1") };
    let err = opened.err().expect("no library at that path");
    // libloading's Display says only "dlopen failed"; its Debug carries dlerror's text.
    let text = format!("{err:?}");
    assert!(text.contains("/nonexistent/libnvcuvid.so.1"), "the error names the file: {text}");
}

#[test]
fn the_default_library_loads_exactly_when_the_loader_knows_it() {
    let known = Command::new("/sbin/ldconfig").arg("-p").output().expect("ldconfig -p runs");
    let known = String::from_utf8_lossy(&known.stdout).contains(ifc_sys::NVCUVID_LIBRARY);
    // SAFETY: loads the driver's NVDEC library when it is installed; its initialisers are trusted.
    let opened = unsafe { ifc_sys::NvcuvidLibrary::open_default() };
    assert_eq!(opened.is_ok(), known, "ldconfig knows {}: {known}, load: {:?}", ifc_sys::NVCUVID_LIBRARY, opened.err());
}
