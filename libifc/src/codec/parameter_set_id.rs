//! The id of a parameter set, read without parsing the rest: lets a stream's parameter sets
//! be kept per (type, id) as the specifications require (a new SPS with id 0 replaces the old
//! SPS 0, while PPS 0 and PPS 1 coexist).

use super::{rbsp_from_ebsp, BitReader, Codec, NalKind};
use crate::error::Result;

/// `(kind, id)` of a VPS, SPS or PPS NAL unit; `None` for other NAL units.
pub fn parameter_set_key(codec: Codec, nal: &[u8]) -> Result<Option<(NalKindKey, u32)>> {
    let Some(kind) = codec.classify(nal) else { return Ok(None) };
    let key = match kind {
        NalKind::Vps => NalKindKey::Vps,
        NalKind::Sps => NalKindKey::Sps,
        NalKind::Pps => NalKindKey::Pps,
        _ => return Ok(None),
    };
    let rbsp = rbsp_from_ebsp(nal.get(codec.nal_header_len()..).unwrap_or_default());
    let mut r = BitReader::new(&rbsp, "parameter_set");
    let id = match (codec, key) {
        // H.264 7.3.2.1.1: profile_idc, constraint flags, level_idc, then seq_parameter_set_id.
        (Codec::H264, NalKindKey::Sps) => {
            r.skip_bits(24, "profile_level")?;
            r.read_ue("seq_parameter_set_id")?
        }
        (Codec::H264 | Codec::H265, NalKindKey::Pps) => r.read_ue("pic_parameter_set_id")?,
        // H.265 7.3.2.1: vps_video_parameter_set_id u(4) comes first.
        (_, NalKindKey::Vps) => r.read_bits(4, "vps_video_parameter_set_id")?,
        // H.265 7.3.2.2: vps id u(4), max_sub_layers_minus1 u(3), nesting u(1),
        // profile_tier_level(1, max_sub_layers_minus1), then sps_seq_parameter_set_id.
        (Codec::H265, NalKindKey::Sps) => {
            r.skip_bits(4, "sps_video_parameter_set_id")?;
            let max_sub_layers_minus1 = r.read_bits(3, "sps_max_sub_layers_minus1")? as usize;
            r.skip_bits(1, "sps_temporal_id_nesting_flag")?;
            skip_profile_tier_level(&mut r, max_sub_layers_minus1)?;
            r.read_ue("sps_seq_parameter_set_id")?
        }
    };
    Ok(Some((key, id)))
}

/// Which parameter set a key names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NalKindKey {
    Vps,
    Sps,
    Pps,
}

/// H.265 7.3.3 with profilePresentFlag = 1.
fn skip_profile_tier_level(r: &mut BitReader<'_>, max_sub_layers_minus1: usize) -> Result<()> {
    // general_profile_space .. general_level_idc: 2+1+5+32+4+43+1+8 bits.
    r.skip_bits(96, "profile_tier_level.general")?;
    let mut profile_present = [false; 8];
    let mut level_present = [false; 8];
    for i in 0..max_sub_layers_minus1 {
        profile_present[i] = r.read_flag("profile_tier_level.sub_layer_profile_present_flag")?;
        level_present[i] = r.read_flag("profile_tier_level.sub_layer_level_present_flag")?;
    }
    if max_sub_layers_minus1 > 0 {
        r.skip_bits(2 * (8 - max_sub_layers_minus1), "profile_tier_level.reserved_zero_2bits")?;
    }
    for i in 0..max_sub_layers_minus1 {
        if profile_present[i] {
            r.skip_bits(88, "profile_tier_level.sub_layer_profile")?;
        }
        if level_present[i] {
            r.skip_bits(8, "profile_tier_level.sub_layer_level_idc")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h264_ids_are_read_after_the_fixed_fields() {
        // SPS: profile 100, flags 0, level 40, sps id ue '011' = 2.
        assert_eq!(
            parameter_set_key(Codec::H264, &[0x67, 100, 0, 40, 0b0110_0000]).unwrap(),
            Some((NalKindKey::Sps, 2))
        );
        // PPS: pps id ue '1' = 0.
        assert_eq!(parameter_set_key(Codec::H264, &[0x68, 0b1100_0000]).unwrap(), Some((NalKindKey::Pps, 0)));
        assert_eq!(parameter_set_key(Codec::H264, &[0x65, 0x88]).unwrap(), None);
        assert!(parameter_set_key(Codec::H264, &[0x67, 100]).is_err());
    }

    #[test]
    fn h265_fixture_parameter_sets_have_id_zero() {
        let data =
            std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/hevc_main_320x240_25.h265")).unwrap();
        let keys: Vec<_> = crate::codec::nal::AnnexBNals::new(&data)
            .take(4)
            .filter_map(|(_, nal)| parameter_set_key(Codec::H265, nal).unwrap())
            .collect();
        assert_eq!(keys, [(NalKindKey::Vps, 0), (NalKindKey::Sps, 0), (NalKindKey::Pps, 0)]);
    }
}
