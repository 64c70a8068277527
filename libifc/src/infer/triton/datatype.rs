//! Triton's tensor datatype names (KServe v2 "Tensor Data Types") and raw output decoding.

use crate::infer::ElementType;

/// `"FP32"`, `"UINT8"`, ... → [`ElementType`]; `None` for types ifc does not handle
/// (`BYTES`, `FP64`, `BF16`, `UINT16`...).
pub fn element_type_from_triton(datatype: &str) -> Option<ElementType> {
    Some(match datatype {
        "FP32" => ElementType::F32,
        "FP16" => ElementType::F16,
        "UINT8" => ElementType::U8,
        "INT8" => ElementType::I8,
        "INT32" => ElementType::I32,
        "INT64" => ElementType::I64,
        "BOOL" => ElementType::Bool,
        _ => return None,
    })
}

/// [`ElementType`] → the datatype string requests carry.
pub fn triton_datatype(dtype: ElementType) -> &'static str {
    match dtype {
        ElementType::F32 => "FP32",
        ElementType::F16 => "FP16",
        ElementType::U8 => "UINT8",
        ElementType::I8 => "INT8",
        ElementType::I32 => "INT32",
        ElementType::I64 => "INT64",
        ElementType::Bool => "BOOL",
    }
}

/// Raw tensor bytes (little-endian, row-major, as the protocol sends them) → f32 values.
/// `None` when the length is not a whole number of elements.
pub(crate) fn decode_to_f32(dtype: ElementType, raw: &[u8]) -> Option<Vec<f32>> {
    let size = dtype.size_bytes();
    if raw.len() % size != 0 {
        return None;
    }
    let chunks = raw.chunks_exact(size);
    Some(match dtype {
        ElementType::F32 => chunks.map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
        ElementType::F16 => chunks.map(|c| f16_to_f32(u16::from_le_bytes([c[0], c[1]]))).collect(),
        ElementType::U8 => raw.iter().map(|&b| f32::from(b)).collect(),
        ElementType::I8 => raw.iter().map(|&b| f32::from(b as i8)).collect(),
        ElementType::Bool => raw.iter().map(|&b| if b != 0 { 1.0 } else { 0.0 }).collect(),
        ElementType::I32 => chunks.map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32).collect(),
        ElementType::I64 => {
            chunks.map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32).collect()
        }
    })
}

/// IEEE 754 binary16 → binary32, subnormals, infinities and NaN included.
fn f16_to_f32(bits: u16) -> f32 {
    let sign = u32::from(bits >> 15) << 31;
    let exponent = u32::from((bits >> 10) & 0x1f);
    let mantissa = u32::from(bits & 0x3ff);
    let magnitude = match (exponent, mantissa) {
        (0, 0) => 0,
        // Subnormal: value = mantissa × 2^-24, exact in f32.
        (0, m) => (m as f32 * f32::from_bits(0x3380_0000)).to_bits(),
        (0x1f, m) => 0x7f80_0000 | (m << 13),
        (e, m) => ((e + 127 - 15) << 23) | (m << 13),
    };
    f32::from_bits(sign | magnitude)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_element_type_round_trips_through_its_triton_name() {
        for dtype in [
            ElementType::F32,
            ElementType::F16,
            ElementType::U8,
            ElementType::I8,
            ElementType::I32,
            ElementType::I64,
            ElementType::Bool,
        ] {
            assert_eq!(element_type_from_triton(triton_datatype(dtype)), Some(dtype));
        }
        assert_eq!(element_type_from_triton("BYTES"), None);
        assert_eq!(element_type_from_triton("fp32"), None, "names are case-sensitive");
    }

    #[test]
    fn f16_decodes_like_the_standard_examples() {
        // IEEE 754-2008 binary16 examples.
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x7c00), f32::INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0x8000).to_bits(), (-0.0f32).to_bits());
    }

    #[test]
    fn raw_bytes_decode_per_type_and_reject_partial_elements() {
        let raw: Vec<u8> = [1.5f32, -3.25].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(decode_to_f32(ElementType::F32, &raw), Some(vec![1.5, -3.25]));
        assert_eq!(decode_to_f32(ElementType::F32, &raw[..7]), None);
        assert_eq!(decode_to_f32(ElementType::I8, &[0xff, 2]), Some(vec![-1.0, 2.0]));
        assert_eq!(decode_to_f32(ElementType::I64, &(-7i64).to_le_bytes()), Some(vec![-7.0]));
    }
}
