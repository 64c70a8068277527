//! The backends matrix of `ifc serve`'s tests: each test body takes a [`Backends`] and runs
//! the same on the embedded defaults (SQLite in the data dir, a local object directory) and on
//! real servers (a throwaway PostgreSQL 15 cluster, moto's S3, a tansu Kafka broker). Nothing
//! else differs: the servers only change `ifc serve`'s configuration.

use std::path::{Path, PathBuf};

use crate::kafka::Broker;
use crate::postgres::Postgres;
use crate::s3::{self, S3Server};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Database {
    /// `ifc.sqlite` in the data dir (the default).
    Sqlite,
    /// A throwaway PostgreSQL 15 cluster.
    Postgres,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objects {
    /// `objects/` in the data dir (the default).
    Local,
    /// A real S3 server (moto).
    S3,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bus {
    /// Events published inside the process (the default).
    InProcess,
    /// A real Kafka-protocol broker (tansu); topics `ifc.…`.
    Kafka,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backends {
    pub database: Database,
    pub objects: Objects,
    pub bus: Bus,
}

impl Backends {
    /// What `ifc serve` runs on with no configuration.
    pub const EMBEDDED: Self = Self { database: Database::Sqlite, objects: Objects::Local, bus: Bus::InProcess };
    /// The servers a deployment runs on.
    pub const SERVERS: Self = Self { database: Database::Postgres, objects: Objects::S3, bus: Bus::Kafka };

    /// Starts the servers these backends need (none for the embedded defaults).
    pub fn start(self) -> BackendServers {
        let postgres = (self.database == Database::Postgres).then(Postgres::start);
        if let Some(pg) = &postgres {
            pg.create_database(DATABASE);
        }
        let s3 = (self.objects == Objects::S3).then(S3Server::start);
        let kafka = (self.bus == Bus::Kafka).then(Broker::start);
        BackendServers { backends: self, postgres, s3, kafka }
    }
}

/// The database the tests' `ifc serve` uses in the PostgreSQL cluster.
pub const DATABASE: &str = "ifc";

/// The servers behind one test's `ifc serve` (stopped on drop).
pub struct BackendServers {
    pub backends: Backends,
    pub postgres: Option<Postgres>,
    pub s3: Option<S3Server>,
    pub kafka: Option<Broker>,
}

/// The topic prefix of the tests' `ifc serve` on Kafka.
pub const TOPIC_PREFIX: &str = "ifc.";

impl BackendServers {
    /// The embedded defaults: no server to start.
    pub fn embedded() -> Self {
        Self { backends: Backends::EMBEDDED, postgres: None, s3: None, kafka: None }
    }

    /// `ifc serve`'s config file for these backends (`None`: the defaults need none).
    pub fn config_yaml(&self) -> Option<String> {
        let mut yaml = String::new();
        if let Some(pg) = &self.postgres {
            yaml.push_str(&format!("database_url: {:?}\n", pg.url(DATABASE)));
        }
        if let Some(s3) = &self.s3 {
            yaml.push_str(&format!(
                "objects:\n  kind: s3\n  bucket: {}\n  endpoint: {:?}\n  region: us-east-1\n  path_style: true\n",
                s3::BUCKET,
                s3.endpoint()
            ));
        }
        (!yaml.is_empty()).then_some(yaml)
    }

    /// Environment for `ifc serve`: S3 credentials through the standard variables, the broker
    /// through `IFC_KAFKA_*`.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env = Vec::new();
        if self.s3.is_some() {
            env.push(("AWS_ACCESS_KEY_ID".into(), s3::ACCESS_KEY.into()));
            env.push(("AWS_SECRET_ACCESS_KEY".into(), s3::SECRET_KEY.into()));
        }
        if let Some(broker) = &self.kafka {
            env.extend(broker.serve_env(TOPIC_PREFIX).into_iter().map(|(k, v)| (k.to_owned(), v)));
        }
        env
    }

    /// The keys of every object stored (the spool not counted), for `ifc serve` on `data_dir`.
    pub fn stored_objects(&self, data_dir: &Path) -> Vec<String> {
        match &self.s3 {
            Some(s3) => s3.keys(),
            None => {
                let root = data_dir.join("objects");
                let mut keys = Vec::new();
                let mut dirs: Vec<PathBuf> = vec![root.clone()];
                while let Some(dir) = dirs.pop() {
                    let Ok(entries) = std::fs::read_dir(&dir) else { continue };
                    for e in entries.flatten() {
                        let p = e.path();
                        if p.is_dir() {
                            dirs.push(p);
                        } else if let Ok(rel) = p.strip_prefix(&root) {
                            keys.push(rel.to_string_lossy().into_owned());
                        }
                    }
                }
                keys.sort();
                keys
            }
        }
    }

    /// On PostgreSQL, how many results it holds, asked of the server itself (so a test knows
    /// the rows are there and not in a SQLite file beside it); `None` on SQLite.
    pub fn postgres_result_count(&self) -> Option<i64> {
        let pg = self.postgres.as_ref()?;
        pg.query(DATABASE, "SELECT count(*) FROM results").parse().ok()
    }
}
