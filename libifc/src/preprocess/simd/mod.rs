//! Instruction-set dispatch for the row kernels. [`Isa::detect`] picks AVX2+FMA on x86-64
//! CPUs that have it (checked at run time with `is_x86_feature_detected!`) and the portable
//! kernels of [`super::rows`] everywhere else.
//!
//! The AVX2 path is the portable code compiled again inside `#[target_feature(enable =
//! "avx2,fma")]` functions (so it autovectorises eight lanes wide), plus hand-written
//! intrinsics in [`avx2`] where the compiler's version is slow. The only unsafe code of the
//! preprocessing lives here: calling a `#[target_feature]` function is sound only on a CPU
//! that has the feature, which the [`Avx2`] token proves.
#![allow(unsafe_code)]

use super::colour::RgbCoefficients;
use super::frame::SampleKind;
use super::rows::{self, Rgbx};
use super::spec::{ChannelOrder, DType};
use super::taps::AxisTaps;

/// Which kernels to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isa {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2(Avx2),
}

/// Proof that the CPU supports AVX2 and FMA; only [`Isa::detect`] makes one.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Avx2 {
    _detected: (),
}

impl Isa {
    /// The fastest kernels this CPU runs.
    pub(crate) fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return Isa::Avx2(Avx2 { _detected: () });
        }
        Isa::Portable
    }

    pub(crate) fn is_simd(self) -> bool {
        self != Isa::Portable
    }
}

/// Defines `Isa` methods that run the portable kernel of [`rows`], or its AVX2 version when
/// the token says the CPU has AVX2 and FMA: for the `compiled` ones the portable code
/// compiled again for AVX2+FMA (so that it autovectorises eight lanes wide), for the
/// `hand_written` ones the intrinsics in [`avx2`].
macro_rules! dispatch {
    (
        compiled { $(fn $name:ident($($arg:ident: $ty:ty),*);)* }
        hand_written { $(fn $hand:ident($($harg:ident: $hty:ty),*);)* }
    ) => {
        impl Isa {
            $(dispatch!(@method $name($($arg: $ty),*));)*
            $(dispatch!(@method $hand($($harg: $hty),*));)*
        }

        #[cfg(target_arch = "x86_64")]
        mod avx2_compiled {
            use super::*;
            $(
                /// The portable kernel compiled for AVX2+FMA.
                ///
                /// # Safety
                /// The CPU must support AVX2 and FMA.
                #[target_feature(enable = "avx2,fma")]
                pub(super) unsafe fn $name($($arg: $ty),*) {
                    rows::$name($($arg),*)
                }
            )*
        }
    };
    (@method $name:ident($($arg:ident: $ty:ty),*)) => {
        pub(crate) fn $name(self, $($arg: $ty),*) {
            match self {
                Isa::Portable => rows::$name($($arg),*),
                #[cfg(target_arch = "x86_64")]
                // SAFETY: an `Avx2` token exists only where AVX2 and FMA were detected.
                Isa::Avx2(_) => unsafe { avx2::$name($($arg),*) },
            }
        }
    };
}

dispatch! {
    compiled {
        fn unpack_samples(kind: SampleKind, src: &[u8], dst: &mut [f32]);
        fn unpack_interleaved(kind: SampleKind, src: &[u8], u: &mut [f32], v: &mut [f32]);
        fn accumulate(acc: &mut [Rgbx], row: &[Rgbx], w: f32, first: bool);
        fn normalise(px: &mut [Rgbx], gain: Rgbx, offset: Rgbx);
        fn store_planes_as(dtype: DType, px: &[Rgbx], rgb_index: [usize; 3], dst: [&mut [u8]; 3]);
    }
    hand_written {
        fn horizontal(src: &[Rgbx], taps: &AxisTaps, dst: &mut [Rgbx]);
        fn store_interleaved_as(dtype: DType, px: &[Rgbx], order: ChannelOrder, dst: &mut [u8]);
        fn chroma_terms(u: &[f32], v: &[f32], c: &RgbCoefficients, dst: &mut [Rgbx]);
        fn combine(luma: &[f32], terms: &[Rgbx], y_gain: f32, dst: &mut [Rgbx]);
    }
}

#[cfg(target_arch = "x86_64")]
mod avx2;

#[cfg(test)]
mod tests {
    use super::super::equivalence_tests::Rng;
    use super::*;
    use crate::preprocess::spec::Resize;

    fn floats(rng: &mut Rng, n: usize, lo: f32, hi: f32) -> Vec<f32> {
        (0..n).map(|_| lo + rng.unit() * (hi - lo)).collect()
    }

    fn pixels(rng: &mut Rng, n: usize, lo: f32, hi: f32) -> Vec<Rgbx> {
        floats(rng, 4 * n, lo, hi).chunks_exact(4).map(|c| [c[0], c[1], c[2], c[3]]).collect()
    }

    fn close(a: &[Rgbx], b: &[Rgbx], what: &str) {
        for (i, (a, b)) in a.iter().zip(b).enumerate() {
            // The fourth lane is scratch; differences come from fused multiply-adds only.
            assert!((0..3).all(|l| (a[l] - b[l]).abs() <= 1e-3), "{what}: pixel {i}: {a:?} vs {b:?}");
        }
    }

    /// Every kernel on every length around its vector width, against the portable one: stores
    /// and resampling bit for bit, colour within rounding.
    #[test]
    fn simd_kernels_agree_with_portable_ones_on_every_tail_length() {
        let simd = Isa::detect();
        if !simd.is_simd() {
            eprintln!("SKIPPED: this CPU has no AVX2+FMA");
            return;
        }
        let mut rng = Rng::new(99);
        let c = super::super::colour::YuvEncoding {
            matrix: super::super::ColourMatrix::Bt709,
            full_range: false,
            bit_depth: 8,
        }
        .coefficients();
        for n in 0..40 {
            let (luma, u, v) = (
                floats(&mut rng, n, 0.0, 255.0),
                floats(&mut rng, n.div_ceil(2), 0.0, 255.0),
                floats(&mut rng, n.div_ceil(2), 0.0, 255.0),
            );
            let run = |isa: Isa| {
                let mut terms = vec![[0.0; 4]; n.div_ceil(2)];
                isa.chroma_terms(&u, &v, &c, &mut terms);
                let mut rgb = vec![[0.0; 4]; n];
                isa.combine(&luma, &terms, c.y_gain, &mut rgb);
                (terms, rgb)
            };
            let ((t0, r0), (t1, r1)) = (run(Isa::Portable), run(simd));
            close(&t0, &t1, &format!("chroma_terms, {n}"));
            close(&r0, &r1, &format!("combine, {n}"));
            assert!(r1.iter().all(|p| (0..3).all(|l| (0.0..=255.0).contains(&p[l]))));

            // Values beyond both ends of u8 and f16, ties for rounding.
            let mut px = pixels(&mut rng, n, -300.0, 300.0);
            if let Some(p) = px.first_mut() {
                *p = [0.5, 1.5, 254.5, 0.0];
            }
            for dtype in [DType::F32, DType::F16, DType::U8] {
                for order in [ChannelOrder::Rgb, ChannelOrder::Bgr] {
                    let size = dtype.size_bytes();
                    let interleaved = |isa: Isa| {
                        let mut out = vec![0xEEu8; n * 3 * size + 7];
                        isa.store_interleaved_as(dtype, &px, order, &mut out[..n * 3 * size]);
                        out
                    };
                    assert_eq!(interleaved(Isa::Portable), interleaved(simd), "interleaved {dtype:?} {order:?}, {n}");
                    let planar = |isa: Isa| {
                        let mut out = vec![0xEEu8; 3 * n * size];
                        let (d0, rest) = out.split_at_mut(n * size);
                        let (d1, d2) = rest.split_at_mut(n * size);
                        isa.store_planes_as(dtype, &px, order.rgb_index(), [d0, d1, d2]);
                        out
                    };
                    assert_eq!(planar(Isa::Portable), planar(simd), "planar {dtype:?} {order:?}, {n}");
                }
            }

            let src = pixels(&mut rng, n + 1, 0.0, 255.0);
            for resize in [Resize::Bilinear, Resize::Area] {
                for dst_len in [1, n.max(1) / 3 + 1, n + 1, 2 * n + 3] {
                    let taps = super::super::taps::AxisTaps::new(resize, src.len() as u32, dst_len as u32);
                    let resample = |isa: Isa| {
                        let mut out = vec![[0.0; 4]; dst_len];
                        isa.horizontal(&src, &taps, &mut out);
                        out
                    };
                    close(
                        &resample(Isa::Portable),
                        &resample(simd),
                        &format!("horizontal {resize:?} {} -> {dst_len}", src.len()),
                    );
                }
            }
        }
    }
}
