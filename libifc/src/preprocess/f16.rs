//! f32 → IEEE 754 binary16, rounded to nearest with ties to even (what F16C's
//! `vcvtps2ph` with `_MM_FROUND_TO_NEAREST_INT` and CUDA's `__float2half_rn` do).

/// The binary16 bit pattern nearest to `value`. Overflow gives ±infinity; NaN stays NaN
/// (quiet, with the top payload bits kept).
pub(crate) fn f32_to_f16_bits(value: f32) -> u16 {
    let bits = value.to_bits();
    let sign = ((bits >> 16) & 0x8000) as u16;
    let exponent = (bits >> 23) & 0xff;
    let mantissa = bits & 0x7f_ffff;

    if exponent == 0xff {
        let nan = if mantissa == 0 { 0 } else { 0x0200 | (mantissa >> 13) as u16 };
        return sign | 0x7c00 | nan;
    }
    // Rebias the exponent: binary32 bias 127, binary16 bias 15.
    let half_exponent = exponent as i32 - 127 + 15;
    if half_exponent >= 0x1f {
        return sign | 0x7c00;
    }
    if half_exponent <= 0 {
        // Subnormal half (or zero): shift the full significand, implicit bit included, to
        // units of 2^-24. Anything below half of the smallest subnormal rounds to zero.
        let shift = 14 - half_exponent;
        if shift > 24 {
            return sign;
        }
        let significand = mantissa | 0x80_0000;
        let half = (significand >> shift) as u16;
        return sign | (half + round_up(significand, 1 << (shift - 1)));
    }
    let half = ((half_exponent as u16) << 10) | (mantissa >> 13) as u16;
    // A carry out of the mantissa correctly bumps the exponent (up to infinity).
    sign | (half + round_up(mantissa, 1 << 12))
}

/// 1 when the bits below the kept part round it up: above half, or exactly half with an odd
/// kept part (ties to even). `half_bit` is the highest dropped bit.
fn round_up(significand: u32, half_bit: u32) -> u16 {
    let kept_lsb_and_sticky = (half_bit << 1) | (half_bit - 1);
    u16::from(significand & half_bit != 0 && significand & kept_lsb_and_sticky != 0)
}

/// binary16 → f32, exactly (every binary16 value is a binary32 value).
pub(crate) fn f16_bits_to_f32(half: u16) -> f32 {
    let sign = if half & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exponent = i32::from((half >> 10) & 0x1f);
    let mantissa = f32::from(half & 0x3ff);
    match exponent {
        0 => sign * mantissa * (-24f32).exp2(),
        0x1f if mantissa == 0.0 => sign * f32::INFINITY,
        0x1f => f32::NAN,
        _ => sign * (1.0 + mantissa / 1024.0) * ((exponent - 15) as f32).exp2(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_half_value_converts_back_to_itself() {
        for half in 0..=u16::MAX {
            let value = f16_bits_to_f32(half);
            if value.is_nan() {
                assert!(f16_bits_to_f32(f32_to_f16_bits(value)).is_nan());
            } else {
                assert_eq!(f32_to_f16_bits(value), half, "{half:#06x} = {value}");
            }
        }
    }

    #[test]
    fn midpoints_round_to_even_and_neighbours_round_to_nearest() {
        // Every pair of adjacent finite positive halves, subnormals included; their midpoint is
        // exact in f32.
        for low in 0..0x7bffu16 {
            let (a, b) = (f16_bits_to_f32(low), f16_bits_to_f32(low + 1));
            let mid = (a + b) / 2.0;
            let even = if low % 2 == 0 { low } else { low + 1 };
            assert_eq!(f32_to_f16_bits(mid), even, "midpoint of {low:#06x}");
            assert_eq!(f32_to_f16_bits(f32::from_bits(mid.to_bits() - 1)), low);
            assert_eq!(f32_to_f16_bits(f32::from_bits(mid.to_bits() + 1)), low + 1);
            assert_eq!(f32_to_f16_bits(-mid), even | 0x8000);
        }
    }

    #[test]
    fn overflow_and_underflow() {
        assert_eq!(f32_to_f16_bits(65504.0), 0x7bff);
        // Halfway between the largest finite half and 65536 rounds to even: infinity.
        assert_eq!(f32_to_f16_bits(65520.0), 0x7c00);
        assert_eq!(f32_to_f16_bits(65519.99), 0x7bff);
        assert_eq!(f32_to_f16_bits(-1e10), 0xfc00);
        assert_eq!(f32_to_f16_bits(f32::NEG_INFINITY), 0xfc00);
        // Half the smallest subnormal (2^-25) ties to zero; anything above rounds up to it.
        assert_eq!(f32_to_f16_bits((-25f32).exp2()), 0);
        assert_eq!(f32_to_f16_bits(f32::from_bits((-25f32).exp2().to_bits() + 1)), 1);
        assert_eq!(f32_to_f16_bits(1e-30), 0);
        assert_eq!(f32_to_f16_bits(-0.0), 0x8000);
        assert_eq!(f32_to_f16_bits(1.0 / 3.0), 0x3555);
    }
}
