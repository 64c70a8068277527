//! A bit reader over RBSP (raw byte sequence payload) for parameter sets and slice headers,
//! with the Exp-Golomb codes of H.264 9.1 / H.265 9.2.
//!
//! NAL payloads arrive as EBSP (with emulation-prevention bytes); [`rbsp_from_ebsp`] strips
//! them (H.264 7.4.1, H.265 7.4.2) before reading.

use std::borrow::Cow;

use crate::error::{ParseError, Result};

/// Removes emulation-prevention bytes: every `00 00 03` becomes `00 00`.
/// Borrows when there is nothing to remove, which is the common case for parameter sets.
pub fn rbsp_from_ebsp(ebsp: &[u8]) -> Cow<'_, [u8]> {
    let first = ebsp.windows(3).position(|w| w == [0, 0, 3]);
    let Some(first) = first else { return Cow::Borrowed(ebsp) };
    let mut out = Vec::with_capacity(ebsp.len());
    out.extend_from_slice(&ebsp[..first + 2]);
    // Counting restarts after the emulation-prevention byte: `00 00 03 03` is `00 00 03`.
    let mut zeros = 0;
    for &b in &ebsp[first + 3..] {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        zeros = if b == 0 { zeros + 1 } else { 0 };
        out.push(b);
    }
    Cow::Owned(out)
}

/// Reads bits MSB-first. Every read names the field it reads so that errors say where.
#[derive(Debug, Clone)]
pub struct BitReader<'a> {
    data: &'a [u8],
    bit_pos: usize,
    /// Path of the structure being read, e.g. `sps` or `sps.vui`, for error messages.
    at: &'static str,
}

impl<'a> BitReader<'a> {
    pub fn new(data: &'a [u8], at: &'static str) -> Self {
        Self { data, bit_pos: 0, at }
    }

    /// Changes the location reported by errors (e.g. from `sps` to `sps.vui`).
    pub fn set_at(&mut self, at: &'static str) {
        self.at = at;
    }

    pub fn at(&self) -> &'static str {
        self.at
    }

    pub fn bits_left(&self) -> usize {
        self.data.len() * 8 - self.bit_pos
    }

    pub fn bit_pos(&self) -> usize {
        self.bit_pos
    }

    fn err_field(&self, field: &str) -> ParseError {
        ParseError::truncated(format!("{}.{field}", self.at)).at_offset((self.bit_pos / 8) as u64)
    }

    /// An `Invalid` error located at the current field.
    pub fn invalid(&self, field: &str, msg: impl Into<String>) -> ParseError {
        ParseError::invalid(format!("{}.{field}", self.at), msg).at_offset((self.bit_pos / 8) as u64)
    }

    pub fn read_bit(&mut self, field: &str) -> Result<bool> {
        if self.bit_pos >= self.data.len() * 8 {
            return Err(self.err_field(field));
        }
        let byte = self.data[self.bit_pos / 8];
        let bit = (byte >> (7 - (self.bit_pos % 8))) & 1;
        self.bit_pos += 1;
        Ok(bit == 1)
    }

    pub fn read_flag(&mut self, field: &str) -> Result<bool> {
        self.read_bit(field)
    }

    /// Reads `n` ≤ 32 bits as an unsigned number (u(n)).
    pub fn read_bits(&mut self, n: u32, field: &str) -> Result<u32> {
        debug_assert!(n <= 32);
        if (n as usize) > self.bits_left() {
            return Err(self.err_field(field));
        }
        let mut v: u64 = 0;
        for _ in 0..n {
            let byte = self.data[self.bit_pos / 8];
            v = (v << 1) | u64::from((byte >> (7 - (self.bit_pos % 8))) & 1);
            self.bit_pos += 1;
        }
        Ok(v as u32)
    }

    pub fn read_u8(&mut self, n: u32, field: &str) -> Result<u8> {
        debug_assert!(n <= 8);
        Ok(self.read_bits(n, field)? as u8)
    }

    pub fn skip_bits(&mut self, n: usize, field: &str) -> Result<()> {
        if n > self.bits_left() {
            return Err(self.err_field(field));
        }
        self.bit_pos += n;
        Ok(())
    }

    /// ue(v): unsigned Exp-Golomb. Values above `u32::MAX - 1` are rejected as invalid
    /// (no conforming syntax element is that large).
    pub fn read_ue(&mut self, field: &str) -> Result<u32> {
        let mut leading_zeros = 0u32;
        while !self.read_bit(field)? {
            leading_zeros += 1;
            if leading_zeros > 31 {
                return Err(self.invalid(field, "Exp-Golomb code longer than 32 bits"));
            }
        }
        if leading_zeros == 0 {
            return Ok(0);
        }
        let rest = self.read_bits(leading_zeros, field)?;
        let value = (1u64 << leading_zeros) - 1 + u64::from(rest);
        u32::try_from(value).map_err(|_| self.invalid(field, "Exp-Golomb value out of range"))
    }

    /// ue(v) that must not exceed `max` (a limit from the specification).
    pub fn read_ue_max(&mut self, max: u32, field: &str) -> Result<u32> {
        let v = self.read_ue(field)?;
        if v > max {
            return Err(self.invalid(field, format!("{v} exceeds the maximum {max}")));
        }
        Ok(v)
    }

    /// se(v): signed Exp-Golomb.
    pub fn read_se(&mut self, field: &str) -> Result<i32> {
        let k = i64::from(self.read_ue(field)?);
        let v = if k % 2 == 1 { (k + 1) / 2 } else { -(k / 2) };
        Ok(v as i32)
    }

    /// True when more syntax follows before the RBSP trailing bits (H.264 7.2 more_rbsp_data()).
    pub fn more_rbsp_data(&self) -> bool {
        let total = self.data.len() * 8;
        if self.bit_pos >= total {
            return false;
        }
        // Find the last set bit (the rbsp_stop_one_bit); trailing zero bytes are cabac_zero_words.
        let Some(last_byte) = self.data.iter().rposition(|&b| b != 0) else { return false };
        let stop_bit = last_byte * 8 + 7 - self.data[last_byte].trailing_zeros() as usize;
        self.bit_pos < stop_bit
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emulation_prevention_bytes_are_removed_only_after_two_zeros() {
        assert_eq!(&*rbsp_from_ebsp(&[0, 0, 3, 1, 0, 3, 0, 0, 3]), &[0, 0, 1, 0, 3, 0, 0]);
        assert!(matches!(rbsp_from_ebsp(&[1, 2, 3]), Cow::Borrowed(_)));
        // 00 00 03 00 00 03: both are emulation prevention.
        assert_eq!(&*rbsp_from_ebsp(&[0, 0, 3, 0, 0, 3, 0]), &[0, 0, 0, 0, 0]);
    }

    #[test]
    fn exp_golomb_codes_match_the_table_in_h264_9_1() {
        // 1 | 010 | 011 | 00100 | 00101 -> 0, 1, 2, 3, 4
        let data = [0b1010_0110, 0b0100_0010, 0b1000_0000];
        let mut r = BitReader::new(&data, "t");
        let got: Vec<u32> = (0..5).map(|_| r.read_ue("v").unwrap()).collect();
        assert_eq!(got, [0, 1, 2, 3, 4]);
        let mut r = BitReader::new(&data, "t");
        let got: Vec<i32> = (0..5).map(|_| r.read_se("v").unwrap()).collect();
        assert_eq!(got, [0, 1, -1, 2, -2]);
    }

    #[test]
    fn reading_past_the_end_names_the_field() {
        let mut r = BitReader::new(&[0xff], "sps");
        r.read_bits(8, "a").unwrap();
        let e = r.read_bit("vui_parameters_present_flag").unwrap_err();
        assert_eq!(e.at, "sps.vui_parameters_present_flag");
    }

    #[test]
    fn overlong_exp_golomb_is_invalid_not_a_panic() {
        let zeros = [0u8; 8];
        let mut r = BitReader::new(&zeros, "t");
        assert!(r.read_ue("v").is_err());
    }

    #[test]
    fn more_rbsp_data_stops_at_the_stop_bit() {
        let data = [0b1100_0000];
        let mut r = BitReader::new(&data, "t");
        assert!(r.more_rbsp_data());
        r.read_bit("a").unwrap();
        assert!(!r.more_rbsp_data());
    }
}
