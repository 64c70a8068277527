//! The preprocessing kernel's parameters ([`PreprocessParams`], mirrored field for field by
//! `IfcPreprocessParams` in `kernel/preprocess.cu`) and the host-side [`KernelPlan`] they are
//! filled from. The plan is derived by the CPU path's own code (content box, resampling taps,
//! colour coefficients, normalisation, pad values), so both paths share one definition of the
//! semantics; nothing here needs a GPU.

use crate::codec::ColourDescription;
use crate::preprocess::{
    pad_values, resolve_roi, AxisTaps, ContentBox, DType, Geometry, Layout, PixelFormat, PreprocessError,
    PreprocessSpec, SampleKind, YuvEncoding,
};

/// Kernel arguments, passed by value. Addresses are device pointers (host pointers in the
/// host build of the kernel that the tests run).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PreprocessParams {
    pub luma: u64,
    pub chroma_u: u64,
    pub chroma_v: u64,
    pub luma_stride_bytes: u64,
    pub chroma_stride_bytes: u64,
    pub taps_x_start: u64,
    pub taps_x_weight: u64,
    pub taps_y_start: u64,
    pub taps_y_weight: u64,
    pub out: u64,
    pub coeff_u: [f32; 4],
    pub coeff_v: [f32; 4],
    pub coeff_bias: [f32; 4],
    pub y_gain: f32,
    pub gain: [f32; 3],
    pub offset: [f32; 3],
    pub pad: [f32; 3],
    pub rgb_index: [u32; 3],
    pub sample_kind: u32,
    pub interleaved: u32,
    pub out_width: u32,
    pub out_height: u32,
    pub content_left: u32,
    pub content_top: u32,
    pub content_width: u32,
    pub content_height: u32,
    pub taps_x_per_output: u32,
    pub taps_y_per_output: u32,
    pub layout: u32,
    pub dtype: u32,
}

/// Threads per block of the 2D launch: 32 consecutive output columns per warp, so NCHW stores
/// coalesce.
pub const BLOCK_DIM: (u32, u32, u32) = (32, 8, 1);

/// Everything the kernel needs for one (spec, frame size, pixel format, colour description),
/// built once and reused for every frame of that shape.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelPlan {
    /// Parameters with all addresses zero; [`KernelPlan::params`] fills them in.
    template: PreprocessParams,
    pub taps_x_start: Vec<u32>,
    pub taps_x_weight: Vec<f32>,
    pub taps_y_start: Vec<u32>,
    pub taps_y_weight: Vec<f32>,
    pub geometry: Geometry,
    pub image_len_bytes: usize,
}

/// Where one frame's planes are (device addresses) for [`KernelPlan::params`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlaneAddresses {
    pub luma: u64,
    pub chroma_u: u64,
    /// Ignored for interleaved (NV12 / P010) frames.
    pub chroma_v: u64,
    pub luma_stride_bytes: u64,
    pub chroma_stride_bytes: u64,
}

/// Where the plan's taps tables are (device addresses).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TapAddresses {
    pub x_start: u64,
    pub x_weight: u64,
    pub y_start: u64,
    pub y_weight: u64,
}

impl KernelPlan {
    /// The plan for frames of `format`, `width` × `height`, described by `colour`.
    pub fn new(
        spec: &PreprocessSpec,
        format: PixelFormat,
        width: u32,
        height: u32,
        colour: &ColourDescription,
    ) -> Result<Self, PreprocessError> {
        spec.validate()?;
        if width == 0 || height == 0 {
            return Err(PreprocessError::EmptyFrame { width, height });
        }
        if width % 2 != 0 || height % 2 != 0 {
            return Err(PreprocessError::OddSize { format, width, height });
        }
        let roi = resolve_roi(spec, width, height)?;
        let content = ContentBox::new(roi, spec);
        // Starts in absolute frame coordinates: the kernel indexes the frame directly.
        let taps_x = AxisTaps::new(spec.resize, roi.width, content.width).offset(roi.x);
        let taps_y = AxisTaps::new(spec.resize, roi.height, content.height).offset(roi.y);
        let c = YuvEncoding::resolve(format, colour, spec).coefficients();
        let affine = spec.affine();
        let rgb_index = spec.order.rgb_index();
        let template = PreprocessParams {
            coeff_u: c.u,
            coeff_v: c.v,
            coeff_bias: c.bias,
            y_gain: c.y_gain,
            gain: affine.map(|(a, _)| a),
            offset: affine.map(|(_, b)| b),
            // Stretch has no padding (the content box is the whole output).
            pad: pad_values(spec).unwrap_or([0.0; 3]),
            rgb_index: rgb_index.map(|i| i as u32),
            sample_kind: match format.sample_kind() {
                SampleKind::U8 => 0,
                SampleKind::U16Low10 => 1,
                SampleKind::U16High10 => 2,
            },
            interleaved: u32::from(format.interleaved_chroma()),
            out_width: spec.out_width,
            out_height: spec.out_height,
            content_left: content.left,
            content_top: content.top,
            content_width: content.width,
            content_height: content.height,
            taps_x_per_output: taps_x.per_output as u32,
            taps_y_per_output: taps_y.per_output as u32,
            layout: match spec.layout {
                Layout::Nchw => 0,
                Layout::Nhwc => 1,
            },
            dtype: match spec.dtype {
                DType::F32 => 0,
                DType::F16 => 1,
                DType::U8 => 2,
            },
            ..PreprocessParams::default()
        };
        let image_len_bytes = crate::preprocess::output_len_bytes(spec, 1);
        Ok(Self {
            template,
            taps_x_start: taps_x.starts,
            taps_x_weight: taps_x.weights,
            taps_y_start: taps_y.starts,
            taps_y_weight: taps_y.weights,
            geometry: content.geometry(roi),
            image_len_bytes,
        })
    }

    /// The kernel arguments for one frame written to the image at `out` (the batch image's
    /// first byte, i.e. the buffer address plus `batch_index` × [`KernelPlan::image_len_bytes`]).
    pub fn params(&self, planes: PlaneAddresses, taps: TapAddresses, out: u64) -> PreprocessParams {
        PreprocessParams {
            luma: planes.luma,
            chroma_u: planes.chroma_u,
            chroma_v: planes.chroma_v,
            luma_stride_bytes: planes.luma_stride_bytes,
            chroma_stride_bytes: planes.chroma_stride_bytes,
            taps_x_start: taps.x_start,
            taps_x_weight: taps.x_weight,
            taps_y_start: taps.y_start,
            taps_y_weight: taps.y_weight,
            out,
            ..self.template
        }
    }

    /// Grid of [`BLOCK_DIM`] blocks covering the output image.
    pub fn grid_dim(&self) -> (u32, u32, u32) {
        let (w, h) = (self.template.out_width, self.template.out_height);
        (w.div_ceil(BLOCK_DIM.0), h.div_ceil(BLOCK_DIM.1), 1)
    }

    /// Bytes one launch must move at least, `(read, written)`: the source rows the vertical
    /// taps touch, each over the ROI's whole width (DRAM is read in 32-byte sectors, so
    /// skipping columns saves nothing), luma and chroma; and the whole output image. The
    /// numerator of the kernel's bandwidth floor.
    pub fn traffic_bytes(&self, format: PixelFormat) -> (u64, u64) {
        let sample = format.sample_kind().bytes() as u64;
        let per = self.template.taps_y_per_output as usize;
        let mut rows: Vec<u32> = Vec::new();
        for (j, &start) in self.taps_y_start.iter().enumerate() {
            let weights = self.taps_y_weight.get(j * per..(j + 1) * per).unwrap_or(&[]);
            rows.extend(weights.iter().enumerate().filter(|(_, &w)| w != 0.0).map(|(k, _)| start + k as u32));
        }
        rows.sort_unstable();
        rows.dedup();
        let mut chroma_rows: Vec<u32> = rows.iter().map(|r| r / 2).collect();
        chroma_rows.dedup();
        let per_x = self.template.taps_x_per_output as usize;
        let first = self.taps_x_start.first().copied().unwrap_or(0);
        let last = self.taps_x_start.last().map_or(0, |&s| s + per_x as u32);
        let width = u64::from(last.saturating_sub(first));
        let luma = rows.len() as u64 * width * sample;
        // U and V together span the luma width (half the samples each).
        let chroma = chroma_rows.len() as u64 * width * sample;
        (luma + chroma, self.image_len_bytes as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_hd_to_yolo_plan_reads_every_third_row_once() {
        let spec = PreprocessSpec::default();
        let plan = KernelPlan::new(&spec, PixelFormat::Nv12, 1920, 1080, &ColourDescription::default()).expect("plan");
        // 1920x1080 letterboxed into 640x640: content 640x360 at row 140, exactly 3:1, so
        // output row j samples source row 3j + 1 with weight 1 (bilinear, t = 0).
        assert_eq!(plan.geometry.content_height, 360);
        assert_eq!(plan.grid_dim(), (20, 80, 1));
        assert_eq!(&plan.taps_y_start[..3], &[1, 4, 7]);
        assert_eq!(&plan.taps_y_weight[..2], &[1.0, 0.0]);
        // 360 luma rows and 360 distinct chroma rows ((3j + 1) / 2), columns 1..1920.
        assert_eq!(plan.traffic_bytes(PixelFormat::Nv12), (2 * 360 * 1919, 640 * 640 * 3 * 4));
    }

    #[test]
    fn params_carry_the_addresses_and_the_plan() {
        let spec = PreprocessSpec::default().with_output_size(64, 32).with_dtype(DType::U8).with_layout(Layout::Nhwc);
        let plan = KernelPlan::new(&spec, PixelFormat::P010le, 64, 64, &ColourDescription::default()).expect("plan");
        let planes =
            PlaneAddresses { luma: 1, chroma_u: 2, chroma_v: 3, luma_stride_bytes: 128, chroma_stride_bytes: 128 };
        let taps = TapAddresses { x_start: 4, x_weight: 5, y_start: 6, y_weight: 7 };
        let p = plan.params(planes, taps, 8);
        assert_eq!((p.luma, p.chroma_u, p.chroma_v, p.taps_y_weight, p.out), (1, 2, 3, 7, 8));
        assert_eq!((p.sample_kind, p.interleaved, p.layout, p.dtype), (2, 1, 1, 2));
        assert_eq!((p.content_left, p.content_width, p.content_height), (16, 32, 32));
        assert!(KernelPlan::new(&spec, PixelFormat::Nv12, 63, 64, &ColourDescription::default()).is_err());
    }
}
