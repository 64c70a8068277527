//! Base64 (RFC 4648 §4, standard alphabet): decoding for SDP's `sprop-*` parameter sets
//! (RFC 6184 §8.1, RFC 7798 §7.1), encoding for Basic credentials (RFC 2617 §2).

use crate::error::{ParseError, Result};

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Encodes with padding.
pub(crate) fn encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b = [chunk[0], chunk.get(1).copied().unwrap_or(0), chunk.get(2).copied().unwrap_or(0)];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 0x3f) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn sextet(c: u8) -> Option<u32> {
    Some(u32::from(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    }))
}

/// Decodes; padding is optional (cameras omit it), but a lone trailing character (6 bits, not
/// a byte) and characters outside the alphabet are errors. `at` names the field.
pub(crate) fn decode(text: &str, at: &str) -> Result<Vec<u8>> {
    let trimmed = text.trim_end_matches('=');
    if text.len() - trimmed.len() > 2 {
        return Err(ParseError::invalid(at, "more than two '=' of base64 padding"));
    }
    let mut out = Vec::with_capacity(trimmed.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for (i, c) in trimmed.bytes().enumerate() {
        let Some(v) = sextet(c) else {
            return Err(ParseError::invalid(at, format!("byte {c:#04x} is not base64")).at_offset(i as u64));
        };
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    if bits >= 6 {
        return Err(ParseError::invalid(at, "base64 ends with a lone character"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4648_test_vectors_round_trip() {
        // RFC 4648 §10.
        for (plain, coded) in
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("fooba", "Zm9vYmE=")]
        {
            assert_eq!(encode(plain.as_bytes()), coded);
            assert_eq!(decode(coded, "t").unwrap(), plain.as_bytes());
            assert_eq!(decode(coded.trim_end_matches('='), "t").unwrap(), plain.as_bytes());
        }
    }

    #[test]
    fn sprop_parameter_set_from_gst_rtsp_server_decodes_to_an_sps() {
        let sps = decode("Z01ADeygoP2AiAAAAwAIAAADAZB4oUyw", "sps").unwrap();
        assert_eq!(sps[0] & 0x1f, 7);
        assert_eq!(sps.len(), 24);
    }

    #[test]
    fn malformed_base64_is_an_error_not_a_panic() {
        assert!(decode("Zm9v!", "t").is_err());
        assert!(decode("Z", "t").is_err());
        assert!(decode("Zm9vY", "t").is_err());
        assert!(decode("Zg===", "t").is_err());
        assert!(decode("é", "t").is_err());
        let err = decode("Zm 9v", "sdp.fmtp").unwrap_err();
        assert_eq!(err.to_string(), "sdp.fmtp (byte 2): invalid: byte 0x20 is not base64");
    }
}
