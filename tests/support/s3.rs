//! A real S3 server for the tests: moto's (`python3 -m moto.server`, PyPI `moto[server]`,
//! installed by `scripts/setup.sh`) on a free loopback port, with one bucket. It keeps objects
//! in memory, so [`S3Server::restart`] (the "server down" tests) comes back empty and makes the
//! bucket again, as an operator restoring the service would.
//!
//! moto checks no signatures, so the tests' own requests (make the bucket, list it) are plain
//! unsigned HTTP; `ifc serve` signs its requests as it would for any server.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const BUCKET: &str = "ifc-test";
/// Any credentials do for moto; `ifc serve` gets them through the standard AWS_* variables.
pub const ACCESS_KEY: &str = "ifc-test-key";
pub const SECRET_KEY: &str = "ifc-test-secret";

pub struct S3Server {
    child: Option<Child>,
    pub port: u16,
}

impl S3Server {
    /// Starts the server and makes the bucket; panics when it does not answer within 60 s.
    pub fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("free port");
        let mut server = Self { child: None, port };
        server.launch();
        server
    }

    fn launch(&mut self) {
        let child = Command::new("python3")
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &self.port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto (python3 -m moto.server; scripts/setup.sh installs moto[server])");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = self.agent().put(&self.bucket_url()).call() {
                assert_eq!(r.status(), 200, "create bucket");
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("moto exited at start ({status}): is moto[server] installed? (scripts/setup.sh)");
            }
            assert!(Instant::now() < deadline, "moto on port {} did not answer within 60 s", self.port);
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn agent(&self) -> ureq::Agent {
        ureq::AgentBuilder::new().timeout(Duration::from_secs(10)).build()
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn bucket_url(&self) -> String {
        format!("{}/{BUCKET}", self.endpoint())
    }

    /// The server goes away (SIGKILL): connections are refused until [`Self::restart`].
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Back on the same port, with the bucket made again (empty: moto keeps nothing).
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }

    /// Every key in the bucket (ListObjectsV2, following continuation tokens).
    pub fn keys(&self) -> Vec<String> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut req = self.agent().get(&self.bucket_url()).query("list-type", "2");
            if let Some(t) = &token {
                req = req.query("continuation-token", t);
            }
            let body = req.call().expect("ListObjectsV2").into_string().expect("XML");
            keys.extend(xml_values(&body, "Key"));
            token = xml_values(&body, "NextContinuationToken").into_iter().next();
            if token.is_none() {
                return keys;
            }
        }
    }
}

impl S3Server {
    /// An object's bytes (GetObject), or `None` when it is not there. moto refuses anonymous
    /// reads of objects but checks no signatures: any SigV4-shaped header does.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        let auth = format!(
            "AWS4-HMAC-SHA256 Credential={ACCESS_KEY}/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=00"
        );
        match self.agent().get(&format!("{}/{key}", self.bucket_url())).set("authorization", &auth).call() {
            Ok(r) => {
                let mut body = Vec::new();
                std::io::Read::read_to_end(&mut r.into_reader(), &mut body).expect("object body");
                Some(body)
            }
            Err(ureq::Error::Status(404, _)) => None,
            Err(e) => panic!("GetObject {key}: {e}"),
        }
    }

    /// Multipart uploads begun and neither completed nor aborted (ListMultipartUploads).
    pub fn unfinished_uploads(&self) -> usize {
        let body = self.agent().get(&self.bucket_url()).query("uploads", "").call().expect("ListMultipartUploads");
        xml_values(&body.into_string().expect("XML"), "UploadId").len()
    }
}

/// The texts of every `<tag>…</tag>` (S3's listing XML has no nesting of these).
fn xml_values(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(&open).skip(1).filter_map(|rest| rest.split(&close).next().map(str::to_owned)).collect()
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}
