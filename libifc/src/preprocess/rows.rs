//! Portable row kernels. Pixels travel as RGBx (`[f32; 4]`, the fourth lane unused), which
//! the compiler maps onto SSE registers on x86-64 and NEON on aarch64; [`super::simd`]
//! compiles the same functions again for AVX2 and replaces the ones that autovectorise badly.
//!
//! Every function is `#[inline(always)]` so that a `#[target_feature]` caller gets a copy
//! compiled for its instruction set.

use super::colour::RgbCoefficients;
use super::f16::f32_to_f16_bits;
use super::frame::SampleKind;
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

/// De-interleaves a row of U, V pairs (NV12, P010) into sample values.
#[inline(always)]
pub(crate) fn unpack_interleaved(kind: SampleKind, src: &[u8], u: &mut [f32], v: &mut [f32]) {
    let dst = u.iter_mut().zip(v.iter_mut());
    match kind {
        SampleKind::U8 => dst.zip(src.chunks_exact(2)).for_each(|((u, v), s)| {
            if let [a, b] = *s {
                (*u, *v) = (f32::from(a), f32::from(b));
            }
        }),
        SampleKind::U16Low10 => dst.zip(src.chunks_exact(4)).for_each(|((u, v), s)| {
            let (a, b) = s.split_at(2);
            (*u, *v) = (f32::from(le_u16(a) & 0x3ff), f32::from(le_u16(b) & 0x3ff));
        }),
        SampleKind::U16High10 => dst.zip(src.chunks_exact(4)).for_each(|((u, v), s)| {
            let (a, b) = s.split_at(2);
            (*u, *v) = (f32::from(le_u16(a) >> 6), f32::from(le_u16(b) >> 6));
        }),
    }
}

/// The chroma part of each chroma sample's RGB: `u * U + v * V + bias` per lane.
#[inline(always)]
pub(crate) fn chroma_terms(u: &[f32], v: &[f32], c: &RgbCoefficients, dst: &mut [Rgbx]) {
    for (d, (&u, &v)) in dst.iter_mut().zip(u.iter().zip(v)) {
        *d = lanes(|l| u * c.u[l] + v * c.v[l] + c.bias[l]);
    }
}

/// RGB of each pixel: `clamp(y_gain * Y + term, 0, 255)`, pixel `k` taking chroma term
/// `k / 2` (nearest chroma, each chroma sample covering its 2×2 luma block).
#[inline(always)]
pub(crate) fn combine(luma: &[f32], terms: &[Rgbx], y_gain: f32, dst: &mut [Rgbx]) {
    let pixel = |y: f32, t: &Rgbx| lanes(|l| clamp_255(y * y_gain + t[l]));
    let mut pairs = dst.chunks_exact_mut(2);
    let mut luma_pairs = luma.chunks_exact(2);
    for ((d, y), t) in (&mut pairs).zip(&mut luma_pairs).zip(terms) {
        if let ([d0, d1], &[y0, y1]) = (d, y) {
            (*d0, *d1) = (pixel(y0, t), pixel(y1, t));
        }
    }
    // An odd last pixel.
    let last_term = terms.get(luma.len() / 2);
    for ((d, &y), t) in pairs.into_remainder().iter_mut().zip(luma_pairs.remainder()).zip(last_term) {
        *d = pixel(y, t);
    }
}

/// `[f(0), f(1), f(2), f(3)]`, written so that it compiles to one vector operation.
#[inline(always)]
pub(crate) fn lanes(f: impl Fn(usize) -> f32) -> Rgbx {
    [f(0), f(1), f(2), f(3)]
}

/// `v` limited to `0..=255`; written as compare-and-select so that it compiles to
/// `maxps`/`minps` (NaN becomes 0 or stays NaN, never matters here).
#[inline(always)]
pub(crate) fn clamp_255(v: f32) -> f32 {
    let v = if v > 0.0 { v } else { 0.0 };
    if v < 255.0 {
        v
    } else {
        255.0
    }
}

/// Round to nearest, ties to even, then clamp to `0..=255`. Adding and subtracting 1.5·2^23
/// rounds with the FPU's default mode (nearest-even) without SSE4.1's `roundps`, which the
/// x86-64 baseline lacks (`f32::round_ties_even` would be a library call per value).
#[inline(always)]
pub(crate) fn round_to_u8(v: f32) -> u8 {
    const MAGIC: f32 = 12_582_912.0;
    ((clamp_255(v) + MAGIC) - MAGIC) as u8
}

/// One axis of resampling: `dst[i] = Σ_k w[i][k] * src[start[i] + k]`.
#[inline(always)]
pub(crate) fn horizontal(src: &[Rgbx], taps: &AxisTaps, dst: &mut [Rgbx]) {
    let outputs = dst.iter_mut().zip(&taps.starts);
    if taps.per_output == 2 {
        for ((d, &start), w) in outputs.zip(taps.weights.chunks_exact(2)) {
            if let Some(px) = w.first().zip(w.get(1)).and_then(|(&wa, &wb)| two_taps(src, start as usize, wa, wb)) {
                *d = px;
            }
        }
    } else {
        for ((d, &start), w) in outputs.zip(taps.weights.chunks_exact(taps.per_output.max(1))) {
            let start = start as usize;
            let mut acc = [0.0; 4];
            for (px, &w) in src.get(start..).unwrap_or(&[]).iter().zip(w) {
                acc = lanes(|l| acc[l] + px[l] * w);
            }
            *d = acc;
        }
    }
}

/// `wa * src[start] + wb * src[start + 1]`, if both exist.
#[inline(always)]
pub(crate) fn two_taps(src: &[Rgbx], start: usize, wa: f32, wb: f32) -> Option<Rgbx> {
    match src.get(start..start + 2)? {
        &[a, b] => Some(lanes(|l| a[l] * wa + b[l] * wb)),
        _ => None,
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
        *p = lanes(|l| p[l] * gain[l] + offset[l]);
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
        // NaN (impossible with a validated spec) becomes 0.
        dst.fill(round_to_u8(value));
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

/// Writes the pixels to the rows of the three output planes (NCHW): output channel `k` is
/// lane `rgb_index[k]`.
#[inline(always)]
pub(crate) fn store_planes_as(dtype: DType, px: &[Rgbx], rgb_index: [usize; 3], dst: [&mut [u8]; 3]) {
    for (d, lane) in dst.into_iter().zip(rgb_index) {
        match dtype {
            DType::F32 => store_plane::<F32>(px, lane, d),
            DType::F16 => store_plane::<F16>(px, lane, d),
            DType::U8 => store_plane::<U8>(px, lane, d),
        }
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
