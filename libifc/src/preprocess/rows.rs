//! Portable row kernels. Pixels travel as RGBx (`[f32; 4]`, the fourth lane unused), which
//! the compiler maps onto SSE registers on x86-64 and NEON on aarch64; [`super::simd`]
//! compiles the same functions again for AVX2 and replaces the ones that autovectorise badly.
//!
//! Every function is `#[inline(always)]` so that a `#[target_feature]` caller gets a copy
//! compiled for its instruction set.

use super::colour::RgbCoefficients;
use super::f16::f32_to_f16_bits;
use super::frame::{ChromaRow, SampleKind};
use super::spec::{ChannelOrder, DType};
use super::taps::AxisTaps;

pub(crate) type Rgbx = [f32; 4];

#[inline(always)]
fn le_u16(pair: &[u8]) -> u16 {
    match *pair {
        [lo, hi] => u16::from_le_bytes([lo, hi]),
        _ => 0,
    }
}

#[inline(always)]
fn sample(kind: SampleKind, bytes: &[u8]) -> f32 {
    match kind {
        SampleKind::U8 => bytes.first().map_or(0.0, |&b| f32::from(b)),
        SampleKind::U16Low10 => f32::from(le_u16(bytes) & 0x3ff),
        SampleKind::U16High10 => f32::from(le_u16(bytes) >> 6),
    }
}

/// Sample values of a row of one component, as f32.
#[inline(always)]
pub(crate) fn unpack_samples(kind: SampleKind, src: &[u8], dst: &mut [f32]) {
    match kind {
        // Separate loops per kind: each one vectorises on its own.
        SampleKind::U8 => dst.iter_mut().zip(src).for_each(|(d, &s)| *d = f32::from(s)),
        SampleKind::U16Low10 => {
            dst.iter_mut().zip(src.chunks_exact(2)).for_each(|(d, s)| *d = f32::from(le_u16(s) & 0x3ff));
        }
        SampleKind::U16High10 => {
            dst.iter_mut().zip(src.chunks_exact(2)).for_each(|(d, s)| *d = f32::from(le_u16(s) >> 6));
        }
    }
}

/// The chroma part of each chroma sample's RGB: `u * U + v * V + bias` per lane.
#[inline(always)]
pub(crate) fn chroma_terms(kind: SampleKind, row: ChromaRow<'_>, c: &RgbCoefficients, dst: &mut [Rgbx]) {
    let term = |u: f32, v: f32| -> Rgbx { std::array::from_fn(|l| u * c.u[l] + v * c.v[l] + c.bias[l]) };
    let width = kind.bytes();
    match row {
        ChromaRow::Planar { u, v } => {
            let pairs = u.chunks_exact(width).zip(v.chunks_exact(width));
            dst.iter_mut().zip(pairs).for_each(|(d, (u, v))| *d = term(sample(kind, u), sample(kind, v)));
        }
        ChromaRow::Interleaved(uv) => {
            let pairs = uv.chunks_exact(2 * width).map(|p| p.split_at(width));
            dst.iter_mut().zip(pairs).for_each(|(d, (u, v))| *d = term(sample(kind, u), sample(kind, v)));
        }
    }
}

/// RGB of each pixel: `clamp(y_gain * Y + term, 0, 255)`, pixel `k` taking chroma term
/// `k / 2` (nearest chroma, each chroma sample covering its 2×2 luma block).
#[inline(always)]
pub(crate) fn combine(luma: &[f32], terms: &[Rgbx], y_gain: f32, dst: &mut [Rgbx]) {
    for ((pair, ys), t) in dst.chunks_mut(2).zip(luma.chunks(2)).zip(terms) {
        for (d, &y) in pair.iter_mut().zip(ys) {
            *d = std::array::from_fn(|l| (y * y_gain + t[l]).clamp(0.0, 255.0));
        }
    }
}

/// One axis of resampling: `dst[i] = Σ_k w[i][k] * src[start[i] + k]`.
#[inline(always)]
pub(crate) fn horizontal(src: &[Rgbx], taps: &AxisTaps, dst: &mut [Rgbx]) {
    let outputs = dst.iter_mut().zip(&taps.starts);
    if taps.per_output == 2 {
        for ((d, &start), w) in outputs.zip(taps.weights.chunks_exact(2)) {
            let start = start as usize;
            if let (Some(&[a, b]), &[wa, wb]) = (src.get(start..start + 2), w) {
                *d = std::array::from_fn(|l| a[l] * wa + b[l] * wb);
            }
        }
    } else {
        for ((d, &start), w) in outputs.zip(taps.weights.chunks_exact(taps.per_output.max(1))) {
            let start = start as usize;
            let mut acc = [0.0; 4];
            for (px, &w) in src.get(start..).unwrap_or(&[]).iter().zip(w) {
                acc = std::array::from_fn(|l| acc[l] + px[l] * w);
            }
            *d = acc;
        }
    }
}

/// `acc = first ? w * row : acc + w * row`, elementwise.
#[inline(always)]
pub(crate) fn accumulate(acc: &mut [Rgbx], row: &[Rgbx], w: f32, first: bool) {
    let (acc, row) = (acc.as_flattened_mut(), row.as_flattened());
    if first {
        acc.iter_mut().zip(row).for_each(|(a, &r)| *a = r * w);
    } else {
        acc.iter_mut().zip(row).for_each(|(a, &r)| *a += r * w);
    }
}

/// `px = px * gain + offset`, per lane (the normalisation, in RGB lanes).
#[inline(always)]
pub(crate) fn normalise(px: &mut [Rgbx], gain: Rgbx, offset: Rgbx) {
    for p in px {
        *p = std::array::from_fn(|l| p[l] * gain[l] + offset[l]);
    }
}

/// An output element type: its byte size and how a normalised value is written.
pub(crate) trait Element {
    const SIZE: usize;
    fn write(dst: &mut [u8], value: f32);
}

pub(crate) struct F32;
pub(crate) struct F16;
pub(crate) struct U8;

impl Element for F32 {
    const SIZE: usize = 4;
    #[inline(always)]
    fn write(dst: &mut [u8], value: f32) {
        dst.copy_from_slice(&value.to_ne_bytes());
    }
}

impl Element for F16 {
    const SIZE: usize = 2;
    #[inline(always)]
    fn write(dst: &mut [u8], value: f32) {
        dst.copy_from_slice(&f32_to_f16_bits(value).to_ne_bytes());
    }
}

impl Element for U8 {
    const SIZE: usize = 1;
    #[inline(always)]
    fn write(dst: &mut [u8], value: f32) {
        // `as` saturates (and maps NaN to 0); the clamp keeps the rounding exact at the ends.
        dst.fill(value.round_ties_even().clamp(0.0, 255.0) as u8);
    }
}

/// Writes lane `lane` of each pixel to a plane row (NCHW).
#[inline(always)]
pub(crate) fn store_plane<E: Element>(px: &[Rgbx], lane: usize, dst: &mut [u8]) {
    let lane = lane.min(3);
    for (d, p) in dst.chunks_exact_mut(E::SIZE).zip(px) {
        E::write(d, p[lane]);
    }
}

/// Writes the three channels of each pixel interleaved (NHWC).
#[inline(always)]
pub(crate) fn store_interleaved<E: Element>(px: &[Rgbx], order: ChannelOrder, dst: &mut [u8]) {
    let [c0, c1, c2] = order.rgb_index();
    for (d, p) in dst.chunks_exact_mut(3 * E::SIZE).zip(px) {
        let (d0, rest) = d.split_at_mut(E::SIZE);
        let (d1, d2) = rest.split_at_mut(E::SIZE);
        E::write(d0, p[c0]);
        E::write(d1, p[c1]);
        E::write(d2, p[c2]);
    }
}

/// Dispatches [`store_plane`] on the element type.
#[inline(always)]
pub(crate) fn store_plane_as(dtype: DType, px: &[Rgbx], lane: usize, dst: &mut [u8]) {
    match dtype {
        DType::F32 => store_plane::<F32>(px, lane, dst),
        DType::F16 => store_plane::<F16>(px, lane, dst),
        DType::U8 => store_plane::<U8>(px, lane, dst),
    }
}

/// Dispatches [`store_interleaved`] on the element type.
#[inline(always)]
pub(crate) fn store_interleaved_as(dtype: DType, px: &[Rgbx], order: ChannelOrder, dst: &mut [u8]) {
    match dtype {
        DType::F32 => store_interleaved::<F32>(px, order, dst),
        DType::F16 => store_interleaved::<F16>(px, order, dst),
        DType::U8 => store_interleaved::<U8>(px, order, dst),
    }
}
