//! `ifc run`: a pipeline over a recorded file. Decodes once, samples, preprocesses into the
//! model's input buffer, infers, judges each frame and writes JSONL, SQLite and NG snapshots.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use clap::{ArgGroup, Args};
use ifc::codec::FrameRate;
use ifc::decode::{open_decoder, DecoderOptions, Frame};
use ifc::pipeline::{PipelineDocument, SourceKind, ValidationError};
use ifc::postprocess::parse_labels;
use ifc::remux::{sample_packet, SourceItem};
use ifc::runner::{
    open_backend, shorthand_document, Clock, FrameOutcome, RunPlan, RunStats, Runner, ShorthandBackend,
    ShorthandOptions,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::input::{parse_fps, read_input};
use crate::run_output::open_sinks;
use crate::source::{decode_all, nothing_decodable, run_source};

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("what").required(true).args(["pipeline", "input"])))]
pub struct RunArgs {
    /// A pipeline document (YAML, or JSON when named .json). Paths in it are relative to the
    /// current directory.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["model", "labels", "triton", "model_name", "shared_memory", "ng_class", "out"])]
    pub pipeline: Option<PathBuf>,
    /// Shorthand: the recording to inspect (MP4 or raw .h264/.h265).
    #[arg(long, value_name = "CLIP", requires = "model_or_triton")]
    pub input: Option<PathBuf>,
    /// Shorthand: the ONNX model, run in process.
    #[arg(long, value_name = "MODEL.onnx", group = "model_or_triton", conflicts_with = "triton")]
    pub model: Option<PathBuf>,
    /// Shorthand: class names (plain lines, YAML/JSON list or Ultralytics `names:`).
    /// Default: MODEL.yaml beside the model, when it exists.
    #[arg(long, value_name = "FILE")]
    pub labels: Option<PathBuf>,
    /// Shorthand: a Triton server's gRPC endpoint (host:port) instead of --model.
    #[arg(long, value_name = "URL", group = "model_or_triton", requires = "model_name")]
    pub triton: Option<String>,
    /// Shorthand: the model's name on the Triton server.
    #[arg(long, value_name = "NAME", requires = "triton")]
    pub model_name: Option<String>,
    /// Shorthand: hand tensors to Triton through a system shared-memory region instead of
    /// sending them in each request (the server must run on this host).
    #[arg(long, requires = "triton")]
    pub shared_memory: bool,
    /// Shorthand: a class whose detection (score ≥ 0.5) makes a frame NG; repeat for more.
    /// Default: every class of the labels except the first (the first is the good part).
    #[arg(long, value_name = "CLASS")]
    pub ng_class: Vec<String>,
    /// Shorthand: where results go. Default: ifc-out/<input stem>/.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Frame rate of a raw stream without VUI timing (25, 29.97, 30000/1001).
    #[arg(long, value_parser = parse_fps)]
    pub input_fps: Option<FrameRate>,
    /// Print the pipeline document the arguments stand for, and exit.
    #[arg(long)]
    pub print_pipeline: bool,
    /// No progress bar and no summary.
    #[arg(long, short)]
    pub quiet: bool,
}

struct InstantClock(Instant);

impl Clock for InstantClock {
    fn now_ns(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

fn list_errors(errors: &[ValidationError]) -> anyhow::Error {
    let mut s = format!("{} problem{} in the pipeline:", errors.len(), if errors.len() == 1 { "" } else { "s" });
    for e in errors {
        s.push_str("\n  ");
        s.push_str(&e.to_string());
    }
    anyhow!(s)
}

/// The document the arguments describe.
fn document(args: &RunArgs) -> Result<PipelineDocument> {
    if let Some(path) = &args.pipeline {
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let doc = if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
            PipelineDocument::from_json_str(&text)
        } else {
            PipelineDocument::from_yaml_str(&text)
        };
        return doc.with_context(|| format!("{}", path.display()));
    }
    let input = args.input.as_ref().ok_or_else(|| anyhow!("give --pipeline FILE or --input CLIP"))?;
    let labels = args.labels.clone().or_else(|| {
        let beside = args.model.as_ref()?.with_extension("yaml");
        beside.is_file().then_some(beside)
    });
    let ng_classes = if args.ng_class.is_empty() {
        let path = labels
            .as_ref()
            .ok_or_else(|| anyhow!("no labels to choose NG classes from: give --labels FILE or --ng-class CLASS"))?;
        let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let names = parse_labels(&text).with_context(|| format!("{}", path.display()))?;
        let ng: Vec<String> = names.names().iter().skip(1).cloned().collect();
        if ng.is_empty() {
            bail!("{}: one class only, so nothing can be NG: give --ng-class CLASS", path.display());
        }
        ng
    } else {
        args.ng_class.clone()
    };
    let backend = match (&args.model, &args.triton, &args.model_name) {
        (Some(model), _, _) => ShorthandBackend::Embedded { model: path_str(model)? },
        (None, Some(url), Some(name)) => {
            ShorthandBackend::Triton { url: url.clone(), model_name: name.clone(), shared_memory: args.shared_memory }
        }
        _ => bail!("give --model MODEL.onnx, or --triton URL with --model-name NAME"),
    };
    let out = match &args.out {
        Some(dir) => dir.clone(),
        None => {
            let stem = input.file_stem().map_or_else(|| "input".into(), |s| s.to_string_lossy().into_owned());
            Path::new("ifc-out").join(stem)
        }
    };
    Ok(shorthand_document(&ShorthandOptions {
        input: path_str(input)?,
        backend,
        labels: labels.as_deref().map(path_str).transpose()?,
        ng_classes,
        out_dir: path_str(&out)?.trim_end_matches('/').to_owned(),
    }))
}

fn path_str(p: &Path) -> Result<String> {
    p.to_str().map(str::to_owned).ok_or_else(|| anyhow!("{}: the path is not UTF-8", p.display()))
}

pub fn run(args: &RunArgs) -> Result<()> {
    let started = Instant::now();
    let doc = document(args)?;
    if args.print_pipeline {
        print!("{}", doc.to_yaml_string()?);
        return Ok(());
    }
    let plan = RunPlan::from_document(&doc).map_err(|e| list_errors(&e))?;
    if plan.source.node.kind != SourceKind::File {
        bail!(
            "nodes[{}] (id {:?}).source.kind: ifc run reads files; live sources are for ifc serve",
            plan.source.index,
            plan.source.id
        );
    }
    let backend = open_backend(&plan.infer.node)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("nodes[{}] (id {:?}).infer", plan.infer.index, plan.infer.id))?;
    let binding = plan.bind_model(backend.metadata()).map_err(|e| list_errors(&e))?;
    let labels = match &plan.postprocess.node.labels {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read labels {path}"))?;
            Some(parse_labels(&text).with_context(|| {
                format!("nodes[{}] (id {:?}).postprocess.labels: {path}", plan.postprocess.index, plan.postprocess.id)
            })?)
        }
        None => None,
    };
    let unix_ms = SystemTime::now().duration_since(UNIX_EPOCH).ok().and_then(|d| i64::try_from(d.as_millis()).ok());
    let (sinks, written) = open_sinks(&plan, &doc, backend.backend_name(), unix_ms)?;
    let clock = InstantClock(started);
    let clock_for_decode = InstantClock(started);
    let mut runner = Runner::new(&plan, binding, backend, labels, sinks, Box::new(clock))?;

    // Read the source: configuration and samples (Bytes slices of the file).
    let input = PathBuf::from(&plan.source.node.uri);
    let (kind, data) = read_input(&input)?;
    let fps = args.input_fps.or_else(|| plan.source.node.fps.and_then(|f| parse_fps(&f.to_string()).ok()));
    let mut config = None;
    let mut packets = Vec::new();
    let source = run_source(kind, data, fps, true, |item, timescale| {
        match item {
            SourceItem::Config(c) => {
                config.get_or_insert(c);
            }
            SourceItem::Sample(s) => packets.push(sample_packet(&s, timescale)),
        }
        Ok(())
    })?;
    let Some(config) = config else { return Err(nothing_decodable(&input, &source)) };
    let options = DecoderOptions::from_config(config).with_backend(plan.decode_backend);
    let mut decoder = open_decoder(options)?;

    let bar = progress_bar(packets.len() as u64, args.quiet);
    decode_all(decoder.as_mut(), packets, |frame: Frame| {
        let decoded_at = clock_for_decode.now_ns();
        if let FrameOutcome::NotInferred { reason, .. } = runner.push_frame(&frame, decoded_at)? {
            bar.suspend(|| tracing_free_warn(&reason, runner.stats()));
        }
        bar.inc(1);
        let s = runner.stats();
        bar.set_message(format!("OK {} NG {} not inferred {}", s.ok_frames, s.ng_frames, s.frames_not_inferred));
        Ok(())
    })?;
    bar.finish_and_clear();
    let stats = runner.finish()?.clone();
    if !args.quiet {
        let secs = started.elapsed().as_secs_f64();
        let sent = runner.request_bytes_sent();
        eprintln!("{}", summary(&stats, decoder.stats().decode_errors, secs, sent, &written));
    }
    if stats.frames_inferred == 0 && stats.frames_sampled > 0 {
        bail!("no frame was inferred: {}", stats.errors.first().map_or("", String::as_str));
    }
    Ok(())
}

/// The first few failures are worth a line each; the rest are in the summary's count.
fn tracing_free_warn(reason: &str, stats: &RunStats) {
    if stats.frames_not_inferred <= 3 {
        eprintln!("ifc run: not inferred: {reason}");
    }
}

fn progress_bar(total: u64, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    let template = "{spinner} [{elapsed_precise}] {wide_bar} {pos}/{len} frames ({per_sec}) {msg}";
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

fn summary(stats: &RunStats, decode_errors: u64, secs: f64, request_bytes: u64, written: &[PathBuf]) -> String {
    let ms =
        |p: f64| stats.latency_percentile_ns(p).map_or_else(|| "-".to_owned(), |ns| format!("{:.1}", ns as f64 / 1e6));
    let mut s = format!(
        "ifc run: decoded {} frames (decode errors {decode_errors}), inferred {}, not inferred {}; OK {}, NG {}; \
         snapshots {}; latency decode→verdict p50 {} ms, p99 {} ms; {:.1} fps ({:.2} s)",
        stats.frames_decoded,
        stats.frames_inferred,
        stats.frames_not_inferred,
        stats.ok_frames,
        stats.ng_frames,
        stats.snapshots_written,
        ms(50.0),
        ms(99.0),
        if secs > 0.0 { stats.frames_decoded as f64 / secs } else { 0.0 },
        secs,
    );
    let requests = stats.frames_inferred + stats.frames_not_inferred;
    if request_bytes > 0 && requests > 0 {
        s.push_str(&format!("; {} request bytes/frame", request_bytes / requests));
    }
    if let Some(first) = stats.errors.first() {
        s.push_str(&format!("\n  first failure: {first}"));
    }
    for path in written {
        s.push_str(&format!("\n  -> {}", path.display()));
    }
    s
}
