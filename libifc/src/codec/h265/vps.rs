//! The video parameter set (H.265 7.3.2.1), as far as the hvcC record needs it.

use crate::codec::{rbsp_from_ebsp, BitReader};
use crate::error::Result;

use super::profile_tier_level::{self, ProfileTierLevel};
use super::{NalHeader, NAL_VPS};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vps {
    pub vps_video_parameter_set_id: u8,
    pub vps_max_sub_layers_minus1: u8,
    pub vps_temporal_id_nesting_flag: bool,
    pub profile_tier_level: ProfileTierLevel,
}

/// Parses a VPS NAL unit (with its two-byte header).
pub fn parse_vps(nal: &[u8]) -> Result<Vps> {
    let payload = NalHeader::parse_expecting(nal, NAL_VPS, "vps")?;
    let rbsp = rbsp_from_ebsp(payload);
    let mut r = BitReader::new(&rbsp, "vps");
    let vps_video_parameter_set_id = r.read_u8(4, "vps_video_parameter_set_id")?;
    r.skip_bits(2, "vps_base_layer_flags")?;
    r.skip_bits(6, "vps_max_layers_minus1")?;
    let vps_max_sub_layers_minus1 = r.read_u8(3, "vps_max_sub_layers_minus1")?;
    // 7.4.3.1: vps_max_sub_layers_minus1 is in 0..=6 (7 sub-layers at most).
    if vps_max_sub_layers_minus1 > 6 {
        return Err(r.invalid("vps_max_sub_layers_minus1", "7 (the maximum is 6)"));
    }
    let vps_temporal_id_nesting_flag = r.read_flag("vps_temporal_id_nesting_flag")?;
    r.skip_bits(16, "vps_reserved_0xffff_16bits")?;
    let profile_tier_level = profile_tier_level::parse(&mut r, vps_max_sub_layers_minus1, "vps.profile_tier_level")?;
    Ok(Vps { vps_video_parameter_set_id, vps_max_sub_layers_minus1, vps_temporal_id_nesting_flag, profile_tier_level })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::codec::h265::test_fixtures::{first_nal_of_type, HEVC_FIXTURES};

    #[test]
    fn fixture_vps_declare_one_sub_layer_and_the_sps_profile() {
        for name in HEVC_FIXTURES {
            let vps = parse_vps(&first_nal_of_type(name, NAL_VPS)).unwrap();
            let sps = crate::codec::h265::sps::parse_sps(&first_nal_of_type(name, super::super::NAL_SPS)).unwrap();
            assert_eq!(vps.vps_video_parameter_set_id, sps.sps_video_parameter_set_id, "{name}");
            assert!(vps.vps_max_sub_layers_minus1 >= sps.sps_max_sub_layers_minus1, "{name}: 7.4.3.2.1");
            assert_eq!(vps.profile_tier_level, sps.profile_tier_level, "{name}");
        }
    }

    #[test]
    fn an_sps_is_not_a_vps() {
        let e = parse_vps(&first_nal_of_type(HEVC_FIXTURES[0], super::super::NAL_SPS)).unwrap_err();
        assert_eq!(e.at, "vps.nal_unit_header.nal_unit_type");
    }
}
