//! `ifc.Frame`: one decoded picture. Its planes stay in the decoder's buffers (no copy); RGB
//! is converted once, on first use, and kept with the frame.

use std::sync::{Arc, OnceLock};

use ifc::decode::Frame as DecodedFrame;
use ifc::preprocess::{convert_to_rgb24, ColourMatrix};
use pyo3::prelude::*;

use crate::dlpack::{Elem, HostTensor, PyTensor};
use crate::errors::{error, IntoPyErr, Kind};

/// Where a frame sits in its video.
#[derive(Debug, Clone, Copy)]
pub struct FrameTiming {
    /// Display order, from 0.
    pub index: usize,
    pub pts_seconds: f64,
    pub duration_seconds: f64,
}

/// One decoded picture (Python: ``ifc.Frame``).
#[pyclass(module = "ifc._ifc", name = "Frame", frozen)]
pub struct PyFrame {
    pub frame: Arc<DecodedFrame>,
    pub timing: FrameTiming,
    rgb: OnceLock<Arc<Vec<u8>>>,
    /// A CUDA frame's RGB image on its device, made on first `__dlpack__`.
    cuda_rgb: OnceLock<crate::cuda::DeviceBatch>,
}

impl PyFrame {
    pub fn new(frame: DecodedFrame, timing: FrameTiming) -> Self {
        Self { frame: Arc::new(frame), timing, rgb: OnceLock::new(), cuda_rgb: OnceLock::new() }
    }

    /// Packed RGB, converted on first use (without the GIL) and then shared; with a `matrix`
    /// override, converted each time (not the frame's own colours, so not cached).
    pub fn rgb(&self, py: Python<'_>, matrix: Option<ColourMatrix>) -> PyResult<Arc<Vec<u8>>> {
        if let (Some(rgb), None) = (self.rgb.get(), matrix) {
            return Ok(rgb.clone());
        }
        let frame = self.frame.clone();
        let rgb = py.detach(move || -> Result<Vec<u8>, String> {
            // A CUDA frame is copied to the host once here (numpy needs host memory; the GPU
            // path uses __dlpack__ or ifc.preprocess instead).
            let host = match frame.device() {
                Some(device) => Some(device.download().map_err(|e| e.to_string())?),
                None => None,
            };
            let view = host.as_ref().unwrap_or(&*frame).view().map_err(|e| e.to_string())?;
            let mut out = vec![0u8; 3 * frame.width() as usize * frame.height() as usize];
            convert_to_rgb24(&view, matrix, &mut out).map_err(|e| e.to_string())?;
            Ok(out)
        });
        let rgb = Arc::new(rgb.map_err(|e| error(Kind::Preprocess, format!("RGB conversion: {e}")))?);
        if matrix.is_some() {
            return Ok(rgb);
        }
        // Another thread may have won the race; either copy is the same picture.
        Ok(self.rgb.get_or_init(|| rgb).clone())
    }

    pub fn rgb_tensor(&self, py: Python<'_>, matrix: Option<ColourMatrix>) -> PyResult<HostTensor> {
        let rgb = self.rgb(py, matrix)?;
        let (w, h) = (self.frame.width() as usize, self.frame.height() as usize);
        // The RGB image belongs to this frame alone (not to the decoder): writable.
        Ok(HostTensor::contiguous(rgb.clone(), rgb.as_ptr(), Elem::U8, &[h, w, 3], false))
    }

    /// Plane `i` as a 2-D view of the decoder's buffer (read-only: the decoder may still
    /// reference the picture).
    pub fn plane_tensor(&self, i: usize) -> PyResult<HostTensor> {
        let frame = &self.frame;
        if frame.is_on_device() {
            return Err(error(
                Kind::Unsupported,
                "a CUDA frame's planes are on the GPU: use torch.from_dlpack(frame) or ifc.preprocess, \
                 or frame.to_numpy() (RGB, one copy to the host)",
            ));
        }
        let fmt = frame.pix_fmt();
        let (data, stride) = frame
            .plane(i)
            .ok_or_else(|| error(Kind::Argument, format!("plane {i}: a {fmt:?} frame has {}", fmt.plane_count())))?;
        let (row_bytes, rows) = (fmt.row_bytes(i, frame.width()), fmt.rows(i, frame.height()));
        let (Some(row_bytes), Some(rows)) = (row_bytes, rows) else {
            return Err(error(Kind::Argument, format!("plane {i} of a {fmt:?} frame")));
        };
        let sample = fmt.bytes_per_sample();
        let elem = if sample == 2 { Elem::U16 } else { Elem::U8 };
        if stride % sample != 0 {
            return Err(error(Kind::Decode, format!("plane {i}: stride {stride} is not a whole number of samples")));
        }
        Ok(HostTensor {
            owner: frame.clone(),
            ptr: data.as_ptr(),
            elem,
            shape: vec![rows as i64, (row_bytes / sample) as i64],
            strides: vec![(stride / sample) as i64, 1],
            read_only: true,
        })
    }
}

#[pymethods]
impl PyFrame {
    /// Presentation time in seconds.
    #[getter]
    fn pts_seconds(&self) -> f64 {
        self.timing.pts_seconds
    }

    /// How long the frame is shown, in seconds.
    #[getter]
    fn duration_seconds(&self) -> f64 {
        self.timing.duration_seconds
    }

    /// Position in display order, from 0.
    #[getter]
    fn index(&self) -> usize {
        self.timing.index
    }

    #[getter]
    fn width(&self) -> u32 {
        self.frame.width()
    }

    #[getter]
    fn height(&self) -> u32 {
        self.frame.height()
    }

    /// The decoded layout, as FFmpeg names it: ``yuv420p``, ``yuvj420p``, ``yuv420p10le``, ``nv12``…
    #[getter]
    fn pix_fmt(&self) -> &'static str {
        self.frame.pix_fmt().ffmpeg_name(self.frame.colour.full_range)
    }

    #[getter]
    fn key_frame(&self) -> bool {
        self.frame.key_frame
    }

    /// (primaries, transfer, matrix, full_range) as ITU-T H.273 code points.
    #[getter]
    fn colour(&self) -> (u8, u8, u8, bool) {
        let c = self.frame.colour;
        (c.primaries, c.transfer, c.matrix, c.full_range)
    }

    /// The picture as a numpy array without a copy. ``format="rgb"`` (default): H×W×3 uint8,
    /// converted with the stream's colour matrix and range (like PyAV's ``rgb24``; a stream that
    /// names no matrix is BT.601, as libswscale and OpenCV convert it), made once and shared by
    /// every call; ``matrix="bt709"`` (or ``"bt601"``, ``"bt2020"``) overrides the matrix for
    /// this call. ``format="native"``: a tuple of the decoded planes as 2-D
    /// read-only views of the decoder's memory (uint8, or uint16 for 10-bit formats).
    ///
    /// >>> rgb = frame.to_numpy()
    /// >>> y, u, v = frame.to_numpy(format="native")
    #[pyo3(signature = (format="rgb", matrix=None))]
    fn to_numpy(&self, py: Python<'_>, format: &str, matrix: Option<&str>) -> PyResult<Py<PyAny>> {
        let matrix = matrix.map(crate::preprocess::parse_matrix).transpose()?;
        match format {
            "rgb" | "rgb24" => crate::numpy_from(py, self.rgb_tensor(py, matrix)?),
            "native" => {
                let planes = (0..self.frame.pix_fmt().plane_count())
                    .map(|i| crate::numpy_from(py, self.plane_tensor(i)?))
                    .collect::<PyResult<Vec<_>>>()?;
                Ok(pyo3::types::PyTuple::new(py, planes)?.into_any().unbind())
            }
            f => Err(error(Kind::Argument, format!("format={f:?}: expected \"rgb\" or \"native\""))),
        }
    }

    fn _rgb(&self, py: Python<'_>) -> PyResult<PyTensor> {
        Ok(PyTensor { tensor: self.rgb_tensor(py, None)? })
    }

    fn _planes(&self) -> PyResult<Vec<PyTensor>> {
        (0..self.frame.pix_fmt().plane_count()).map(|i| Ok(PyTensor { tensor: self.plane_tensor(i)? })).collect()
    }

    #[pyo3(signature = (*, stream=None, max_version=None, dl_device=None, copy=None))]
    fn __dlpack__(
        &self,
        py: Python<'_>,
        stream: Option<&Bound<'_, PyAny>>,
        max_version: Option<(u32, u32)>,
        dl_device: Option<(i32, i32)>,
        copy: Option<bool>,
    ) -> PyResult<Py<PyAny>> {
        if self.frame.is_on_device() {
            let rgb = match self.cuda_rgb.get() {
                Some(rgb) => rgb,
                None => {
                    let frame = self.frame.clone();
                    let made = py.detach(move || crate::cuda::rgb(&frame)).or_raise(Kind::Preprocess)?;
                    // A racing thread's image is the same picture; the loser's is dropped.
                    self.cuda_rgb.get_or_init(|| made)
                }
            };
            return rgb.export(py, stream, dl_device, copy, true);
        }
        self.rgb_tensor(py, None)?.export(py, stream, max_version, dl_device, copy)
    }

    fn __dlpack_device__(&self) -> (i32, i32) {
        match self.frame.gpu_view() {
            Some(view) => (ifc::dlpack::DL_CUDA, view.device_ordinal as i32),
            None => (crate::dlpack::DEVICE_CPU, 0),
        }
    }

    /// ``"cpu"``, or ``"cuda:N"`` for a frame NVDEC left on GPU N.
    #[getter]
    fn device(&self) -> String {
        match self.frame.gpu_view() {
            Some(view) => format!("cuda:{}", view.device_ordinal),
            None => "cpu".to_owned(),
        }
    }

    fn __repr__(&self) -> String {
        format!(
            "Frame(index={}, pts_seconds={:.6}, {}x{}, {})",
            self.timing.index,
            self.timing.pts_seconds,
            self.frame.width(),
            self.frame.height(),
            self.pix_fmt()
        )
    }

    /// The frame converted to RGB through libifc's f64 reference (the semantics preprocessing
    /// is tested against): a flat list of H×W×3 values on the 0–255 scale, unrounded.
    /// ``matrix`` ("bt601", "bt709", "bt2020") and ``full_range`` override the stream's.
    #[pyo3(signature = (matrix=None, full_range=None))]
    fn _reference_rgb(&self, py: Python<'_>, matrix: Option<&str>, full_range: Option<bool>) -> PyResult<Vec<f64>> {
        use ifc::preprocess::{reference::preprocess_f64, Fit, Layout, PreprocessSpec};
        let matrix = matrix.map(crate::preprocess::parse_matrix).transpose()?;
        let frame = self.frame.clone();
        let spec = PreprocessSpec::default()
            .with_output_size(frame.width(), frame.height())
            .with_fit(Fit::Stretch)
            .with_layout(Layout::Nhwc)
            .with_normalisation(1.0, [0.0; 3], [1.0; 3])
            .with_matrix(matrix)
            .with_full_range(full_range);
        py.detach(move || {
            let view = frame.view().map_err(|e| e.to_string())?;
            preprocess_f64(&view, &spec).map(|(values, _)| values).map_err(|e| e.to_string())
        })
        .or_raise(Kind::Preprocess)
    }
}
