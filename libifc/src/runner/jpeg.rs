//! [`encode_jpeg`]: the one JPEG encoder for snapshots, used by the CLI (files) and the service
//! (object store). Pure Rust (jpeg-encoder), no system library.

/// Why a snapshot could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum JpegError {
    /// JPEG sizes are 16-bit: 65535 pixels a side at most.
    #[error("jpeg: {width}×{height} is too large (65535 pixels a side at most)")]
    TooLarge { width: u32, height: u32 },
    /// `rgb` does not hold width × height × 3 bytes.
    #[error("jpeg: {width}×{height} RGB needs {expected} bytes, got {got}")]
    WrongLength { width: u32, height: u32, expected: usize, got: usize },
    #[error("jpeg: {0}")]
    Encode(String),
}

/// Encodes packed RGB24 (`width × height × 3` bytes, rows top to bottom) as a baseline JPEG at
/// `quality` (1–100; the CLI uses 90).
pub fn encode_jpeg(rgb: &[u8], width: u32, height: u32, quality: u8) -> Result<Vec<u8>, JpegError> {
    let too_large = JpegError::TooLarge { width, height };
    let (w, h) = (u16::try_from(width).map_err(|_| too_large.clone())?, u16::try_from(height).map_err(|_| too_large)?);
    let expected = usize::from(w) * usize::from(h) * 3;
    if rgb.len() != expected {
        return Err(JpegError::WrongLength { width, height, expected, got: rgb.len() });
    }
    let mut out = Vec::with_capacity(expected / 8);
    jpeg_encoder::Encoder::new(&mut out, quality.clamp(1, 100))
        .encode(rgb, w, h, jpeg_encoder::ColorType::Rgb)
        .map_err(|e| JpegError::Encode(e.to_string()))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_a_baseline_jpeg_and_refuses_bad_sizes() {
        let rgb: Vec<u8> = (0..16 * 8 * 3).map(|i| (i % 251) as u8).collect();
        let jpeg = encode_jpeg(&rgb, 16, 8, 90).expect("encodes");
        assert_eq!(&jpeg[..2], [0xff, 0xd8], "SOI");
        assert_eq!(&jpeg[jpeg.len() - 2..], [0xff, 0xd9], "EOI");
        assert!(matches!(encode_jpeg(&rgb, 16, 9, 90), Err(JpegError::WrongLength { .. })));
        assert!(matches!(encode_jpeg(&[], 70_000, 1, 90), Err(JpegError::TooLarge { .. })));
    }
}
