//! The outbox without a broker: rows are marked only after the bus acknowledged them, a
//! relay that stopped part way resumes where it stopped, and pruning deletes only published
//! rows past their retention.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use ifc_service::db::{Db, OutboxEvent};
use ifc_service::events::{BusError, BusFuture, EventBus, EventEnvelope, LocalFeed, OutboxRelay};
use tokio::sync::Notify;

async fn open_db(dir: &std::path::Path) -> Db {
    Db::open(&format!("sqlite://{}?mode=rwc", dir.join("ifc.sqlite").display())).await.expect("database")
}

fn event(n: usize) -> OutboxEvent {
    OutboxEvent {
        event_id: format!("e{n:05}"),
        topic: "verdicts".into(),
        key: format!("cam-{}", n % 3),
        payload: format!("{{\"n\":{n}}}"),
    }
}

/// Records what it is given; refuses every publish after the first `accept` ones.
struct Recorder {
    accept: usize,
    calls: AtomicUsize,
    got: Mutex<Vec<String>>,
}

impl EventBus for Recorder {
    fn name(&self) -> &'static str {
        "recorder"
    }

    fn publish<'a>(&'a self, events: &'a [EventEnvelope]) -> BusFuture<'a> {
        Box::pin(async move {
            if self.calls.fetch_add(1, Ordering::SeqCst) >= self.accept {
                return Err(BusError { bus: "recorder", message: "refused".into() });
            }
            self.got.lock().expect("lock").extend(events.iter().map(|e| e.id.clone()));
            Ok(())
        })
    }
}

fn relay(db: &Db, bus: Arc<Recorder>) -> OutboxRelay {
    OutboxRelay::new(db.clone(), bus, LocalFeed::new(16), Arc::new(Notify::new()))
}

#[tokio::test]
async fn rows_are_marked_only_after_the_bus_acknowledged_and_a_new_relay_resumes_there() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open_db(dir.path()).await;
    for n in 0..1200 {
        db.insert_event(&event(n)).await.expect("insert");
    }
    // The first batch (500) is acknowledged, the second refused: 700 left, nothing lost.
    let bus = Arc::new(Recorder { accept: 1, calls: AtomicUsize::new(0), got: Mutex::new(Vec::new()) });
    let first = relay(&db, Arc::clone(&bus));
    assert_eq!(first.drain_once().await.expect("first batch"), 500);
    assert!(first.drain_once().await.is_err(), "the refused batch is an error");
    assert_eq!(db.outbox_backlog().await.expect("backlog"), 700);
    drop(first);

    // A new relay (a restarted process) starts at the first unacknowledged event.
    let bus2 = Arc::new(Recorder { accept: usize::MAX, calls: AtomicUsize::new(0), got: Mutex::new(Vec::new()) });
    let second = relay(&db, Arc::clone(&bus2));
    while second.drain_once().await.expect("drain") > 0 {}
    assert_eq!(db.outbox_backlog().await.expect("backlog"), 0);
    let first_ids = bus.got.lock().expect("lock").clone();
    let second_ids = bus2.got.lock().expect("lock").clone();
    let all: Vec<String> = first_ids.iter().chain(&second_ids).cloned().collect();
    let want: Vec<String> = (0..1200).map(|n| event(n).event_id).collect();
    assert_eq!(all, want, "every event once, in order, across the restart");
}

#[tokio::test]
async fn marking_is_exact_and_pruning_keeps_unpublished_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open_db(dir.path()).await;
    for n in 0..10 {
        db.insert_event(&event(n)).await.expect("insert");
    }
    let rows = db.unpublished_events(100).await.expect("rows");
    let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    // Mark every other row, as if the rows between had committed after a publish.
    let marked: Vec<i64> = seqs.iter().copied().step_by(2).collect();
    db.mark_published(&marked).await.expect("mark");
    let left: Vec<i64> = db.unpublished_events(100).await.expect("rows").iter().map(|r| r.seq).collect();
    let want: Vec<i64> = seqs.iter().copied().skip(1).step_by(2).collect();
    assert_eq!(left, want, "only the published rows are marked");

    // Nothing is old enough yet.
    let before_everything = ifc_service::db::now_ms() - 60_000;
    assert_eq!(db.prune_published_events(before_everything, 2).await.expect("prune"), 0);
    // Everything is old enough: the 5 published rows go, 2 per statement; unpublished stay.
    let after_everything = ifc_service::db::now_ms() + 1;
    assert_eq!(db.prune_published_events(after_everything, 2).await.expect("prune"), 5);
    assert_eq!(db.outbox_backlog().await.expect("backlog"), 5);
    assert_eq!(db.unpublished_events(100).await.expect("rows").len(), 5);
    assert!(db.published_events_after(0, 100).await.expect("published").is_empty());
}

#[tokio::test]
async fn the_relay_prunes_published_events_past_their_retention() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = open_db(dir.path()).await;
    for n in 0..20 {
        db.insert_event(&event(n)).await.expect("insert");
    }
    let bus = Arc::new(Recorder { accept: usize::MAX, calls: AtomicUsize::new(0), got: Mutex::new(Vec::new()) });
    let outbox = ifc_service::config::OutboxConfig { retention_s: 1, prune_interval_s: 1, prune_batch: 7 };
    let (stop, shutdown) = ifc_service::shutdown::channel();
    let relay = tokio::spawn(relay(&db, Arc::clone(&bus)).with_outbox(outbox).run(shutdown));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        // The bus sees each event before its row is marked, and a row is pruned only once
        // marked: all three counts must settle.
        let left = db.published_events_after(0, 100).await.expect("published").len();
        let backlog = db.outbox_backlog().await.expect("backlog");
        if left == 0 && backlog == 0 && bus.got.lock().expect("lock").len() == 20 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{left} published rows still kept, {backlog} unpublished");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    stop.fire();
    relay.await.expect("relay stops");
}
