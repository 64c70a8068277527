//! `profile_tier_level()` (H.265 7.3.3), shared by the VPS and the SPS, and what is derived
//! from its general part: the profile name ffprobe prints and the RFC 6381 codec string
//! (ISO/IEC 14496-15 E.3).

use std::fmt::Write as _;

use crate::codec::BitReader;
use crate::error::{ParseError, Result};

/// The `general_*` fields of `profile_tier_level()`. The sub-layer fields are read past.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileTierLevel {
    /// 0 for every profile of H.265 Annex A; 1..=3 are reserved for future use.
    pub general_profile_space: u8,
    pub general_tier_flag: bool,
    pub general_profile_idc: u8,
    /// `general_profile_compatibility_flag[j]` at bit `31 - j`: the order they are coded in,
    /// which is also how the hvcC record stores them.
    pub general_profile_compatibility_flags: u32,
    /// The 48 bits from `general_progressive_source_flag` to `general_inbld_flag` (or its
    /// reserved bit), first coded bit most significant: the hvcC `general_constraint_indicator_flags`.
    pub general_constraint_indicator_flags: u64,
    /// 30 × the level number, e.g. 93 for level 3.1.
    pub general_level_idc: u8,
}

/// Bits of one profile block: space(2) tier(1) idc(5) compatibility(32) constraints(48).
const PROFILE_BITS: usize = 2 + 1 + 5 + 32 + 48;

/// Reads `profile_tier_level(1, max_sub_layers_minus1)`; `at` names the location for errors,
/// e.g. `sps.profile_tier_level`.
pub fn parse(r: &mut BitReader<'_>, max_sub_layers_minus1: u8, at: &'static str) -> Result<ProfileTierLevel> {
    if max_sub_layers_minus1 > 6 {
        return Err(ParseError::invalid(at, format!("{max_sub_layers_minus1} sub-layers above the first (at most 6)")));
    }
    let outer = r.at();
    r.set_at(at);
    let general_profile_space = r.read_u8(2, "general_profile_space")?;
    let general_tier_flag = r.read_flag("general_tier_flag")?;
    let general_profile_idc = r.read_u8(5, "general_profile_idc")?;
    let general_profile_compatibility_flags = r.read_bits(32, "general_profile_compatibility_flag")?;
    let high = r.read_bits(16, "general_progressive_source_flag")?;
    let low = r.read_bits(32, "general_reserved_zero_43bits")?;
    let general_constraint_indicator_flags = (u64::from(high) << 32) | u64::from(low);
    let general_level_idc = r.read_u8(8, "general_level_idc")?;

    // The sub-layer presence flags come first, then 2 alignment bits for each of the 8 - n
    // unused slots, then the present sub-layer profiles and levels.
    let sub_layers = usize::from(max_sub_layers_minus1);
    let mut present = [(false, false); 7];
    for flags in present.iter_mut().take(sub_layers) {
        *flags = (r.read_flag("sub_layer_profile_present_flag")?, r.read_flag("sub_layer_level_present_flag")?);
    }
    if sub_layers > 0 {
        r.skip_bits(2 * (8 - sub_layers), "reserved_zero_2bits")?;
    }
    for &(profile_present, level_present) in present.iter().take(sub_layers) {
        if profile_present {
            r.skip_bits(PROFILE_BITS, "sub_layer_profile")?;
        }
        if level_present {
            r.skip_bits(8, "sub_layer_level_idc")?;
        }
    }
    r.set_at(outer);
    Ok(ProfileTierLevel {
        general_profile_space,
        general_tier_flag,
        general_profile_idc,
        general_profile_compatibility_flags,
        general_constraint_indicator_flags,
        general_level_idc,
    })
}

impl ProfileTierLevel {
    /// Whether `general_profile_compatibility_flag[j]` is set.
    pub fn is_compatible_with(&self, profile_idc: u8) -> bool {
        profile_idc < 32 && self.general_profile_compatibility_flags & (1 << (31 - u32::from(profile_idc))) != 0
    }

    /// The profile the stream conforms to: `general_profile_idc`, or when that is 0, the
    /// lowest profile it declares compatibility with (as libavcodec does, A.3: a decoder for
    /// profile j may decode streams that set compatibility flag j).
    pub fn effective_profile_idc(&self) -> u8 {
        if self.general_profile_idc != 0 {
            return self.general_profile_idc;
        }
        (1..32).find(|&j| self.is_compatible_with(j)).unwrap_or(0)
    }

    /// The profile name as ffprobe prints it; `unknown` for profiles libavcodec does not name.
    pub fn profile_name(&self) -> &'static str {
        match self.effective_profile_idc() {
            1 => "Main",
            2 => "Main 10",
            3 => "Main Still Picture",
            4 => "Rext",
            9 => "SCC",
            _ => "unknown",
        }
    }

    /// The RFC 6381 codec string (ISO/IEC 14496-15 E.3), e.g. `hvc1.1.6.L93.B0`:
    /// sample entry, profile space letter and profile idc, compatibility flags bit-reversed
    /// in hex, tier letter and level, then the six constraint bytes without trailing zeros.
    pub fn codec_string(&self, sample_entry: &str) -> String {
        let space = match self.general_profile_space {
            0 => "",
            1 => "A",
            2 => "B",
            _ => "C",
        };
        let mut s = format!(
            "{sample_entry}.{space}{}.{:X}.{}{}",
            self.general_profile_idc,
            self.general_profile_compatibility_flags.reverse_bits(),
            if self.general_tier_flag { 'H' } else { 'L' },
            self.general_level_idc,
        );
        let bytes = self.general_constraint_indicator_flags.to_be_bytes();
        let constraint_bytes = &bytes[2..];
        let kept = constraint_bytes.iter().rposition(|&b| b != 0).map_or(0, |last| last + 1);
        for b in &constraint_bytes[..kept] {
            let _ = write!(s, ".{b:X}");
        }
        s
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ptl(space: u8, tier: bool, idc: u8, compat: u32, constraints: u64, level: u8) -> ProfileTierLevel {
        ProfileTierLevel {
            general_profile_space: space,
            general_tier_flag: tier,
            general_profile_idc: idc,
            general_profile_compatibility_flags: compat,
            general_constraint_indicator_flags: constraints,
            general_level_idc: level,
        }
    }

    #[test]
    fn codec_strings_match_the_examples_of_iso_14496_15_annex_e() {
        // "hvc1.1.6.L93.B0": Main (compatible with Main and Main 10), level 3.1, progressive,
        // non-packed, frame-only.
        let main = ptl(0, false, 1, 0x6000_0000, 0xB000_0000_0000, 93);
        assert_eq!(main.codec_string("hvc1"), "hvc1.1.6.L93.B0");
        // "hvc1.2.4.L123.B0": Main 10 (compatible with Main 10 only), level 4.1.
        let main10 = ptl(0, false, 2, 0x2000_0000, 0xB000_0000_0000, 123);
        assert_eq!(main10.codec_string("hvc1"), "hvc1.2.4.L123.B0");
        // "hev1.A4.41.H120.B0.23": profile space 1, high tier, two constraint bytes kept
        // because the second is non-zero; zero bytes in the middle would be kept too.
        let rext = ptl(1, true, 4, 0x8200_0000, 0xB023_0000_0000, 120);
        assert_eq!(rext.codec_string("hev1"), "hev1.A4.41.H120.B0.23");
    }

    #[test]
    fn all_zero_constraints_leave_no_trailing_period() {
        assert_eq!(ptl(0, false, 1, 0x4000_0000, 0, 60).codec_string("hvc1"), "hvc1.1.2.L60");
    }

    #[test]
    fn profile_idc_zero_falls_back_to_the_lowest_compatible_profile() {
        assert_eq!(ptl(0, false, 0, 0x2000_0000, 0, 60).profile_name(), "Main 10");
        assert_eq!(ptl(0, false, 0, 0, 0, 60).profile_name(), "unknown");
    }

    #[test]
    fn sub_layer_profiles_and_levels_are_skipped_to_the_next_syntax_element() {
        // General part: space 0, tier 0, idc 1, compat 0x60000000, constraints 0x900000000000,
        // level 60; then 2 sub-layers (max_sub_layers_minus1 = 2): sub-layer 0 has profile and
        // level, sub-layer 1 level only; 6 × 2 alignment bits; 88 + 8 + 8 bits; then a marker.
        let mut bits = String::new();
        bits += "00";
        bits += "0";
        bits += "00001";
        bits += &format!("{:032b}", 0x6000_0000u32);
        bits += &format!("{:048b}", 0x9000_0000_0000u64);
        bits += &format!("{:08b}", 60);
        bits += "11";
        bits += "01";
        bits += &"00".repeat(6);
        bits += &"1".repeat(88);
        bits += &"1".repeat(8);
        bits += &"1".repeat(8);
        bits += "10101";
        while bits.len() % 8 != 0 {
            bits.push('0');
        }
        let bytes: Vec<u8> = bits
            .as_bytes()
            .chunks(8)
            .map(|c| u8::from_str_radix(std::str::from_utf8(c).unwrap(), 2).unwrap())
            .collect();
        let mut r = BitReader::new(&bytes, "t");
        let p = parse(&mut r, 2, "t.profile_tier_level").unwrap();
        assert_eq!((p.general_profile_idc, p.general_level_idc), (1, 60));
        assert_eq!(p.general_constraint_indicator_flags, 0x9000_0000_0000);
        assert_eq!(r.read_bits(5, "marker").unwrap(), 0b10101);
        assert_eq!(r.at(), "t", "the caller's location is restored");
    }

    #[test]
    fn a_truncated_sub_layer_block_is_reported_inside_profile_tier_level() {
        // Sub-layer flags 1 1, then 14 alignment bits, then only 8 of the 88 profile bits.
        let bytes = [0x01, 0x60, 0, 0, 0, 0x90, 0, 0, 0, 0, 0, 60, 0b1100_0000, 0, 0xff];
        let e = parse(&mut BitReader::new(&bytes, "sps"), 1, "sps.profile_tier_level").unwrap_err();
        assert_eq!(e.at, "sps.profile_tier_level.sub_layer_profile");
    }
}
