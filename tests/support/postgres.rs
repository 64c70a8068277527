//! A throwaway PostgreSQL 15 cluster (Debian's `postgresql-15`, installed by
//! `scripts/setup.sh`): `initdb` into a temporary directory, `postgres` on a free loopback
//! port with its unix socket in that directory, stopped (immediate shutdown) on drop.
//!
//! PostgreSQL refuses to run as root, and tests often do: then the cluster belongs to the
//! `postgres` OS user (the package makes it) and its programs run as that user through
//! `setpriv`, which execs in place, so the child's pid is the server's and killing it works.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::run_with_timeout;
use crate::triton::free_port;

const BIN: &str = "/usr/lib/postgresql/15/bin";

pub struct Postgres {
    dir: tempfile::TempDir,
    child: Child,
    pub port: u16,
}

fn is_root() -> bool {
    // `id -u` rather than libc's getuid, to keep the test crate free of unsafe code.
    Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0\n")).unwrap_or(false)
}

/// `program` from PostgreSQL's bin directory, as the `postgres` user when we are root.
fn pg_command(program: &str) -> Command {
    let path = Path::new(BIN).join(program);
    if is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=postgres", "--regid=postgres", "--init-groups", "--"]).arg(path);
        c
    } else {
        Command::new(path)
    }
}

impl Postgres {
    /// initdb + start; waits until it accepts connections (panics after 60 s).
    pub fn start() -> Self {
        assert!(
            Path::new(BIN).join("initdb").exists(),
            "{BIN}/initdb is missing: run scripts/setup.sh (installs Debian's postgresql-15)"
        );
        let dir = tempfile::Builder::new().prefix("ifc-pg-").tempdir().expect("tempdir");
        if is_root() {
            let status = Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()).status().expect("chown");
            assert!(status.success(), "chown the cluster's directory to postgres");
        }
        let data = dir.path().join("data");
        let out = run_with_timeout(
            pg_command("initdb").args(["-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync", "-D"]).arg(&data),
            Duration::from_secs(120),
        );
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        let port = free_port();
        // fsync off: a test cluster needs no durability, and 2-core CI machines are slow.
        let child = pg_command("postgres")
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"])
            .args(["-c", "max_connections=200", "-c"])
            .arg(format!("unix_socket_directories={}", dir.path().display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start postgres");
        let pg = Self { dir, child, port };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !pg.psql("postgres", "SELECT 1").status.success() {
            assert!(Instant::now() < deadline, "PostgreSQL on port {port} did not accept connections within 60 s");
            std::thread::sleep(Duration::from_millis(100));
        }
        pg
    }

    fn psql(&self, db: &str, sql: &str) -> std::process::Output {
        let mut c = Command::new("psql");
        c.args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres", "-d", db])
            .args(["-p", &self.port.to_string(), "-c", sql]);
        run_with_timeout(&mut c, Duration::from_secs(30))
    }

    /// A new empty database; returns its URL.
    pub fn create_database(&self, name: &str) -> String {
        let out = self.psql("postgres", &format!("CREATE DATABASE \"{name}\""));
        assert!(out.status.success(), "CREATE DATABASE {name}: {}", String::from_utf8_lossy(&out.stderr));
        self.url(name)
    }

    pub fn url(&self, db: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{db}", self.port)
    }

    /// Runs SQL and returns psql's unaligned output (for checks on what the server stored).
    pub fn query(&self, db: &str, sql: &str) -> String {
        let mut c = Command::new("psql");
        c.args(["-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1", "-U", "postgres", "-d", db])
            .args(["-p", &self.port.to_string(), "-c", sql]);
        let out = run_with_timeout(&mut c, Duration::from_secs(30));
        assert!(out.status.success(), "{sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        // SIGQUIT: immediate shutdown (the server tells its backends to quit and exits).
        let _ = Command::new("kill").args(["-QUIT", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
