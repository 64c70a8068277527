//! Start-up and shutdown of `ifc serve`: open the stores, make the first admin, start the
//! relay, restart the inspections that were running, serve until the shutdown signal, then
//! stop intake, drain the inspections' queues and flush the outbox.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tokio::sync::{oneshot, Notify};

use crate::distribute::LiveChannels;
use crate::api::{app, AppState};
use crate::auth::{hash_password, JwtKeys, Role};
use crate::config::{EventsConfig, ServeConfig};
use crate::db::{redact, Db};
use crate::events::{EventBus, InProcessBus, KafkaBus, LocalFeed, OutboxRelay};
use crate::grpc;
use crate::inspections::Manager;
use crate::media::MediaHub;
use crate::listen::{self, tls_acceptor};
use crate::objects::ObjectStore;
use crate::shutdown::Shutdown;

/// Where the first admin's password comes from.
#[derive(Debug, Clone)]
pub struct FirstAdmin {
    pub username: String,
    /// `None`: generate one and print it once.
    pub password: Option<String>,
}

/// What a started server tells its caller.
#[derive(Debug, Clone)]
pub struct Served {
    pub addr: SocketAddr,
    /// Whether it serves HTTPS (and gRPC over TLS).
    pub tls: bool,
    /// Set when this start made the first admin with a generated password.
    pub generated_admin_password: Option<String>,
    /// The RTSP publish listener's address (`ingest.rtsp.listen`; port 0 resolved), when enabled.
    pub rtsp_addr: Option<SocketAddr>,
}

/// Runs the service until `shutdown` fires. `started` learns the bound address (port 0 picks
/// a free one) once requests are accepted.
pub async fn serve(
    config: ServeConfig,
    first_admin: FirstAdmin,
    shutdown: Shutdown,
    started: Option<oneshot::Sender<Served>>,
) -> anyhow::Result<()> {
    config.validate().context("configuration")?;
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create the data dir {}", config.data_dir.display()))?;
    // Before anything else starts: a bad certificate must stop the start, not the first client.
    let tls = match &config.tls {
        Some(t) => Some(tls_acceptor(&config.in_data_dir(&t.cert_file), &config.in_data_dir(&t.key_file))?),
        None => None,
    };
    let url = config.database_url();
    let db = Db::open(&url).await.with_context(|| format!("metadata store {}", redact(&url)))?;
    let jwt_path = config.in_data_dir(&config.auth.jwt_key_file);
    let jwt = JwtKeys::load_or_create(&jwt_path, &config.auth.issuer, &config.auth.audience, config.auth.access_token_ttl_s)?;
    let generated_admin_password = ensure_first_admin(&db, &first_admin).await?;
    let spool = crate::objects::open(&config).context("object store")?;
    // A store that is down at start is no reason not to start: objects wait in the spool and
    // `/readyz` says so. A bad configuration (no bucket, no credentials) failed above.
    if let Err(e) = spool.ping().await {
        tracing::warn!(store = spool.name(), error = %e, "object store unavailable at start: objects wait in the spool");
    }
    let uploader = tokio::spawn(Arc::clone(&spool).run_uploader(shutdown.clone()));
    let objects: Arc<dyn ObjectStore> = spool;
    // A broker that is down does not stop the start: events wait in the outbox, and /readyz
    // says the bus is unreachable.
    let bus: Arc<dyn EventBus> = match &config.events {
        EventsConfig::InProcess => Arc::new(InProcessBus),
        EventsConfig::Kafka(kafka) => {
            tracing::info!(brokers = %kafka.brokers, topic_prefix = %kafka.topic_prefix, "events: Kafka");
            Arc::new(KafkaBus::new(kafka).context("event bus")?)
        }
    };
    let feed = LocalFeed::new(4096);
    let outbox_wake = Arc::new(Notify::new());
    let (media, status_changes) = MediaHub::new();
    let media = Arc::new(media);
    let state = AppState {
        db: db.clone(),
        jwt,
        objects,
        bus: Arc::clone(&bus),
        feed: feed.clone(),
        outbox_wake: Arc::clone(&outbox_wake),
        manager: Arc::new(Manager::new(config.cameras.clone(), Arc::clone(&media))),
        live: Arc::new(LiveChannels::new(Arc::clone(&media), config.cameras.clone(), config.distribution.clone())),
        media,
        config: Arc::new(config.clone()),
        shutdown: shutdown.clone(),
        recorder: Arc::default(),
        whip: Arc::default(),
        whep: Arc::default(),
    };
    // REST and gRPC on one listener: gRPC's paths are `/ifc.v1.<Service>/<Method>`.
    let router = app(state.clone()).merge(grpc::routes(state.clone())?);
    tokio::spawn(crate::media::status_events::run(state.clone(), status_changes));
    let relay = tokio::spawn(
        OutboxRelay::new(db.clone(), bus, feed, outbox_wake).with_outbox(config.outbox.clone()).run(shutdown.clone()),
    );
    state.manager.restore(&state).await;
    let recorder = crate::recorder::Recorder::start(&state).await.context("recorder")?;
    let _ = state.recorder.set(Arc::clone(&recorder));

    // Publishers may push as soon as the API can see what they feed.
    let rtsp = crate::ingest::start_rtsp(state.clone(), shutdown.clone()).await?;
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, tls = tls.is_some(), database = %redact(&url), "ifc serve: listening");
    if let Some(started) = started {
        let rtsp_addr = rtsp.as_ref().map(|(addr, _)| *addr);
        let _ = started.send(Served { addr, tls: tls.is_some(), generated_admin_password, rtsp_addr });
    }
    listen::serve(listener, tls, router, shutdown.clone()).await;
    tracing::info!("ifc serve: stopping inspections");
    state.manager.stop_all().await;
    tracing::info!("ifc serve: stopping the recorder");
    recorder.stop().await;
    state.outbox_wake.notify_one();
    let _ = relay.await;
    let _ = uploader.await;
    db.close().await;
    tracing::info!("ifc serve: stopped");
    Ok(())
}

/// Makes the first admin when there is no user yet; returns the password when it generated it.
async fn ensure_first_admin(db: &Db, first: &FirstAdmin) -> anyhow::Result<Option<String>> {
    if db.count_users().await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match &first.password {
        Some(p) => (p.clone(), false),
        None => (crate::auth::new_secret("")?.chars().take(20).collect::<String>(), true),
    };
    let hash = tokio::task::spawn_blocking(move || hash_password(&password).map(|h| (h, password))).await??;
    match db.create_user(&first.username, &hash.0, Role::Admin.as_str()).await {
        Ok(_) => Ok(generated.then_some(hash.1)),
        // Another process made it first.
        Err(crate::db::DbError::Conflict { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

