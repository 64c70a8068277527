//! `ifc.VideoDecoder`: a recording opened for exact, random-access decoding.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use ifc::codec::FrameRate;
use ifc::decode::{BackendPreference, DecoderOptions, Frame};
use ifc::remux::{input_kind, VideoInput};
use pyo3::prelude::*;
use pyo3::types::{PyByteArray, PyBytes, PySlice};

use crate::errors::{error, IntoPyErr, Kind};
use crate::frame::{FrameTiming, PyFrame};
use crate::index::DisplayIndex;
use crate::live::{open_live, LiveFrameIterator, SharedLive};
use crate::metadata::VideoMetadata;
use crate::seek::{Seeker, Sequential};

/// Where frames come from, as the user gave it.
pub enum Source {
    Path(PathBuf),
    Bytes(Bytes),
    /// An `rtsp://` URL: a camera, read as it plays.
    Live(String),
}

/// Reads `source` (a path, bytes, or a URL) into memory and works out what it is.
pub fn read_source(source: &Bound<'_, PyAny>) -> PyResult<(Source, String)> {
    if let Ok(bytes) = source.cast::<PyBytes>() {
        return Ok((Source::Bytes(Bytes::copy_from_slice(bytes.as_bytes())), "<bytes>".into()));
    }
    if let Ok(bytes) = source.cast::<PyByteArray>() {
        return Ok((Source::Bytes(Bytes::from(bytes.to_vec())), "<bytes>".into()));
    }
    if let Ok(text) = source.extract::<String>() {
        let lower = text.to_ascii_lowercase();
        if lower.starts_with("rtsp") && lower.contains("://") {
            // The URL may hold a password: it stays out of the name shown in messages.
            let name = ifc::rtsp::RtspUrl::parse(&text).map_or_else(|_| "<rtsp url>".to_owned(), |u| u.to_string());
            return Ok((Source::Live(text), name));
        }
        if let Some((scheme, _)) = lower.split_once("://") {
            return Err(error(
                Kind::Unsupported,
                format!("{scheme}:// sources: ifc reads files, bytes and rtsp:// URLs"),
            ));
        }
    }
    let os = source.py().import("os")?;
    let path: PathBuf = os.call_method1("fspath", (source,)).and_then(|p| p.extract()).map_err(|_| {
        error(Kind::Argument, format!("source must be a path, bytes or a URL, not {}", source.get_type()))
    })?;
    let name = path.display().to_string();
    Ok((Source::Path(path), name))
}

/// Reads and indexes the whole input (without the GIL).
pub fn open_input(source: Source, name: &str, fps: Option<FrameRate>) -> Result<VideoInput, String> {
    let (extension, data) = match source {
        Source::Path(path) => {
            let data = std::fs::read(&path).map_err(|e| format!("{name}: cannot read: {e}"))?;
            let ext = path.extension().and_then(|e| e.to_str()).map(str::to_owned);
            (Some(ext.unwrap_or_default()), Bytes::from(data))
        }
        Source::Bytes(data) => (None, data),
        Source::Live(_) => return Err(format!("{name}: a live stream cannot be read whole")),
    };
    if data.is_empty() {
        return Err(format!("{name}: empty input"));
    }
    let kind = input_kind(extension.as_deref(), &data[..data.len().min(16)]).map_err(|e| format!("{name}: {e}"))?;
    let input = VideoInput::read(kind, data, fps).map_err(|e| format!("{name}: {e}"))?;
    if input.samples.is_empty() {
        return Err(format!("{name}: no video samples"));
    }
    Ok(input)
}

/// `device=`: the backend, and for `"cuda"`/`"cuda:N"` the NVDEC device (probed first: a
/// machine without the GPU path raises `DeviceUnavailableError`).
pub fn parse_device(device: &str) -> PyResult<(BackendPreference, Option<u32>)> {
    match device {
        "auto" | "cpu" => Ok((BackendPreference::PreferSoftware, None)),
        d if d == "cuda" || d.starts_with("cuda:") => {
            Ok((BackendPreference::PreferHardware, Some(crate::cuda::cuda_ordinal(d)?)))
        }
        d => Err(error(Kind::Argument, format!("device={d:?}: expected \"auto\", \"cpu\" or \"cuda\""))),
    }
}

pub fn parse_fps(fps: Option<f64>) -> PyResult<Option<FrameRate>> {
    fps.map(|f| {
        if !(f.is_finite() && f > 0.0 && f <= 1000.0) {
            return Err(error(Kind::Argument, format!("fps={f}: expected a rate in (0, 1000]")));
        }
        // Exact for integers and the NTSC rates given as x/1001 decimals.
        let ntsc = (f * 1001.0 / 1000.0).round();
        let rate = if f.fract() != 0.0 && (ntsc * 1000.0 / 1001.0 - f).abs() < 0.005 {
            FrameRate::new(ntsc as u32 * 1000, 1001)
        } else {
            FrameRate::new((f * 1000.0).round() as u32, 1000)
        };
        rate.ok_or_else(|| error(Kind::Argument, format!("fps={f}")))
    })
    .transpose()
}

/// Shared by a decoder and its iterators.
pub struct Opened {
    pub input: Arc<VideoInput>,
    pub index: Arc<DisplayIndex>,
    pub options: DecoderOptions,
}

impl Opened {
    pub fn wrap(&self, frame: Frame, fallback_index: usize) -> PyFrame {
        let timing = self.timing(&frame, fallback_index);
        PyFrame::new(frame, timing)
    }

    /// Where `frame` sits in the recording (by its pts; `fallback_index` when not indexed).
    pub fn timing(&self, frame: &Frame, fallback_index: usize) -> FrameTiming {
        let display = frame.pts_90k.and_then(|p| self.index.by_pts_90k(p));
        match display.and_then(|d| self.index.entries.get(d).map(|e| (d, e))) {
            Some((d, e)) => FrameTiming {
                index: d,
                pts_seconds: self.index.seconds(e.pts_ticks),
                duration_seconds: self.index.seconds(i64::from(e.duration_ticks)),
            },
            None => FrameTiming {
                index: fallback_index,
                pts_seconds: frame.pts_90k.map_or(f64::NAN, |p| p as f64 / 90_000.0),
                duration_seconds: f64::NAN,
            },
        }
    }
}

/// What a decoder reads: a recording (random access) or a live stream (iteration only).
enum Opening {
    File { opened: Arc<Opened>, seeker: Box<Mutex<Seeker>> },
    Live { live: SharedLive, frame_seconds: f64 },
}

/// A video opened for decoding (Python: ``ifc.VideoDecoder``).
#[pyclass(module = "ifc._ifc", name = "VideoDecoder", frozen)]
pub struct PyVideoDecoder {
    opening: Opening,
    metadata: Py<VideoMetadata>,
}

impl PyVideoDecoder {
    /// The recording, or the error random access on a live stream gets.
    fn file(&self) -> PyResult<(&Arc<Opened>, &Mutex<Seeker>)> {
        match &self.opening {
            Opening::File { opened, seeker } => Ok((opened, seeker)),
            Opening::Live { .. } => Err(error(
                Kind::Unsupported,
                "a live stream has no frame indices: iterate over it (`for frame in decoder`), or record it to read it at random",
            )),
        }
    }

    fn frames(&self, py: Python<'_>, indices: &[usize]) -> PyResult<Vec<PyFrame>> {
        let (opened, seeker) = self.file()?;
        let mut order: Vec<usize> = (0..indices.len()).collect();
        order.sort_by_key(|&i| indices[i]);
        let decoded: Result<Vec<(usize, Frame)>, String> = py.detach(|| {
            let mut seeker = seeker.lock().map_err(|_| "the decoder failed in another thread".to_owned())?;
            let mut out = Vec::with_capacity(indices.len());
            for &i in &order {
                out.push((i, seeker.frame(indices[i])?));
            }
            Ok(out)
        });
        let mut decoded = decoded.or_raise(Kind::Decode)?;
        decoded.sort_by_key(|(i, _)| *i);
        Ok(decoded.into_iter().map(|(i, f)| opened.wrap(f, indices[i])).collect())
    }

    fn check_index(&self, i: i64) -> PyResult<usize> {
        let n = self.file()?.0.index.len() as i64;
        let j = if i < 0 { i + n } else { i };
        if (0..n).contains(&j) {
            Ok(j as usize)
        } else {
            Err(error(Kind::Index, format!("frame index {i} is out of range for a video of {n} frames")))
        }
    }

    fn open_file(
        py: Python<'_>,
        source: Source,
        name: &str,
        fps: Option<FrameRate>,
        threads: usize,
        backend: BackendPreference,
        cuda: Option<u32>,
    ) -> PyResult<Self> {
        let input = py.detach(|| open_input(source, name, fps)).or_raise(Kind::Source)?;
        let index = DisplayIndex::new(&input);
        let metadata = VideoMetadata::new(&input, &index);
        let mut options = DecoderOptions::from_config(input.config.clone()).with_threads(threads).with_backend(backend);
        if let Some(ordinal) = cuda {
            options = options.with_nvdec(ifc::decode::NvdecOptions::default().with_device_ordinal(ordinal));
        }
        let opened = Opened { input: Arc::new(input), index: Arc::new(index), options };
        let seeker = Seeker::new(opened.input.clone(), opened.index.clone(), opened.options.clone());
        Ok(Self {
            opening: Opening::File { opened: Arc::new(opened), seeker: Box::new(Mutex::new(seeker)) },
            metadata: Py::new(py, metadata)?,
        })
    }

    fn open_live(
        py: Python<'_>,
        url: &str,
        timeout: Duration,
        threads: usize,
        backend: BackendPreference,
    ) -> PyResult<Self> {
        let (state, config, framerate) = py.detach(|| open_live(url, timeout, threads, backend))?;
        let metadata = VideoMetadata::live(&config, framerate);
        let frame_seconds = if metadata.fps > 0.0 { 1.0 / metadata.fps } else { f64::NAN };
        Ok(Self {
            opening: Opening::Live { live: Arc::new(Mutex::new(Some(state))), frame_seconds },
            metadata: Py::new(py, metadata)?,
        })
    }
}

#[pymethods]
impl PyVideoDecoder {
    #[new]
    #[pyo3(signature = (source, *, device="auto", threads=1, fps=None, timeout=10.0))]
    fn new(
        py: Python<'_>,
        source: &Bound<'_, PyAny>,
        device: &str,
        threads: usize,
        fps: Option<f64>,
        timeout: f64,
    ) -> PyResult<Self> {
        let (backend, cuda) = parse_device(device)?;
        if !(1..=64).contains(&threads) {
            return Err(error(Kind::Argument, format!("threads={threads}: expected 1 to 64")));
        }
        let fps = parse_fps(fps)?;
        if !(timeout.is_finite() && timeout > 0.0 && timeout <= 3600.0) {
            return Err(error(Kind::Argument, format!("timeout={timeout}: expected seconds in (0, 3600]")));
        }
        match read_source(source)? {
            (Source::Live(url), _) if cuda.is_some() => {
                Err(error(Kind::Unsupported, format!("{url}: live cameras decode on the CPU (device=\"cpu\")")))
            }
            (Source::Live(url), _) => Self::open_live(py, &url, Duration::from_secs_f64(timeout), threads, backend),
            (source, name) => Self::open_file(py, source, &name, fps, threads, backend, cuda),
        }
    }

    /// Codec, size, frame rate, duration and colour description.
    #[getter]
    fn metadata(&self, py: Python<'_>) -> Py<VideoMetadata> {
        self.metadata.clone_ref(py)
    }

    fn __len__(&self) -> PyResult<usize> {
        match &self.opening {
            Opening::File { opened, .. } => Ok(opened.index.len()),
            Opening::Live { .. } => Err(pyo3::exceptions::PyTypeError::new_err(
                "a live stream has no length: iterate over it (`for frame in decoder`)",
            )),
        }
    }

    fn __getitem__(&self, py: Python<'_>, key: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let n = self.file()?.0.index.len() as isize;
        if let Ok(slice) = key.cast::<PySlice>() {
            let s = slice.indices(n)?;
            let indices: Vec<usize> = (0..s.slicelength).map(|k| (s.start + k as isize * s.step) as usize).collect();
            let frames = self.frames(py, &indices)?;
            return batch(py, frames);
        }
        let i: i64 = key.extract().map_err(|_| {
            error(Kind::Argument, format!("frame indices are integers or slices, not {}", key.get_type()))
        })?;
        let i = self.check_index(i)?;
        let frame = self.frames(py, &[i])?.pop().ok_or_else(|| error(Kind::Decode, "no frame"))?;
        Ok(Py::new(py, frame)?.into_any())
    }

    /// The frames at these display indices, as an ``ifc.FrameBatch`` in the order given.
    fn get_frames_at(&self, py: Python<'_>, indices: Vec<i64>) -> PyResult<Py<PyAny>> {
        let indices = indices.into_iter().map(|i| self.check_index(i)).collect::<PyResult<Vec<_>>>()?;
        let frames = self.frames(py, &indices)?;
        batch(py, frames)
    }

    /// The frames shown at these times (seconds), as an ``ifc.FrameBatch``.
    fn get_frames_played_at(&self, py: Python<'_>, seconds: Vec<f64>) -> PyResult<Py<PyAny>> {
        let index = &self.file()?.0.index;
        let indices = seconds
            .iter()
            .map(|&t| {
                index.played_at(t).ok_or_else(|| {
                    let (start, duration) = index.span_seconds();
                    error(
                        Kind::Index,
                        format!("no frame is shown at {t} s: the video plays from {start} s for {duration} s"),
                    )
                })
            })
            .collect::<PyResult<Vec<_>>>()?;
        let frames = self.frames(py, &indices)?;
        batch(py, frames)
    }

    fn __iter__(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        match &self.opening {
            Opening::File { opened, .. } => {
                let sequential =
                    Sequential::new(opened.input.clone(), opened.options.clone()).or_raise(Kind::Decode)?;
                let it = FrameIterator { opened: opened.clone(), state: Mutex::new((sequential, 0)) };
                Ok(Py::new(py, it)?.into_any())
            }
            // One stream: every iterator continues where the last one stopped.
            Opening::Live { live, frame_seconds } => {
                let it = LiveFrameIterator { live: live.clone(), frame_seconds: *frame_seconds };
                Ok(Py::new(py, it)?.into_any())
            }
        }
    }

    /// Ends a live stream's session (RTSP TEARDOWN); a recording has nothing to release.
    /// Also called on leaving a ``with`` block.
    fn close(&self, py: Python<'_>) {
        if let Opening::Live { live, .. } = &self.opening {
            py.detach(|| {
                if let Ok(mut state) = live.lock() {
                    state.take();
                }
            });
        }
    }

    fn __enter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    #[pyo3(signature = (*_exc))]
    fn __exit__(&self, py: Python<'_>, _exc: &Bound<'_, pyo3::types::PyTuple>) -> bool {
        self.close(py);
        false
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let m = self.metadata.borrow(py);
        if m.is_live {
            return format!("VideoDecoder(live {} {}x{}, {:.3} fps)", m.codec, m.width, m.height, m.fps);
        }
        format!("VideoDecoder({} {}x{}, {} frames, {:.3} fps)", m.codec, m.width, m.height, m.num_frames, m.fps)
    }
}

/// Frames one after another, decoded once (Python: the iterator of a ``VideoDecoder``).
#[pyclass(module = "ifc._ifc", name = "FrameIterator", frozen)]
pub struct FrameIterator {
    opened: Arc<Opened>,
    state: Mutex<(Sequential, usize)>,
}

#[pymethods]
impl FrameIterator {
    fn __iter__(slf: Py<Self>) -> Py<Self> {
        slf
    }

    fn __next__(&self, py: Python<'_>) -> PyResult<Option<PyFrame>> {
        let next = py.detach(|| -> Result<Option<(Frame, usize)>, String> {
            let mut state = self.state.lock().map_err(|_| "the iterator failed in another thread".to_owned())?;
            let frame = state.0.next_frame();
            let n = state.1;
            state.1 += 1;
            Ok(frame.map(|f| (f, n)))
        });
        Ok(next.or_raise(Kind::Decode)?.map(|(frame, n)| self.opened.wrap(frame, n)))
    }
}

/// `ifc.FrameBatch(frames)` (the class is Python's, see `ifc/__init__.py`).
fn batch(py: Python<'_>, frames: Vec<PyFrame>) -> PyResult<Py<PyAny>> {
    let frames = frames.into_iter().map(|f| Py::new(py, f)).collect::<PyResult<Vec<_>>>()?;
    Ok(py.import("ifc")?.getattr("FrameBatch")?.call1((frames,))?.unbind())
}
