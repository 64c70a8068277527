//! NAL units in the two framings ifc meets:
//! - Annex B byte streams (H.264 Annex B / H.265 Annex B): each NAL unit preceded by a
//!   `00 00 01` or `00 00 00 01` start code; raw `.h264`/`.h265` files, RTSP/RTP after
//!   depacketisation.
//! - Length-prefixed NAL units (ISO/IEC 14496-15): each NAL unit preceded by its size in
//!   1, 2 or 4 big-endian bytes, as stored in MP4 samples with an avcC/hvcC record.
//!
//! Iteration borrows the input; nothing is copied.

use crate::error::{ParseError, Result};

/// Iterates the NAL units of an Annex B byte stream, without their start codes.
///
/// Trailing zero bytes before a start code (`trailing_zero_8bits`) are not part of the NAL
/// unit and are dropped. Bytes before the first start code are skipped (a stream may begin
/// mid-unit, e.g. after a network join); [`AnnexBNals::leading_garbage`] reports how many.
#[derive(Debug, Clone)]
pub struct AnnexBNals<'a> {
    data: &'a [u8],
    /// Start of the next NAL unit's payload, or `data.len()` when done.
    pos: usize,
    leading_garbage: usize,
}

impl<'a> AnnexBNals<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        let (pos, leading_garbage) = match find_start_code(data, 0) {
            Some((sc, len)) => (sc + len, sc),
            None => (data.len(), data.len()),
        };
        Self { data, pos, leading_garbage }
    }

    /// Bytes before the first start code.
    pub fn leading_garbage(&self) -> usize {
        self.leading_garbage
    }
}

/// Finds the next start code at or after `from`; returns its position and length (3 or 4).
/// The four-byte form is reported when a zero byte precedes `00 00 01`.
pub fn find_start_code(data: &[u8], from: usize) -> Option<(usize, usize)> {
    let mut i = from;
    while i + 3 <= data.len() {
        // Skip fast: a start code's third byte is 1 and its second is 0.
        let b2 = data[i + 2];
        if b2 > 1 {
            i += 3;
            continue;
        }
        if b2 == 1 && data[i] == 0 && data[i + 1] == 0 {
            return if i > from && data[i - 1] == 0 { Some((i - 1, 4)) } else { Some((i, 3)) };
        }
        i += 1;
    }
    None
}

impl<'a> Iterator for AnnexBNals<'a> {
    /// `(offset of the NAL unit in the input, the NAL unit)`.
    type Item = (usize, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        while self.pos < self.data.len() {
            let start = self.pos;
            let end = match find_start_code(self.data, start) {
                Some((sc, len)) => {
                    self.pos = sc + len;
                    sc
                }
                None => {
                    self.pos = self.data.len();
                    self.data.len()
                }
            };
            // Drop trailing_zero_8bits.
            let mut nal_end = end;
            while nal_end > start && self.data[nal_end - 1] == 0 {
                nal_end -= 1;
            }
            if nal_end > start {
                return Some((start, &self.data[start..nal_end]));
            }
        }
        None
    }
}

/// Iterates length-prefixed NAL units (ISO/IEC 14496-15 sample format).
/// Yields an error, then stops, when a length runs past the data.
#[derive(Debug, Clone)]
pub struct LengthPrefixedNals<'a> {
    data: &'a [u8],
    pos: usize,
    length_size: usize,
    failed: bool,
}

impl<'a> LengthPrefixedNals<'a> {
    /// `length_size` is 1, 2 or 4 (`lengthSizeMinusOne + 1`); other values yield an error.
    pub fn new(data: &'a [u8], length_size: usize) -> Self {
        Self { data, pos: 0, length_size, failed: false }
    }
}

impl<'a> Iterator for LengthPrefixedNals<'a> {
    type Item = Result<&'a [u8]>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.data.len() {
            return None;
        }
        let at = self.pos as u64;
        if !matches!(self.length_size, 1 | 2 | 4) {
            self.failed = true;
            return Some(Err(ParseError::invalid(
                "sample.nal_length",
                format!("NAL length size {} (must be 1, 2 or 4)", self.length_size),
            )));
        }
        let Some(len_bytes) = self.data.get(self.pos..self.pos + self.length_size) else {
            self.failed = true;
            return Some(Err(ParseError::truncated("sample.nal_length").at_offset(at)));
        };
        let len = len_bytes.iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
        let start = self.pos + self.length_size;
        let Some(nal) = start.checked_add(len).and_then(|end| self.data.get(start..end)) else {
            self.failed = true;
            return Some(Err(ParseError::too_large(
                "sample.nal",
                format!("NAL length {len} runs past the {} bytes left", self.data.len() - start),
            )
            .at_offset(at)));
        };
        self.pos = start + len;
        Some(Ok(nal))
    }
}

/// Appends `nal` to `out` with a 4-byte big-endian length prefix.
pub fn push_length_prefixed(out: &mut Vec<u8>, nal: &[u8]) -> Result<()> {
    let len = u32::try_from(nal.len())
        .map_err(|_| ParseError::too_large("nal", format!("{} bytes does not fit 32 bits", nal.len())))?;
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(nal);
    Ok(())
}

/// Converts an Annex B byte stream to 4-byte length-prefixed NAL units.
pub fn annex_b_to_length_prefixed(annex_b: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(annex_b.len() + 16);
    for (_, nal) in AnnexBNals::new(annex_b) {
        push_length_prefixed(&mut out, nal)?;
    }
    Ok(out)
}

/// Converts length-prefixed NAL units to an Annex B byte stream with 4-byte start codes.
pub fn length_prefixed_to_annex_b(data: &[u8], length_size: usize) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() + 16);
    push_annex_b(&mut out, data, length_size)?;
    Ok(out)
}

/// Appends length-prefixed NAL units to `out` as Annex B (4-byte start codes).
pub fn push_annex_b(out: &mut Vec<u8>, data: &[u8], length_size: usize) -> Result<()> {
    for nal in LengthPrefixedNals::new(data, length_size) {
        out.extend_from_slice(&[0, 0, 0, 1]);
        out.extend_from_slice(nal?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn annex_b_finds_three_and_four_byte_start_codes_and_drops_trailing_zeros() {
        let data = [0xAA, 0, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 1, 0x68, 3, 0, 0, 1, 0x65, 4, 0, 0];
        let mut it = AnnexBNals::new(&data);
        assert_eq!(it.leading_garbage(), 1);
        let nals: Vec<_> = it.by_ref().collect();
        assert_eq!(nals, vec![(5, &[0x67, 1, 2][..]), (12, &[0x68, 3][..]), (17, &[0x65, 4][..])]);
    }

    #[test]
    fn annex_b_without_start_code_yields_nothing() {
        assert_eq!(AnnexBNals::new(&[1, 2, 3, 4]).count(), 0);
        assert_eq!(AnnexBNals::new(&[]).count(), 0);
        assert_eq!(AnnexBNals::new(&[0, 0, 1]).count(), 0);
    }

    #[test]
    fn conversion_round_trips() {
        let annex_b = [0, 0, 0, 1, 0x67, 1, 2, 0, 0, 0, 1, 0x68, 3, 0, 0, 0, 1, 0x65, 4, 5, 6];
        let lp = annex_b_to_length_prefixed(&annex_b).unwrap();
        assert_eq!(&lp[..7], &[0, 0, 0, 3, 0x67, 1, 2]);
        assert_eq!(length_prefixed_to_annex_b(&lp, 4).unwrap(), annex_b);
    }

    #[test]
    fn length_prefix_past_the_end_is_an_error_naming_the_offset() {
        let data = [0, 2, 0x65, 1, 0, 9, 1];
        let got: Vec<_> = LengthPrefixedNals::new(&data, 2).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(got[0], Ok(&[0x65, 1][..]));
        let e = got[1].clone().unwrap_err();
        assert_eq!(e.offset, Some(4));
    }
}
