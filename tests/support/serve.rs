//! `ifc serve` as the tests run it: a real process on a free port with a throwaway data dir,
//! and a small blocking HTTP/WebSocket client for its API.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::backends::BackendServers;
use crate::ifc_bin;

pub const ADMIN_PASSWORD: &str = "admin-password-for-tests";

/// A running `ifc serve`; killed on drop.
pub struct ServeProcess {
    child: Child,
    pub addr: SocketAddr,
    /// The RTSP publish listener (`ingest.rtsp`), on a free port like the API.
    pub rtsp_addr: Option<SocketAddr>,
    pub data_dir: PathBuf,
    /// `http` or `https`, as the server announced.
    pub scheme: String,
    config: Option<PathBuf>,
    env: Vec<(String, String)>,
    args: Vec<String>,
    /// What the server wrote to stderr, line by line.
    pub log: mpsc::Receiver<String>,
}

impl ServeProcess {
    /// Starts `ifc serve --data-dir DATA --listen 127.0.0.1:0` on the embedded defaults with
    /// loopback cameras allowed, file cameras under `file_root`, and `env` on top; waits until
    /// it listens.
    pub fn start(data_dir: &Path, file_root: &Path, env: &[(&str, &str)]) -> Self {
        Self::start_full(&BackendServers::embedded(), data_dir, file_root, env, &[])
    }

    /// [`Self::start`] with more `ifc serve` arguments (`--tls-cert`, …).
    pub fn start_with_args(data_dir: &Path, file_root: &Path, env: &[(&str, &str)], args: &[&str]) -> Self {
        Self::start_full(&BackendServers::embedded(), data_dir, file_root, env, args)
    }

    /// [`Self::start`] on `servers` (the backends matrix): their configuration is written to
    /// `DATA.yaml` beside the data dir and passed with `--config`.
    pub fn start_on(servers: &BackendServers, data_dir: &Path, file_root: &Path, env: &[(&str, &str)]) -> Self {
        Self::start_full(servers, data_dir, file_root, env, &[])
    }

    fn start_full(
        servers: &BackendServers,
        data_dir: &Path,
        file_root: &Path,
        env: &[(&str, &str)],
        args: &[&str],
    ) -> Self {
        let mut all: Vec<(String, String)> = vec![
            ("IFC_ADMIN_PASSWORD".into(), ADMIN_PASSWORD.into()),
            ("IFC_ALLOW_LOOPBACK_CAMERAS".into(), "1".into()),
            ("IFC_FILE_CAMERA_ROOT".into(), file_root.display().to_string()),
            // Servers run side by side: no fixed RTSP port.
            ("IFC_RTSP_LISTEN".into(), "127.0.0.1:0".into()),
        ];
        all.extend(servers.env());
        all.extend(env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
        let config = servers.config_yaml().map(|yaml| {
            let path = data_dir.with_extension("yaml");
            std::fs::write(&path, yaml).expect("write the config file");
            path
        });
        Self::launch(data_dir, config, all, args.iter().map(|a| (*a).to_owned()).collect(), "127.0.0.1:0")
    }

    fn launch(data_dir: &Path, config: Option<PathBuf>, env: Vec<(String, String)>, args: Vec<String>, listen: &str) -> Self {
        let mut command = Command::new(ifc_bin());
        command.current_dir(crate::demo::repo()).arg("serve");
        if let Some(config) = &config {
            command.arg("--config").arg(config);
        }
        let mut child = command
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--listen", listen])
            .args(&args)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start ifc serve");
        let stderr = child.stderr.take().expect("piped");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                eprintln!("[ifc serve] {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut rtsp_addr = None;
        let (scheme, addr) = loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .unwrap_or_else(|_| panic!("ifc serve did not start within 60 s"));
            // Printed before the API's line.
            if let Some(rest) = line.strip_prefix("ifc serve: RTSP publish on rtsp://") {
                rtsp_addr = rest.split('/').next().and_then(|a| a.parse().ok());
            }
            if let Some((scheme, rest)) =
                line.strip_prefix("ifc serve: listening on ").and_then(|rest| rest.split_once("://"))
            {
                let addr = rest.split_whitespace().next().expect("address");
                break (scheme.to_owned(), addr.parse().expect("socket address"));
            }
        };
        Self { child, addr, rtsp_addr, data_dir: data_dir.to_owned(), scheme, config, env, args, log: rx }
    }

    /// The server's process id (for /proc readings).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no shutdown of any kind.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits for the exit (graceful shutdown); returns whether it exited 0.
    pub fn terminate(&mut self, timeout: Duration) -> bool {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.kill9();
        false
    }

    /// The same data dir, port and environment again (after `kill9` or `terminate`).
    pub fn restart(&mut self) {
        let listen = self.addr.to_string();
        let next = Self::launch(&self.data_dir.clone(), self.config.clone(), self.env.clone(), self.args.clone(), &listen);
        let old = std::mem::replace(self, next);
        drop(old);
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}://{}{path}", self.scheme, self.addr)
    }

    pub fn client(&self) -> Api {
        Api { base: format!("http://{}", self.addr), token: None, agent: ureq::AgentBuilder::new().timeout(Duration::from_secs(30)).max_idle_connections(0).build() }
    }

    /// A client logged in as the first admin.
    pub fn admin(&self) -> Api {
        let mut api = self.client();
        let tokens = api.post("/api/v1/auth/login", &json!({"username": "admin", "password": ADMIN_PASSWORD}));
        assert_eq!(tokens.0, 200, "login: {}", tokens.1);
        api.token = Some(tokens.1["access_token"].as_str().expect("token").to_owned());
        api
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A blocking API client: every call returns (status, JSON body or Null).
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub token: Option<String>,
    agent: ureq::Agent,
}

impl Api {
    pub fn with_token(&self, token: &str) -> Self {
        Self { token: Some(token.to_owned()), ..self.clone() }
    }

    pub fn request(&self, method: &str, path: &str, body: Option<&Value>) -> (u16, Value) {
        let mut req = self.agent.request(method, &format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        let result = match body {
            Some(b) => req.send_json(b.clone()),
            None => req.call(),
        };
        let response = match result {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("{method} {path}: {e}"),
        };
        let status = response.status();
        let text = response.into_string().unwrap_or_default();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub fn get(&self, path: &str) -> (u16, Value) {
        self.request("GET", path, None)
    }

    pub fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        self.request("POST", path, Some(body))
    }

    /// The body's bytes (snapshots).
    pub fn get_bytes(&self, path: &str) -> (u16, Vec<u8>) {
        let mut req = self.agent.get(&format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.set("Authorization", &format!("Bearer {t}"));
        }
        let response = match req.call() {
            Ok(r) => r,
            Err(ureq::Error::Status(_, r)) => r,
            Err(e) => panic!("GET {path}: {e}"),
        };
        let status = response.status();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut response.into_reader(), &mut bytes).expect("body");
        (status, bytes)
    }

    /// Every result matching `query` (`camera_id=…&verdict=ng`), following the cursor.
    pub fn all_results(&self, query: &str) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/api/v1/results?{query}&limit=500&cursor={c}"),
                None => format!("/api/v1/results?{query}&limit=500"),
            };
            let (status, page) = self.get(&path);
            assert_eq!(status, 200, "{path}: {page}");
            out.extend(page["items"].as_array().expect("items").iter().cloned());
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_owned()),
                None => return out,
            }
        }
    }
}

/// Waits until `f` gives `Some`, polling; panics with `what` after `timeout`.
pub fn wait_for<T>(timeout: Duration, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The event feed over a real WebSocket, read on a thread; events arrive on the channel.
pub fn subscribe(server: &ServeProcess, token: &str, query: &str) -> mpsc::Receiver<Value> {
    let url = format!("ws://{}/api/v1/events?{query}", server.addr);
    let mut request = tungstenite::client::IntoClientRequest::into_client_request(url.as_str()).expect("request");
    request.headers_mut().insert("Authorization", format!("Bearer {token}").parse().expect("header"));
    let (mut socket, _) = tungstenite::connect(request).expect("websocket connects");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        while let Ok(msg) = socket.read() {
            if let tungstenite::Message::Text(text) = msg {
                let Ok(v) = serde_json::from_str::<Value>(&text) else { continue };
                if tx.send(v).is_err() {
                    break;
                }
            }
        }
    });
    rx
}
