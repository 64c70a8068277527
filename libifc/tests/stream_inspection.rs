//! `inspect::StreamInspection` over real sources: committed recordings, and gst-rtsp-server
//! cameras (scripts/rtsp-test-server.sh) that are killed and brought back, with the committed
//! classifier (models/classifier.onnx) on the embedded runtime, once as is and once slowed
//! down so that inference falls behind.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test code: a panic is a failure report

use std::io::Write;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use ifc::decode::{open_decoder, DecoderOptions};
use ifc::infer::{InferBackend, InferError, ModelMetadata, Output};
use ifc::inspect::{
    InspectionOptions, OverloadPolicy, ReconnectPolicy, SourcePump, SourceStatus, StreamCounters, StreamInspection,
    StreamSource,
};
use ifc::live::{Fanout, FeedItem};
use ifc::pipeline::PipelineDocument;
use ifc::postprocess::parse_labels;
use ifc::remux::{input_kind, LiveItem, VideoInput};
use ifc::rtsp::{Polled, RtspOptions};
use ifc::runner::{open_backend, Clock, FrameOutcome, JsonlSink, ResultSink, RunPlan, Runner};

#[path = "support/rtsp_server.rs"]
mod rtsp_server;
use rtsp_server::{repo_root, RtspServer};

/// Every frame through the classifier; NG when `defect` scores ≥ 0.5.
fn document() -> PipelineDocument {
    let model = repo_root().join("models/classifier.onnx");
    let yaml = format!(
        "version: 1
nodes:
  - {{id: cam, source: {{kind: file, uri: unused.mp4}}}}
  - {{id: dec, inputs: [cam], decode: {{}}}}
  - {{id: pre, inputs: [dec], preprocess: {{resize: stretch}}}}
  - {{id: model, inputs: [pre], infer: {{backend: embedded, model: {}}}}}
  - {{id: post, inputs: [model], postprocess: {{kind: classification}}}}
  - id: rules
    inputs: [post]
    rule:
      rules: [{{id: ng, kind: detected, class: defect, min_score: 0.5, message: defect}}]
      window: {{duration_ms: 1000, ng_frames: 2}}
  - {{id: out, inputs: [rules], sink: {{jsonl: unused.jsonl}}}}
",
        model.display()
    );
    PipelineDocument::from_yaml_str(&yaml).unwrap()
}

struct StartClock(Instant);

impl Clock for StartClock {
    fn now_ns(&self) -> u64 {
        self.0.elapsed().as_nanos() as u64
    }
}

/// The real backend, made slower by `delay` per batch: a model too big for the machine.
struct Slowed {
    inner: Box<dyn InferBackend>,
    delay: Duration,
}

impl InferBackend for Slowed {
    fn metadata(&self) -> &ModelMetadata {
        self.inner.metadata()
    }
    fn max_batch(&self) -> usize {
        self.inner.max_batch()
    }
    fn input_buffer(&mut self, index: usize, batch: usize) -> Result<&mut [u8], InferError> {
        self.inner.input_buffer(index, batch)
    }
    fn run(&mut self, batch: usize) -> Result<Vec<Output>, InferError> {
        std::thread::sleep(self.delay);
        self.inner.run(batch)
    }
    fn backend_name(&self) -> &'static str {
        "slowed"
    }
}

/// JSON lines written so far, shared with the test.
#[derive(Clone, Default)]
struct Lines(Arc<Mutex<Vec<u8>>>);

impl Write for Lines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Lines {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }
}

fn runner(delay: Option<Duration>, lines: &Lines) -> Runner {
    let doc = document();
    let plan = RunPlan::from_document(&doc).unwrap();
    let mut backend = open_backend(&plan.infer.node).unwrap();
    if let Some(delay) = delay {
        backend = Box::new(Slowed { inner: backend, delay });
    }
    let binding = plan.bind_model(backend.metadata()).unwrap();
    let labels = parse_labels("names: {0: ok, 1: defect}").unwrap();
    let sinks: Vec<Box<dyn ResultSink>> = vec![Box::new(JsonlSink::new("memory", lines.clone()))];
    Runner::new(&plan, binding, backend, Some(labels), sinks, Box::new(StartClock(Instant::now()))).unwrap()
}

/// Statuses as they come, for the test to wait on.
fn status_channel() -> (Box<dyn FnMut(SourceStatus) + Send>, mpsc::Receiver<SourceStatus>) {
    let (tx, rx) = mpsc::channel();
    (Box::new(move |s| drop(tx.send(s))), rx)
}

fn wait_for(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < timeout, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Statuses received so far, appended to `seen`.
fn drain(rx: &mpsc::Receiver<SourceStatus>, seen: &mut Vec<SourceStatus>) {
    seen.extend(rx.try_iter());
}

fn camera(url: String) -> StreamSource {
    let mut reconnect = ReconnectPolicy::default();
    reconnect.initial_delay_ms = 100;
    reconnect.max_delay_ms = 400;
    StreamSource::Rtsp { url, options: RtspOptions::default().read_timeout(Duration::from_secs(3)), reconnect }
}

fn live_options() -> InspectionOptions {
    let mut options = InspectionOptions::default();
    options.queue_frames = 2;
    options.overload = OverloadPolicy::DropBeforeInference;
    options.jitter_seed = Some(1);
    options
}

#[test]
fn a_file_inspected_with_back_pressure_equals_the_sequential_run() {
    let file = "h264_high_bpyramid_320x240_25.mp4";
    let path = repo_root().join("testdata").join(file);
    // Sequential: decode everything, push every frame (what `ifc run` did before streaming).
    let expected = Lines::default();
    let mut sequential = runner(None, &expected);
    let data = bytes::Bytes::from(std::fs::read(&path).unwrap());
    let input = VideoInput::read(input_kind(Some("mp4"), &data).unwrap(), data, None).unwrap();
    let mut decoder = open_decoder(DecoderOptions::from_config(input.config.clone())).unwrap();
    let mut frames = Vec::new();
    for p in input.packets() {
        decoder.push(p).unwrap();
        while let Ok(Some(f)) = decoder.pull() {
            frames.push(f);
        }
    }
    decoder.flush().unwrap();
    while let Ok(Some(f)) = decoder.pull() {
        frames.push(f);
    }
    for f in &frames {
        assert!(matches!(sequential.push_frame(f, 0).unwrap(), FrameOutcome::Inferred(_)));
    }
    sequential.finish().unwrap();

    let got = Lines::default();
    let mut options = InspectionOptions::default();
    options.overload = OverloadPolicy::Block;
    options.queue_frames = 1;
    let source = StreamSource::File { path, fps: None, realtime: false, looped: false };
    let (on_status, statuses) = status_channel();
    let inspection = StreamInspection::start(source, runner(None, &got), options, on_status).unwrap();
    let counters = inspection.counters();
    let stats = inspection.join().unwrap();
    assert_eq!(got.text(), expected.text(), "the same records, byte for byte");
    assert_eq!(stats.frames_decoded, frames.len() as u64);
    assert_eq!(stats.frames_inferred, frames.len() as u64);
    assert_eq!(stats.frames_dropped, 0, "back-pressure loses nothing");
    let c = counters.snapshot();
    assert_eq!((c.frames_decoded, c.frames_inferred, c.frames_dropped), (stats.frames_decoded, stats.frames_inferred, 0));
    assert_eq!(counters.latency().count(), stats.frames_inferred);
    let seen: Vec<SourceStatus> = statuses.try_iter().collect();
    assert_eq!(seen, [SourceStatus::Connecting, SourceStatus::Live, SourceStatus::Ended]);
}

/// Two publisher sessions of a real recording through a shared feed: each session is decoded
/// whole by its own decoder, the gap between them is reported, and closing the feed ends it.
#[test]
fn a_feed_inspection_follows_publisher_sessions_until_the_feed_closes() {
    let path = repo_root().join("testdata/h264_high_bpyramid_320x240_25.mp4");
    let data = bytes::Bytes::from(std::fs::read(&path).unwrap());
    let input = VideoInput::read(input_kind(Some("mp4"), &data).unwrap(), data, None).unwrap();
    let packets = input.packets();
    let feed = Fanout::new(4 * packets.len());
    let lines = Lines::default();
    let mut options = InspectionOptions::default();
    options.overload = OverloadPolicy::Block;
    let (on_status, statuses) = status_channel();
    let inspection = StreamInspection::start(StreamSource::Feed(feed.clone()), runner(None, &lines), options, on_status).unwrap();
    for _session in 0..2 {
        let publisher = feed.publisher().unwrap();
        publisher.send(LiveItem::Config(input.config.clone()));
        for p in &packets {
            publisher.send(LiveItem::Packet(p.clone()));
        }
    }
    feed.close();
    let stats = inspection.join().unwrap();
    assert_eq!(stats.frames_decoded, 2 * packets.len() as u64, "every picture of both sessions");
    assert_eq!(stats.frames_inferred, stats.frames_decoded);
    assert_eq!(lines.text().lines().count(), 2 * packets.len());
    let seen: Vec<SourceStatus> = statuses.try_iter().collect();
    use SourceStatus::{Connecting, Ended, Live};
    assert_eq!(seen, [Connecting, Live, Connecting, Live, Connecting, Ended]);
}

/// One looped recording pumped into a feed serves two inspections and a raw consumer: the
/// recording is read once, the loop is one publisher session with one configuration, and every
/// consumer sees every packet.
#[test]
fn a_source_pump_feeds_two_inspections_from_one_read() {
    let path = repo_root().join("testdata/h264_main_320x240_25.mp4");
    let feed = Fanout::new(1024);
    let mut raw = feed.subscribe();
    let (lines_a, lines_b) = (Lines::default(), Lines::default());
    let start = |lines: &Lines| {
        let mut options = InspectionOptions::default();
        options.overload = OverloadPolicy::Block;
        StreamInspection::start(StreamSource::Feed(feed.clone()), runner(None, lines), options, Box::new(|_| {})).unwrap()
    };
    let (a, b) = (start(&lines_a), start(&lines_b));
    let source = StreamSource::File { path, fps: None, realtime: true, looped: true };
    let (on_status, statuses) = status_channel();
    let pump = SourcePump::start(source, feed.clone(), 7, None, on_status).unwrap();
    // 50 packets per 2 s pass: wait into the second pass.
    let (counters_a, counters_b) = (a.counters(), b.counters());
    wait_for("the second pass", Duration::from_secs(20), || counters_a.snapshot().frames_decoded >= 70);
    pump.stop();
    pump.join().unwrap();
    feed.close();
    let (stats_a, stats_b) = (a.join().unwrap(), b.join().unwrap());
    assert_eq!(counters_b.snapshot().frames_decoded, stats_b.frames_decoded);
    let sent = feed.stats();
    assert_eq!(sent.sessions, 1, "one session across the loop");
    assert_eq!(stats_a.frames_decoded, sent.packets_sent, "every packet decoded");
    assert_eq!(stats_b.frames_decoded, sent.packets_sent);
    assert_eq!(lines_a.text(), lines_b.text(), "both inspections saw the same frames");
    let (mut configs, mut packets, mut breaks) = (0, 0, 0);
    while let Polled::Ready(item) = raw.poll(Instant::now()) {
        match item {
            FeedItem::Item(LiveItem::Config(_)) => configs += 1,
            FeedItem::Item(LiveItem::Packet(_)) => packets += 1,
            FeedItem::Break(_) => breaks += 1,
        }
    }
    assert_eq!((configs, packets, breaks), (1, sent.packets_sent, 1), "the configuration once, not at every pass");
    let seen: Vec<SourceStatus> = statuses.try_iter().collect();
    assert_eq!(seen, [SourceStatus::Connecting, SourceStatus::Live, SourceStatus::Ended]);
}

#[test]
fn a_looped_file_keeps_time_increasing_until_stopped() {
    let path = repo_root().join("testdata/h264_main_320x240_25.h264");
    let lines = Lines::default();
    let mut options = InspectionOptions::default();
    options.overload = OverloadPolicy::Block;
    let source = StreamSource::File { path, fps: None, realtime: false, looped: true };
    let inspection = StreamInspection::start(source, runner(None, &lines), options, Box::new(|_| {})).unwrap();
    let counters = inspection.counters();
    // The clip has 50 frames: see it go round twice.
    wait_for("two passes", Duration::from_secs(120), || counters.snapshot().frames_inferred > 110);
    inspection.stop();
    let stats = inspection.join().unwrap();
    let pts: Vec<i64> = lines
        .text()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["pts_90k"].as_i64().unwrap())
        .collect();
    assert_eq!(pts.len() as u64, stats.frames_inferred);
    assert!(pts.windows(2).all(|w| w[0] < w[1]), "pts increase across the loop");
    assert_eq!(pts[50] - pts[49], 3600, "the second pass follows the first by one frame (25 fps)");
}

#[test]
fn a_realtime_file_is_paced_by_its_timestamps() {
    // 50 frames at 25 fps: the last is due 1.96 s after the first.
    let path = repo_root().join("testdata/h264_main_320x240_25.mp4");
    let lines = Lines::default();
    let source = StreamSource::File { path, fps: None, realtime: true, looped: false };
    let started = Instant::now();
    let inspection = StreamInspection::start(source, runner(None, &lines), live_options(), Box::new(|_| {})).unwrap();
    let stats = inspection.join().unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(1900), "paced, not as fast as possible: {elapsed:?}");
    assert!(elapsed < Duration::from_secs(60), "{elapsed:?}");
    assert_eq!(stats.frames_decoded, 50);
}

#[test]
fn a_missing_file_is_a_typed_error_at_start() {
    let source = StreamSource::File { path: "no/such.mp4".into(), fps: None, realtime: false, looped: false };
    let lines = Lines::default();
    let (on_status, statuses) = status_channel();
    let err = StreamInspection::start(source, runner(None, &lines), InspectionOptions::default(), on_status)
        .err()
        .expect("refused");
    assert!(matches!(err, ifc::inspect::InspectError::Io { .. }), "{err}");
    assert!(!err.is_transient());
    assert!(matches!(statuses.try_iter().last(), Some(SourceStatus::Error { .. })));
}

#[test]
fn a_camera_killed_and_restarted_goes_live_again_and_inference_resumes() {
    let file = "h264_main_320x240_25.mp4"; // sent in real time, 2 s a session
    let mut server = RtspServer::start(file, None);
    let port = server.port;
    let lines = Lines::default();
    let (on_status, rx) = status_channel();
    let inspection = StreamInspection::start(camera(server.url("")), runner(None, &lines), live_options(), on_status)
        .expect("start");
    let counters: Arc<StreamCounters> = inspection.counters();
    let mut seen = Vec::new();
    wait_for("first verdicts", Duration::from_secs(60), || counters.snapshot().frames_inferred >= 5);
    drain(&rx, &mut seen);
    assert_eq!(seen[..2], [SourceStatus::Connecting, SourceStatus::Live]);

    server.kill();
    let killed_at = seen.len();
    wait_for("backoff after the kill", Duration::from_secs(30), || {
        drain(&rx, &mut seen);
        seen[killed_at..].iter().any(|s| matches!(s, SourceStatus::Backoff { reason, .. } if reason.contains("cannot connect")))
    });
    let inferred_while_down = counters.snapshot().frames_inferred;

    let _server = restart_on(port, file);
    let restarted_at = seen.len();
    wait_for("inference after the restart", Duration::from_secs(60), || {
        drain(&rx, &mut seen);
        counters.snapshot().frames_inferred >= inferred_while_down + 5
    });
    let after: Vec<&SourceStatus> = seen[restarted_at..].iter().collect();
    let connecting = after.iter().position(|s| **s == SourceStatus::Connecting).expect("connecting again");
    assert!(after[connecting..].contains(&&SourceStatus::Live), "live again: {seen:?}");
    inspection.stop();
    let stats = inspection.join().expect("join");
    let c = counters.snapshot();
    assert!(c.reconnects >= 1, "{c:?}");
    assert_eq!(stats.frames_inferred, c.frames_inferred);
    assert_eq!(stats.frames_sampled, c.frames_inferred + c.frames_dropped + c.frames_not_inferred);
    assert_eq!(lines.text().lines().count() as u64, stats.frames_inferred, "every inferred frame was written");
    drain(&rx, &mut seen);
    let last = seen.last().expect("statuses");
    assert_eq!(*last, SourceStatus::Ended, "{seen:?}");
}

/// The killed server's port may linger a moment: try again for a few seconds.
fn restart_on(port: u16, file: &str) -> RtspServer {
    let start = Instant::now();
    loop {
        match std::panic::catch_unwind(|| RtspServer::start_on(port, file, None, &[])) {
            Ok(server) => return server,
            Err(e) if start.elapsed() > Duration::from_secs(10) => std::panic::resume_unwind(e),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

#[test]
fn a_slow_model_drops_frames_before_inference_and_never_stalls_decoding() {
    // A raw stream: gst-rtsp-server sends it as fast as it can, far faster than 150 ms a frame.
    let file = "h264_main_320x240_25.h264";
    let frames_in_file = 50;
    let server = RtspServer::start(file, None);
    let lines = Lines::default();
    let (on_status, rx) = status_channel();
    let slow = runner(Some(Duration::from_millis(150)), &lines);
    let inspection = StreamInspection::start(camera(server.url("")), slow, live_options(), on_status).expect("start");
    let counters = inspection.counters();
    wait_for("the whole file decoded", Duration::from_secs(60), || counters.snapshot().frames_decoded >= frames_in_file);
    let at_decoded = counters.snapshot();
    assert!(
        at_decoded.frames_inferred < frames_in_file / 2,
        "decoding ran ahead of inference, not at its pace: {at_decoded:?}"
    );
    assert!(at_decoded.queue_depth <= 2, "the queue holds at most its capacity: {at_decoded:?}");
    let mut seen = Vec::new();
    wait_for("the session to end", Duration::from_secs(30), || {
        drain(&rx, &mut seen);
        seen.iter().any(|s| matches!(s, SourceStatus::Backoff { .. }))
    });
    inspection.stop();
    let stats = inspection.join().expect("join");
    let c = counters.snapshot();
    assert!(c.frames_dropped > 0, "{c:?}");
    assert_eq!(stats.frames_dropped, c.frames_dropped);
    assert_eq!(c.frames_sampled, c.frames_inferred + c.frames_dropped + c.frames_not_inferred, "{c:?}");
    // Indices are those of the decoded stream: gaps where frames were dropped.
    let indices: Vec<u64> = lines
        .text()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["frame_index"].as_u64().unwrap())
        .collect();
    assert!(indices.windows(2).all(|w| w[0] < w[1]));
    assert!(indices.windows(2).any(|w| w[1] - w[0] > 1), "dropped frames leave gaps: {indices:?}");
}

#[test]
fn a_peer_that_sends_garbage_backs_off_with_a_reason_and_never_panics() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten().take(3) {
            let junk: Vec<u8> = (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
            let _ = stream.write_all(&junk);
        }
    });
    let lines = Lines::default();
    let (on_status, rx) = status_channel();
    let url = format!("rtsp://127.0.0.1:{port}/junk");
    let inspection = StreamInspection::start(camera(url), runner(None, &lines), live_options(), on_status).unwrap();
    let mut seen = Vec::new();
    wait_for("two backoffs", Duration::from_secs(30), || {
        drain(&rx, &mut seen);
        seen.iter().filter(|s| matches!(s, SourceStatus::Backoff { .. })).count() >= 2
    });
    inspection.stop();
    let stats = inspection.join().expect("stopping a camera in backoff is a clean end");
    assert_eq!(stats.frames_decoded, 0);
    assert!(seen.iter().any(|s| matches!(s, SourceStatus::Backoff { reason, .. } if reason.contains("127.0.0.1"))), "{seen:?}");
}
