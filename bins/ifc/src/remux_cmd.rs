//! `ifc remux`: the Recorder's remux, from the command line.

use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;
use ifc::codec::FrameRate;
use ifc::mp4::fmp4::MediaSegment;
use ifc::remux::{RemuxOutput, Remuxer};

use crate::input::{parse_fps, read_input, read_mp4_sparse, sniff_input, InputKind, SparseMp4};
use crate::source::run_source;

#[derive(Debug, Args)]
pub struct RemuxArgs {
    /// MP4 file or raw Annex B stream (.h264 .264 .h265 .265 .hevc).
    pub input: PathBuf,
    /// Directory for init.mp4, seg_NNNNN.m4s and index.m3u8 (created if missing).
    pub out_dir: PathBuf,
    /// Target segment duration in milliseconds; segments are cut at the first random-access
    /// point at or after it.
    #[arg(long, default_value_t = 2000, value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pub segment_ms: u64,
    /// Frame rate of a raw stream (25, 29.97, 30000/1001). Default: the stream's VUI timing.
    #[arg(long, value_parser = parse_fps)]
    pub fps: Option<FrameRate>,
    /// No progress bar and no summary.
    #[arg(long, short)]
    pub quiet: bool,
}

pub fn run(args: &RemuxArgs) -> Result<()> {
    let started = Instant::now();
    // MP4 media payloads go file-to-file; raw streams are read whole (they are re-framed).
    let (kind, data, sparse) = match sniff_input(&args.input)? {
        InputKind::Mp4 => {
            let sparse = read_mp4_sparse(&args.input)?;
            (InputKind::Mp4, sparse.data.clone(), Some(sparse))
        }
        _ => {
            let (kind, data) = read_input(&args.input)?;
            (kind, data, None)
        }
    };
    std::fs::create_dir_all(&args.out_dir).with_context(|| format!("cannot create {}", args.out_dir.display()))?;
    let mut remuxer: Option<Remuxer> = None;
    let mut outputs = Vec::new();
    let run = run_source(kind, data, args.fps, args.quiet, |item, timescale| {
        let remuxer = remuxer.get_or_insert_with(|| Remuxer::new(timescale, args.segment_ms));
        remuxer.push(item, &mut outputs)?;
        write_outputs(&args.out_dir, &mut outputs, sparse.as_ref())
    })?;
    let Some(mut remuxer) = remuxer else {
        return Err(crate::source::nothing_decodable(&args.input, &run));
    };
    remuxer.finish(&mut outputs)?;
    write_outputs(&args.out_dir, &mut outputs, sparse.as_ref())?;
    if !args.quiet {
        let s = remuxer.stats();
        eprintln!(
            "ifc remux: {} frames in {} segments ({} init), {:.1} MB, in {:.2} s -> {}",
            s.samples,
            s.segments,
            s.init_segments,
            s.bytes_written as f64 / 1e6,
            started.elapsed().as_secs_f64(),
            args.out_dir.join("index.m3u8").display()
        );
        if let Some(raw) =
            run.raw_stats.filter(|r| r.dropped_before_random_access + r.dropped_undecodable + r.nal_errors > 0)
        {
            eprintln!(
                "ifc remux: skipped {} access units before the first random-access point, {} undecodable; {} malformed NAL units",
                raw.dropped_before_random_access, raw.dropped_undecodable, raw.nal_errors
            );
        }
    }
    Ok(())
}

fn write_outputs(dir: &Path, outputs: &mut Vec<RemuxOutput>, sparse: Option<&SparseMp4>) -> Result<()> {
    for output in outputs.drain(..) {
        match output {
            RemuxOutput::Init { name, data } => write_file(&dir.join(name), |w| w.write_all(&data))?,
            RemuxOutput::Segment { name, segment } => {
                // Unbuffered: write_to gathers the samples into one writev per segment.
                let path = dir.join(name);
                let mut file = File::create(&path).with_context(|| format!("cannot create {}", path.display()))?;
                let written = match sparse {
                    Some(source) => write_segment_from_file(&segment, source, &mut file),
                    None => segment.write_to(&mut file),
                };
                written.with_context(|| format!("cannot write {}", path.display()))?;
            }
            RemuxOutput::Playlist { name, text } => {
                // Write then rename, so a reader never sees half a playlist.
                let tmp = dir.join(format!(".{name}.tmp"));
                write_file(&tmp, |w| w.write_all(text.as_bytes()))?;
                std::fs::rename(&tmp, dir.join(&name)).with_context(|| format!("cannot write {name}"))?;
            }
        }
    }
    Ok(())
}

/// Writes the segment header from memory and its samples straight from the source file,
/// coalescing samples that are contiguous there (one `copy_file_range` per run of samples).
fn write_segment_from_file(segment: &MediaSegment, source: &SparseMp4, out: &mut File) -> std::io::Result<()> {
    out.write_all(&segment.header)?;
    let mut run: Option<(u64, u64)> = None;
    let flush = |run: Option<(u64, u64)>, out: &mut File| -> std::io::Result<()> {
        let Some((offset, len)) = run else { return Ok(()) };
        let mut src = &source.file;
        src.seek(SeekFrom::Start(offset))?;
        let copied = std::io::copy(&mut src.take(len), out)?;
        if copied == len {
            Ok(())
        } else {
            Err(std::io::ErrorKind::UnexpectedEof.into())
        }
    };
    for sample in &segment.payload {
        let Some(offset) = source.file_offset(sample) else {
            flush(run.take(), out)?;
            out.write_all(sample)?;
            continue;
        };
        run = match run {
            Some((start, len)) if start + len == offset => Some((start, len + sample.len() as u64)),
            other => {
                flush(other, out)?;
                Some((offset, sample.len() as u64))
            }
        };
    }
    flush(run, out)
}

fn write_file(path: &Path, write: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<()>) -> Result<()> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut w = BufWriter::with_capacity(256 << 10, file);
    write(&mut w).and_then(|()| w.flush()).with_context(|| format!("cannot write {}", path.display()))
}
