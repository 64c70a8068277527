//! `ifc serve`'s configuration: a YAML file (schema: [`config_json_schema`], published as
//! `schema/serve-config.schema.json`), then `IFC_*` environment variables, then the command
//! line. Every field has a default, so `ifc serve` with nothing runs on embedded defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

mod distribution;
mod events;
mod recording;
pub(crate) use recording::default_segment_s;
pub use recording::{CameraRecording, RecordingConfig};
mod ingest;
pub use ingest::{IngestConfig, RtspIngestConfig, WhipIngestConfig};
pub use distribution::DistributionConfig;
pub use events::{CreateTopics, EventsConfig, KafkaConfig, OutboxConfig, RESERVED_CLIENT_SETTINGS};

/// The whole configuration file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ServeConfig {
    /// Address the API listens on (REST, WebSocket, gRPC, health, metrics).
    pub listen: SocketAddr,
    /// Serve HTTPS (and gRPC over TLS) on `listen` with this certificate and key. Default:
    /// plain HTTP (behind a load balancer, TLS usually ends there).
    pub tls: Option<TlsConfig>,
    /// Where the embedded defaults keep their files: the SQLite database, objects, the JWT key.
    pub data_dir: PathBuf,
    /// `sqlite://PATH` or `postgres://USER:PASS@HOST/DB`. Default: `ifc.sqlite` in the data dir.
    pub database_url: Option<String>,
    /// Where images and clips go. Default: a local directory `objects/` in the data dir.
    pub objects: ObjectsConfig,
    pub auth: AuthConfig,
    pub cameras: CameraPolicy,
    /// Largest request body accepted, bytes.
    pub max_body_bytes: usize,
    /// Whether `/metrics` needs a token (it never shows credentials).
    pub metrics_require_auth: bool,
    /// Where events are published: in process (default) or Kafka.
    pub events: EventsConfig,
    /// How long published events stay in the outbox.
    pub outbox: OutboxConfig,
    /// Which cameras are recorded, and how long recordings stay.
    pub recording: RecordingConfig,
    /// Streams cameras push to the server (RTSP publish, WHIP).
    pub ingest: IngestConfig,
    /// Live view: LL-HLS, fMP4 over WebSocket, verdict overlays.
    pub distribution: DistributionConfig,
}

impl Default for ServeConfig {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            tls: None,
            data_dir: PathBuf::from("ifc-data"),
            database_url: None,
            objects: ObjectsConfig::default(),
            auth: AuthConfig::default(),
            cameras: CameraPolicy::default(),
            max_body_bytes: 1 << 20,
            metrics_require_auth: false,
            events: EventsConfig::default(),
            outbox: OutboxConfig::default(),
            recording: RecordingConfig::default(),
            ingest: IngestConfig::default(),
            distribution: DistributionConfig::default(),
        }
    }
}

/// TLS (rustls): PEM files; relative paths are inside the data dir.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// The certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// The certificate's private key (PKCS#8, PKCS#1 or SEC1).
    pub key_file: PathBuf,
}

/// The object store. Whichever it is, an object the store cannot take right now waits in
/// `spool/objects/` in the data dir and is uploaded when the store answers again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, tag = "kind", rename_all = "snake_case")]
pub enum ObjectsConfig {
    /// A directory; relative paths are inside the data dir.
    Local { dir: PathBuf },
    /// An S3-compatible server (AWS S3, MinIO, Ceph, s3s, moto).
    S3(S3Config),
}

/// S3-compatible storage. The bucket must exist (`/readyz` checks it with HeadBucket).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct S3Config {
    pub bucket: String,
    /// The server's URL, e.g. `http://minio:9000`; none: AWS's endpoint for the region.
    #[serde(default)]
    pub endpoint: Option<String>,
    /// The signing region (MinIO and most others accept any; AWS needs the bucket's).
    #[serde(default = "default_region")]
    pub region: String,
    /// Path-style URLs (`ENDPOINT/BUCKET/KEY`), which MinIO and most self-hosted servers
    /// need; false: virtual-hosted style (`BUCKET.ENDPOINT/KEY`).
    #[serde(default = "default_true")]
    pub path_style: bool,
    /// Credentials; when absent, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY` and
    /// `AWS_SESSION_TOKEN` from the environment.
    #[serde(default)]
    pub access_key_id: Option<String>,
    #[serde(default)]
    pub secret_access_key: Option<String>,
    /// Objects larger than this go up in parts (CreateMultipartUpload, UploadPart,
    /// CompleteMultipartUpload; aborted on failure, so no parts are left behind).
    #[serde(default = "default_multipart_threshold")]
    pub multipart_threshold_bytes: u64,
    /// The size of each part but the last; S3 needs at least 5 MiB.
    #[serde(default = "default_multipart_part")]
    pub multipart_part_bytes: u64,
}

/// S3's smallest part (every part but the last).
pub const S3_MIN_PART_BYTES: u64 = 5 << 20;

fn default_multipart_threshold() -> u64 {
    16 << 20
}

fn default_multipart_part() -> u64 {
    8 << 20
}

fn default_region() -> String {
    "us-east-1".into()
}

fn default_true() -> bool {
    true
}

impl Default for ObjectsConfig {
    fn default() -> Self {
        Self::Local { dir: PathBuf::from("objects") }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Lifetime of an access token (JWT), seconds.
    pub access_token_ttl_s: u64,
    /// Lifetime of a refresh token, seconds.
    pub refresh_token_ttl_s: u64,
    /// The JWT `iss` and `aud` claims this server writes and requires.
    pub issuer: String,
    pub audience: String,
    /// File holding the HS256 signing key (made with 256 random bits at first start when
    /// missing); relative paths are inside the data dir.
    pub jwt_key_file: PathBuf,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            access_token_ttl_s: 15 * 60,
            refresh_token_ttl_s: 30 * 24 * 3600,
            issuer: "ifc".into(),
            audience: "ifc-api".into(),
            jwt_key_file: PathBuf::from("jwt.key"),
        }
    }
}

/// Which camera addresses the server will connect to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct CameraPolicy {
    /// Allow cameras on loopback addresses (127.0.0.0/8, ::1): off by default, so the API
    /// cannot be used to reach services on the server itself.
    pub allow_loopback: bool,
    /// Allow `file` cameras (a clip replayed in a loop, for demos and line simulation), and
    /// the directory they must be under.
    pub file_root: Option<PathBuf>,
    /// Pull cameras: the first wait before reconnecting, and the longest, milliseconds
    /// (exponential backoff with jitter in between).
    pub reconnect_initial_ms: u64,
    pub reconnect_max_ms: u64,
    /// Decoded frames waiting for inference per camera; more are dropped (and counted).
    pub queue_frames: usize,
}

impl Default for CameraPolicy {
    fn default() -> Self {
        Self {
            allow_loopback: false,
            file_root: None,
            reconnect_initial_ms: 500,
            reconnect_max_ms: 30_000,
            queue_frames: 4,
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("{path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("{path}: {message}")]
    Parse { path: String, message: String },
    #[error("environment variable {name}: {message}")]
    Env { name: &'static str, message: String },
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
}

impl ServeConfig {
    /// Reads a YAML (or JSON) config file; unknown fields are errors.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.display().to_string(), source })?;
        serde_yaml_ng::from_str(&text)
            .map_err(|e| ConfigError::Parse { path: path.display().to_string(), message: e.to_string() })
    }

    /// Applies `IFC_LISTEN`, `IFC_RTSP_LISTEN`, `IFC_DATA_DIR`, `IFC_DATABASE_URL`, `IFC_ALLOW_LOOPBACK_CAMERAS`,
    /// `IFC_FILE_CAMERA_ROOT`, `IFC_TLS_CERT` + `IFC_TLS_KEY` (both or neither),
    /// `IFC_KAFKA_BROKERS` (switches the bus to Kafka, keeping the file's other Kafka settings),
    /// `IFC_KAFKA_TOPIC_PREFIX` and `IFC_KAFKA_CREATE_TOPICS` (a partition count) from `env` (a
    /// lookup, so tests need not touch the process's environment).
    pub fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        if let Some(v) = env("IFC_LISTEN") {
            self.listen = v.parse().map_err(|e| ConfigError::Env { name: "IFC_LISTEN", message: format!("{e}") })?;
        }
        if let Some(v) = env("IFC_RTSP_LISTEN") {
            self.ingest.rtsp.listen =
                v.parse().map_err(|e| ConfigError::Env { name: "IFC_RTSP_LISTEN", message: format!("{e}") })?;
        }
        if let Some(v) = env("IFC_DATA_DIR") {
            self.data_dir = PathBuf::from(v);
        }
        if let Some(v) = env("IFC_DATABASE_URL") {
            self.database_url = Some(v);
        }
        if let Some(v) = env("IFC_ALLOW_LOOPBACK_CAMERAS") {
            self.cameras.allow_loopback = parse_bool(&v)
                .ok_or(ConfigError::Env { name: "IFC_ALLOW_LOOPBACK_CAMERAS", message: format!("not a boolean: {v:?}") })?;
        }
        if let Some(v) = env("IFC_FILE_CAMERA_ROOT") {
            self.cameras.file_root = Some(PathBuf::from(v));
        }
        match (env("IFC_TLS_CERT"), env("IFC_TLS_KEY")) {
            (Some(cert), Some(key)) => {
                self.tls = Some(TlsConfig { cert_file: PathBuf::from(cert), key_file: PathBuf::from(key) });
            }
            (None, None) => {}
            (Some(_), None) => {
                return Err(ConfigError::Env { name: "IFC_TLS_KEY", message: "needed with IFC_TLS_CERT".into() })
            }
            (None, Some(_)) => {
                return Err(ConfigError::Env { name: "IFC_TLS_CERT", message: "needed with IFC_TLS_KEY".into() })
            }
        }
        if let Some(v) = env("IFC_KAFKA_BROKERS") {
            let mut kafka = match std::mem::take(&mut self.events) {
                EventsConfig::Kafka(k) => k,
                EventsConfig::InProcess => KafkaConfig::default(),
            };
            kafka.brokers = v;
            self.events = EventsConfig::Kafka(kafka);
        }
        if let Some(v) = env("IFC_KAFKA_TOPIC_PREFIX") {
            kafka_of(&mut self.events, "IFC_KAFKA_TOPIC_PREFIX")?.topic_prefix = v;
        }
        if let Some(v) = env("IFC_KAFKA_CREATE_TOPICS") {
            let name = "IFC_KAFKA_CREATE_TOPICS";
            let partitions = v
                .parse::<i32>()
                .ok()
                .filter(|p| *p > 0)
                .ok_or_else(|| ConfigError::Env { name, message: format!("not a partition count: {v:?}") })?;
            let kafka = kafka_of(&mut self.events, name)?;
            kafka.create_topics = Some(CreateTopics { partitions, ..kafka.create_topics.clone().unwrap_or_default() });
        }
        Ok(())
    }

    /// Checks what serde cannot: settings that are well-formed but unusable.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let EventsConfig::Kafka(k) = &self.events {
            k.validate()?;
        }
        if let ObjectsConfig::S3(s3) = &self.objects {
            if s3.multipart_part_bytes < S3_MIN_PART_BYTES {
                return Err(ConfigError::Invalid {
                    field: "objects.multipart_part_bytes".into(),
                    message: format!("at least {S3_MIN_PART_BYTES} (S3's smallest part)"),
                });
            }
        }
        self.distribution.validate()?;
        for (i, cam) in self.recording.cameras.iter().enumerate() {
            // The id names the camera's segment directory: no path tricks.
            let ok = !cam.camera_id.is_empty()
                && !cam.camera_id.starts_with('.')
                && cam.camera_id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
            if !ok {
                return Err(ConfigError::Invalid {
                    field: format!("recording.cameras[{i}].camera_id"),
                    message: "letters, digits, `.`, `_` and `-` only, not starting with `.`".into(),
                });
            }
            if self.recording.cameras[..i].iter().any(|c| c.camera_id == cam.camera_id) {
                return Err(ConfigError::Invalid { field: format!("recording.cameras[{i}].camera_id"), message: "listed twice".into() });
            }
        }
        Ok(())
    }

    /// The database URL, defaulting to SQLite in the data dir.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| format!("sqlite://{}?mode=rwc", self.data_dir.join("ifc.sqlite").display()))
    }

    /// `path` if absolute, else inside the data dir.
    pub fn in_data_dir(&self, path: &Path) -> PathBuf {
        if path.is_absolute() {
            path.to_owned()
        } else {
            self.data_dir.join(path)
        }
    }
}

/// The Kafka settings an environment variable refines; an error when the bus is in-process.
fn kafka_of<'a>(events: &'a mut EventsConfig, name: &'static str) -> Result<&'a mut KafkaConfig, ConfigError> {
    match events {
        EventsConfig::Kafka(k) => Ok(k),
        EventsConfig::InProcess => Err(ConfigError::Env {
            name,
            message: "the bus is in-process: set IFC_KAFKA_BROKERS or `events: {kind: kafka}` too".into(),
        }),
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// The configuration file's JSON Schema (draft 7), as published in `schema/`.
pub fn config_json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(ServeConfig)).unwrap_or(serde_json::Value::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_schema_matches_the_code() {
        let published = include_str!("../../schema/serve-config.schema.json");
        let published: serde_json::Value = serde_json::from_str(published).expect("valid JSON");
        assert_eq!(
            published,
            config_json_schema(),
            "schema/serve-config.schema.json is stale: regenerate it with `ifc serve --print-config-schema`"
        );
    }

    #[test]
    fn empty_file_is_all_defaults_and_unknown_fields_are_refused() {
        let c: ServeConfig = serde_yaml_ng::from_str("{}").expect("empty config");
        assert_eq!(c, ServeConfig::default());
        let err = serde_yaml_ng::from_str::<ServeConfig>("lisen: 1.2.3.4:80").expect_err("typo refused");
        assert!(err.to_string().contains("unknown field `lisen`"), "{err}");
    }

    #[test]
    fn s3_objects_take_their_defaults_and_refuse_typos() {
        let c: ServeConfig = serde_yaml_ng::from_str("objects: {kind: s3, bucket: snaps, endpoint: 'http://127.0.0.1:9000'}")
            .expect("s3 config");
        let ObjectsConfig::S3(s3) = &c.objects else { panic!("not s3: {:?}", c.objects) };
        assert_eq!((s3.bucket.as_str(), s3.region.as_str(), s3.path_style), ("snaps", "us-east-1", true));
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        let err = serde_yaml_ng::from_str::<ServeConfig>("objects: {kind: s3, bucket: b, bukket: c}").expect_err("typo");
        assert!(err.to_string().contains("bukket"), "{err}");
        assert!(serde_yaml_ng::from_str::<ServeConfig>("objects: {kind: s3}").is_err(), "no bucket");
        assert_eq!((s3.multipart_threshold_bytes, s3.multipart_part_bytes), (16 << 20, 8 << 20));
        let small: ServeConfig =
            serde_yaml_ng::from_str("objects: {kind: s3, bucket: b, multipart_part_bytes: 1048576}").expect("parses");
        let err = small.validate().expect_err("parts under 5 MiB");
        assert!(err.to_string().contains("multipart_part_bytes"), "{err}");
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut c = ServeConfig::default();
        c.apply_env(|k| match k {
            "IFC_LISTEN" => Some("0.0.0.0:9000".into()),
            "IFC_ALLOW_LOOPBACK_CAMERAS" => Some("yes".into()),
            _ => None,
        })
        .expect("valid env");
        assert_eq!(c.listen.port(), 9000);
        assert!(c.cameras.allow_loopback);
        let err = c.apply_env(|k| (k == "IFC_LISTEN").then(|| "nope".to_owned())).expect_err("bad address");
        assert!(err.to_string().contains("IFC_LISTEN"), "{err}");
        let err = c.apply_env(|k| (k == "IFC_TLS_CERT").then(|| "cert.pem".to_owned())).expect_err("key missing");
        assert!(err.to_string().contains("IFC_TLS_KEY"), "{err}");
    }

    #[test]
    fn rtsp_ingest_defaults_file_and_environment() {
        let mut c = ServeConfig::default();
        assert!(c.ingest.rtsp.enabled);
        assert_eq!(c.ingest.rtsp.listen, SocketAddr::from(([127, 0, 0, 1], 8554)));
        c.apply_env(|k| (k == "IFC_RTSP_LISTEN").then(|| "127.0.0.1:0".to_owned())).expect("env");
        assert_eq!(c.ingest.rtsp.listen.port(), 0);
        let err = c.apply_env(|k| (k == "IFC_RTSP_LISTEN").then(|| "nope".to_owned())).expect_err("bad address");
        assert!(err.to_string().contains("IFC_RTSP_LISTEN"), "{err}");
        let c: ServeConfig =
            serde_yaml_ng::from_str("ingest: {rtsp: {listen: '0.0.0.0:554', max_sessions: 8}}").expect("parses");
        assert_eq!((c.ingest.rtsp.listen.port(), c.ingest.rtsp.max_sessions), (554, 8));
        assert_eq!(c.ingest.rtsp.idle_timeout_ms, 5_000, "the rest keeps its defaults");
        assert!(serde_yaml_ng::from_str::<ServeConfig>("ingest: {rtsp: {lisen: '0.0.0.0:554'}}").is_err(), "typo");
    }

    #[test]
    fn tls_is_read_from_the_file() {
        let c: ServeConfig =
            serde_yaml_ng::from_str("tls: {cert_file: /etc/ifc/cert.pem, key_file: key.pem}").expect("tls config");
        let tls = c.tls.clone().expect("tls");
        assert_eq!(tls.cert_file, PathBuf::from("/etc/ifc/cert.pem"));
        assert_eq!(c.in_data_dir(&tls.key_file), PathBuf::from("ifc-data/key.pem"));
        assert!(serde_yaml_ng::from_str::<ServeConfig>("tls: {cert_file: c.pem}").is_err(), "key_file is required");
    }

    #[test]
    fn kafka_from_the_file_or_the_environment() {
        let c: ServeConfig =
            serde_yaml_ng::from_str("events: {kind: kafka, brokers: 'b1:9092,b2:9092', topic_prefix: 'plant1.'}")
                .expect("kafka config");
        let EventsConfig::Kafka(k) = &c.events else { panic!("kafka expected: {:?}", c.events) };
        assert_eq!((k.brokers.as_str(), k.topic_prefix.as_str()), ("b1:9092,b2:9092", "plant1."));
        assert_eq!(k.delivery_timeout_ms, KafkaConfig::default().delivery_timeout_ms);
        c.validate().expect("valid");

        let mut c = ServeConfig::default();
        let err = c.apply_env(|k| (k == "IFC_KAFKA_TOPIC_PREFIX").then(|| "x.".to_owned())).expect_err("no kafka");
        assert!(err.to_string().contains("in-process"), "{err}");
        c.apply_env(|k| match k {
            "IFC_KAFKA_BROKERS" => Some("127.0.0.1:1234".into()),
            "IFC_KAFKA_CREATE_TOPICS" => Some("4".into()),
            _ => None,
        })
        .expect("valid env");
        let EventsConfig::Kafka(k) = &c.events else { panic!("kafka expected") };
        assert_eq!(k.brokers, "127.0.0.1:1234");
        assert_eq!(k.create_topics, Some(CreateTopics { partitions: 4, replication_factor: 1 }));
    }

    #[test]
    fn settings_that_weaken_delivery_are_refused() {
        let c: ServeConfig = serde_yaml_ng::from_str("events: {kind: kafka, brokers: 'b:9092', client: {acks: '1'}}")
            .expect("parses");
        let err = c.validate().expect_err("acks refused");
        assert!(err.to_string().contains("events.client.acks"), "{err}");
        let c: ServeConfig =
            serde_yaml_ng::from_str("events: {kind: kafka, brokers: 'b:9092', client: {linger.ms: '5'}}").expect("parses");
        c.validate().expect("other settings pass");
        let err = serde_yaml_ng::from_str::<ServeConfig>("events: {kind: kafka, broker: 'b:9092'}").expect_err("typo");
        assert!(err.to_string().contains("broker"), "{err}");
    }
}
