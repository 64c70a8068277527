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
use super::frame::{ChromaRow, SampleKind};
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
    /// F16C (`vcvtps2ph`) is also present, for f16 output.
    f16c: bool,
}

impl Isa {
    /// The fastest kernels this CPU runs.
    pub(crate) fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        if is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") {
            return Isa::Avx2(Avx2 { f16c: is_x86_feature_detected!("f16c") });
        }
        Isa::Portable
    }

    pub(crate) fn is_simd(self) -> bool {
        self != Isa::Portable
    }
}

/// Defines an `Isa` method that runs the portable kernel, or the same kernel compiled for
/// AVX2+FMA when the token says the CPU has them.
macro_rules! dispatch {
    ($(fn $name:ident($($arg:ident: $ty:ty),*);)*) => {
        impl Isa {
            $(
                pub(crate) fn $name(self, $($arg: $ty),*) {
                    match self {
                        Isa::Portable => rows::$name($($arg),*),
                        #[cfg(target_arch = "x86_64")]
                        // SAFETY: an `Avx2` token exists only where AVX2 and FMA were detected.
                        Isa::Avx2(_) => unsafe { avx2::$name($($arg),*) },
                    }
                }
            )*
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
}

dispatch! {
    fn unpack_samples(kind: SampleKind, src: &[u8], dst: &mut [f32]);
    fn chroma_terms(kind: SampleKind, row: ChromaRow<'_>, c: &RgbCoefficients, dst: &mut [Rgbx]);
    fn combine(luma: &[f32], terms: &[Rgbx], y_gain: f32, dst: &mut [Rgbx]);
    fn horizontal(src: &[Rgbx], taps: &AxisTaps, dst: &mut [Rgbx]);
    fn accumulate(acc: &mut [Rgbx], row: &[Rgbx], w: f32, first: bool);
    fn normalise(px: &mut [Rgbx], gain: Rgbx, offset: Rgbx);
    fn store_plane_as(dtype: DType, px: &[Rgbx], lane: usize, dst: &mut [u8]);
    fn store_interleaved_as(dtype: DType, px: &[Rgbx], order: ChannelOrder, dst: &mut [u8]);
}

#[cfg(target_arch = "x86_64")]
mod avx2 {
    pub(super) use super::avx2_compiled::*;
}
