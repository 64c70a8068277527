//! The picture parameter set (H.265 7.3.2.3.1), up to the fields that slice headers need and
//! the tiles / wavefront flags that decide hvcC's `parallelismType`.

use crate::codec::{rbsp_from_ebsp, BitReader};
use crate::error::Result;

use super::{NalHeader, NAL_PPS};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pps {
    pub pps_pic_parameter_set_id: u8,
    pub pps_seq_parameter_set_id: u8,
    pub dependent_slice_segments_enabled_flag: bool,
    pub output_flag_present_flag: bool,
    pub num_extra_slice_header_bits: u8,
    pub sign_data_hiding_enabled_flag: bool,
    pub cabac_init_present_flag: bool,
    pub num_ref_idx_l0_default_active_minus1: u8,
    pub num_ref_idx_l1_default_active_minus1: u8,
    pub init_qp_minus26: i32,
    pub constrained_intra_pred_flag: bool,
    pub transform_skip_enabled_flag: bool,
    pub cu_qp_delta_enabled_flag: bool,
    pub diff_cu_qp_delta_depth: u8,
    pub pps_cb_qp_offset: i32,
    pub pps_cr_qp_offset: i32,
    pub pps_slice_chroma_qp_offsets_present_flag: bool,
    pub weighted_pred_flag: bool,
    pub weighted_bipred_flag: bool,
    pub transquant_bypass_enabled_flag: bool,
    pub tiles_enabled_flag: bool,
    pub entropy_coding_sync_enabled_flag: bool,
}

/// Parses a PPS NAL unit (with its two-byte header) up to `entropy_coding_sync_enabled_flag`.
pub fn parse_pps(nal: &[u8]) -> Result<Pps> {
    let payload = NalHeader::parse_expecting(nal, NAL_PPS, "pps")?;
    let rbsp = rbsp_from_ebsp(payload);
    let r = &mut BitReader::new(&rbsp, "pps");
    let pps_pic_parameter_set_id = r.read_ue_max(63, "pps_pic_parameter_set_id")? as u8;
    let pps_seq_parameter_set_id = r.read_ue_max(15, "pps_seq_parameter_set_id")? as u8;
    let dependent_slice_segments_enabled_flag = r.read_flag("dependent_slice_segments_enabled_flag")?;
    let output_flag_present_flag = r.read_flag("output_flag_present_flag")?;
    let num_extra_slice_header_bits = r.read_u8(3, "num_extra_slice_header_bits")?;
    let sign_data_hiding_enabled_flag = r.read_flag("sign_data_hiding_enabled_flag")?;
    let cabac_init_present_flag = r.read_flag("cabac_init_present_flag")?;
    let num_ref_idx_l0_default_active_minus1 = r.read_ue_max(14, "num_ref_idx_l0_default_active_minus1")? as u8;
    let num_ref_idx_l1_default_active_minus1 = r.read_ue_max(14, "num_ref_idx_l1_default_active_minus1")? as u8;
    // 7.4.3.3.1: -(26 + QpBdOffsetY)..=25, and QpBdOffsetY = 6 × bit_depth_luma_minus8 <= 48.
    // The SPS may not have arrived yet, so the widest range is checked here.
    let init_qp_minus26 = r.read_se("init_qp_minus26")?;
    if !(-(26 + 48)..=25).contains(&init_qp_minus26) {
        return Err(r.invalid("init_qp_minus26", format!("{init_qp_minus26} is outside -74..=25")));
    }
    let constrained_intra_pred_flag = r.read_flag("constrained_intra_pred_flag")?;
    let transform_skip_enabled_flag = r.read_flag("transform_skip_enabled_flag")?;
    let cu_qp_delta_enabled_flag = r.read_flag("cu_qp_delta_enabled_flag")?;
    // At most log2_diff_max_min_luma_coding_block_size, itself at most 3.
    let diff_cu_qp_delta_depth =
        if cu_qp_delta_enabled_flag { r.read_ue_max(3, "diff_cu_qp_delta_depth")? as u8 } else { 0 };
    let pps_cb_qp_offset = read_chroma_qp_offset(r, "pps_cb_qp_offset")?;
    let pps_cr_qp_offset = read_chroma_qp_offset(r, "pps_cr_qp_offset")?;
    Ok(Pps {
        pps_pic_parameter_set_id,
        pps_seq_parameter_set_id,
        dependent_slice_segments_enabled_flag,
        output_flag_present_flag,
        num_extra_slice_header_bits,
        sign_data_hiding_enabled_flag,
        cabac_init_present_flag,
        num_ref_idx_l0_default_active_minus1,
        num_ref_idx_l1_default_active_minus1,
        init_qp_minus26,
        constrained_intra_pred_flag,
        transform_skip_enabled_flag,
        cu_qp_delta_enabled_flag,
        diff_cu_qp_delta_depth,
        pps_cb_qp_offset,
        pps_cr_qp_offset,
        pps_slice_chroma_qp_offsets_present_flag: r.read_flag("pps_slice_chroma_qp_offsets_present_flag")?,
        weighted_pred_flag: r.read_flag("weighted_pred_flag")?,
        weighted_bipred_flag: r.read_flag("weighted_bipred_flag")?,
        transquant_bypass_enabled_flag: r.read_flag("transquant_bypass_enabled_flag")?,
        tiles_enabled_flag: r.read_flag("tiles_enabled_flag")?,
        entropy_coding_sync_enabled_flag: r.read_flag("entropy_coding_sync_enabled_flag")?,
    })
}

/// 7.4.3.3.1: `pps_cb_qp_offset` and `pps_cr_qp_offset` are in -12..=12.
fn read_chroma_qp_offset(r: &mut BitReader<'_>, field: &'static str) -> Result<i32> {
    let offset = r.read_se(field)?;
    if !(-12..=12).contains(&offset) {
        return Err(r.invalid(field, format!("{offset} is outside -12..=12")));
    }
    Ok(offset)
}

impl Pps {
    /// hvcC `parallelismType` (ISO/IEC 14496-15 8.3.3.1.3) as this PPS alone implies it:
    /// 1 slices, 2 tiles, 3 wavefronts (entropy coding sync), 0 both or unknown.
    pub fn parallelism_type(&self) -> u8 {
        match (self.tiles_enabled_flag, self.entropy_coding_sync_enabled_flag) {
            (true, true) => 0,
            (false, true) => 3,
            (true, false) => 2,
            (false, false) => 1,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::codec::h265::test_fixtures::BitWriter;

    /// A PPS NAL unit with the given ids, init_qp_minus26 and chroma offsets; tiles and
    /// wavefronts as given.
    fn pps(id: u32, init_qp_minus26: i32, cb_offset: i32, tiles: bool, wavefronts: bool) -> Vec<u8> {
        let mut w = BitWriter::default();
        w.bits(16, u32::from(NAL_PPS) << 9 | 1);
        w.ue(id).ue(3).bit(true).bit(true).bits(3, 5).bit(false).bit(true);
        w.ue(2).ue(1).se(init_qp_minus26).bit(false).bit(true).bit(true).ue(2).se(cb_offset).se(-3);
        w.bit(true).bit(false).bit(true).bit(false).bit(tiles).bit(wavefronts).bit(true);
        w.bytes()
    }

    #[test]
    fn the_fields_slice_headers_need_are_read() {
        let p = parse_pps(&pps(63, -30, 12, false, false)).unwrap();
        assert_eq!((p.pps_pic_parameter_set_id, p.pps_seq_parameter_set_id), (63, 3));
        assert!(p.dependent_slice_segments_enabled_flag && p.output_flag_present_flag);
        assert_eq!(p.num_extra_slice_header_bits, 5);
        assert_eq!(
            (p.init_qp_minus26, p.diff_cu_qp_delta_depth, p.pps_cb_qp_offset, p.pps_cr_qp_offset),
            (-30, 2, 12, -3)
        );
        assert!(p.pps_slice_chroma_qp_offsets_present_flag && p.weighted_bipred_flag && !p.weighted_pred_flag);
    }

    #[test]
    fn parallelism_type_follows_tiles_and_wavefronts() {
        let kind = |tiles, wavefronts| parse_pps(&pps(0, 0, 0, tiles, wavefronts)).unwrap().parallelism_type();
        assert_eq!([kind(false, false), kind(true, false), kind(false, true), kind(true, true)], [1, 2, 3, 0]);
    }

    #[test]
    fn out_of_range_values_are_invalid_and_located() {
        assert_eq!(parse_pps(&pps(64, 0, 0, false, false)).unwrap_err().at, "pps.pps_pic_parameter_set_id");
        assert_eq!(parse_pps(&pps(0, 26, 0, false, false)).unwrap_err().at, "pps.init_qp_minus26");
        assert_eq!(parse_pps(&pps(0, 0, -13, false, false)).unwrap_err().at, "pps.pps_cb_qp_offset");
    }
}
