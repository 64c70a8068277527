//! `/metrics` in the Prometheus text format (0.0.4): per inspection and camera, frames
//! received, decoded, inferred, dropped; the decode-to-verdict latency histogram; queue depth;
//! and the outbox backlog.

use std::fmt::Write;

use ifc::inspect::{CountersSnapshot, StreamCounters};

/// A counter's name, help text and how to read it from a snapshot.
type CounterRow = (&'static str, &'static str, fn(&CountersSnapshot) -> u64);

pub struct StreamMetrics<'a> {
    pub inspection: &'a str,
    pub camera: &'a str,
    pub counters: &'a StreamCounters,
}

/// Histogram bucket bounds, seconds.
const LATENCY_BOUNDS_S: [f64; 12] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0];

pub fn render(streams: &[StreamMetrics<'_>], outbox_backlog: i64) -> String {
    let mut out = String::new();
    let counters: [CounterRow; 10] = [
        ("ifc_packets_received_total", "Encoded packets (access units) received.", |s| s.packets_received),
        ("ifc_frames_decoded_total", "Frames decoded.", |s| s.frames_decoded),
        ("ifc_frames_sampled_total", "Frames chosen by the sample node.", |s| s.frames_sampled),
        ("ifc_frames_inferred_total", "Frames inferred.", |s| s.frames_inferred),
        ("ifc_frames_dropped_total", "Sampled frames dropped before inference (inference behind).", |s| s.frames_dropped),
        ("ifc_frames_not_inferred_total", "Frames whose preprocessing, inference or postprocessing failed.", |s| {
            s.frames_not_inferred
        }),
        ("ifc_decode_errors_total", "Damaged access units and decoder failures.", |s| s.decode_errors),
        ("ifc_frames_damaged_total", "Decoded pictures found damaged and dropped.", |s| s.frames_damaged),
        ("ifc_source_reconnects_total", "Camera sessions started after the first.", |s| s.reconnects),
        ("ifc_ng_frames_total", "Frames judged NG.", |s| s.ng_frames),
    ];
    let snapshots: Vec<_> = streams.iter().map(|s| s.counters.snapshot()).collect();
    for (name, help, get) in counters {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
        for (s, snap) in streams.iter().zip(&snapshots) {
            let _ = writeln!(out, "{name}{{{}}} {}", labels(s), get(snap));
        }
    }
    let _ = writeln!(out, "# HELP ifc_queue_depth Frames waiting for inference.\n# TYPE ifc_queue_depth gauge");
    for (s, snap) in streams.iter().zip(&snapshots) {
        let _ = writeln!(out, "ifc_queue_depth{{{}}} {}", labels(s), snap.queue_depth);
    }
    let name = "ifc_verdict_latency_seconds";
    let _ = writeln!(out, "# HELP {name} From a frame's decoding to its verdict.\n# TYPE {name} histogram");
    for s in streams {
        let h = s.counters.latency();
        let buckets: Vec<(u64, u64)> = h.nonempty_buckets().collect();
        let mut sum_ns: f64 = 0.0;
        for &(low, n) in &buckets {
            sum_ns += low as f64 * n as f64;
        }
        for bound in LATENCY_BOUNDS_S {
            let bound_ns = (bound * 1e9) as u64;
            let n: u64 = buckets.iter().filter(|(low, _)| *low <= bound_ns).map(|(_, n)| n).sum();
            let _ = writeln!(out, "{name}_bucket{{{},le=\"{bound}\"}} {n}", labels(s));
        }
        let _ = writeln!(out, "{name}_bucket{{{},le=\"+Inf\"}} {}", labels(s), h.count());
        let _ = writeln!(out, "{name}_sum{{{}}} {}", labels(s), sum_ns / 1e9);
        let _ = writeln!(out, "{name}_count{{{}}} {}", labels(s), h.count());
    }
    let _ = writeln!(
        out,
        "# HELP ifc_outbox_backlog Events waiting to be published.\n# TYPE ifc_outbox_backlog gauge\nifc_outbox_backlog {outbox_backlog}"
    );
    out
}

fn labels(s: &StreamMetrics<'_>) -> String {
    format!("inspection=\"{}\",camera=\"{}\"", escape(s.inspection), escape(s.camera))
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
