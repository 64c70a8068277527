//! What only the server backends can do wrong: the S3 server going down while snapshots are
//! made (they wait in the spool and are uploaded when it returns), two `ifc serve`
//! processes migrating one fresh PostgreSQL database at the same moment, and events that
//! commit on PostgreSQL in another order than their sequence numbers were handed out.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use ifc_integration_tests::backends::{Backends, Bus, Database, Objects};
use ifc_integration_tests::demo::{demo_clip, demo_document, repo};
use ifc_integration_tests::serve::{wait_for, ServeProcess, ADMIN_PASSWORD};
use ifc_service::db::{Db, OutboxEvent};
use ifc_service::events::{InProcessBus, LocalFeed, OutboxRelay};
use serde_json::json;
use sqlx::Connection;

fn spooled(data_dir: &Path) -> usize {
    fn count(dir: &Path) -> usize {
        std::fs::read_dir(dir)
            .map(|entries| {
                entries.flatten().map(|e| if e.path().is_dir() { count(&e.path()) } else { 1 }).sum()
            })
            .unwrap_or(0)
    }
    count(&data_dir.join("spool/objects"))
}

#[test]
fn snapshots_made_while_s3_is_down_are_uploaded_when_it_returns() {
    let mut servers = Backends { database: Database::Sqlite, objects: Objects::S3, bus: Bus::InProcess }.start();
    let dir = tempfile::tempdir().expect("tempdir");
    let clip = demo_clip(dir.path());
    let document = demo_document(&clip, dir.path());
    let server = ServeProcess::start_on(&servers, &dir.path().join("data"), dir.path(), &[]);
    let api = server.admin();
    assert_eq!(api.get("/readyz").0, 200, "ready while S3 answers");

    servers.s3.as_mut().expect("s3").stop();
    let (status, ready) = api.get("/readyz");
    assert_eq!(status, 503, "{ready}");
    assert_ne!(ready["objects"], "ok", "{ready}");

    let (status, camera) =
        api.post("/api/v1/cameras", &json!({"name": "line", "kind": "file", "url": clip.to_str().expect("utf-8")}));
    assert_eq!(status, 201, "{camera}");
    let (status, pipeline) = api.post("/api/v1/pipelines", &json!({"name": "demo", "document": document}));
    assert_eq!(status, 201, "{pipeline}");
    let (status, inspection) = api.post(
        "/api/v1/inspections",
        &json!({"camera_id": camera["id"], "pipeline_id": pipeline["id"]}),
    );
    assert_eq!(status, 201, "{inspection}");
    let inspection = inspection["id"].as_str().expect("id");
    // The clip's marked parts start at frame 100 (4 s in real time).
    wait_for(Duration::from_secs(120), "NG snapshots while S3 is down", || {
        let ng = api.all_results("verdict=ng");
        (ng.iter().filter(|r| !r["snapshot_url"].is_null()).count() >= 3).then_some(())
    });
    let (status, v) = api.post(&format!("/api/v1/inspections/{inspection}/stop"), &json!({}));
    assert_eq!(status, 200, "stop: {v}");

    let snapshots: Vec<String> = api
        .all_results("verdict=ng")
        .iter()
        .filter_map(|r| r["snapshot_url"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(spooled(&server.data_dir), snapshots.len(), "every snapshot waits in the spool");
    let (status, jpeg) = api.get_bytes(&snapshots[0]);
    assert_eq!(status, 200, "a waiting snapshot is shown from the spool");
    assert!(jpeg.starts_with(&[0xFF, 0xD8, 0xFF]), "a JPEG");

    let s3 = servers.s3.as_mut().expect("s3");
    s3.restart();
    let keys = wait_for(Duration::from_secs(90), "the spool uploaded to S3", || {
        let keys = s3.keys();
        (keys.len() == snapshots.len() && spooled(&server.data_dir) == 0).then_some(keys)
    });
    assert!(keys.iter().all(|k| k.starts_with("snapshots/")), "{keys:?}");
    assert_eq!(api.get("/readyz").0, 200, "ready again");
    // Served from S3 now (the spool is empty): the same keys the results name.
    for url in &snapshots {
        let (status, jpeg) = api.get_bytes(url);
        assert_eq!(status, 200, "{url}");
        assert!(jpeg.starts_with(&[0xFF, 0xD8, 0xFF]), "{url}: a JPEG");
    }
}

#[test]
fn two_servers_migrate_a_fresh_postgres_database_at_once() {
    let servers = Backends { database: Database::Postgres, objects: Objects::Local, bus: Bus::InProcess }.start();
    let pg = servers.postgres.as_ref().expect("postgres");
    let dir = tempfile::tempdir().expect("tempdir");
    let migrations = std::fs::read_dir(repo().join("migrations/postgres")).expect("migrations").count().to_string();
    for round in 0..3 {
        let name = format!("race{round}");
        let url = pg.create_database(&name);
        let started: Vec<ServeProcess> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2)
                .map(|i| {
                    let data = dir.path().join(format!("data-{round}-{i}"));
                    let url = url.clone();
                    let servers = &servers;
                    let root = dir.path();
                    s.spawn(move || ServeProcess::start_on(servers, &data, root, &[("IFC_DATABASE_URL", url.as_str())]))
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("both start")).collect()
        });
        for server in &started {
            let api = server.client();
            let (status, tokens) =
                api.post("/api/v1/auth/login", &json!({"username": "admin", "password": ADMIN_PASSWORD}));
            assert_eq!(status, 200, "round {round}: {tokens}");
            assert_eq!(api.get("/readyz").0, 200);
        }
        assert_eq!(pg.query(&name, "SELECT count(*) FROM _sqlx_migrations WHERE success"), migrations, "each migration once");
        assert_eq!(pg.query(&name, "SELECT count(*) FROM users"), "1", "one first admin");
    }
}

#[test]
fn an_event_committed_after_a_later_one_was_published_still_reaches_the_feed() {
    let servers = Backends { database: Database::Postgres, objects: Objects::Local, bus: Bus::InProcess }.start();
    let url = servers.postgres.as_ref().expect("postgres").create_database("late");
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let db = Db::open(&url).await.expect("database");
        let feed = LocalFeed::new(64);
        let mut live = feed.subscribe();
        let relay = OutboxRelay::new(db.clone(), Arc::new(InProcessBus), feed, Arc::new(tokio::sync::Notify::new()));
        let event = |id: &str| OutboxEvent {
            event_id: id.into(),
            topic: "verdicts".into(),
            key: "cam".into(),
            payload: "{}".into(),
        };

        // "early" takes its sequence number first and commits last, as a slow writer does.
        let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
        let mut tx = conn.begin().await.expect("begin");
        sqlx::query("INSERT INTO outbox (event_id, topic, event_key, payload, created_at_ms) VALUES ('early', 'verdicts', 'cam', '{}', 0)")
            .execute(&mut *tx)
            .await
            .expect("insert early");
        db.insert_event(&event("later")).await.expect("insert later");
        assert_eq!(relay.drain_once().await.expect("drain"), 1, "only the committed row is published");
        tx.commit().await.expect("commit early");
        assert_eq!(relay.drain_once().await.expect("drain"), 1);

        let first = live.recv().await.expect("later, live");
        let second = live.recv().await.expect("early, live");
        assert_eq!((first.id.as_str(), second.id.as_str()), ("later", "early"));
        assert!(first.seq > second.seq, "seq is allocation order: {} then {}", first.seq, second.seq);
        assert!(second.published_seq > first.published_seq, "the feed's order is publication order");

        // A subscriber that saw "later" and resumes after it gets "early".
        let resume = db.event_published_seq("later").await.expect("query").expect("known").expect("published");
        let after: Vec<String> =
            db.published_events_after(resume, 10).await.expect("query").into_iter().map(|r| r.event_id).collect();
        assert_eq!(after, ["early"]);
    });
}
