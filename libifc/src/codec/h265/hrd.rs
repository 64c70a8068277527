//! `hrd_parameters()` (H.265 E.2.2) and `sub_layer_hrd_parameters()` (E.2.3): read only to
//! reach the VUI fields after them (`bitstream_restriction`, which hvcC needs).

use crate::codec::BitReader;
use crate::error::Result;

/// Reads past `hrd_parameters(common_inf_present_flag, max_num_sub_layers_minus1)`;
/// errors are located at `at`, e.g. `sps.vui.hrd_parameters`.
pub fn skip_hrd_parameters(
    r: &mut BitReader<'_>,
    common_inf_present_flag: bool,
    max_num_sub_layers_minus1: u8,
    at: &'static str,
) -> Result<()> {
    let outer = r.at();
    r.set_at(at);
    let mut nal_hrd_parameters_present_flag = false;
    let mut vcl_hrd_parameters_present_flag = false;
    let mut sub_pic_hrd_params_present_flag = false;
    if common_inf_present_flag {
        nal_hrd_parameters_present_flag = r.read_flag("nal_hrd_parameters_present_flag")?;
        vcl_hrd_parameters_present_flag = r.read_flag("vcl_hrd_parameters_present_flag")?;
        if nal_hrd_parameters_present_flag || vcl_hrd_parameters_present_flag {
            sub_pic_hrd_params_present_flag = r.read_flag("sub_pic_hrd_params_present_flag")?;
            if sub_pic_hrd_params_present_flag {
                // tick_divisor_minus2 u(8), du_cpb_removal_delay_increment_length_minus1 u(5),
                // sub_pic_cpb_params_in_pic_timing_sei_flag u(1), dpb_output_delay_du_length_minus1 u(5)
                r.skip_bits(8 + 5 + 1 + 5, "tick_divisor_minus2")?;
            }
            r.skip_bits(4 + 4, "bit_rate_scale")?;
            if sub_pic_hrd_params_present_flag {
                r.skip_bits(4, "cpb_size_du_scale")?;
            }
            // initial_cpb_removal_delay_length_minus1, au_cpb_removal_delay_length_minus1,
            // dpb_output_delay_length_minus1: u(5) each.
            r.skip_bits(15, "initial_cpb_removal_delay_length_minus1")?;
        }
    }
    for _ in 0..=max_num_sub_layers_minus1 {
        let fixed_pic_rate_general_flag = r.read_flag("fixed_pic_rate_general_flag")?;
        // E.2.2: inferred to be 1 when fixed_pic_rate_general_flag is 1.
        let fixed_pic_rate_within_cvs_flag =
            fixed_pic_rate_general_flag || r.read_flag("fixed_pic_rate_within_cvs_flag")?;
        // Inferred 0 when absent.
        let mut low_delay_hrd_flag = false;
        if fixed_pic_rate_within_cvs_flag {
            r.read_ue_max(2047, "elemental_duration_in_tc_minus1")?;
        } else {
            low_delay_hrd_flag = r.read_flag("low_delay_hrd_flag")?;
        }
        let cpb_cnt = if low_delay_hrd_flag { 1 } else { r.read_ue_max(31, "cpb_cnt_minus1")? + 1 };
        let sub_layer_parameter_sets =
            u8::from(nal_hrd_parameters_present_flag) + u8::from(vcl_hrd_parameters_present_flag);
        for _ in 0..sub_layer_parameter_sets {
            skip_sub_layer_hrd_parameters(r, cpb_cnt, sub_pic_hrd_params_present_flag)?;
        }
    }
    r.set_at(outer);
    Ok(())
}

fn skip_sub_layer_hrd_parameters(
    r: &mut BitReader<'_>,
    cpb_cnt: u32,
    sub_pic_hrd_params_present_flag: bool,
) -> Result<()> {
    for _ in 0..cpb_cnt {
        r.read_ue("bit_rate_value_minus1")?;
        r.read_ue("cpb_size_value_minus1")?;
        if sub_pic_hrd_params_present_flag {
            r.read_ue("cpb_size_du_value_minus1")?;
            r.read_ue("bit_rate_du_value_minus1")?;
        }
        r.read_flag("cbr_flag")?;
    }
    Ok(())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::codec::h265::test_fixtures::BitWriter;

    #[test]
    fn nal_and_vcl_parameters_for_every_sub_layer_are_skipped() {
        let mut w = BitWriter::default();
        w.bit(true).bit(true); // NAL and VCL HRD parameters
        w.bit(true).bits(19, 0); // sub-pic parameters
        w.bits(8, 0x55).bits(4, 0).bits(15, 0);
        // Sub-layer 0: fixed rate, elemental duration 0, two CPBs; NAL + VCL × 2 CPBs × 5 fields.
        w.bit(true).ue(0).ue(1);
        for _ in 0..4 {
            w.ue(1000).ue(2000).ue(3).ue(4).bit(true);
        }
        // Sub-layer 1: not fixed within the CVS, low delay (so no cpb_cnt_minus1): one CPB.
        w.bit(false).bit(false).bit(true);
        for _ in 0..2 {
            w.ue(7).ue(8).ue(9).ue(10).bit(false);
        }
        w.ue(42);
        let bytes = w.bytes();
        let mut r = BitReader::new(&bytes, "sps.vui");
        skip_hrd_parameters(&mut r, true, 1, "sps.vui.hrd_parameters").unwrap();
        assert_eq!(r.read_ue("next").unwrap(), 42);
        assert_eq!(r.at(), "sps.vui");
    }

    #[test]
    fn a_cpb_count_above_32_is_invalid_and_located() {
        let mut w = BitWriter::default();
        w.bit(false).bit(false); // no HRD parameter sets
        w.bit(true).ue(0).ue(32);
        let e = skip_hrd_parameters(&mut BitReader::new(&w.bytes(), "sps.vui"), true, 0, "sps.vui.hrd_parameters")
            .unwrap_err();
        assert_eq!(e.at, "sps.vui.hrd_parameters.cpb_cnt_minus1");
    }
}
