//! `ifc.Pipeline`: a pipeline document run over a recording by libifc's `Runner` (what
//! `ifc run` does), one result per inferred frame.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use ifc::decode::{DecoderOptions, Frame};
use ifc::pipeline::{PipelineDocument, SourceKind, ValidationError};
use ifc::postprocess::parse_labels;
use ifc::runner::{open_backend, Clock, FrameOutcome, RunPlan, Runner};
use pyo3::prelude::*;

use crate::decoder::{open_input, read_source, Opened, Source};
use crate::errors::{error, IntoPyErr, Kind};
use crate::frame::{FrameTiming, PyFrame};
use crate::index::DisplayIndex;
use crate::live::{live_timing, open_live, LiveState};
use crate::seek::Sequential;

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyPipeline>()?;
    m.add_class::<PipelineRun>()?;
    m.add_class::<PipelineResult>()?;
    Ok(())
}

fn list_errors(errors: &[ValidationError]) -> PyErr {
    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
    error(Kind::Pipeline, format!("{} problem(s) in the pipeline: {}", errors.len(), lines.join("; ")))
}

struct InstantClock(Instant);

impl Clock for InstantClock {
    fn now_ns(&self) -> u64 {
        u64::try_from(self.0.elapsed().as_nanos()).unwrap_or(u64::MAX)
    }
}

/// An inspection pipeline (Python: ``ifc.Pipeline``).
#[pyclass(module = "ifc._ifc", name = "Pipeline", frozen)]
pub struct PyPipeline {
    plan: RunPlan,
}

#[pymethods]
impl PyPipeline {
    /// Reads a pipeline document (YAML, or JSON when the name ends in ``.json``) and checks it.
    /// Paths inside it are relative to the current directory, as for ``ifc run``.
    ///
    /// >>> pipeline = ifc.Pipeline.from_file("pipeline.yaml")
    #[staticmethod]
    fn from_file(path: std::path::PathBuf) -> PyResult<Self> {
        let text = std::fs::read_to_string(&path)
            .map_err(|e| error(Kind::Pipeline, format!("cannot read {}: {e}", path.display())))?;
        let doc = if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
            PipelineDocument::from_json_str(&text)
        } else {
            PipelineDocument::from_yaml_str(&text)
        };
        let doc = doc.or_raise_with(Kind::Pipeline, &path.display().to_string())?;
        Self::from_document(doc)
    }

    /// A pipeline from the text of a YAML document.
    #[staticmethod]
    fn from_yaml(text: &str) -> PyResult<Self> {
        Self::from_document(PipelineDocument::from_yaml_str(text).or_raise(Kind::Pipeline)?)
    }

    /// The recording the document's source node names.
    #[getter]
    fn source(&self) -> String {
        self.plan.source.node.uri.clone()
    }

    /// Runs the pipeline over ``source`` (a path, bytes or an ``rtsp://`` URL; default: the
    /// document's source) and iterates the results of the inferred frames. The document's
    /// sinks are not written (``ifc run`` writes them); each result carries what its JSONL
    /// line holds.
    ///
    /// >>> for result in pipeline.run("clip.mp4"):
    /// ...     print(result.frame_index, result.status, len(result.detections))
    #[pyo3(signature = (source=None, *, fps=None))]
    fn run(&self, py: Python<'_>, source: Option<&Bound<'_, PyAny>>, fps: Option<f64>) -> PyResult<PipelineRun> {
        let (source, name) = match source {
            Some(s) => read_source(s)?,
            None if self.plan.source.node.kind == SourceKind::Rtsp => {
                (Source::Live(self.plan.source.node.uri.clone()), "<rtsp source>".to_owned())
            }
            None => (Source::Path(self.plan.source.node.uri.clone().into()), self.plan.source.node.uri.clone()),
        };
        let fps = match fps {
            Some(f) => Some(f),
            None => self.plan.source.node.fps,
        };
        let fps = crate::decoder::parse_fps(fps)?;
        let plan = self.plan.clone();
        let started = Instant::now();
        let (runner, frames) = py
            .detach(move || -> Result<_, (Kind, String)> {
                let node = &plan.infer;
                let backend = open_backend(&node.node)
                    .map_err(|e| (Kind::Inference, format!("nodes[{}] (id {:?}).infer: {e}", node.index, node.id)))?;
                let binding = plan.bind_model(backend.metadata()).map_err(|errors| {
                    let lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
                    (Kind::Pipeline, lines.join("; "))
                })?;
                let labels = match &plan.postprocess.node.labels {
                    Some(path) => {
                        let text = std::fs::read_to_string(path)
                            .map_err(|e| (Kind::Pipeline, format!("cannot read labels {path}: {e}")))?;
                        Some(parse_labels(&text).map_err(|e| (Kind::Pipeline, format!("labels {path}: {e}")))?)
                    }
                    None => None,
                };
                let runner = Runner::new(&plan, binding, backend, labels, Vec::new(), Box::new(InstantClock(started)))
                    .map_err(|e| (Kind::Preprocess, e.to_string()))?;
                let frames = match source {
                    Source::Live(url) => {
                        let timeout = std::time::Duration::from_secs(10);
                        // TODO(issue 15): carry the PyErr itself, so Ctrl-C is KeyboardInterrupt here too.
                        let (live, config, framerate) = open_live(&url, timeout, 1, plan.decode_backend)
                            .map_err(|e| (Kind::Source, e.to_string()))?;
                        let fps = framerate.or(config.params.frame_rate.map(|r| r.as_f64())).unwrap_or(0.0);
                        Frames::Live {
                            live: Box::new(live),
                            frame_seconds: if fps > 0.0 { 1.0 / fps } else { f64::NAN },
                        }
                    }
                    source => {
                        let input = open_input(source, &name, fps).map_err(|e| (Kind::Source, e))?;
                        let options =
                            DecoderOptions::from_config(input.config.clone()).with_backend(plan.decode_backend);
                        let index = DisplayIndex::new(&input);
                        let opened = Arc::new(Opened { input: Arc::new(input), index: Arc::new(index), options });
                        let sequential = Sequential::new(opened.input.clone(), opened.options.clone())
                            .map_err(|e| (Kind::Decode, e))?;
                        Frames::File { opened, sequential }
                    }
                };
                Ok((runner, frames))
            })
            .map_err(|(kind, message)| error(kind, message))?;
        Ok(PipelineRun {
            state: Mutex::new(RunState { runner, frames, decoded: 0, finished: false }),
            clock: InstantClock(started),
        })
    }
}

impl PyPipeline {
    fn from_document(doc: PipelineDocument) -> PyResult<Self> {
        let plan = RunPlan::from_document(&doc).map_err(|e| list_errors(&e))?;
        if plan.source.node.kind == SourceKind::Whip {
            return Err(error(
                Kind::Unsupported,
                format!(
                    "nodes[{}] (id {:?}).source.kind: WHIP streams are received by ifc serve; from Python, run over a recording or an rtsp:// camera",
                    plan.source.index, plan.source.id
                ),
            ));
        }
        Ok(Self { plan })
    }
}

/// Where a run's frames come from.
enum Frames {
    File { opened: Arc<Opened>, sequential: Sequential },
    Live { live: Box<LiveState>, frame_seconds: f64 },
}

impl Frames {
    /// The next decoded frame and its place; `n`: frames decoded so far.
    fn next(&mut self, n: usize) -> Result<Option<(Frame, FrameTiming)>, (Kind, String)> {
        match self {
            Frames::File { opened, sequential } => Ok(sequential.next_frame().map(|f| {
                let timing = opened.timing(&f, n);
                (f, timing)
            })),
            Frames::Live { live, frame_seconds } => match live.next_frame() {
                Ok(next) => Ok(next.map(|(f, i)| {
                    let timing = live_timing(&f, i, *frame_seconds);
                    (f, timing)
                })),
                // The PyErr's own class (DecodeError, SourceError, KeyboardInterrupt) is lost here.
                Err(e) => Err((Kind::Source, e.to_string())),
            },
        }
    }
}

struct RunState {
    runner: Runner,
    frames: Frames,
    decoded: usize,
    finished: bool,
}

/// The results of a running pipeline, in frame order (Python: iterate ``Pipeline.run(...)``).
#[pyclass(module = "ifc._ifc", name = "PipelineRun", frozen)]
pub struct PipelineRun {
    state: Mutex<RunState>,
    clock: InstantClock,
}

#[pymethods]
impl PipelineRun {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<PipelineResult>> {
        let next = py.detach(|| -> Result<Option<_>, (Kind, String)> {
            let mut state =
                self.state.lock().map_err(|_| (Kind::Pipeline, "the run failed in another thread".into()))?;
            loop {
                if state.finished {
                    return Ok(None);
                }
                let n = state.decoded;
                let Some((frame, timing)) = state.frames.next(n)? else {
                    state.finished = true;
                    let stats = state.runner.finish().map_err(|e| (Kind::Pipeline, e.to_string()))?;
                    if stats.frames_inferred == 0 && stats.frames_sampled > 0 {
                        let first = stats.errors.first().map(ToString::to_string).unwrap_or_default();
                        return Err((Kind::Inference, format!("no frame was inferred: {first}")));
                    }
                    return Ok(None);
                };
                state.decoded += 1;
                let decoded_at = self.clock.now_ns();
                match state.runner.push_frame(&frame, decoded_at).map_err(|e| (Kind::Pipeline, e.to_string()))? {
                    FrameOutcome::Inferred(record) => {
                        let line = record.to_json_line().map_err(|e| (Kind::Pipeline, e.to_string()))?;
                        return Ok(Some((frame, timing, line)));
                    }
                    FrameOutcome::Skipped | FrameOutcome::NotInferred { .. } => {}
                }
            }
        });
        let Some((frame, timing, line)) = next.map_err(|(kind, message)| error(kind, message))? else {
            return Ok(None);
        };
        let record = py.import("json")?.call_method1("loads", (line,))?.unbind();
        let frame = Py::new(py, PyFrame::new(frame, timing))?;
        Ok(Some(PipelineResult { record, frame }))
    }

    /// Counts so far, as ``ifc run``'s summary gives them.
    #[getter]
    fn stats(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        let state = self.state.lock().map_err(|_| error(Kind::Pipeline, "the run failed in another thread"))?;
        let s = state.runner.stats();
        let dict = pyo3::types::PyDict::new(py);
        dict.set_item("frames_decoded", s.frames_decoded)?;
        dict.set_item("frames_sampled", s.frames_sampled)?;
        dict.set_item("frames_inferred", s.frames_inferred)?;
        dict.set_item("frames_not_inferred", s.frames_not_inferred)?;
        dict.set_item("ok_frames", s.ok_frames)?;
        dict.set_item("ng_frames", s.ng_frames)?;
        Ok(dict.into_any().unbind())
    }
}

/// One inferred frame: detections, verdict and the frame itself (Python: ``ifc.PipelineResult``).
#[pyclass(module = "ifc._ifc", name = "PipelineResult", frozen)]
pub struct PipelineResult {
    record: Py<PyAny>,
    frame: Py<PyFrame>,
}

impl PipelineResult {
    fn field(&self, py: Python<'_>, name: &str) -> PyResult<Py<PyAny>> {
        Ok(self.record.bind(py).get_item(name)?.unbind())
    }
}

#[pymethods]
impl PipelineResult {
    /// The result as ``ifc run`` writes it to ``results.jsonl`` (a fresh dict).
    fn to_dict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(py.import("copy")?.call_method1("deepcopy", (self.record.bind(py),))?.unbind())
    }

    /// Position among decoded frames (display order, from 0).
    #[getter]
    fn frame_index(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.field(py, "frame_index")
    }

    #[getter]
    fn pts_seconds(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.field(py, "pts_s")
    }

    /// Detections, best first, boxes in frame pixels (dicts as in ``results.jsonl``).
    #[getter]
    fn detections(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.field(py, "detections")
    }

    /// The frame's verdict: ``{"status": "ok" | "ng", "fired": [...]}``.
    #[getter]
    fn verdict(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        self.field(py, "verdict")
    }

    /// ``"ok"`` or ``"ng"``.
    #[getter]
    fn status(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        Ok(self.record.bind(py).get_item("verdict")?.get_item("status")?.unbind())
    }

    /// The decoded frame the result is about.
    #[getter]
    fn frame(&self, py: Python<'_>) -> Py<PyFrame> {
        self.frame.clone_ref(py)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let r = self.record.bind(py);
        Ok(format!(
            "PipelineResult(frame_index={}, status={}, detections={})",
            r.get_item("frame_index")?,
            r.get_item("verdict")?.get_item("status")?,
            r.get_item("detections")?.len()?
        ))
    }
}
