//! A real tritonserver (nvidia-pytriton's, CPU, python backend running onnxruntime) for the
//! tests, started by scripts/triton-server.sh on a free loopback port. A server that cannot
//! start fails the test: these tests never skip.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Tests in one binary run on threads: one install at a time into the shared venv.
static INSTALL: Mutex<()> = Mutex::new(());

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs scripts/triton-server.sh; returns its stdout.
pub fn triton_script(args: &[&str]) -> String {
    let output = Command::new("bash")
        .arg(repo_root().join("scripts/triton-server.sh"))
        .args(args)
        .output()
        .expect("run scripts/triton-server.sh");
    assert!(output.status.success(), "triton-server.sh {args:?} failed:\n{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The venv's interpreter (IFC_TRITON_VENV, as scripts/triton-server.sh reads it): it has
/// numpy, onnx and onnxruntime.
pub fn triton_python() -> PathBuf {
    std::env::var_os("IFC_TRITON_VENV")
        .map_or_else(|| repo_root().join(".cache/triton-venv"), PathBuf::from)
        .join("bin/python")
}

pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

/// A model repository holding one ONNX model, and a server over it; stopped on drop.
pub struct TritonServer {
    dir: tempfile::TempDir,
    port: u16,
    pid: String,
    extra: Vec<String>,
}

impl TritonServer {
    /// Serves `onnx` as `model_name` (python backend, max batch 8). `extra`: options of
    /// `triton-server.sh start` (e.g. `--restricted-shm KEY=VALUE`).
    pub fn start(model_name: &str, onnx: &Path, extra: &[&str]) -> Self {
        {
            let _once = INSTALL.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            triton_script(&["install"]);
        }
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = dir.path().join("repo");
        triton_script(&["repo", repo.to_str().expect("utf-8"), model_name, onnx.to_str().expect("utf-8")]);
        let mut server =
            Self { dir, port: free_port(), pid: String::new(), extra: extra.iter().map(|s| s.to_string()).collect() };
        server.launch();
        server
    }

    /// Starts (again) on the same port and repository; waits until it is ready.
    pub fn launch(&mut self) {
        let repo = self.dir.path().join("repo");
        let port = self.port.to_string();
        let mut args = vec!["start", repo.to_str().expect("utf-8"), port.as_str()];
        args.extend(self.extra.iter().map(String::as_str));
        self.pid = triton_script(&args);
    }

    /// SIGKILL to the server's process group (its python stubs too): a crash, not a shutdown.
    pub fn kill(&self) {
        let _ = Command::new("kill").args(["-KILL", "--", &format!("-{}", self.pid)]).status();
        let _ = Command::new("kill").args(["-KILL", &self.pid]).status();
        // Wait until the port is closed.
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `http://127.0.0.1:PORT`, as the gRPC client takes it.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// `127.0.0.1:PORT`, as pipeline documents and `ifc run --triton` write it.
    pub fn address(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// A scratch directory that lives as long as the server.
    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TritonServer {
    fn drop(&mut self) {
        let _ =
            Command::new("bash").arg(repo_root().join("scripts/triton-server.sh")).args(["stop", &self.pid]).status();
    }
}
