//! [`Preprocessor`]: the one-pass CPU path. Filters are built once per source size; each
//! frame then costs, per source row that the vertical filter reads, one colour conversion
//! and one horizontal pass (each row once), then per content row one vertical pass that
//! normalises and stores straight into the output, and a fill of the padding.

use super::colour::{RgbCoefficients, YuvEncoding};
use super::convert::RowConverter;
use super::frame::FrameView;
use super::geometry::{resolve_roi, ContentBox, Geometry};
use super::pad::PadFill;
use super::rows::Rgbx;
use super::simd::Isa;
use super::spec::{Layout, PreprocessSpec, Rect};
use super::taps::AxisTaps;
use super::PreprocessError;

/// Reusable preprocessing for one [`PreprocessSpec`]: caches the resampling filters for the
/// last source size and the scratch rows, so steady-state frames allocate nothing.
#[derive(Debug, Clone)]
pub struct Preprocessor {
    spec: PreprocessSpec,
    isa: Isa,
    pad: PadFill,
    plan: Option<Plan>,
    scratch: Scratch,
}

/// Everything that depends on the source size.
#[derive(Debug, Clone)]
struct Plan {
    frame_size: (u32, u32),
    roi: Rect,
    content: ContentBox,
    /// The ROI's left edge rounded down to even, so converted pixels pair up on chroma.
    first_column: u32,
    columns: usize,
    /// Indexes converted columns (starting at `first_column`).
    taps_x: AxisTaps,
    /// Indexes rows of the ROI.
    taps_y: AxisTaps,
}

#[derive(Debug, Clone, Default)]
struct Scratch {
    converter: RowConverter,
    /// Horizontally resampled source rows, source row `r` in slot `r % 2` (the rows one
    /// output row reads are consecutive, so neighbours never evict each other).
    resampled: [Vec<Rgbx>; 2],
    resampled_row: [Option<usize>; 2],
    acc: Vec<Rgbx>,
}

impl Preprocessor {
    pub fn new(spec: PreprocessSpec) -> Result<Self, PreprocessError> {
        spec.validate()?;
        let pad = PadFill::new(&spec);
        Ok(Self { spec, isa: Isa::detect(), pad, plan: None, scratch: Scratch::default() })
    }

    pub fn spec(&self) -> &PreprocessSpec {
        &self.spec
    }

    /// Test hook: run the portable kernels even where SIMD is available.
    #[doc(hidden)]
    pub fn force_portable(&mut self) {
        self.isa = Isa::Portable;
    }

    /// Test hook: whether SIMD kernels run.
    #[doc(hidden)]
    pub fn uses_simd(&self) -> bool {
        self.isa.is_simd()
    }

    /// Writes image `batch_index` of a batch into `out`, which holds the whole batch (see
    /// [`super::output_len_bytes`]), and returns where the frame landed.
    pub fn run(
        &mut self,
        frame: &FrameView<'_>,
        out: &mut [u8],
        batch_index: usize,
    ) -> Result<Geometry, PreprocessError> {
        frame.validate()?;
        let image_len = self.spec.image_len_bytes().unwrap_or(usize::MAX);
        let end = batch_index.checked_add(1).and_then(|n| n.checked_mul(image_len));
        let len_bytes = out.len();
        let image = end.and_then(|end| out.get_mut(end - image_len..end)).ok_or(PreprocessError::OutputTooSmall {
            len_bytes,
            needed_bytes: end.unwrap_or(usize::MAX),
            batch_index,
        })?;
        let plan = self.plan_for(frame)?;
        let coefficients = YuvEncoding::resolve(frame.format, &frame.colour, &self.spec).coefficients();

        self.pad.fill(image, &self.spec, plan.content);
        let scratch = &mut self.scratch;
        scratch.resize(&plan);
        write_content(frame, &self.spec, self.isa, &plan, &coefficients, scratch, image);
        let geometry = plan.content.geometry(plan.roi);
        self.plan = Some(plan);
        Ok(geometry)
    }

    /// The cached plan if the frame has the same size, else a new one.
    fn plan_for(&mut self, frame: &FrameView<'_>) -> Result<Plan, PreprocessError> {
        let size = (frame.width, frame.height);
        match self.plan.take() {
            Some(plan) if plan.frame_size == size => Ok(plan),
            _ => Plan::new(&self.spec, size),
        }
    }
}

impl Plan {
    fn new(spec: &PreprocessSpec, frame_size: (u32, u32)) -> Result<Self, PreprocessError> {
        let roi = resolve_roi(spec, frame_size.0, frame_size.1)?;
        let content = ContentBox::new(roi, spec);
        let first_column = roi.x & !1;
        Ok(Self {
            frame_size,
            roi,
            content,
            first_column,
            columns: (roi.x + roi.width - first_column) as usize,
            taps_x: AxisTaps::new(spec.resize, roi.width, content.width).offset(roi.x - first_column),
            taps_y: AxisTaps::new(spec.resize, roi.height, content.height),
        })
    }
}

impl Scratch {
    fn resize(&mut self, plan: &Plan) {
        let (columns, content_width) = (plan.columns, plan.content.width as usize);
        self.converter.resize(columns);
        for row in &mut self.resampled {
            row.resize(content_width, [0.0; 4]);
        }
        // New frame data: nothing cached is valid.
        self.resampled_row = [None; 2];
        self.acc.resize(content_width, [0.0; 4]);
    }

    /// Converts source row `row` of the frame to RGB and resamples it horizontally into its
    /// slot, unless it is already there.
    fn resampled(&mut self, frame: &FrameView<'_>, isa: Isa, plan: &Plan, c: &RgbCoefficients, row: usize) -> usize {
        let slot = row % 2;
        if self.resampled_row[slot] == Some(row) {
            return slot;
        }
        let rgb = self.converter.convert(isa, frame, row, plan.first_column as usize, c);
        isa.horizontal(rgb, &plan.taps_x, &mut self.resampled[slot]);
        self.resampled_row[slot] = Some(row);
        slot
    }
}

/// Resamples, normalises and stores every content row.
fn write_content(
    frame: &FrameView<'_>,
    spec: &PreprocessSpec,
    isa: Isa,
    plan: &Plan,
    c: &RgbCoefficients,
    scratch: &mut Scratch,
    image: &mut [u8],
) {
    let (out_w, out_h) = (spec.out_width as usize, spec.out_height as usize);
    let size = spec.dtype.size_bytes();
    let ContentBox { left, top, width, .. } = plan.content;
    let (left, top, width) = (left as usize, top as usize, width as usize);
    let rgb_index = spec.order.rgb_index();
    let (mut gain, mut offset) = ([0.0; 4], [0.0; 4]);
    for (k, (a, b)) in spec.affine().into_iter().enumerate() {
        (gain[rgb_index[k]], offset[rgb_index[k]]) = (a, b);
    }
    // NCHW: three planes of `out_w * out_h` elements; NHWC: one plane of pixels.
    let (planes, pixel_len) = match spec.layout {
        Layout::Nchw => (3, size),
        Layout::Nhwc => (1, 3 * size),
    };
    let plane_len = out_w * out_h * pixel_len;
    let mut planes = image.chunks_exact_mut(plane_len).take(planes);
    let (mut plane0, mut plane1, mut plane2) = (planes.next(), planes.next(), planes.next());
    for j in 0..plan.taps_y.len() {
        let (start, weights) = plan.taps_y.output(j);
        let mut first = true;
        for (k, &w) in weights.iter().enumerate() {
            if w != 0.0 {
                let row = plan.roi.y as usize + start + k;
                let slot = scratch.resampled(frame, isa, plan, c, row);
                isa.accumulate(&mut scratch.acc, &scratch.resampled[slot], w, first);
                first = false;
            }
        }
        isa.normalise(&mut scratch.acc, gain, offset);
        let row_start = ((top + j) * out_w + left) * pixel_len;
        let range = row_start..row_start + width * pixel_len;
        match (row_of(&mut plane0, &range), row_of(&mut plane1, &range), row_of(&mut plane2, &range)) {
            (Some(d0), Some(d1), Some(d2)) => isa.store_planes_as(spec.dtype, &scratch.acc, rgb_index, [d0, d1, d2]),
            (Some(d), None, None) => isa.store_interleaved_as(spec.dtype, &scratch.acc, spec.order, d),
            // Unreachable: `image` holds exactly one image of this layout.
            _ => {}
        }
    }
}

/// Elements `range` of a plane, if there is that plane.
fn row_of<'a>(plane: &'a mut Option<&mut [u8]>, range: &std::ops::Range<usize>) -> Option<&'a mut [u8]> {
    plane.as_deref_mut()?.get_mut(range.clone())
}
