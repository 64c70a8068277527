//! `ifc`: the ImageFlowCanvas command-line tool.
//!
//! Thin by design: argument parsing, files and progress bars here; all media logic in libifc.
#![forbid(unsafe_code)]

mod doctor_cmd;
mod extract_cmd;
mod extract_output;
mod input;
mod probe_cmd;
mod progress;
mod publish_cmd;
mod remux_cmd;
mod run_cmd;
mod run_output;
mod serve_cmd;
mod source;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Real-time visual inspection for factory lines: record, decode, preprocess, infer.
#[derive(Debug, Parser)]
#[command(name = "ifc", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Describe a video file: codec, size, frame rate, profile/level, bit depth, colour,
    /// frame count and GOP structure.
    ///
    /// FILE is an MP4 (progressive or fragmented) or a raw Annex B stream (.h264 .264 .h265
    /// .265 .hevc). Prints a table, or JSON with --json.
    ///
    /// Example: ifc probe camera1.mp4 --json
    Probe(probe_cmd::ProbeArgs),
    /// Cut a video into fMP4 (CMAF) segments and an HLS playlist without re-encoding.
    ///
    /// Writes OUT_DIR/init.mp4, OUT_DIR/seg_00000.m4s, … and OUT_DIR/index.m3u8. Segments
    /// start at random-access points, as near the target duration as the GOP allows. A raw
    /// stream whose parameter sets change (a new resolution) gets a new init segment
    /// (init_1.mp4, …) announced in the playlist.
    ///
    /// Example: ifc remux line3.h264 out/ --fps 30 --segment-ms 2000
    Remux(remux_cmd::RemuxArgs),
    /// Decode once, keep some frames, and write them as images, model-input tensors or raw
    /// planes.
    ///
    /// Sampling: every frame by default, or --every N, --fps F, --keyframes, --on-change T.
    /// Formats: jpg or png (RGB; at --size if given), npy (the preprocessed model input:
    /// --size, --letterbox, --dtype, --layout; values 0–1), raw (decoded planes exactly as
    /// decoded, in frames.raw with an index in frames.csv), none (decode and preprocess, write
    /// nothing: for benchmarks). Ends with a summary: decoded, kept, dropped, decode errors, fps.
    ///
    /// Example: ifc extract line3.mp4 frames/ --fps 2 --size 640x640 --letterbox --format npy
    Extract(extract_cmd::ExtractArgs),
    /// Run an inspection pipeline over a recording: decode once, sample, preprocess into the
    /// model's input, infer, judge each frame OK/NG, and write the results.
    ///
    /// Either a pipeline document (--pipeline FILE, see examples/) or the shorthand
    /// --input CLIP --model MODEL.onnx, which stands for: every frame, letterboxed to the
    /// model's input size, YOLO output (layout from its shape), NG when a detection of an NG
    /// class (--ng-class, default every class but the first of the labels) scores ≥ 0.5,
    /// results in --out (default ifc-out/<input stem>/): results.jsonl (one record per
    /// inferred frame: index, pts, detections in source pixels, verdict and fired rules),
    /// results.sqlite (a runs row and one results row per frame) and snapshots/ (NG frames as
    /// JPEG with boxes and labels). --print-pipeline shows the document. Ends with a summary:
    /// frames decoded and inferred, OK/NG, latency p50/p99 from decode to verdict, fps. Frames
    /// whose inference fails are counted and reported; the run goes on.
    ///
    /// Example: ifc run --input line3.mp4 --model models/defect-yolov8.onnx
    Run(run_cmd::RunArgs),
    /// Report what this machine offers the GPU path and which path Auto takes, and why.
    ///
    /// Shows the CUDA driver version, each GPU (name, memory, compute capability), its NVDEC
    /// engines and what they decode (H.264 and HEVC, 8- and 10-bit: supported, maximum size),
    /// whether NVDEC (libnvcuvid.so.1) and NVRTC load, and the path Auto takes: NVDEC + CUDA,
    /// CPU decode + CUDA preprocessing, or the CPU. Nothing is linked: each library is loaded
    /// at run time, so this runs (and says what is missing) on any machine.
    ///
    /// Example: ifc doctor --json
    Doctor(doctor_cmd::DoctorArgs),
    /// Run the inspection service: cameras inspected around the clock, controlled over a REST
    /// and WebSocket API (under /api/v1, OpenAPI at /api/v1/openapi.json) and gRPC (package
    /// ifc.v1, proto/ifc/v1/ifc.proto, reflection on) on the same port; HTTPS with --tls-cert.
    ///
    /// One process on embedded defaults: SQLite in the data dir, NG snapshots in a local
    /// directory, in-process events, the embedded ONNX runtime. Every endpoint but /livez,
    /// /readyz and /metrics needs a bearer token: log in with POST /api/v1/auth/login. At the
    /// first start an admin is made from IFC_ADMIN_USER / IFC_ADMIN_PASSWORD, or with a
    /// generated password printed once. Inspections that were running start again after a
    /// restart. SIGTERM or ctrl-c stops intake, drains the queues and flushes the events.
    ///
    /// Example: IFC_ADMIN_PASSWORD=change-me-please ifc serve --data-dir /var/lib/ifc --listen 0.0.0.0:8080
    Serve(serve_cmd::ServeArgs),
    /// Push a recording to an RTSP server as one or many live cameras (RTSP ANNOUNCE and
    /// RECORD, RTP over TCP), paced in real time: a camera simulator and the load generator of
    /// the recording benchmark.
    ///
    /// The file is read once; every stream sends the same packets on its own session. With
    /// --streams N the URL holds {n}, numbered from 1. Credentials in the URL answer the
    /// server's challenge (Digest or Basic). Ends at the end of the file (or with --loop, at
    /// Ctrl-C or --duration) with a TEARDOWN per stream and a summary.
    ///
    /// Example: ifc publish line3.mp4 'rtsp://cam:secret@server:8554/cameras/cam{n}' --streams 8 --loop
    Publish(publish_cmd::PublishArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Library logs (e.g. which processing path Auto took, at INFO) go to stderr; WARN and
    // above by default (the service also says what it does, at INFO), more with RUST_LOG
    // (e.g. RUST_LOG=ifc::gpu_path=info).
    let default_filter = if matches!(cli.command, Command::Serve(_)) { "warn,ifc_service=info" } else { "warn" };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_filter)),
        )
        .init();
    let result = match cli.command {
        Command::Probe(args) => probe_cmd::run(&args),
        Command::Remux(args) => remux_cmd::run(&args),
        Command::Extract(args) => extract_cmd::run(&args),
        Command::Run(args) => run_cmd::run(&args),
        Command::Doctor(args) => doctor_cmd::run(&args),
        Command::Serve(args) => serve_cmd::run(&args),
        Command::Publish(args) => publish_cmd::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ifc: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
