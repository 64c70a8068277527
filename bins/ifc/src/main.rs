//! `ifc`: the ImageFlowCanvas command-line tool.
//!
//! Thin by design: argument parsing, files and progress bars here; all media logic in libifc.
#![forbid(unsafe_code)]

mod extract_cmd;
mod extract_output;
mod input;
mod probe_cmd;
mod progress;
mod remux_cmd;
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Probe(args) => probe_cmd::run(&args),
        Command::Remux(args) => remux_cmd::run(&args),
        Command::Extract(args) => extract_cmd::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("ifc: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
