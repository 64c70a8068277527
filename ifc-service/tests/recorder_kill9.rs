//! `kill -9` of a recording process at many random moments while 4 cameras record (and
//! retention deletes): after each kill, recovery leaves no orphan file, every indexed segment
//! decodes completely and matches its checksum, and what was lost is at most the unfinished
//! segment per camera.
//!
//! The recording process is the example `kill9_recorder` (`examples/kill9_recorder.rs`, built
//! with the tests): the service's recorder (`Recorder::start`, the code `ifc serve` runs) with 4
//! cameras, each fed a real clip in real time, looped, as one ingest session. The parent kills
//! it with SIGKILL at a random moment (seeded, printed), runs recovery on the data dir and
//! checks it, then starts the next child on the same data dir.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

mod support;

use support::kill9::{config, CHILD_DIR};

use std::collections::HashSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use ifc_service::config::ServeConfig;
use ifc_service::recorder::{recover_all, Recorder};
use support::{app_state, create_camera, decode, open_db, sha256_hex};

const CAMERAS: usize = 4;
const SEGMENT_MS: i64 = 1200; // 1 s target, key frames every 1.2 s
/// Kills aimed for, and the time they may take together.
const KILLS: usize = 100;
const BUDGET: Duration = Duration::from_secs(420);

/// Whether any camera directory holds a segment being written.
fn has_part_file(root: &Path, cameras: &[String]) -> bool {
    cameras.iter().any(|c| {
        std::fs::read_dir(root.join(c))
            .map(|d| d.flatten().any(|e| e.file_name().to_string_lossy().ends_with(".part")))
            .unwrap_or(false)
    })
}

/// xorshift64*: the kill moments, reproducible from the printed seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill9_at_random_moments_loses_at_most_the_unfinished_segment_per_camera() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data_dir = dir.path().join("data");
    let setup = open_db(&ServeConfig { data_dir: data_dir.clone(), ..ServeConfig::default() }).await;
    let mut cameras = Vec::new();
    for i in 0..CAMERAS {
        cameras.push(create_camera(&setup, &format!("line-{i}")).await);
    }
    setup.close().await;
    std::fs::write(data_dir.join("cameras.txt"), cameras.join("\n")).expect("camera ids");
    let seed =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1)
            | 1;
    println!("kill -9 moments: seed {seed}");
    let mut rng = Rng(seed);
    // target/debug/deps/<this test> → target/debug/examples/kill9_recorder
    let exe = std::env::current_exe().expect("test binary");
    let exe = exe.parent().and_then(Path::parent).expect("target dir").join("examples/kill9_recorder");
    assert!(exe.is_file(), "{} is missing: cargo test builds the examples first", exe.display());
    let began = Instant::now();
    let mut decoded: HashSet<i64> = HashSet::new();
    let mut kills = 0;
    let mut lost_checked = 0;
    let mut recovered_total = ifc_service::recorder::RecoverySummary::default();
    while kills < KILLS && began.elapsed() < BUDGET {
        let mut child = Command::new(&exe)
            .env(CHILD_DIR, &data_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("child starts");
        let started_ms = ifc_service::db::now_ms();
        // Anywhere from inside start-up (recovery) to several segments in. A segment's write
        // (file, fsync, rename) takes milliseconds, so a uniform moment rarely lands in one:
        // every other kill waits for a `.part` file to appear first and kills at once.
        let run_ms = 50 + rng.next() % 5000;
        tokio::time::sleep(Duration::from_millis(run_ms)).await;
        if kills % 2 == 1 {
            let root = data_dir.join("recordings");
            let deadline = Instant::now() + Duration::from_secs(3);
            while Instant::now() < deadline && !has_part_file(&root, &cameras) {
                std::thread::sleep(Duration::from_micros(200));
            }
        }
        child.kill().expect("SIGKILL");
        let status = child.wait().expect("reaped");
        assert!(!status.success(), "the child was killed, it did not exit: {status}");
        let killed_ms = ifc_service::db::now_ms();
        kills += 1;

        // Recovery, as the next start would run it, then the checks.
        let config = config(&data_dir, &cameras);
        let db = open_db(&config).await;
        let state = app_state(db.clone(), config, &[7u8; 32]);
        let handle = tokio::runtime::Handle::current();
        let recovered = state.clone();
        let summary = tokio::task::spawn_blocking(move || recover_all(&recovered, &handle))
            .await
            .expect("join")
            .expect("recovery");
        assert_eq!(summary.broken, 0, "kill {kills}: an indexed segment's file missing or cut");
        recovered_total += summary;
        let root = Recorder::root(&state);
        for camera in &cameras {
            let rows = db.camera_recordings_all(camera).await.expect("rows");
            assert!(rows.iter().all(|r| r.garbage == 0), "recovery finishes deletions");
            let dir = Recorder::camera_dir(&root, camera);
            let mut files: Vec<String> = std::fs::read_dir(&dir)
                .expect("dir")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            files.sort();
            let mut expected: Vec<String> = rows.iter().map(|r| format!("{}.m4s", r.id)).collect();
            expected.sort();
            assert_eq!(files, expected, "kill {kills} after {run_ms} ms: no orphan, no missing file ({camera})");
            for r in &rows {
                let path = dir.join(format!("{}.m4s", r.id));
                let data = std::fs::read(&path).expect("segment");
                assert_eq!(sha256_hex(&data), r.sha256, "kill {kills}: checksum of {}", path.display());
                if decoded.insert(r.id) {
                    assert_eq!(
                        decode(&path),
                        (r.frame_count as u64, String::new()),
                        "kill {kills}: {} decodes whole",
                        path.display()
                    );
                }
            }
            // Lost: at most the segment being written. The newest indexed segment of this run
            // ends within two segment lengths (the open one, and the one being committed) and
            // a second of start-up and scheduling before the kill.
            if run_ms >= 3000 {
                let newest = rows.iter().filter(|r| r.start_ms >= started_ms).map(|r| r.end_ms).max();
                let newest =
                    newest.unwrap_or_else(|| panic!("kill {kills}: nothing recorded in {run_ms} ms ({camera})"));
                assert!(
                    killed_ms - newest <= 2 * SEGMENT_MS + 1000,
                    "kill {kills}: {} ms unrecorded before the kill ({camera})",
                    killed_ms - newest
                );
                lost_checked += 1;
            }
        }
        db.close().await;
    }
    println!("recovery after the kills: {recovered_total:?}");
    // The crash points were reached: kills inside a segment's write left `.part` files that
    // recovery deleted.
    assert!(recovered_total.unfinished > 0, "no kill landed inside a segment's write: {recovered_total:?}");
    println!(
        "kill -9: {kills} kills in {:.0} s, {} segments decoded, loss bound checked {lost_checked} times",
        began.elapsed().as_secs_f64(),
        decoded.len()
    );
    assert!(kills >= 50, "only {kills} kills fit the time budget");
    assert!(decoded.len() > 100, "the children recorded ({} segments)", decoded.len());
}
