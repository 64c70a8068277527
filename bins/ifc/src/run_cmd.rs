//! `ifc run`: a pipeline over a recording or an `rtsp://` camera, through libifc's
//! [`StreamInspection`]: decodes once on its own thread, samples, preprocesses into the model's
//! input buffer, infers on another, judges each frame and writes JSONL, SQLite and NG
//! snapshots. Ctrl-C stops a camera run cleanly.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{anyhow, bail, Context, Result};
use clap::{ArgGroup, Args};
use ifc::codec::FrameRate;
use ifc::inspect::{CountersSnapshot, InspectionOptions, OverloadPolicy, ReconnectPolicy, SourceStatus, StreamInspection, StreamSource};
use ifc::pipeline::{PipelineDocument, SourceKind, ValidationError};
use ifc::postprocess::parse_labels;
use ifc::rtsp::RtspOptions;
use ifc::runner::{
    open_backend, shorthand_document, Clock, FrameOutcome, RunPlan, RunStats, Runner, ShorthandBackend,
    ShorthandOptions,
};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::input::parse_fps;
use crate::run_output::open_sinks;

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("what").required(true).args(["pipeline", "input"])))]
pub struct RunArgs {
    /// A pipeline document (YAML, or JSON when named .json). Paths in it are relative to the
    /// current directory.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["model", "labels", "triton", "model_name", "shared_memory", "ng_class", "out", "colour_matrix"])]
    pub pipeline: Option<PathBuf>,
    /// Shorthand: the recording to inspect (MP4 or raw .h264/.h265), or a camera
    /// (`rtsp://[user:pass@]host[:port]/path`; Ctrl-C ends the run).
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
    /// Shorthand: the colour matrix of streams that do not name theirs: bt601 (the default, as
    /// libswscale, PyAV and OpenCV convert), bt709 or bt2020. Use the one the model's training
    /// frames were converted with; `ifc probe` shows what a stream says.
    #[arg(long, value_name = "MATRIX")]
    pub colour_matrix: Option<ifc::pipeline::ColourMatrix>,
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
        colour_matrix: args.colour_matrix,
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
    let source = stream_source(&plan, args)?;
    let live = matches!(source, StreamSource::Rtsp { .. });
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
    let runner = Runner::new(&plan, binding, backend, labels, sinks, Box::new(InstantClock(started)))?;

    // A file is inspected as fast as it decodes, every frame (back-pressure, results equal a
    // sequential run's); a camera never waits for inference (frames dropped, counted).
    let mut options = InspectionOptions::default();
    options.backend = plan.decode_backend;
    options.overload = if live { OverloadPolicy::DropBeforeInference } else { OverloadPolicy::Block };
    let stop_requested = stop_on_signals()?;
    let bar = progress_bar(args.quiet);
    let status_bar = bar.clone();
    let quiet = args.quiet;
    let on_status = Box::new(move |status: SourceStatus| {
        if live && !quiet {
            status_bar.suspend(|| eprintln!("ifc run: camera {status}"));
        }
    });
    let outcome_bar = bar.clone();
    let mut failures = 0u64;
    let on_outcome = Box::new(move |outcome: &FrameOutcome| {
        if let FrameOutcome::NotInferred(error) = outcome {
            // The first few failures are worth a line each; the rest are in the summary's count.
            failures += 1;
            if failures <= 3 {
                outcome_bar.suspend(|| eprintln!("ifc run: not inferred: {error}"));
            }
        }
    });
    let inspection = StreamInspection::start_with_observer(source, runner, options, on_status, on_outcome)?;
    let counters = inspection.counters();
    let mut stopping = false;
    while !inspection.is_finished() {
        if !stopping && stop_requested.load(Ordering::Relaxed) {
            stopping = true;
            bar.suspend(|| eprintln!("ifc run: stopping (finishing the frames in flight)"));
            inspection.stop();
        }
        std::thread::sleep(Duration::from_millis(50));
        let c = counters.snapshot();
        bar.set_position(c.frames_decoded);
        bar.set_message(format!(
            "OK {} NG {} not inferred {} dropped {}",
            c.ok_frames, c.ng_frames, c.frames_not_inferred, c.frames_dropped
        ));
    }
    bar.finish_and_clear();
    let stats = inspection.join()?;
    if !args.quiet {
        let secs = started.elapsed().as_secs_f64();
        eprintln!("{}", summary(&stats, &counters.snapshot(), secs, &written));
    }
    if stats.frames_inferred == 0 && stats.frames_sampled > 0 {
        bail!("no frame was inferred: {}", stats.errors.first().map(ToString::to_string).unwrap_or_default());
    }
    Ok(())
}

/// Where the document's source node reads from.
fn stream_source(plan: &RunPlan, args: &RunArgs) -> Result<StreamSource> {
    let node = &plan.source.node;
    match node.kind {
        SourceKind::File => {
            let fps = args.input_fps.or_else(|| node.fps.and_then(|f| parse_fps(&f.to_string()).ok()));
            Ok(StreamSource::File { path: PathBuf::from(&node.uri), fps, realtime: false, looped: false })
        }
        SourceKind::Rtsp => Ok(StreamSource::Rtsp {
            url: node.uri.clone(),
            options: RtspOptions::default(),
            reconnect: ReconnectPolicy::default(),
        }),
        SourceKind::Whip => bail!(
            "nodes[{}] (id {:?}).source.kind: ifc run reads files and rtsp:// cameras; WHIP publishing is for ifc serve",
            plan.source.index,
            plan.source.id
        ),
    }
}

/// Ctrl-C or SIGTERM: the first asks the run to stop cleanly (the summary and the sinks are
/// still written); a second Ctrl-C ends the process at once.
pub(crate) fn stop_on_signals() -> Result<Arc<AtomicBool>> {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let flag = Arc::new(AtomicBool::new(false));
    for signal in [SIGINT, SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(signal, 130, Arc::clone(&flag))
            .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&flag)))
            .context("cannot install the Ctrl-C handler")?;
    }
    Ok(flag)
}

fn progress_bar(quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr());
    let template = "{spinner} [{elapsed_precise}] {pos} frames ({per_sec}) {msg}";
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style);
    }
    bar
}

fn summary(stats: &RunStats, counters: &CountersSnapshot, secs: f64, written: &[PathBuf]) -> String {
    // As `ifc extract` counts them: skipped packets are errors (their pictures are lost), so a
    // damaged stream never reads "decode errors 0".
    let skipped = counters.packets_skipped;
    let decode_errors = counters.decode_errors + skipped;
    let ms =
        |p: f64| stats.latency_percentile_ns(p).map_or_else(|| "-".to_owned(), |ns| format!("{:.1}", ns as f64 / 1e6));
    let mut s = format!(
        "ifc run: decoded {} frames (decode errors {decode_errors}{}), inferred {}, not inferred {}; OK {}, NG {}; \
         snapshots {}; latency decode→verdict p50 {} ms, p99 {} ms; {:.1} fps ({:.2} s)",
        stats.frames_decoded,
        if skipped > 0 { format!(", {skipped} packets skipped to the next key frame") } else { String::new() },
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
    if stats.request_bytes_sent > 0 && requests > 0 {
        s.push_str(&format!("; {} request bytes/frame", stats.request_bytes_sent / requests));
    }
    if stats.frames_dropped > 0 {
        s.push_str(&format!("; dropped before inference {}", stats.frames_dropped));
    }
    if counters.frames_damaged > 0 {
        s.push_str(&format!("; {} damaged frames dropped", counters.frames_damaged));
    }
    if let Some(first) = stats.errors.first() {
        s.push_str(&format!("\n  first failure: {first}"));
    }
    for path in written {
        s.push_str(&format!("\n  -> {}", path.display()));
    }
    s
}
