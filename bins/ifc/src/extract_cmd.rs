//! `ifc extract`: the Frame Extractor from the command line. Decodes once, samples, and
//! writes images, preprocessed tensors or raw planes.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use clap::{ArgGroup, Args, ValueEnum};
use ifc::codec::FrameRate;
use ifc::decode::{open_decoder, DecodeStats, DecodeWorker, DecoderOptions, Frame, QueuePolicy, Sampler, SamplingRule};
use ifc::preprocess::{
    convert_to_rgb24, output_len_bytes, ColourMatrix, DType, Fit, Layout, PreprocessSpec, Preprocessor,
};
use ifc::remux::{sample_packet, SourceItem};

use crate::extract_output::{FrameWriter, OutputFormat};
use crate::input::{parse_fps, read_input};
use crate::progress;
use crate::source::{nothing_decodable, run_source};

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("sampling").args(["every", "fps", "keyframes", "on_change"])))]
pub struct ExtractArgs {
    /// MP4 file or raw Annex B stream (.h264 .264 .h265 .265 .hevc).
    pub input: PathBuf,
    /// Directory for the output (created if missing).
    pub out_dir: PathBuf,
    /// Keep every N-th decoded frame.
    #[arg(long, value_name = "N")]
    pub every: Option<u32>,
    /// Keep frames at this rate (by presentation time), e.g. 2 or 0.5.
    #[arg(long, value_name = "F")]
    pub fps: Option<f64>,
    /// Keep key frames only.
    #[arg(long)]
    pub keyframes: bool,
    /// Keep a frame when it differs from the last kept one by more than T (mean absolute
    /// difference of a 32×18 luma thumbnail, 0–255).
    #[arg(long, value_name = "T")]
    pub on_change: Option<f64>,
    /// Model input size WxH. Default: 640x640 for npy; the frame's own size for images.
    #[arg(long, value_parser = parse_size)]
    pub size: Option<(u32, u32)>,
    /// Keep the aspect ratio and pad (grey 114) instead of stretching.
    #[arg(long)]
    pub letterbox: bool,
    /// Colour matrix for streams that do not name theirs: bt601 (the default, as libswscale,
    /// PyAV and OpenCV convert), bt709 or bt2020. `ifc probe` shows what a stream says.
    #[arg(long, value_name = "MATRIX")]
    pub colour_matrix: Option<ifc::pipeline::ColourMatrix>,
    /// What to write for each kept frame.
    #[arg(long, value_enum, default_value_t = OutputFormat::Jpg)]
    pub format: OutputFormat,
    /// Tensor element type (npy and none).
    #[arg(long, value_enum, default_value_t = TensorType::F32)]
    pub dtype: TensorType,
    /// Tensor layout (npy and none).
    #[arg(long, value_enum, default_value_t = TensorLayout::Nchw)]
    pub layout: TensorLayout,
    /// Decoder threads. 1 runs decoding and preprocessing on one thread (fair on a busy
    /// server); more decode on N threads with preprocessing beside them.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub threads: u32,
    /// Frame rate of a raw stream without VUI timing (25, 29.97, 30000/1001).
    #[arg(long, value_parser = parse_fps)]
    pub input_fps: Option<FrameRate>,
    /// No progress bar and no summary.
    #[arg(long, short)]
    pub quiet: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TensorType {
    F32,
    F16,
    U8,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TensorLayout {
    Nchw,
    Nhwc,
}

fn parse_size(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("invalid size {s:?}: give WIDTHxHEIGHT, e.g. 640x640");
    let (w, h) = s.split_once(['x', 'X']).ok_or_else(bad)?;
    let (w, h): (u32, u32) = (w.parse().map_err(|_| bad())?, h.parse().map_err(|_| bad())?);
    if w == 0 || h == 0 || w > 16384 || h > 16384 {
        return Err(bad());
    }
    Ok((w, h))
}

/// Counters for the closing summary.
#[derive(Debug, Default)]
struct Totals {
    decoded: u64,
    sampled: u64,
    dropped: u64,
    decode: DecodeStats,
}

impl Totals {
    /// Counts for the closing line. Packets skipped to the next key frame count as decode
    /// errors: their pictures are lost, even where libavcodec reported no damage (a damaged
    /// stream must never read "decode errors 0"). Damaged frames (concealed by libavcodec, or
    /// found damaged by ifc's analysis: slices or references missing, predicted from a damaged
    /// picture) are dropped by the decoder's default policy and counted apart.
    fn summary(&self) -> String {
        let skipped = self.decode.skipped_until_keyframe;
        let damaged = self.decode.concealed_or_corrupt_frames + self.decode.damaged_frames;
        format!(
            "decoded {} frames, kept {}, dropped {}, decode errors {}{}{}",
            self.decoded,
            self.sampled,
            self.dropped,
            self.decode.decode_errors + skipped,
            if skipped > 0 { format!(" ({skipped} packets skipped to the next key frame)") } else { String::new() },
            if damaged > 0 { format!(", {damaged} damaged frames dropped") } else { String::new() },
        )
    }
}

pub fn run(args: &ExtractArgs) -> Result<()> {
    let started = Instant::now();
    let sampler = Sampler::new(sampling_rule(args)).context("sampling")?;
    let (kind, data) = read_input(&args.input)?;
    // Samples are Bytes slices of the input (MP4) or of the re-framed stream (raw): cheap to
    // hold, so the source is read first and decoding runs in one tight loop afterwards.
    let mut config = None;
    let mut packets = Vec::new();
    let run = run_source(kind, data, args.input_fps, true, |item, timescale| {
        match item {
            SourceItem::Config(c) => {
                // Later configurations (a new resolution) travel in-band in the samples.
                config.get_or_insert(c);
            }
            SourceItem::Sample(s) => packets.push(sample_packet(&s, timescale)),
        }
        Ok(())
    })?;
    let Some(config) = config else { return Err(nothing_decodable(&args.input, &run)) };
    let mut sink = FrameSink::new(args)?;
    let options = DecoderOptions::from_config(config).with_threads(args.threads as usize);
    let bar = progress::bar(packets.len() as u64, "frames", args.quiet);
    let mut totals = Totals::default();
    if args.threads == 1 {
        // Auto: NVDEC when this machine has the GPU path; its frames are sampled on the device
        // and preprocessed there (FrameSink::offer), never copied whole to the host.
        let mut decoder = open_decoder(options)?;
        let mut sampler = sampler;
        let mut on_frame = |frame: Frame| -> Result<()> {
            totals.decoded += 1;
            bar.inc(1);
            if sink.offer(frame, &mut sampler)? {
                totals.sampled += 1;
            }
            Ok(())
        };
        for p in packets {
            // A damaged access unit is counted by the decoder and skipped; decoding goes on.
            let _ = decoder.push(p);
            while let Ok(Some(frame)) = decoder.pull() {
                on_frame(frame)?;
            }
        }
        let _ = decoder.flush();
        while let Ok(Some(frame)) = decoder.pull() {
            on_frame(frame)?;
        }
        totals.decode = decoder.stats();
    } else {
        // Offline extraction keeps every sampled frame: the queue blocks rather than drops.
        let (tx, rx) = DecodeWorker::spawn_sampled(options, sampler, 8, QueuePolicy::Block)?;
        for p in packets {
            tx.send(p)?;
        }
        tx.flush()?;
        drop(tx);
        while let Some(frame) = rx.recv() {
            bar.set_position(rx.stats().decoded);
            totals.sampled += 1;
            sink.frame(&frame.to_host()?)?;
        }
        let stats = rx.stats();
        totals.decoded = stats.decoded;
        totals.dropped = stats.dropped;
        totals.decode = stats.decode;
        if let Some(e) = rx.last_error().filter(|_| totals.decoded == 0) {
            bail!("decoding failed: {e}");
        }
    }
    bar.finish_and_clear();
    sink.writer.finish()?;
    if !args.quiet {
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "ifc extract: {}, {:.1} fps ({:.2} s) -> {}",
            totals.summary(),
            totals.decoded as f64 / secs,
            secs,
            args.out_dir.display()
        );
        if let Some(gpu) = &sink.gpu {
            let c = gpu.stage.counts();
            eprintln!(
                "ifc extract: GPU path: {} frames preprocessed where NVDEC left them, {} dropped by the sampler untouched, {:.2} host copies per frame",
                c.frames_in_place,
                c.frames_dropped_untouched,
                c.host_copies_per_frame()
            );
        }
        if let Some(reason) = &sink.gpu_refused {
            eprintln!("ifc extract: CUDA preprocessing unavailable ({reason}); frames went through the host");
        }
    }
    Ok(())
}

/// The CUDA preprocessing of NVDEC frames: the kernel reads the surface, writes one image.
struct GpuSink {
    stage: ifc::gpu::FrameStage,
    out: ifc::gpu::DeviceBuffer,
}

impl GpuSink {
    fn open(frame: &Frame, spec: &PreprocessSpec) -> Result<Self, String> {
        let ordinal = frame.gpu_view().map(|v| v.device_ordinal).ok_or("not a device frame")?;
        let device = ifc::gpu::Device::open(ordinal).map_err(|e| e.to_string())?;
        let stage = ifc::gpu::FrameStage::new(&device, spec.clone()).map_err(|e| e.to_string())?;
        let out = ifc::gpu::DeviceBuffer::alloc(&device, output_len_bytes(spec, 1)).map_err(|e| e.to_string())?;
        Ok(Self { stage, out })
    }
}

fn sampling_rule(args: &ExtractArgs) -> SamplingRule {
    match (args.every, args.fps, args.keyframes, args.on_change) {
        (Some(n), ..) => SamplingRule::Every(n),
        (_, Some(f), ..) => SamplingRule::TargetFps(f),
        (_, _, true, _) => SamplingRule::KeyframesOnly,
        (.., Some(t)) => SamplingRule::OnChange { threshold: t },
        _ => SamplingRule::Every(1),
    }
}

/// Turns each kept frame into the chosen output.
struct FrameSink {
    writer: FrameWriter,
    preprocessor: Option<Preprocessor>,
    /// Opened on the first NVDEC frame when the output is a preprocessed tensor or image.
    gpu: Option<GpuSink>,
    /// Why CUDA preprocessing could not open (then frames go through the host).
    gpu_refused: Option<String>,
    tensor: Vec<u8>,
    rgb: Vec<u8>,
    /// `--colour-matrix`, for whole-frame images too.
    colour_matrix: Option<ColourMatrix>,
    frame_number: u64,
}

impl FrameSink {
    fn new(args: &ExtractArgs) -> Result<Self> {
        let tensor_output = matches!(args.format, OutputFormat::Npy | OutputFormat::None);
        let spec = match (tensor_output, args.size) {
            (true, size) | (false, size @ Some(_)) => {
                let (w, h) = size.unwrap_or((640, 640));
                let dtype = match (tensor_output, args.dtype) {
                    (false, _) | (true, TensorType::U8) => DType::U8,
                    (true, TensorType::F16) => DType::F16,
                    (true, TensorType::F32) => DType::F32,
                };
                let layout = match (tensor_output, args.layout) {
                    (true, TensorLayout::Nchw) => Layout::Nchw,
                    _ => Layout::Nhwc,
                };
                let fit = if args.letterbox { Fit::default() } else { Fit::Stretch };
                let spec = PreprocessSpec::default()
                    .with_matrix(args.colour_matrix.map(Into::into))
                    .with_output_size(w, h)
                    .with_fit(fit)
                    .with_dtype(dtype)
                    .with_layout(layout);
                // Images keep 0–255 values; tensors are scaled to 0–1.
                Some(if tensor_output { spec } else { spec.with_normalisation(1.0, [0.0; 3], [1.0; 3]) })
            }
            (false, None) => None,
        };
        let tensor = spec.as_ref().map_or(0, |s| output_len_bytes(s, 1));
        Ok(Self {
            writer: FrameWriter::new(&args.out_dir, args.format)?,
            preprocessor: spec.map(Preprocessor::new).transpose()?,
            gpu: None,
            gpu_refused: None,
            tensor: vec![0; tensor],
            rgb: Vec::new(),
            colour_matrix: args.colour_matrix.map(Into::into),
            frame_number: 0,
        })
    }

    /// The sampler decides first. A kept NVDEC frame with a preprocessed output is preprocessed
    /// on the device (only the model input comes back, for the file); anything else is copied
    /// to the host once (device frames) and written by [`FrameSink::frame`]. `true`: kept.
    fn offer(&mut self, frame: Frame, sampler: &mut Sampler) -> Result<bool> {
        let device_path = frame.is_on_device() && self.writer.format() != OutputFormat::Raw && self.gpu_refused.is_none();
        if let (true, Some(spec)) = (device_path, self.preprocessor.as_ref().map(|p| p.spec().clone())) {
            if self.gpu.is_none() {
                match GpuSink::open(&frame, &spec) {
                    Ok(gpu) => self.gpu = Some(gpu),
                    Err(reason) => self.gpu_refused = Some(reason),
                }
            }
            if let Some(gpu) = self.gpu.as_mut() {
                let Some(pending) = gpu.stage.offer(frame, sampler, &gpu.out, 0)? else { return Ok(false) };
                pending.wait()?;
                let n = self.frame_number;
                self.frame_number += 1;
                let (w, h, dtype, layout) = (spec.out_width, spec.out_height, spec.dtype, spec.layout);
                match self.writer.format() {
                    OutputFormat::Npy | OutputFormat::Jpg | OutputFormat::Png => {
                        gpu.out.copy_to_host(0, &mut self.tensor)?;
                    }
                    OutputFormat::Raw | OutputFormat::None => return Ok(true),
                }
                if self.writer.format() == OutputFormat::Npy {
                    self.writer.npy(n, &self.tensor, dtype, layout, w, h)?;
                } else {
                    self.writer.image(n, &self.tensor, w, h)?;
                }
                return Ok(true);
            }
        }
        if !sampler.accept_frame(&frame) {
            return Ok(false);
        }
        self.frame(&frame.to_host()?)?;
        Ok(true)
    }

    fn frame(&mut self, frame: &Frame) -> Result<()> {
        let n = self.frame_number;
        self.frame_number += 1;
        if self.writer.format() == OutputFormat::Raw {
            let fmt = frame.pix_fmt().ffmpeg_name(frame.colour.full_range);
            let rows = (0..frame.pix_fmt().plane_count()).flat_map(|i| frame.plane_rows(i));
            return self.writer.raw(n, frame.pts_90k, (frame.width(), frame.height(), fmt), rows);
        }
        let view = frame.view()?;
        if let Some(pre) = self.preprocessor.as_mut() {
            pre.run(&view, &mut self.tensor, 0)?;
            let spec = pre.spec();
            let (w, h, dtype, layout) = (spec.out_width, spec.out_height, spec.dtype, spec.layout);
            return match self.writer.format() {
                OutputFormat::Npy => self.writer.npy(n, &self.tensor, dtype, layout, w, h),
                OutputFormat::Jpg | OutputFormat::Png => self.writer.image(n, &self.tensor, w, h),
                OutputFormat::Raw | OutputFormat::None => Ok(()),
            };
        }
        self.rgb.resize(frame.width() as usize * frame.height() as usize * 3, 0);
        convert_to_rgb24(&view, self.colour_matrix, &mut self.rgb)?;
        self.writer.image(n, &self.rgb, frame.width(), frame.height())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skipped_packets_count_as_decode_errors_and_damaged_frames_are_counted() {
        // The damaged 1366x768 B-pyramid stream of issue 15: libavcodec flagged nothing, the
        // decoder skipped 88 packets to the next key frame.
        let decode = DecodeStats { skipped_until_keyframe: 88, ..DecodeStats::default() };
        let totals = Totals { decoded: 88, sampled: 88, dropped: 0, decode };
        assert_eq!(
            totals.summary(),
            "decoded 88 frames, kept 88, dropped 0, decode errors 88 (88 packets skipped to the next key frame)"
        );
        // The same stream now: the damaged reference, and the B-pictures decoded after it that
        // libavcodec did not flag, are dropped and counted.
        let decode = DecodeStats {
            decode_errors: 1,
            concealed_or_corrupt_frames: 1,
            damaged_frames: 4,
            skipped_until_keyframe: 49,
            ..DecodeStats::default()
        };
        let totals = Totals { decoded: 66, sampled: 66, dropped: 0, decode };
        assert_eq!(
            totals.summary(),
            "decoded 66 frames, kept 66, dropped 0, decode errors 50 (49 packets skipped to the next key frame), 5 damaged frames dropped"
        );
        let clean = Totals { decoded: 10, sampled: 10, dropped: 0, decode: DecodeStats::default() };
        assert_eq!(clean.summary(), "decoded 10 frames, kept 10, dropped 0, decode errors 0");
    }
}
