//! gst-rtsp-server (scripts/rtsp-test-server.sh) serving one committed raw stream, for the
//! tests of the RTSP client and of live decoding. A server that cannot start fails the test.
#![allow(dead_code)] // each test file uses a different part

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// gst-rtsp-server serving one testdata file at /test; killed on drop.
pub struct RtspServer {
    child: Child,
    pub port: u16,
}

impl RtspServer {
    pub fn start(file: &str, auth: Option<&str>) -> Self {
        Self::start_with(file, auth, &[])
    }

    pub fn start_with(file: &str, auth: Option<&str>, env: &[(&str, &str)]) -> Self {
        Self::start_on(0, file, auth, env)
    }

    /// `file` is relative to testdata/ (or absolute); its file name starts with its codec
    /// (`h264…` or `h265…`). On a given port (0: a free one), e.g. to bring a killed camera back where it was.
    pub fn start_on(port: u16, file: &str, auth: Option<&str>, env: &[(&str, &str)]) -> Self {
        let path = repo_root().join("testdata").join(file);
        let (parse, pay) =
            // By file name: the testdata fixtures and the tests' own clips start with the codec.
            if Path::new(file).file_name().is_some_and(|n| n.to_string_lossy().starts_with("h264")) { ("h264parse", "rtph264pay") } else { ("h265parse", "rtph265pay") };
        // Raw streams carry no times (RTP timestamps all equal, sent as fast as possible); MP4
        // files are demuxed with their times and sent in real time, as a camera would.
        let demux = if file.ends_with(".mp4") { "qtdemux ! " } else { "" };
        let launch = format!(
            "( filesrc location={} ! {demux}{parse} ! {pay} name=pay0 pt=96 config-interval=-1 )",
            path.display()
        );
        let mut child = Command::new("bash")
            .arg(repo_root().join("scripts/rtsp-test-server.sh"))
            .args([port.to_string().as_str(), "/test", &launch])
            .args(auth)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run scripts/rtsp-test-server.sh");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("read the ready line");
        let port = line.strip_prefix("ready ").and_then(|p| p.trim().parse().ok());
        let Some(port) = port else {
            let _ = child.kill();
            panic!("rtsp-test-server did not start (printed {line:?}); see its stderr above");
        };
        Self { child, port }
    }

    pub fn url(&self, userinfo: &str) -> String {
        format!("rtsp://{userinfo}127.0.0.1:{}/test", self.port)
    }

    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RtspServer {
    fn drop(&mut self) {
        self.kill();
    }
}
