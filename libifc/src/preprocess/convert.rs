//! [`RowConverter`]: one source row (or a run of its columns) to RGB, the colour half of the
//! semantics, shared by the model-input path and [`super::convert_to_rgb24`].

use super::colour::RgbCoefficients;
use super::frame::{ChromaRow, FrameView};
use super::rows::Rgbx;
use super::simd::Isa;

/// Scratch rows for converting `columns` pixels starting at an even column.
#[derive(Debug, Clone, Default)]
pub(crate) struct RowConverter {
    luma: Vec<f32>,
    u: Vec<f32>,
    v: Vec<f32>,
    terms: Vec<Rgbx>,
    rgb: Vec<Rgbx>,
}

impl RowConverter {
    pub(crate) fn new(columns: usize) -> Self {
        let mut converter = Self::default();
        converter.resize(columns);
        converter
    }

    pub(crate) fn resize(&mut self, columns: usize) {
        let chroma = columns.div_ceil(2);
        self.luma.resize(columns, 0.0);
        self.u.resize(chroma, 0.0);
        self.v.resize(chroma, 0.0);
        self.terms.resize(chroma, [0.0; 4]);
        self.rgb.resize(columns, [0.0; 4]);
    }

    /// RGB of pixels `first_column..first_column + columns` of source row `row`
    /// (`first_column` even, so that pixels pair up on their chroma sample).
    pub(crate) fn convert(
        &mut self,
        isa: Isa,
        frame: &FrameView<'_>,
        row: usize,
        first_column: usize,
        c: &RgbCoefficients,
    ) -> &[Rgbx] {
        let kind = frame.format.sample_kind();
        isa.unpack_samples(kind, frame.luma_row(row, first_column, self.luma.len()), &mut self.luma);
        match frame.chroma_row(row / 2, first_column / 2, self.u.len()) {
            ChromaRow::Planar { u, v } => {
                isa.unpack_samples(kind, u, &mut self.u);
                isa.unpack_samples(kind, v, &mut self.v);
            }
            ChromaRow::Interleaved(uv) => isa.unpack_interleaved(kind, uv, &mut self.u, &mut self.v),
        }
        isa.chroma_terms(&self.u, &self.v, c, &mut self.terms);
        isa.combine(&self.luma, &self.terms, c.y_gain, &mut self.rgb);
        &self.rgb
    }
}
