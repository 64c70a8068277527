//! Hand-written AVX2 kernels where the compiler's autovectorised RGBx code shuffles more
//! than it computes; the other kernels are the portable ones compiled for AVX2.
//!
//! Every function here requires AVX2 and FMA (the `# Safety` of each); loads and stores
//! use the unaligned forms on pointers taken from slices at least as long as the access.

use std::arch::x86_64::*;

// `store_planes_as` below shadows the glob's.
pub(super) use super::avx2_compiled::*;
use super::{avx2_compiled, rows, AxisTaps, ChannelOrder, DType, RgbCoefficients, Rgbx};

/// Permutation indices that fill the low half of a vector with element `2k` and the high
/// half with element `2k + 1`: one luma or chroma value per RGBx pixel of a pixel pair.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn pair_spread() -> [__m256i; 4] {
    [0, 1, 2, 3].map(|k| _mm256_setr_epi32(2 * k, 2 * k, 2 * k, 2 * k, 2 * k + 1, 2 * k + 1, 2 * k + 1, 2 * k + 1))
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn chroma_terms(u: &[f32], v: &[f32], c: &RgbCoefficients, dst: &mut [Rgbx]) {
    let twice = |x: [f32; 4]| _mm256_setr_ps(x[0], x[1], x[2], x[3], x[0], x[1], x[2], x[3]);
    let (cu, cv, bias) = (twice(c.u), twice(c.v), twice(c.bias));
    let spread = pair_spread();
    let groups = u.chunks_exact(8).zip(v.chunks_exact(8)).zip(dst.chunks_exact_mut(8));
    let mut done = 0;
    for ((u8, v8), d8) in groups {
        // SAFETY: `u8` and `v8` hold 8 floats, `d8` 8 RGBx pixels (32 floats).
        let (u, v, out) = (_mm256_loadu_ps(u8.as_ptr()), _mm256_loadu_ps(v8.as_ptr()), d8.as_mut_ptr().cast::<f32>());
        for (k, spread) in spread.iter().enumerate() {
            let (u, v) = (_mm256_permutevar8x32_ps(u, *spread), _mm256_permutevar8x32_ps(v, *spread));
            // SAFETY: `8 * k + 8 <= 32` floats of `d8`.
            _mm256_storeu_ps(out.add(8 * k), _mm256_fmadd_ps(u, cu, _mm256_fmadd_ps(v, cv, bias)));
        }
        done += 8;
    }
    let tail = (u.get(done..), v.get(done..), dst.get_mut(done..));
    if let (Some(u), Some(v), Some(dst)) = tail {
        rows::chroma_terms(u, v, c, dst);
    }
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn combine(luma: &[f32], terms: &[Rgbx], y_gain: f32, dst: &mut [Rgbx]) {
    let gain = _mm256_set1_ps(y_gain);
    let (zero, max) = (_mm256_setzero_ps(), _mm256_set1_ps(255.0));
    let spread = pair_spread();
    let groups = luma.chunks_exact(8).zip(terms.chunks_exact(4)).zip(dst.chunks_exact_mut(8));
    let mut done = 0;
    for ((y8, t4), d8) in groups {
        // SAFETY: `y8` holds 8 floats, `t4` 4 RGBx terms (16 floats), `d8` 8 RGBx pixels.
        let y = _mm256_loadu_ps(y8.as_ptr());
        let (t01, t23) = (_mm256_loadu_ps(t4.as_ptr().cast()), _mm256_loadu_ps(t4.as_ptr().cast::<f32>().add(8)));
        let terms = [
            _mm256_permute2f128_ps::<0x00>(t01, t01),
            _mm256_permute2f128_ps::<0x11>(t01, t01),
            _mm256_permute2f128_ps::<0x00>(t23, t23),
            _mm256_permute2f128_ps::<0x11>(t23, t23),
        ];
        let out = d8.as_mut_ptr().cast::<f32>();
        for (k, (spread, term)) in spread.iter().zip(terms).enumerate() {
            let px = _mm256_fmadd_ps(_mm256_permutevar8x32_ps(y, *spread), gain, term);
            // SAFETY: `8 * k + 8 <= 32` floats of `d8`. max/min map NaN to 0 like `clamp_255`.
            _mm256_storeu_ps(out.add(8 * k), _mm256_min_ps(_mm256_max_ps(px, zero), max));
        }
        done += 8;
    }
    let tail = (luma.get(done..), terms.get(done / 2..), dst.get_mut(done..));
    if let (Some(luma), Some(terms), Some(dst)) = tail {
        rows::combine(luma, terms, y_gain, dst);
    }
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn horizontal(src: &[Rgbx], taps: &AxisTaps, dst: &mut [Rgbx]) {
    if taps.per_output != 2 {
        return horizontal_any(src, taps, dst);
    }
    let (first, second) = (_mm256_setr_epi32(0, 0, 0, 0, 1, 1, 1, 1), _mm256_setr_epi32(2, 2, 2, 2, 3, 3, 3, 3));
    let outputs = dst.chunks_exact_mut(2).zip(taps.starts.chunks_exact(2)).zip(taps.weights.chunks_exact(4));
    let mut done = 0;
    for ((d2, s2), w4) in outputs {
        let &[s0, s1] = s2 else { continue };
        let (Some(p0), Some(p1)) = (src.get(s0 as usize..s0 as usize + 2), src.get(s1 as usize..s1 as usize + 2))
        else {
            continue;
        };
        // SAFETY: `p0`, `p1` and `d2` hold 2 RGBx pixels (8 floats) each, `w4` 4 floats.
        let (p0, p1) = (_mm256_loadu_ps(p0.as_ptr().cast()), _mm256_loadu_ps(p1.as_ptr().cast()));
        let w = _mm256_castps128_ps256(_mm_loadu_ps(w4.as_ptr()));
        let m0 = _mm256_mul_ps(p0, _mm256_permutevar8x32_ps(w, first));
        let m1 = _mm256_mul_ps(p1, _mm256_permutevar8x32_ps(w, second));
        let sum = _mm256_add_ps(_mm256_permute2f128_ps::<0x20>(m0, m1), _mm256_permute2f128_ps::<0x31>(m0, m1));
        _mm256_storeu_ps(d2.as_mut_ptr().cast(), sum);
        done += 2;
    }
    // An odd last output.
    let last = (dst.get_mut(done), taps.starts.get(done), taps.weights.get(2 * done..2 * done + 2));
    if let (Some(d), Some(&start), Some(&[wa, wb])) = last {
        if let Some(px) = rows::two_taps(src, start as usize, wa, wb) {
            *d = px;
        }
    }
}

/// [`horizontal`] for any number of taps (area filters): one fused multiply-add per tap.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn horizontal_any(src: &[Rgbx], taps: &AxisTaps, dst: &mut [Rgbx]) {
    let outputs = dst.iter_mut().zip(&taps.starts).zip(taps.weights.chunks_exact(taps.per_output.max(1)));
    for ((d, &start), weights) in outputs {
        let Some(px) = src.get(start as usize..start as usize + weights.len()) else { continue };
        // Two pixels per step in one 256-bit register: half the operations and half the
        // dependency chain of one fused multiply-add per tap.
        let mut acc = _mm256_setzero_ps();
        let mut pairs = px.chunks_exact(2).zip(weights.chunks_exact(2));
        for (p, w) in &mut pairs {
            if let &[w0, w1] = w {
                // SAFETY: `p` is two RGBx pixels, 8 floats.
                let w = _mm256_set_m128(_mm_set1_ps(w1), _mm_set1_ps(w0));
                acc = _mm256_fmadd_ps(_mm256_loadu_ps(p.as_ptr().cast()), w, acc);
            }
        }
        let mut sum = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps::<1>(acc));
        if let (Some(p), Some(&w)) = (px.get(weights.len() & !1), weights.get(weights.len() & !1)) {
            // SAFETY: `p` is one RGBx pixel, 4 floats.
            sum = _mm_fmadd_ps(_mm_loadu_ps(p.as_ptr()), _mm_set1_ps(w), sum);
        }
        // SAFETY: `d` is one RGBx pixel, 4 floats.
        _mm_storeu_ps(d.as_mut_ptr(), sum);
    }
}

/// Eight RGBx pixels as three vectors of R, G and B.
///
/// # Safety
/// The CPU must support AVX2 and FMA; `px` must hold at least 8 pixels.
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn transpose8(px: &[Rgbx]) -> [__m256; 3] {
    let p = px.as_ptr().cast::<f32>();
    // SAFETY: the caller passes 8 pixels, 32 floats.
    let (p01, p23, p45, p67) =
        (_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8)), _mm256_loadu_ps(p.add(16)), _mm256_loadu_ps(p.add(24)));
    // Per 128-bit lane: [r0 r2 g0 g2 | r1 r3 g1 g3], [b0 b2 x0 x2 | b1 b3 x1 x3], ...
    let (t0, t1) = (_mm256_unpacklo_ps(p01, p23), _mm256_unpackhi_ps(p01, p23));
    let (t2, t3) = (_mm256_unpacklo_ps(p45, p67), _mm256_unpackhi_ps(p45, p67));
    // [c0 c2 c4 c6 | c1 c3 c5 c7] → [c0 .. c7].
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    [
        _mm256_permutevar8x32_ps(_mm256_shuffle_ps::<0x44>(t0, t2), order),
        _mm256_permutevar8x32_ps(_mm256_shuffle_ps::<0xee>(t0, t2), order),
        _mm256_permutevar8x32_ps(_mm256_shuffle_ps::<0x44>(t1, t3), order),
    ]
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn store_planes_as(dtype: DType, px: &[Rgbx], rgb_index: [usize; 3], dst: [&mut [u8]; 3]) {
    let f16c = dtype == DType::F16 && is_x86_feature_detected!("f16c");
    if dtype != DType::F32 && !f16c {
        return avx2_compiled::store_planes_as(dtype, px, rgb_index, dst);
    }
    let size = dtype.size_bytes();
    let [d0, d1, d2] = dst;
    let rows = d0.chunks_exact_mut(8 * size).zip(d1.chunks_exact_mut(8 * size)).zip(d2.chunks_exact_mut(8 * size));
    let mut done = 0;
    for (((d0, d1), d2), px8) in rows.zip(px.chunks_exact(8)) {
        // SAFETY: `px8` holds 8 pixels.
        let rgb = transpose8(px8);
        for (d, lane) in [d0, d1, d2].into_iter().zip(rgb_index) {
            let v = rgb[lane.min(2)];
            if f16c {
                // SAFETY: F16C was detected; `d` holds 8 halves (16 bytes).
                store_f16(d, v);
            } else {
                // SAFETY: `d` holds 8 floats (32 bytes).
                _mm256_storeu_ps(d.as_mut_ptr().cast(), v);
            }
        }
        done += 8;
    }
    let tails = [d0, d1, d2].map(|d| d.get_mut(done * size..).unwrap_or_default());
    rows::store_planes_as(dtype, px.get(done..).unwrap_or_default(), rgb_index, tails);
}

/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
pub(super) unsafe fn store_interleaved_as(dtype: DType, px: &[Rgbx], order: ChannelOrder, dst: &mut [u8]) {
    let lanes = order.rgb_index().map(|l| l.min(2) as i32);
    // Only whole pixels that `px` and `dst` both have are written.
    let size = 3 * dtype.size_bytes();
    let dst_len = dst.len().min(px.len() * size);
    let dst = dst.get_mut(..dst_len).unwrap_or_default();
    let done = match dtype {
        DType::F32 => interleave_f32(px, lanes, dst),
        DType::F16 if is_x86_feature_detected!("f16c") => interleave_f16(px, lanes, dst),
        DType::F16 => 0,
        DType::U8 => interleave_u8(px, lanes, dst),
    };
    let tail = dst.get_mut(done * size..).unwrap_or_default();
    rows::store_interleaved_as(dtype, px.get(done..).unwrap_or_default(), order, tail);
}

/// Indices that pick channels `lanes` of two RGBx pixels into six packed floats (two
/// don't-care lanes follow).
#[inline]
#[target_feature(enable = "avx2,fma")]
unsafe fn pack_pair_index(lanes: [i32; 3]) -> __m256i {
    let [a, b, c] = lanes;
    _mm256_setr_epi32(a, b, c, 4 + a, 4 + b, 4 + c, 3, 7)
}

/// Pixel pairs as packed f32, eight floats stored per six written (the next pair or the
/// portable tail overwrites the extra two). Returns the pixels done.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn interleave_f32(px: &[Rgbx], lanes: [i32; 3], dst: &mut [u8]) -> usize {
    let index = pack_pair_index(lanes);
    let mut done = 0;
    while let (Some(pair), Some(d)) = (px.get(done..done + 2), dst.get_mut(done * 12..done * 12 + 32)) {
        // SAFETY: `pair` holds 8 floats, `d` 32 bytes.
        let v = _mm256_permutevar8x32_ps(_mm256_loadu_ps(pair.as_ptr().cast()), index);
        _mm256_storeu_ps(d.as_mut_ptr().cast(), v);
        done += 2;
    }
    done
}

/// [`interleave_f32`] for binary16: 16 bytes stored per 12 written.
///
/// # Safety
/// The CPU must support AVX2, FMA and F16C.
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn interleave_f16(px: &[Rgbx], lanes: [i32; 3], dst: &mut [u8]) -> usize {
    let index = pack_pair_index(lanes);
    let mut done = 0;
    while let (Some(pair), Some(d)) = (px.get(done..done + 2), dst.get_mut(done * 6..done * 6 + 16)) {
        // SAFETY: `pair` holds 8 floats, `d` 16 bytes.
        let v = _mm256_permutevar8x32_ps(_mm256_loadu_ps(pair.as_ptr().cast()), index);
        _mm_storeu_si128(d.as_mut_ptr().cast(), _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(v));
        done += 2;
    }
    done
}

/// Eight pixels at a time as packed u8 (rounded to nearest even by `cvtps2dq` in the
/// default rounding mode, clamped first like `round_to_u8`); two 16-byte stores per 24
/// bytes written. Returns the pixels done.
///
/// # Safety
/// The CPU must support AVX2 and FMA.
#[target_feature(enable = "avx2,fma")]
unsafe fn interleave_u8(px: &[Rgbx], lanes: [i32; 3], dst: &mut [u8]) -> usize {
    let (zero, max) = (_mm256_setzero_ps(), _mm256_set1_ps(255.0));
    let [a, b, c] = lanes.map(|l| l as i8);
    let pick = |q: i8| [4 * q + a, 4 * q + b, 4 * q + c];
    let [p0, p1, p2, p3] = [0, 1, 2, 3].map(pick);
    let z = -128; // 0x80: shuffle in a zero
    #[rustfmt::skip]
    let shuffle = _mm256_setr_epi8(
        p0[0], p0[1], p0[2], p1[0], p1[1], p1[2], p2[0], p2[1], p2[2], p3[0], p3[1], p3[2], z, z, z, z,
        p0[0], p0[1], p0[2], p1[0], p1[1], p1[2], p2[0], p2[1], p2[2], p3[0], p3[1], p3[2], z, z, z, z,
    );
    let order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    let mut done = 0;
    while let (Some(eight), Some(d)) = (px.get(done..done + 8), dst.get_mut(done * 3..done * 3 + 28)) {
        let p = eight.as_ptr().cast::<f32>();
        // SAFETY: `eight` holds 8 pixels, 32 floats.
        let [v0, v1, v2, v3] = [0, 8, 16, 24].map(|k| {
            let v = _mm256_loadu_ps(p.add(k));
            _mm256_cvtps_epi32(_mm256_min_ps(_mm256_max_ps(v, zero), max))
        });
        // Per 128-bit lane: [p0 p2 p4 p6 | p1 p3 p5 p7], 4 bytes each; then in order.
        let bytes = _mm256_packus_epi16(_mm256_packs_epi32(v0, v1), _mm256_packs_epi32(v2, v3));
        let packed = _mm256_shuffle_epi8(_mm256_permutevar8x32_epi32(bytes, order), shuffle);
        // SAFETY: `d` holds 28 bytes; the second store overwrites the first's 4 zero bytes.
        _mm_storeu_si128(d.as_mut_ptr().cast(), _mm256_castsi256_si128(packed));
        _mm_storeu_si128(d.as_mut_ptr().add(12).cast(), _mm256_extracti128_si256::<1>(packed));
        done += 8;
    }
    done
}

/// Eight floats as binary16 (round to nearest even), to 16 bytes of `dst`.
///
/// # Safety
/// The CPU must support AVX2 and F16C; `dst` must hold 16 bytes.
#[inline]
#[target_feature(enable = "avx2,fma,f16c")]
unsafe fn store_f16(dst: &mut [u8], v: __m256) {
    _mm_storeu_si128(dst.as_mut_ptr().cast(), _mm256_cvtps_ph::<_MM_FROUND_TO_NEAREST_INT>(v));
}
