//! schemathesis (PyPI) against a running `ifc serve`: it reads the served OpenAPI document,
//! generates requests for every operation (examples, boundary values, fuzzed bodies and
//! parameters, and stateful sequences), and checks each response: no server error, status and
//! content type documented, body valid against the documented schema.

use std::process::Command;
use std::time::Duration;

use ifc_integration_tests::run_with_timeout;
use ifc_integration_tests::serve::ServeProcess;

#[test]
fn schemathesis_finds_no_server_error_and_no_response_outside_the_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = ServeProcess::start(&dir.path().join("data"), dir.path(), &[]);
    let token = server.admin().token.expect("token");
    // The python3 scripts/setup.sh installed it into, whether or not its scripts are on PATH.
    let mut command = Command::new("python3");
    command
        .args(["-m", "schemathesis.cli", "run"])
        .arg(server.url("/api/v1/openapi.json"))
        .args(["--header", &format!("Authorization: Bearer {token}")])
        .args(["--checks", "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"])
        // Fixed, so that a failure in CI replays here; raise --max-examples to search wider.
        .args(["--seed", "20261205", "--max-examples", "30", "--workers", "2", "--no-color"])
        .current_dir(dir.path());
    let out = run_with_timeout(&mut command, Duration::from_secs(600));
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "schemathesis found failures (install: pip install schemathesis):\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Every operation the document lists was tested.
    let (status, document) = server.client().get("/api/v1/openapi.json");
    assert_eq!(status, 200);
    let operations: usize =
        document["paths"].as_object().expect("paths").values().map(|item| item.as_object().map_or(0, |o| o.len())).sum();
    let tested = report
        .lines()
        .find_map(|l| l.trim().strip_prefix("Tested:"))
        .and_then(|n| n.trim().parse::<usize>().ok())
        .unwrap_or_else(|| panic!("no `Tested:` line in the report:\n{report}"));
    assert_eq!(tested, operations, "operations tested of those documented:\n{report}");
}
