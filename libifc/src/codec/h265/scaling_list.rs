//! `scaling_list_data()` (H.265 7.3.4): read only to reach the syntax that follows it, with
//! the range checks of 7.4.5 so that garbage is reported where it starts.

use crate::codec::BitReader;
use crate::error::Result;

/// Reads past `scaling_list_data()`; errors are located at `at` (e.g. `sps.scaling_list_data`).
pub fn skip_scaling_list_data(r: &mut BitReader<'_>, at: &'static str) -> Result<()> {
    let outer = r.at();
    r.set_at(at);
    for size_id in 0..4u32 {
        // 32×32 lists exist for matrixId 0 and 3 only (luma intra and inter).
        let step = if size_id == 3 { 3 } else { 1 };
        for matrix_id in (0..6u32).step_by(step) {
            if !r.read_flag("scaling_list_pred_mode_flag")? {
                // Copy of a previous list (or the default one when the delta is 0).
                let refs_before = if size_id == 3 { matrix_id / 3 } else { matrix_id };
                r.read_ue_max(refs_before, "scaling_list_pred_matrix_id_delta")?;
                continue;
            }
            let coef_num = 64.min(1u32 << (4 + (size_id << 1)));
            if size_id > 1 {
                let dc = r.read_se("scaling_list_dc_coef_minus8")?;
                if !(-7..=247).contains(&dc) {
                    return Err(r.invalid("scaling_list_dc_coef_minus8", format!("{dc} is outside -7..=247")));
                }
            }
            for _ in 0..coef_num {
                let delta = r.read_se("scaling_list_delta_coef")?;
                if !(-128..=127).contains(&delta) {
                    return Err(r.invalid("scaling_list_delta_coef", format!("{delta} is outside -128..=127")));
                }
            }
        }
    }
    r.set_at(outer);
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::codec::h265::test_fixtures::BitWriter;

    /// Every list explicitly coded: 6 + 6 + 6 + 2 lists with 16, 64, 64 (+DC), 64 (+DC) deltas.
    fn explicit_lists(dc: i32, delta: i32) -> BitWriter {
        let mut b = BitWriter::default();
        for size_id in 0..4 {
            let lists = if size_id == 3 { 2 } else { 6 };
            for _ in 0..lists {
                b.bit(true);
                if size_id > 1 {
                    b.se(dc);
                }
                for _ in 0..if size_id == 0 { 16 } else { 64 } {
                    b.se(delta);
                }
            }
        }
        b
    }

    #[test]
    fn explicit_lists_are_skipped_exactly() {
        let mut b = explicit_lists(8, -3);
        b.ue(5); // the next syntax element
        let bytes = b.bytes();
        let mut r = BitReader::new(&bytes, "sps");
        skip_scaling_list_data(&mut r, "sps.scaling_list_data").unwrap();
        assert_eq!(r.read_ue("next").unwrap(), 5);
        assert_eq!(r.at(), "sps");
    }

    #[test]
    fn predicted_lists_read_only_the_matrix_delta() {
        let mut b = BitWriter::default();
        for size_id in 0..4u32 {
            let ids: &[u32] = if size_id == 3 { &[0, 3] } else { &[0, 1, 2, 3, 4, 5] };
            for &m in ids {
                b.bit(false);
                b.ue(if size_id == 3 { m / 3 } else { m });
            }
        }
        b.ue(7);
        let bytes = b.bytes();
        let mut r = BitReader::new(&bytes, "sps");
        skip_scaling_list_data(&mut r, "sps.scaling_list_data").unwrap();
        assert_eq!(r.read_ue("next").unwrap(), 7);
    }

    #[test]
    fn a_reference_to_a_later_list_is_invalid() {
        let mut b = BitWriter::default();
        b.bit(false);
        b.ue(1); // matrixId 0 has no earlier list to copy
        let bytes = b.bytes();
        let e = skip_scaling_list_data(&mut BitReader::new(&bytes, "sps"), "sps.scaling_list_data").unwrap_err();
        assert_eq!(e.at, "sps.scaling_list_data.scaling_list_pred_matrix_id_delta");
    }

    #[test]
    fn out_of_range_coefficients_are_invalid() {
        let bytes = explicit_lists(8, 128).bytes();
        let e = skip_scaling_list_data(&mut BitReader::new(&bytes, "sps"), "sps.scaling_list_data").unwrap_err();
        assert_eq!(e.at, "sps.scaling_list_data.scaling_list_delta_coef");
        let bytes = explicit_lists(248, 0).bytes();
        let e = skip_scaling_list_data(&mut BitReader::new(&bytes, "sps"), "sps.scaling_list_data").unwrap_err();
        assert_eq!(e.at, "sps.scaling_list_data.scaling_list_dc_coef_minus8");
    }
}
