//! The outbox relay with the Kafka bus against a real broker (tansu, in memory): per-camera
//! order, and the outage: the broker down for 2 minutes while 10,000 events are
//! produced; when it returns every event arrives (each id at least once, none missing) and the
//! outbox drains.

#[path = "../../tests/support/kafka.rs"]
#[allow(dead_code)] // shared with the integration tests, which use all of it
mod kafka;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ifc_service::config::{CreateTopics, KafkaConfig};
use ifc_service::db::{Db, OutboxEvent};
use ifc_service::events::{EventBus, KafkaBus, LocalFeed, OutboxRelay, TOPIC_VERDICTS};
use ifc_service::shutdown;
use kafka::{consume, Broker};
use tokio::sync::Notify;

const PARTITIONS: i32 = 3;

/// The relay's warnings (and librdkafka's log) on stderr, shown for a failing test.
fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()))
        .with_test_writer()
        .try_init();
}

fn bus_config(broker: &Broker, prefix: &str) -> KafkaConfig {
    init_logs();
    KafkaConfig {
        brokers: broker.bootstrap(),
        topic_prefix: prefix.into(),
        // Short, so the outage test sees several failed tries and backoffs.
        delivery_timeout_ms: 5_000,
        create_topics: Some(CreateTopics { partitions: PARTITIONS, replication_factor: 1 }),
        // librdkafka's own debug contexts (`eos,topic,msg`, …) when a run needs them.
        client: std::env::var("IFC_TEST_RDKAFKA_DEBUG").map(|d| [("debug".to_owned(), d)].into()).unwrap_or_default(),
        ..KafkaConfig::default()
    }
}

async fn open_db(dir: &std::path::Path) -> Db {
    Db::open(&format!("sqlite://{}?mode=rwc", dir.join("ifc.sqlite").display())).await.expect("database")
}

fn event(n: usize, key: &str) -> OutboxEvent {
    OutboxEvent {
        event_id: format!("event-{n:06}"),
        topic: TOPIC_VERDICTS.into(),
        key: key.into(),
        payload: serde_json::json!({ "n": n, "camera_id": key }).to_string(),
    }
}

/// Runs the relay on its own task; the trigger stops it.
fn start_relay(db: &Db, bus: Arc<dyn EventBus>, wake: &Arc<Notify>) -> (shutdown::Trigger, tokio::task::JoinHandle<()>) {
    let (trigger, stop) = shutdown::channel();
    let relay = OutboxRelay::new(db.clone(), bus, LocalFeed::new(16), Arc::clone(wake));
    (trigger, tokio::spawn(relay.run(stop)))
}

async fn wait_drained(db: &Db, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let backlog = db.outbox_backlog().await.expect("backlog");
        if backlog == 0 {
            return;
        }
        assert!(Instant::now() < deadline, "outbox not drained within {timeout:?}: {backlog} left");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Consumes on a blocking thread (rdkafka's consumer polls synchronously).
async fn consume_ids(bootstrap: String, topic: String, want: BTreeSet<String>, timeout: Duration) -> Vec<kafka::Consumed> {
    tokio::task::spawn_blocking(move || {
        consume(&bootstrap, &topic, timeout, |got| {
            let seen: BTreeSet<&String> = got.iter().map(|c| &c.event_id).collect();
            want.iter().all(|id| seen.contains(id))
        })
    })
    .await
    .expect("consumer thread")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_cameras_events_keep_their_order_and_carry_their_id() {
    let broker = Broker::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open_db(dir.path()).await;
    let config = bus_config(&broker, "order.");
    let bus = Arc::new(KafkaBus::new(&config).expect("bus"));
    bus.check().await.expect("broker reachable");
    let wake = Arc::new(Notify::new());
    let (stop, relay) = start_relay(&db, bus.clone(), &wake);

    // Five cameras, interleaved, in several relay batches (the relay publishes 500 at a time).
    let keys = ["cam-a", "cam-b", "cam-c", "cam-d", "cam-e"];
    let total = 1200;
    for n in 0..total {
        db.insert_event(&event(n, keys[n % keys.len()])).await.expect("insert");
        if n % 100 == 0 {
            wake.notify_one();
        }
    }
    wake.notify_one();
    wait_drained(&db, Duration::from_secs(60)).await;

    let want: BTreeSet<String> = (0..total).map(|n| event(n, "").event_id).collect();
    let got = consume_ids(broker.bootstrap(), bus.topic_name(TOPIC_VERDICTS), want, Duration::from_secs(60)).await;
    let mut per_key: BTreeMap<String, Vec<(i32, u64)>> = BTreeMap::new();
    for m in &got {
        assert_eq!(m.value["id"], m.event_id.as_str(), "the event-id header is the envelope's id");
        assert_eq!(m.value["key"], m.key.as_str(), "the message key is the event key");
        assert_eq!(m.value["topic"], TOPIC_VERDICTS);
        assert_eq!(m.value["payload"]["camera_id"], m.key.as_str());
        let n = m.value["payload"]["n"].as_u64().expect("n");
        per_key.entry(m.key.clone()).or_default().push((m.partition, n));
    }
    assert_eq!(per_key.len(), keys.len());
    for (key, messages) in &per_key {
        let partitions: BTreeSet<i32> = messages.iter().map(|(p, _)| *p).collect();
        assert_eq!(partitions.len(), 1, "{key}: one key, one partition ({partitions:?})");
        // In partition order, first deliveries are in production order (a redelivery after a
        // failed publish may repeat a run, never reorder it).
        let mut seen = BTreeSet::new();
        let firsts: Vec<u64> = messages.iter().map(|(_, n)| *n).filter(|n| seen.insert(*n)).collect();
        let mut sorted = firsts.clone();
        sorted.sort_unstable();
        assert_eq!(firsts, sorted, "{key}: events out of order");
        assert_eq!(firsts.len(), total / keys.len(), "{key}: events missing");
    }

    stop.fire();
    tokio::time::timeout(Duration::from_secs(15), relay).await.expect("relay stops").expect("relay task");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_down_two_minutes_while_ten_thousand_events_are_produced_loses_none() {
    let mut broker = Broker::start();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open_db(dir.path()).await;
    let config = bus_config(&broker, "outage.");
    let bus = Arc::new(KafkaBus::new(&config).expect("bus"));
    let topic = bus.topic_name(TOPIC_VERDICTS);
    let wake = Arc::new(Notify::new());
    let (stop, relay) = start_relay(&db, bus.clone(), &wake);

    // The path works before the outage (and the producer has a producer id from this broker).
    for n in 0..10 {
        db.insert_event(&event(100_000 + n, "warm-up")).await.expect("insert");
    }
    wake.notify_one();
    wait_drained(&db, Duration::from_secs(60)).await;

    broker.stop();
    let down_at = Instant::now();
    assert!(bus.check().await.is_err(), "the bus check sees the broker gone");
    // 10,000 events over the outage, from 10 cameras, in 100 bursts.
    let total = std::env::var("IFC_TEST_OUTAGE_EVENTS").ok().and_then(|s| s.parse().ok()).unwrap_or(10_000);
    let bursts = if total >= 10_000 { 100 } else { 5 };
    for burst in 0..bursts {
        for i in 0..total / bursts {
            let n = burst * (total / bursts) + i;
            db.insert_event(&event(n, &format!("cam-{}", n % 10))).await.expect("insert");
        }
        wake.notify_one();
        tokio::time::sleep(Duration::from_millis(900)).await;
    }
    let outage = Duration::from_secs(std::env::var("IFC_TEST_OUTAGE_S").ok().and_then(|s| s.parse().ok()).unwrap_or(120));
    tokio::time::sleep(outage.saturating_sub(down_at.elapsed())).await;
    // Nothing was marked while no broker could acknowledge it.
    assert_eq!(db.outbox_backlog().await.expect("backlog"), total as i64, "rows marked without an acknowledgement");

    broker.restart();
    let back_at = Instant::now();
    wait_drained(&db, Duration::from_secs(120)).await;
    eprintln!("outbox drained {:?} after the broker returned", back_at.elapsed());

    let want: BTreeSet<String> = (0..total).map(|n| event(n, "").event_id).collect();
    let got = consume_ids(broker.bootstrap(), topic, want.clone(), Duration::from_secs(120)).await;
    let ids: BTreeSet<&String> = got.iter().map(|m| &m.event_id).collect();
    let missing: Vec<&String> = want.iter().filter(|id| !ids.contains(id)).collect();
    assert!(missing.is_empty(), "{} events missing, e.g. {:?}", missing.len(), missing.first());
    eprintln!("{} messages for {} events", got.len(), want.len());
    assert_eq!(db.outbox_backlog().await.expect("backlog"), 0, "the outbox drained");

    stop.fire();
    tokio::time::timeout(Duration::from_secs(15), relay).await.expect("relay stops").expect("relay task");
}
