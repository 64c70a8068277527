//! `ifc serve`: the service on embedded defaults (SQLite, a local object directory,
//! in-process events, the embedded ONNX runtime), in one process, or on PostgreSQL and S3 as
//! the config file says. Wiring only: the service itself is `ifc-service`.

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Args;
use ifc_service::config::{config_json_schema, ServeConfig, TlsConfig};
use ifc_service::{serve, shutdown, FirstAdmin};

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A YAML config file (schema: schema/serve-config.schema.json, or --print-config-schema).
    /// Environment variables IFC_LISTEN, IFC_DATA_DIR, IFC_DATABASE_URL,
    /// IFC_ALLOW_LOOPBACK_CAMERAS, IFC_FILE_CAMERA_ROOT, IFC_TLS_CERT and IFC_TLS_KEY,
    /// IFC_KAFKA_BROKERS, IFC_KAFKA_TOPIC_PREFIX and IFC_KAFKA_CREATE_TOPICS override it; flags
    /// override both.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where the embedded defaults keep their files (database, objects, JWT key). Default:
    /// ./ifc-data.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address to listen on (REST, WebSocket and gRPC). Default: 127.0.0.1:8080.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Serve HTTPS (and gRPC over TLS) with this PEM certificate chain (with --tls-key).
    /// Overrides the config's `tls` and IFC_TLS_CERT.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The certificate's PEM private key (with --tls-cert).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Print the config file's JSON Schema and exit.
    #[arg(long)]
    pub print_config_schema: bool,
    /// Print the API's OpenAPI document and exit.
    #[arg(long)]
    pub print_openapi: bool,
    /// Print the events' JSON Schema (schema/events.schema.json: every topic's payload) and exit.
    #[arg(long)]
    pub print_events_schema: bool,
}

pub fn run(args: &ServeArgs) -> Result<()> {
    if args.print_config_schema {
        println!("{}", serde_json::to_string_pretty(&config_json_schema())?);
        return Ok(());
    }
    if args.print_events_schema {
        println!("{}", serde_json::to_string_pretty(&ifc_service::events::events_json_schema())?);
        return Ok(());
    }
    if args.print_openapi {
        use utoipa::OpenApi;
        println!("{}", ifc_service::api::openapi::ApiDoc::openapi().to_pretty_json()?);
        return Ok(());
    }
    let mut config = match &args.config {
        Some(path) => ServeConfig::from_file(path)?,
        None => ServeConfig::default(),
    };
    config.apply_env(|name| std::env::var(name).ok())?;
    if let Some(dir) = &args.data_dir {
        config.data_dir = dir.clone();
    }
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let (Some(cert), Some(key)) = (&args.tls_cert, &args.tls_key) {
        // Flags are relative to the working directory, not the data dir as the file's are.
        config.tls = Some(TlsConfig {
            cert_file: std::path::absolute(cert).with_context(|| format!("--tls-cert {}", cert.display()))?,
            key_file: std::path::absolute(key).with_context(|| format!("--tls-key {}", key.display()))?,
        });
    }
    let first_admin = FirstAdmin {
        username: std::env::var("IFC_ADMIN_USER").unwrap_or_else(|_| "admin".into()),
        password: std::env::var("IFC_ADMIN_PASSWORD").ok(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("tokio runtime")?;
    runtime.block_on(async move {
        let (trigger, shutdown) = shutdown::channel();
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let server = tokio::spawn(serve(config, first_admin, shutdown, Some(started_tx)));
        if let Ok(served) = started_rx.await {
            let scheme = if served.tls { "https" } else { "http" };
            if let Some(rtsp) = served.rtsp_addr {
                eprintln!("ifc serve: RTSP publish on rtsp://{rtsp}/cameras/<camera name> (push cameras, Digest)");
            }
            eprintln!(
                "ifc serve: listening on {scheme}://{} (REST under /api/v1, docs at /api/v1/openapi.json; gRPC ifc.v1)",
                served.addr
            );
            if let Some(password) = served.generated_admin_password {
                eprintln!("ifc serve: first admin created: user `admin`, password `{password}` (shown once; set IFC_ADMIN_PASSWORD to choose it)");
            }
        }
        let signalled = tokio::spawn(async move {
            wait_for_signal().await;
            eprintln!("ifc serve: stopping (draining inspections, flushing events)");
            trigger.fire();
        });
        let result = server.await.context("server task")?;
        signalled.abort();
        result
    })
}

/// SIGINT (ctrl-c) or SIGTERM.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
