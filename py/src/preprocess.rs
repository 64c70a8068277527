//! `ifc.preprocess`: frames to a model input tensor with libifc's `Preprocessor` (the code
//! `ifc extract` runs), written once into memory that numpy then owns without a copy.
#![allow(unsafe_code)] // one block: the typed output buffer seen as bytes.

use std::sync::{Arc, Mutex};

use ifc::decode::Frame as DecodedFrame;
use ifc::preprocess::{
    output_len_bytes, ChannelOrder, ColourMatrix, DType, Fit, Geometry, Layout, PreprocessSpec, Preprocessor, Rect,
    Resize,
};
use pyo3::prelude::*;

use crate::dlpack::{Elem, HostTensor};
use crate::errors::{error, IntoPyErr, Kind};
use crate::frame::PyFrame;

/// The last preprocessor used, with its filters (built per source size and spec): a stream of
/// same-sized frames builds them once.
static CACHED: Mutex<Option<Preprocessor>> = Mutex::new(None);

/// Output memory aligned for every element type (8 bytes).
struct Aligned(Vec<u64>);

impl Aligned {
    fn zeroed(len_bytes: usize) -> Self {
        Self(vec![0u64; len_bytes.div_ceil(8)])
    }

    fn bytes_mut(&mut self, len_bytes: usize) -> &mut [u8] {
        debug_assert!(len_bytes <= self.0.len() * 8);
        // SAFETY: the Vec holds at least `len_bytes` initialised bytes (8 per u64), any byte
        // pattern is a valid u64, and the slice borrows the Vec mutably for its lifetime.
        unsafe { std::slice::from_raw_parts_mut(self.0.as_mut_ptr().cast::<u8>(), len_bytes) }
    }
}

pub fn parse_matrix(name: &str) -> PyResult<ColourMatrix> {
    match name.to_ascii_lowercase().as_str() {
        "bt601" | "bt.601" | "bt470bg" | "smpte170m" => Ok(ColourMatrix::Bt601),
        "bt709" | "bt.709" => Ok(ColourMatrix::Bt709),
        "bt2020" | "bt.2020" | "bt2020nc" => Ok(ColourMatrix::Bt2020),
        other => Err(error(Kind::Argument, format!("matrix={other:?}: expected \"bt601\", \"bt709\" or \"bt2020\""))),
    }
}

fn to_elem(dtype: DType) -> Elem {
    match dtype {
        DType::F32 => Elem::F32,
        DType::F16 => Elem::F16,
        DType::U8 => Elem::U8,
    }
}

/// The arguments of `ifc.preprocess` as a spec.
#[allow(clippy::too_many_arguments)]
pub fn spec_from_args(
    size: (u32, u32),
    letterbox: bool,
    pad: (u8, u8, u8),
    resize: &str,
    scale: f32,
    mean: (f32, f32, f32),
    std: (f32, f32, f32),
    channels: &str,
    layout: &str,
    dtype: &str,
    matrix: Option<&str>,
    full_range: Option<bool>,
    roi: Option<(u32, u32, u32, u32)>,
) -> PyResult<PreprocessSpec> {
    let bad = |what: String| error(Kind::Argument, what);
    let (height, width) = size;
    if !(1..=16384).contains(&width) || !(1..=16384).contains(&height) {
        return Err(bad(format!("size={size:?}: (height, width), each 1 to 16384")));
    }
    let resize = match resize {
        "bilinear" | "linear" => Resize::Bilinear,
        "area" => Resize::Area,
        r => return Err(bad(format!("resize={r:?}: expected \"bilinear\" or \"area\""))),
    };
    let order = match channels.to_ascii_uppercase().as_str() {
        "RGB" => ChannelOrder::Rgb,
        "BGR" => ChannelOrder::Bgr,
        c => return Err(bad(format!("channels={c:?}: expected \"RGB\" or \"BGR\""))),
    };
    let layout = match layout.to_ascii_uppercase().as_str() {
        "NCHW" => Layout::Nchw,
        "NHWC" => Layout::Nhwc,
        l => return Err(bad(format!("layout={l:?}: expected \"NCHW\" or \"NHWC\""))),
    };
    let dtype = match dtype {
        "float32" | "f32" => DType::F32,
        "float16" | "f16" => DType::F16,
        "uint8" | "u8" => DType::U8,
        d => return Err(bad(format!("dtype={d:?}: expected \"float32\", \"float16\" or \"uint8\""))),
    };
    let std = [std.0, std.1, std.2];
    if std.iter().any(|s| *s == 0.0 || !s.is_finite()) {
        return Err(bad(format!("std={std:?}: every value must be finite and non-zero")));
    }
    let fit = if letterbox { Fit::Letterbox { pad: [pad.0, pad.1, pad.2] } } else { Fit::Stretch };
    Ok(PreprocessSpec::default()
        .with_output_size(width, height)
        .with_fit(fit)
        .with_resize(resize)
        .with_normalisation(scale, [mean.0, mean.1, mean.2], std)
        .with_order(order)
        .with_layout(layout)
        .with_dtype(dtype)
        .with_matrix(matrix.map(parse_matrix).transpose()?)
        .with_full_range(full_range)
        .with_roi(roi.map(|(x, y, w, h)| Rect::new(x, y, w, h))))
}

/// The frames of a Frame, a FrameBatch or any iterable of Frames.
pub fn frames_of(frames: &Bound<'_, PyAny>) -> PyResult<Vec<Arc<DecodedFrame>>> {
    if let Ok(frame) = frames.cast::<PyFrame>() {
        return Ok(vec![frame.get().frame.clone()]);
    }
    let iter = frames.try_iter().map_err(|_| {
        error(Kind::Argument, format!("expected a Frame, a FrameBatch or a list of Frames, not {}", frames.get_type()))
    })?;
    let mut out = Vec::new();
    for item in iter {
        let item = item?;
        let frame = item
            .cast::<PyFrame>()
            .map_err(|_| error(Kind::Argument, format!("expected ifc.Frame items, got {}", item.get_type())))?;
        out.push(frame.get().frame.clone());
    }
    if out.is_empty() {
        return Err(error(Kind::Argument, "no frames to preprocess"));
    }
    Ok(out)
}

/// Preprocesses `frames` into one batch; returns the tensor and each frame's geometry.
pub fn run_batch(spec: &PreprocessSpec, frames: &[Arc<DecodedFrame>]) -> Result<(HostTensor, Vec<Geometry>), String> {
    let len_bytes = output_len_bytes(spec, frames.len());
    let mut out = Aligned::zeroed(len_bytes);
    let taken = CACHED.lock().ok().and_then(|mut c| c.take()).filter(|p| p.spec() == spec);
    let mut pre = match taken {
        Some(p) => p,
        None => Preprocessor::new(spec.clone()).map_err(|e| e.to_string())?,
    };
    let mut geometries = Vec::with_capacity(frames.len());
    let result = (|| {
        let bytes = out.bytes_mut(len_bytes);
        for (i, frame) in frames.iter().enumerate() {
            let view = frame.view().map_err(|e| format!("frame {i}: {e}"))?;
            geometries.push(pre.run(&view, bytes, i).map_err(|e| format!("frame {i}: {e}"))?);
        }
        Ok::<(), String>(())
    })();
    if let Ok(mut cached) = CACHED.lock() {
        *cached = Some(pre);
    }
    result?;
    let (w, h, n) = (spec.out_width as usize, spec.out_height as usize, frames.len());
    let shape = match spec.layout {
        Layout::Nchw => [n, 3, h, w],
        Layout::Nhwc => [n, h, w, 3],
    };
    let owner = Arc::new(out);
    let tensor =
        HostTensor::contiguous(owner.clone(), owner.0.as_ptr().cast::<u8>(), to_elem(spec.dtype), &shape, false);
    Ok((tensor, geometries))
}

/// How model-input pixels map back to the frame (Python: ``ifc.Geometry``).
#[pyclass(module = "ifc._ifc", name = "Geometry", frozen)]
#[derive(Clone)]
pub struct PyGeometry {
    inner: Geometry,
}

impl From<Geometry> for PyGeometry {
    fn from(inner: Geometry) -> Self {
        Self { inner }
    }
}

#[pymethods]
impl PyGeometry {
    /// Source pixels per model pixel, horizontally.
    #[getter]
    fn scale_x(&self) -> f64 {
        self.inner.scale_x
    }

    #[getter]
    fn scale_y(&self) -> f64 {
        self.inner.scale_y
    }

    /// Left edge of the resized image in the model input (letterbox padding), model pixels.
    #[getter]
    fn pad_left(&self) -> f64 {
        self.inner.pad_left
    }

    #[getter]
    fn pad_top(&self) -> f64 {
        self.inner.pad_top
    }

    /// Top-left corner of the region of interest in the frame, source pixels.
    #[getter]
    fn roi_x(&self) -> f64 {
        self.inner.roi_x
    }

    #[getter]
    fn roi_y(&self) -> f64 {
        self.inner.roi_y
    }

    /// Size of the resized image inside the model input (the rest is padding).
    #[getter]
    fn content_width(&self) -> u32 {
        self.inner.content_width
    }

    #[getter]
    fn content_height(&self) -> u32 {
        self.inner.content_height
    }

    /// A point in model-input pixels → the same point in frame pixels.
    fn to_source(&self, x: f64, y: f64) -> (f64, f64) {
        self.inner.to_source(x, y)
    }

    /// A point in frame pixels → model-input pixels.
    fn to_model(&self, x: f64, y: f64) -> (f64, f64) {
        self.inner.to_model(x, y)
    }

    fn __repr__(&self) -> String {
        let g = &self.inner;
        format!(
            "Geometry(scale_x={}, scale_y={}, pad_left={}, pad_top={}, content={}x{})",
            g.scale_x, g.scale_y, g.pad_left, g.pad_top, g.content_width, g.content_height
        )
    }
}

/// See ``ifc.preprocess`` in the stubs for the arguments.
#[pyfunction]
#[pyo3(signature = (frames, *, size=(640, 640), letterbox=true, pad=(114, 114, 114), resize="bilinear",
    scale=1.0/255.0, mean=(0.0, 0.0, 0.0), std=(1.0, 1.0, 1.0), channels="RGB", layout="NCHW",
    dtype="float32", matrix=None, full_range=None, roi=None))]
#[allow(clippy::too_many_arguments)]
pub fn preprocess(
    py: Python<'_>,
    frames: &Bound<'_, PyAny>,
    size: (u32, u32),
    letterbox: bool,
    pad: (u8, u8, u8),
    resize: &str,
    scale: f32,
    mean: (f32, f32, f32),
    std: (f32, f32, f32),
    channels: &str,
    layout: &str,
    dtype: &str,
    matrix: Option<&str>,
    full_range: Option<bool>,
    roi: Option<(u32, u32, u32, u32)>,
) -> PyResult<(Py<PyAny>, Vec<PyGeometry>)> {
    let spec = spec_from_args(
        size, letterbox, pad, resize, scale, mean, std, channels, layout, dtype, matrix, full_range, roi,
    )?;
    let frames = frames_of(frames)?;
    if frames.iter().any(|f| f.is_on_device()) {
        // CUDA frames: the kernel writes the batch on their device; no host copy.
        let (batch, geometries) = py.detach(|| crate::cuda::run_batch(&spec, &frames)).or_raise(Kind::Preprocess)?;
        let tensor = Py::new(py, crate::cuda::PyCudaTensor { batch })?.into_any();
        return Ok((tensor, geometries.into_iter().map(PyGeometry::from).collect()));
    }
    let (tensor, geometries) = py.detach(|| run_batch(&spec, &frames)).or_raise(Kind::Preprocess)?;
    let array = crate::numpy_from(py, tensor)?;
    Ok((array, geometries.into_iter().map(PyGeometry::from).collect()))
}
