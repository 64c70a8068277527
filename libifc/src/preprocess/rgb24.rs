//! Whole frames to packed 8-bit RGB (for stored images and overlays), through the same colour
//! path as the model input.

use super::colour::{ColourMatrix, YuvEncoding};
use super::convert::RowConverter;
use super::frame::FrameView;
use super::simd::Isa;
use super::spec::{ChannelOrder, DType, PreprocessSpec};
use super::PreprocessError;

/// Converts the whole frame to packed RGB, 3 bytes per pixel, rows `3 * width` bytes apart,
/// each value the colour semantics' 0–255 value rounded to nearest (ties to even). `out` must
/// hold at least `3 * width * height` bytes; only those are written. The range comes from
/// `frame.colour`, the matrix too unless `matrix` overrides it (the [module](super) rules).
pub fn convert_to_rgb24(frame: &FrameView<'_>, matrix: Option<ColourMatrix>, out: &mut [u8]) -> Result<(), PreprocessError> {
    frame.validate()?;
    let width = frame.width as usize;
    let needed = width.checked_mul(3).and_then(|n| n.checked_mul(frame.height as usize));
    let len_bytes = out.len();
    let out = needed.and_then(|needed| out.get_mut(..needed)).ok_or(PreprocessError::OutputTooSmall {
        len_bytes,
        needed_bytes: needed.unwrap_or(usize::MAX),
        batch_index: 0,
    })?;
    let isa = Isa::detect();
    let spec = PreprocessSpec::default().with_matrix(matrix);
    let c = YuvEncoding::resolve(frame.format, &frame.colour, &spec).coefficients();
    let mut converter = RowConverter::new(width);
    for (y, dst) in out.chunks_exact_mut(3 * width).enumerate() {
        let rgb = converter.convert(isa, frame, y, 0, &c);
        isa.store_interleaved_as(DType::U8, rgb, ChannelOrder::Rgb, dst);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::reference::preprocess_f64;
    use super::super::spec::{Fit, Layout};
    use super::super::{PixelFormat, Plane};
    use super::*;
    use crate::codec::ColourDescription;

    #[test]
    fn matches_the_reference_at_the_source_size() {
        // A 6x4 yuv420p frame with every kind of sample: below black, above white, saturated chroma.
        let y: Vec<u8> = (0..24).map(|i| (i * 37 % 256) as u8).collect();
        let u = [0, 128, 255, 16, 240, 90];
        let v = [255, 128, 0, 240, 16, 200];
        let planes = [Plane::new(&y, 6), Plane::new(&u, 3), Plane::new(&v, 3)];
        let frame = FrameView::new(PixelFormat::Yuv420p, 6, 4, planes, ColourDescription::default());
        let mut out = vec![0u8; 6 * 4 * 3 + 5];
        convert_to_rgb24(&frame, None, &mut out).expect("valid frame");
        assert!(out[72..].iter().all(|&b| b == 0), "wrote past the image");
        // Same size, stretched, no normalisation: the reference's values are the RGB values.
        let spec = PreprocessSpec::default()
            .with_output_size(6, 4)
            .with_fit(Fit::Stretch)
            .with_layout(Layout::Nhwc)
            .with_normalisation(1.0, [0.0; 3], [1.0; 3]);
        let (expected, _) = preprocess_f64(&frame, &spec).expect("valid frame");
        for (i, (&got, want)) in out.iter().zip(expected).enumerate() {
            assert!((f64::from(got) - want).abs() <= 0.5 + 1e-3, "byte {i}: {got} vs {want}");
        }
    }

    #[test]
    fn short_output_is_an_error() {
        let y = [16u8; 16];
        let c = [128u8; 4];
        let planes = [Plane::new(&y, 4), Plane::new(&c, 2), Plane::new(&c, 2)];
        let frame = FrameView::new(PixelFormat::Yuv420p, 4, 4, planes, ColourDescription::default());
        let mut out = vec![0u8; 47];
        assert_eq!(
            convert_to_rgb24(&frame, None, &mut out),
            Err(PreprocessError::OutputTooSmall { len_bytes: 47, needed_bytes: 48, batch_index: 0 })
        );
    }
}
