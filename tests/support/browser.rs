//! Headless Chromium for the tests: Debian's `chromium`, driven by npm's `playwright-core`
//! (Playwright's own browser download is not used), and hls.js for the LL-HLS player test.
//! The npm packages live in a cache outside the clone, installed on first use.

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::run_with_timeout;

/// The npm packages the browser tests use, pinned.
const PACKAGES: [(&str, &str); 2] = [("playwright-core", "1.65.2"), ("hls.js", "1.7.4")];

/// `node_modules` holding [`PACKAGES`] (for `IFC_NODE_MODULES`).
pub fn node_modules() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/tmp"));
    let prefix = home.join(".cache/ifc/node");
    let modules = prefix.join("node_modules");
    let missing: Vec<String> = PACKAGES
        .iter()
        .filter(|(name, _)| !modules.join(name).join("package.json").exists())
        .map(|(name, version)| format!("{name}@{version}"))
        .collect();
    if !missing.is_empty() {
        std::fs::create_dir_all(&prefix).expect("cache dir");
        let out = run_with_timeout(
            Command::new("npm").args(["install", "--silent", "--no-audit", "--no-fund", "--prefix"]).arg(&prefix).args(&missing),
            Duration::from_secs(300),
        );
        assert!(out.status.success(), "npm install {missing:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
    modules
}
