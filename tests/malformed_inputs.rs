//! Every file in testdata/malformed/ through `ifc probe` and `ifc remux`: each ends within
//! seconds with either a clean result or an error that says where, never a panic, a signal or
//! a hang. testdata/malformed/expected.txt pins which outcome each file gets.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use ifc_integration_tests::{ifc_bin, run_with_timeout, testdata};

/// `file  probe-outcome  remux-outcome  substring-of-the-error` lines.
fn expectations() -> Vec<(String, String, String, String)> {
    let text = std::fs::read_to_string(testdata().join("malformed/expected.txt")).expect("expected.txt");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let mut f = l.split_whitespace();
            let mut next = || f.next().unwrap_or_default().to_owned();
            let (file, probe, remux) = (next(), next(), next());
            let rest: Vec<&str> = l.split_whitespace().skip(3).collect();
            (file, probe, remux, rest.join(" "))
        })
        .collect()
}

fn run(args: &[&str], file: &Path, out: &Path) -> (bool, String) {
    let mut cmd = Command::new(ifc_bin());
    cmd.args(args).arg(file);
    if args[0] == "remux" {
        cmd.arg(out);
    }
    let o = run_with_timeout(&mut cmd, Duration::from_secs(20));
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!stderr.contains("panicked"), "{args:?} {}: panic:\n{stderr}", file.display());
    let code = o.status.code().unwrap_or_else(|| panic!("{args:?} {}: killed by a signal", file.display()));
    assert!(code == 0 || code == 1, "{args:?} {}: exit code {code}:\n{stderr}", file.display());
    (code == 0, stderr)
}

#[test]
fn malformed_inputs_fail_cleanly_or_recover() {
    let dir = testdata().join("malformed");
    let expected = expectations();
    let mut listed: Vec<&str> = expected.iter().map(|e| e.0.as_str()).collect();
    listed.sort_unstable();
    let mut present: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| !n.ends_with(".txt") && !n.ends_with(".md"))
        .collect();
    present.sort_unstable();
    assert_eq!(listed, present, "expected.txt lists every malformed file");
    let out = tempfile::tempdir().unwrap();
    for (file, probe, remux, needle) in &expected {
        let path = dir.join(file);
        for (args, want) in [(&["probe"][..], probe), (&["remux", "--quiet"][..], remux)] {
            let (ok, stderr) = run(args, &path, &out.path().join(file));
            match want.as_str() {
                "ok" => assert!(ok, "{file}: {args:?} should recover:\n{stderr}"),
                "error" => {
                    assert!(!ok, "{file}: {args:?} should fail");
                    assert!(
                        stderr.contains(needle.as_str()),
                        "{file}: {args:?} error should name {needle:?}:\n{stderr}"
                    );
                }
                other => panic!("expected.txt: bad outcome {other:?}"),
            }
        }
    }
}

#[test]
fn a_missing_file_and_bad_arguments_are_explained() {
    let o = run_with_timeout(Command::new(ifc_bin()).args(["probe", "/nonexistent/x.mp4"]), Duration::from_secs(10));
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("cannot read /nonexistent/x.mp4"));
    let o = run_with_timeout(
        Command::new(ifc_bin()).args(["remux", "a.h264", "out", "--fps", "fast"]),
        Duration::from_secs(10),
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("invalid frame rate"));
    let o = run_with_timeout(Command::new(ifc_bin()).args(["probe", "notes.txt"]), Duration::from_secs(10));
    assert_eq!(o.status.code(), Some(1));
}
