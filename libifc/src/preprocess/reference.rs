//! A slow, direct f64 implementation of the [module semantics](super), for tests (the CPU
//! path's and, later, the CUDA kernel's). It shares only validation and the content box with
//! the fast path; colour conversion, filter weights and output order are written out again
//! from their definitions, one output element at a time.

use super::frame::{FrameView, PixelFormat};
use super::geometry::{resolve_roi, ContentBox, Geometry};
use super::spec::{ChannelOrder, DType, Fit, Layout, PreprocessSpec, Resize};
use super::PreprocessError;

/// The output values in layout order (NCHW or NHWC, channels in `spec.order`), after
/// normalisation and before conversion to `spec.dtype`.
pub fn preprocess_f64(frame: &FrameView<'_>, spec: &PreprocessSpec) -> Result<(Vec<f64>, Geometry), PreprocessError> {
    spec.validate()?;
    frame.validate()?;
    let roi = resolve_roi(spec, frame.width, frame.height)?;
    let content = ContentBox::new(roi, spec);
    let (out_w, out_h) = (spec.out_width as usize, spec.out_height as usize);
    let pad = match spec.fit {
        Fit::Letterbox { pad } => pad.map(f64::from),
        Fit::Stretch => [0.0; 3],
    };
    let mut rgb = vec![pad; out_w * out_h];
    for j in 0..content.height {
        let rows = weights(spec.resize, roi.height, content.height, j);
        for i in 0..content.width {
            let columns = weights(spec.resize, roi.width, content.width, i);
            let mut sum = [0.0; 3];
            for &(y, wy) in &rows {
                for &(x, wx) in &columns {
                    let px = pixel_rgb(frame, spec, roi.x as usize + x, roi.y as usize + y);
                    for c in 0..3 {
                        sum[c] += wy * wx * px[c];
                    }
                }
            }
            rgb[(content.top + j) as usize * out_w + (content.left + i) as usize] = sum;
        }
    }
    let channel_rgb = match spec.order {
        ChannelOrder::Rgb => [0, 1, 2],
        ChannelOrder::Bgr => [2, 1, 0],
    };
    let value = |px: &[f64; 3], k: usize| {
        (px[channel_rgb[k]] * f64::from(spec.scale) - f64::from(spec.mean[k])) / f64::from(spec.std[k])
    };
    let values = match spec.layout {
        Layout::Nchw => (0..3).flat_map(|k| rgb.iter().map(move |px| value(px, k))).collect(),
        Layout::Nhwc => rgb.iter().flat_map(|px| (0..3).map(move |k| value(px, k))).collect(),
    };
    Ok((values, content.geometry(roi)))
}

/// The source samples (relative to the ROI) and weights that output `i` of `dst` reads on one
/// axis of `src` samples.
fn weights(resize: Resize, src: u32, dst: u32, i: u32) -> Vec<(usize, f64)> {
    let (src_f, scale) = (f64::from(src), f64::from(src) / f64::from(dst));
    if resize == Resize::Area && src >= dst {
        // The output pixel's footprint [i * scale, (i + 1) * scale) on the source axis.
        let (lo, hi) = (f64::from(i) * scale, (f64::from(i) + 1.0) * scale);
        return (lo.floor() as usize..hi.ceil().min(src_f) as usize)
            .map(|x| (x, ((hi.min(x as f64 + 1.0) - lo.max(x as f64)) / scale)))
            .filter(|&(_, w)| w > 0.0)
            .collect();
    }
    // cv2.INTER_LINEAR: the output pixel's centre, mapped back, between two source centres.
    let position = (f64::from(i) + 0.5) * scale - 0.5;
    if position <= 0.0 {
        return vec![(0, 1.0)];
    }
    if position >= src_f - 1.0 {
        return vec![(src as usize - 1, 1.0)];
    }
    let left = position.floor();
    vec![(left as usize, 1.0 - (position - left)), (left as usize + 1, position - left)]
}

/// RGB of source pixel `(x, y)` on the 0–255 scale, clamped.
fn pixel_rgb(frame: &FrameView<'_>, spec: &PreprocessSpec, x: usize, y: usize) -> [f64; 3] {
    let depth = frame.format.bit_depth();
    let full_range = spec.full_range.unwrap_or(frame.colour.full_range);
    let matrix = spec.matrix.unwrap_or_else(|| super::ColourMatrix::for_frame(&frame.colour));
    let (kr, kb) = matrix.kr_kb();
    let (luma, cb, cr) = samples(frame, x, y);
    let unit = f64::from(1u32 << (depth - 8));
    let max = f64::from((1u32 << depth) - 1);
    // H.273 §8.3: Y' = (Y - black) / span, Cb' = (Cb - centre) / span.
    let (y_n, cb_n, cr_n) = if full_range {
        let centre = f64::from(1u32 << (depth - 1));
        (luma / max, (cb - centre) / max, (cr - centre) / max)
    } else {
        (
            (luma - 16.0 * unit) / (219.0 * unit),
            (cb - 128.0 * unit) / (224.0 * unit),
            (cr - 128.0 * unit) / (224.0 * unit),
        )
    };
    let r = y_n + 2.0 * (1.0 - kr) * cr_n;
    let b = y_n + 2.0 * (1.0 - kb) * cb_n;
    let g = (y_n - kr * r - kb * b) / (1.0 - kr - kb);
    [r, g, b].map(|e| (255.0 * e).clamp(0.0, 255.0))
}

/// Y, Cb, Cr of pixel `(x, y)`: chroma from sample `(x / 2, y / 2)`.
fn samples(frame: &FrameView<'_>, x: usize, y: usize) -> (f64, f64, f64) {
    let read = |plane: usize, row: usize, index: usize| -> f64 {
        let Some(p) = frame.planes.get(plane) else { return 0.0 };
        let at = row * p.stride_bytes;
        let byte = |k: usize| p.data.get(at + k).copied().map_or(0, u16::from);
        f64::from(match frame.format {
            PixelFormat::Yuv420p | PixelFormat::Nv12 => byte(index),
            PixelFormat::Yuv420p10le => (byte(2 * index) | byte(2 * index + 1) << 8) & 0x3ff,
            PixelFormat::P010le => (byte(2 * index) | byte(2 * index + 1) << 8) >> 6,
        })
    };
    let (cx, cy) = (x / 2, y / 2);
    let luma = read(0, y, x);
    match frame.format {
        PixelFormat::Yuv420p | PixelFormat::Yuv420p10le => (luma, read(1, cy, cx), read(2, cy, cx)),
        PixelFormat::Nv12 | PixelFormat::P010le => (luma, read(1, cy, 2 * cx), read(1, cy, 2 * cx + 1)),
    }
}

/// An output image (`spec.dtype` elements in native byte order, layout order) as f32.
pub fn decode_output(dtype: DType, bytes: &[u8]) -> Vec<f32> {
    match dtype {
        DType::F32 => bytes.chunks_exact(4).map(|b| f32::from_ne_bytes([b[0], b[1], b[2], b[3]])).collect(),
        DType::F16 => {
            bytes.chunks_exact(2).map(|b| super::f16::f16_bits_to_f32(u16::from_ne_bytes([b[0], b[1]]))).collect()
        }
        DType::U8 => bytes.iter().map(|&b| f32::from(b)).collect(),
    }
}

/// The largest difference between `ours` (decoded output values) and `theirs`, in pixel
/// levels — one level is 1/255 of the 0–255 pixel scale, i.e. the difference divided by the
/// output channel's `scale / std` — beyond what `roundings` roundings to `spec.dtype` allow
/// (half an f16 ulp or half a u8 step each). "Within 1/255" means a result ≤ 1. A length
/// mismatch or NaN is infinitely far.
pub fn max_level_difference(spec: &PreprocessSpec, ours: &[f32], theirs: &[f64], roundings: f64) -> f64 {
    if ours.len() != theirs.len() {
        return f64::INFINITY;
    }
    let plane = spec.out_width as usize * spec.out_height as usize;
    let mut worst = 0.0f64;
    for (e, (&a, &b)) in ours.iter().zip(theirs).enumerate() {
        let k = match spec.layout {
            Layout::Nchw => (e / plane.max(1)).min(2),
            Layout::Nhwc => e % 3,
        };
        let level = f64::from(spec.scale / spec.std[k]).abs();
        let (b, quantum) = match spec.dtype {
            DType::F32 => (b, 0.0),
            DType::F16 => (b, b.abs() * 2f64.powi(-11) + 2f64.powi(-25)),
            DType::U8 => (b.clamp(0.0, 255.0), 0.5),
        };
        let raw = (f64::from(a) - b).abs();
        // Checked before `max`, which would turn NaN into 0.
        if raw.is_nan() {
            return f64::INFINITY;
        }
        worst = worst.max((raw - roundings * quantum).max(0.0) / level);
    }
    worst
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_difference_is_scaled_by_the_normalisation_and_rounding() {
        let spec = PreprocessSpec::default().with_output_size(1, 1).with_normalisation(1.0 / 255.0, [0.0; 3], [0.5; 3]);
        // One level is (1/255) / 0.5 = 2/255 here.
        let theirs = [0.0, 0.5, 1.0];
        let ours = [0.0, 0.5 + 3.0 / 255.0, 1.0];
        assert!((max_level_difference(&spec, &ours, &theirs, 1.0) - 1.5).abs() < 1e-6);
        assert_eq!(max_level_difference(&spec, &ours[..2], &theirs, 1.0), f64::INFINITY);
        assert_eq!(max_level_difference(&spec, &[f32::NAN, 0.5, 1.0], &theirs, 1.0), f64::INFINITY);
        let u8_spec = spec.with_normalisation(1.0, [0.0; 3], [1.0; 3]).with_dtype(DType::U8);
        // 10.5 rounds to 10 or 11: both within the half step one rounding allows.
        assert_eq!(max_level_difference(&u8_spec, &[10.0, 11.0, 255.0], &[10.5, 10.5, 300.0], 1.0), 0.0);
        assert_eq!(decode_output(DType::F16, &0x3c00u16.to_ne_bytes()), [1.0]);
    }
}
