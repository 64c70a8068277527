//! The child process of the `kill -9` test (`tests/recorder_kill9.rs`): the service's recorder
//! (`Recorder::start`, the code `ifc serve` runs) recording 4 cameras fed a real clip in real
//! time, looped, until the parent kills it with SIGKILL. Not meant to be run by hand.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use ifc::remux::LiveItem;
use ifc_service::recorder::Recorder;
use support::kill9::{config, read_cameras, CHILD_DIR};
use support::{app_state, clip, open_db};

/// The recording process: runs until killed.
fn main() {
    let Ok(dir) = std::env::var(CHILD_DIR) else { panic!("{CHILD_DIR} not set: this is the child process of the recorder_kill9 test") };
    let data_dir = PathBuf::from(dir);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(async {
        let cameras = read_cameras(&data_dir);
        let config = config(&data_dir, &cameras);
        let db = open_db(&config).await;
        let state = app_state(db, config, &[7u8; 32]);
        let _recorder = Recorder::start(&state).await.expect("recorder");
        let input = clip("h264_high_bpyramid_320x240_25.mp4");
        let packets = input.packets();
        let clip_90k = packets.iter().filter_map(|p| p.pts_90k).max().unwrap_or(0) + 3600;
        let mut publishers = Vec::new();
        for id in &cameras {
            publishers.push(state.media.feed(id).publisher().expect("publisher"));
        }
        for p in &publishers {
            p.send(LiveItem::Config(input.config.clone()));
        }
        // Real time: packet n of loop k at (k * clip + pts) after the start.
        let start = Instant::now();
        println!("child: recording");
        for k in 0i64.. {
            for packet in &packets {
                let mut packet = packet.clone();
                packet.dts_90k = None;
                let pts = packet.pts_90k.unwrap_or(0) + k * clip_90k;
                packet.pts_90k = Some(pts);
                let due = start + Duration::from_micros(u64::try_from(pts).unwrap_or(0) * 1000 / 90);
                tokio::time::sleep_until(due.into()).await;
                for p in &publishers {
                    p.send(LiveItem::Packet(packet.clone()));
                }
            }
        }
    });
}

