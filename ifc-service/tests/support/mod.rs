//! Shared by the recorder's tests: the service state built in process, real clips published
//! into a camera's feed as an ingest session would, and ffmpeg/ffprobe checks.

#![allow(dead_code)] // each test file uses its own part

pub mod kill9;
/// moto's S3 (one implementation, shared with the integration tests).
#[path = "../../../tests/support/s3.rs"]
pub mod s3;
pub mod tcp_proxy;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use ifc::remux::{input_kind, LiveItem, VideoInput};
use ifc_service::distribute::LiveChannels;
use ifc_service::api::AppState;
use ifc_service::auth::JwtKeys;
use ifc_service::config::ServeConfig;
use ifc_service::db::{Db, NewCamera};
use ifc_service::events::{InProcessBus, LocalFeed};
use ifc_service::inspections::Manager;
use ifc_service::media::MediaHub;
use tokio::sync::Notify;

pub fn testdata(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata").join(name)
}

pub fn clip(name: &str) -> VideoInput {
    let data = bytes::Bytes::from(std::fs::read(testdata(name)).expect("clip"));
    VideoInput::read(input_kind(Some("mp4"), &data).expect("kind"), data, None).expect("clip reads")
}

/// Publishes the clip as one ingest session (presentation times only, as RTP gives them),
/// as fast as the feed takes it. Ending the session closes the open segment.
pub fn publish(state: &AppState, camera_id: &str, input: &VideoInput) {
    let feed = state.media.feed(camera_id);
    let publisher = feed.publisher().expect("one publisher");
    publisher.send(LiveItem::Config(input.config.clone()));
    for mut p in input.packets() {
        p.dts_90k = None;
        publisher.send(LiveItem::Packet(p));
    }
}

pub async fn open_db(config: &ServeConfig) -> Db {
    std::fs::create_dir_all(&config.data_dir).expect("data dir");
    Db::open(&config.database_url()).await.expect("database")
}

pub async fn create_camera(db: &Db, name: &str) -> String {
    db.create_camera(&NewCamera {
        name: name.into(),
        kind: "file".into(),
        url: "file:///dev/null".into(),
        username: None,
        password: None,
        product: None,
        lot: None,
        serial: None,
    })
    .await
    .expect("camera")
    .id
}

/// The service's state as `ifc serve` builds it (in-process bus, the configured objects and
/// the spool's uploader), without the listener, the relay or inspections; the shutdown
/// signal never fires.
pub fn app_state(db: Db, config: ServeConfig, jwt_secret: &[u8]) -> AppState {
    let jwt = JwtKeys::new(jwt_secret, "ifc", "ifc-api", 600);
    let objects = ifc_service::objects::open(&config).expect("objects");
    let (media, status_changes) = MediaHub::new();
    // Status changes are not stored here: kept alive so the hub can send them.
    std::mem::forget(status_changes);
    let media = Arc::new(media);
    let (trigger, shutdown) = ifc_service::shutdown::channel();
    // Kept alive for the process: dropping the trigger would end the background tasks.
    std::mem::forget(trigger);
    // The spool's uploader, as `ifc serve` runs it (inside a runtime only).
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(Arc::clone(&objects).run_uploader(shutdown.clone()));
    }
    AppState {
        db,
        jwt,
        objects,
        bus: Arc::new(InProcessBus),
        feed: LocalFeed::new(64),
        outbox_wake: Arc::new(Notify::new()),
        manager: Arc::new(Manager::new(config.cameras.clone(), Arc::clone(&media))),
        live: Arc::new(LiveChannels::new(Arc::clone(&media), config.cameras.clone(), config.distribution.clone())),
        media,
        config: Arc::new(config),
        shutdown,
        recorder: Arc::default(),
        whip: Arc::default(),
        whep: Arc::default(),
    }
}

/// Decodes a file whole: (frames, what ffmpeg warned).
pub fn decode(path: &Path) -> (u64, String) {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "warning", "-i"])
        .arg(path)
        .args(["-f", "framemd5", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(out.status.success(), "ffmpeg {}: {}", path.display(), String::from_utf8_lossy(&out.stderr));
    let frames = String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.starts_with('#')).count() as u64;
    (frames, String::from_utf8_lossy(&out.stderr).into_owned())
}

/// (pts, dts, key) of each packet.
pub fn packets(path: &Path) -> Vec<(i64, i64, bool)> {
    let out = Command::new("ffprobe")
        .args(["-v", "error", "-select_streams", "v:0", "-show_entries", "packet=pts,dts,flags", "-of", "csv=p=0"])
        .arg(path)
        .output()
        .expect("ffprobe runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            (f[0].parse().expect("pts"), f[1].parse().expect("dts"), f[2].starts_with('K'))
        })
        .collect()
}

pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(data))
}
