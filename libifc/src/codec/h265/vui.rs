//! `vui_parameters()` (H.265 E.2.1): sample aspect ratio, colour, timing and the bitstream
//! restrictions that the hvcC record repeats.

use crate::codec::{BitReader, ColourDescription, FrameRate};
use crate::error::Result;

use super::hrd::skip_hrd_parameters;
use super::sps::Window;

/// `aspect_ratio_idc` 255: the ratio follows as `sar_width`, `sar_height` (Table E.1).
const EXTENDED_SAR: u8 = 255;

/// The VUI fields ifc uses or checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vui {
    /// From `aspect_ratio_idc` (Table E.1) or `sar_width:sar_height`; `None` when absent,
    /// unspecified (0), reserved or with a zero term.
    pub sample_aspect_ratio: Option<(u32, u32)>,
    pub overscan_appropriate_flag: Option<bool>,
    /// `video_format` (Table E.2), when `video_signal_type_present_flag` is set.
    pub video_format: Option<u8>,
    /// Full range and H.273 code points; unspecified (2) unless the VUI says.
    pub colour: ColourDescription,
    /// (`chroma_sample_loc_type_top_field`, `chroma_sample_loc_type_bottom_field`).
    pub chroma_sample_loc_type: Option<(u8, u8)>,
    pub neutral_chroma_indication_flag: bool,
    pub field_seq_flag: bool,
    pub frame_field_info_present_flag: bool,
    /// `def_disp_win_*_offset`, in chroma sample units like the conformance window.
    pub default_display_window: Option<Window>,
    pub timing: Option<VuiTiming>,
    pub bitstream_restriction: Option<BitstreamRestriction>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VuiTiming {
    pub vui_num_units_in_tick: u32,
    pub vui_time_scale: u32,
    /// `vui_num_ticks_poc_diff_one_minus1 + 1`, when POC is proportional to time.
    pub num_ticks_poc_diff_one: Option<u64>,
    pub vui_hrd_parameters_present_flag: bool,
}

impl VuiTiming {
    /// Pictures per second: `vui_time_scale / vui_num_units_in_tick` (E.3.1; one tick per
    /// picture, unlike H.264 where a tick is a field). `None` when either is 0, which E.3.1
    /// forbids but which should not make a stream unreadable.
    pub fn frame_rate(&self) -> Option<FrameRate> {
        FrameRate::new(self.vui_time_scale, self.vui_num_units_in_tick)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitstreamRestriction {
    pub tiles_fixed_structure_flag: bool,
    pub motion_vectors_over_pic_boundaries_flag: bool,
    pub restricted_ref_pic_lists_flag: bool,
    /// 0..=4095; hvcC repeats it.
    pub min_spatial_segmentation_idc: u16,
    pub max_bytes_per_pic_denom: u8,
    pub max_bits_per_min_cu_denom: u8,
    pub log2_max_mv_length_horizontal: u8,
    pub log2_max_mv_length_vertical: u8,
}

/// Reads `vui_parameters()` of an SPS with `sps_max_sub_layers_minus1`.
pub fn parse_vui(r: &mut BitReader<'_>, sps_max_sub_layers_minus1: u8) -> Result<Vui> {
    let outer = r.at();
    r.set_at("sps.vui");
    let mut vui = Vui::default();
    if r.read_flag("aspect_ratio_info_present_flag")? {
        let aspect_ratio_idc = r.read_u8(8, "aspect_ratio_idc")?;
        vui.sample_aspect_ratio = if aspect_ratio_idc == EXTENDED_SAR {
            let sar = (r.read_bits(16, "sar_width")?, r.read_bits(16, "sar_height")?);
            Some(sar).filter(|&(w, h)| w != 0 && h != 0)
        } else {
            usize::from(aspect_ratio_idc)
                .checked_sub(1)
                .and_then(|i| crate::codec::params::SAMPLE_ASPECT_RATIOS.get(i))
                .map(|&(w, h)| (u32::from(w), u32::from(h)))
        };
    }
    if r.read_flag("overscan_info_present_flag")? {
        vui.overscan_appropriate_flag = Some(r.read_flag("overscan_appropriate_flag")?);
    }
    if r.read_flag("video_signal_type_present_flag")? {
        vui.video_format = Some(r.read_u8(3, "video_format")?);
        vui.colour.full_range = r.read_flag("video_full_range_flag")?;
        if r.read_flag("colour_description_present_flag")? {
            vui.colour.primaries = r.read_u8(8, "colour_primaries")?;
            vui.colour.transfer = r.read_u8(8, "transfer_characteristics")?;
            vui.colour.matrix = r.read_u8(8, "matrix_coeffs")?;
        }
    }
    if r.read_flag("chroma_loc_info_present_flag")? {
        let top = r.read_ue_max(5, "chroma_sample_loc_type_top_field")? as u8;
        let bottom = r.read_ue_max(5, "chroma_sample_loc_type_bottom_field")? as u8;
        vui.chroma_sample_loc_type = Some((top, bottom));
    }
    vui.neutral_chroma_indication_flag = r.read_flag("neutral_chroma_indication_flag")?;
    vui.field_seq_flag = r.read_flag("field_seq_flag")?;
    vui.frame_field_info_present_flag = r.read_flag("frame_field_info_present_flag")?;
    if r.read_flag("default_display_window_flag")? {
        vui.default_display_window = Some(Window {
            left: r.read_ue("def_disp_win_left_offset")?,
            right: r.read_ue("def_disp_win_right_offset")?,
            top: r.read_ue("def_disp_win_top_offset")?,
            bottom: r.read_ue("def_disp_win_bottom_offset")?,
        });
    }
    if r.read_flag("vui_timing_info_present_flag")? {
        let vui_num_units_in_tick = r.read_bits(32, "vui_num_units_in_tick")?;
        let vui_time_scale = r.read_bits(32, "vui_time_scale")?;
        let num_ticks_poc_diff_one = if r.read_flag("vui_poc_proportional_to_timing_flag")? {
            Some(u64::from(r.read_ue("vui_num_ticks_poc_diff_one_minus1")?) + 1)
        } else {
            None
        };
        let vui_hrd_parameters_present_flag = r.read_flag("vui_hrd_parameters_present_flag")?;
        if vui_hrd_parameters_present_flag {
            skip_hrd_parameters(r, true, sps_max_sub_layers_minus1, "sps.vui.hrd_parameters")?;
        }
        vui.timing = Some(VuiTiming {
            vui_num_units_in_tick,
            vui_time_scale,
            num_ticks_poc_diff_one,
            vui_hrd_parameters_present_flag,
        });
    }
    if r.read_flag("bitstream_restriction_flag")? {
        vui.bitstream_restriction = Some(BitstreamRestriction {
            tiles_fixed_structure_flag: r.read_flag("tiles_fixed_structure_flag")?,
            motion_vectors_over_pic_boundaries_flag: r.read_flag("motion_vectors_over_pic_boundaries_flag")?,
            restricted_ref_pic_lists_flag: r.read_flag("restricted_ref_pic_lists_flag")?,
            min_spatial_segmentation_idc: r.read_ue_max(4095, "min_spatial_segmentation_idc")? as u16,
            max_bytes_per_pic_denom: r.read_ue_max(16, "max_bytes_per_pic_denom")? as u8,
            max_bits_per_min_cu_denom: r.read_ue_max(16, "max_bits_per_min_cu_denom")? as u8,
            // E.3.1 allows 0..=15 since the 2016 edition (16 before): accept the older bound.
            log2_max_mv_length_horizontal: r.read_ue_max(16, "log2_max_mv_length_horizontal")? as u8,
            log2_max_mv_length_vertical: r.read_ue_max(16, "log2_max_mv_length_vertical")? as u8,
        });
    }
    r.set_at(outer);
    Ok(vui)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::codec::h265::test_fixtures::BitWriter;

    /// A VUI with everything present; `hrd` adds one sub-layer of NAL HRD parameters.
    fn full_vui(aspect_ratio_idc: u8) -> BitWriter {
        let mut w = BitWriter::default();
        w.bit(true).bits(8, u32::from(aspect_ratio_idc));
        if aspect_ratio_idc == EXTENDED_SAR {
            w.bits(16, 64).bits(16, 45);
        }
        w.bit(true).bit(false); // overscan
        w.bit(true).bits(3, 5).bit(true).bit(true).bits(8, 9).bits(8, 16).bits(8, 9); // BT.2020 PQ, full
        w.bit(true).ue(2).ue(2); // chroma location
        w.bit(false).bit(false).bit(false);
        w.bit(true).ue(0).ue(8).ue(0).ue(4); // default display window
        w.bit(true).bits(32, 1001).bits(32, 60000).bit(true).ue(0); // timing, POC proportional
        w.bit(true); // HRD parameters: NAL only, one CPB, fixed rate
        w.bit(true).bit(false).bit(false).bits(8, 0).bits(15, 0);
        w.bit(true).ue(0).ue(0).ue(5000).ue(6000).bit(false);
        w.bit(true).bit(false).bit(true).bit(false).ue(1234).ue(2).ue(1).ue(15).ue(15); // restrictions
        w
    }

    #[test]
    fn every_field_is_read_through_hrd_to_the_bitstream_restriction() {
        let mut w = full_vui(EXTENDED_SAR);
        w.ue(9);
        let bytes = w.bytes();
        let mut r = BitReader::new(&bytes, "sps");
        let vui = parse_vui(&mut r, 0).unwrap();
        assert_eq!(r.read_ue("next").unwrap(), 9);
        assert_eq!(vui.sample_aspect_ratio, Some((64, 45)));
        assert_eq!(vui.colour, ColourDescription { primaries: 9, transfer: 16, matrix: 9, full_range: true });
        assert_eq!(vui.chroma_sample_loc_type, Some((2, 2)));
        assert_eq!(vui.default_display_window, Some(Window { left: 0, right: 8, top: 0, bottom: 4 }));
        let timing = vui.timing.unwrap();
        assert_eq!(timing.frame_rate(), FrameRate::new(60000, 1001));
        assert_eq!(timing.num_ticks_poc_diff_one, Some(1));
        let restriction = vui.bitstream_restriction.unwrap();
        assert_eq!(restriction.min_spatial_segmentation_idc, 1234);
        assert_eq!(restriction.log2_max_mv_length_vertical, 15);
    }

    #[test]
    fn aspect_ratio_idc_uses_table_e1_and_ignores_reserved_values() {
        let sar = |idc| parse_vui(&mut BitReader::new(&full_vui(idc).bytes(), "sps"), 0).unwrap().sample_aspect_ratio;
        assert_eq!(sar(1), Some((1, 1)));
        assert_eq!(sar(14), Some((4, 3)));
        assert_eq!(sar(16), Some((2, 1)));
        assert_eq!(sar(0), None);
        assert_eq!(sar(17), None);
    }

    #[test]
    fn a_truncated_hrd_is_located_inside_the_vui() {
        let bytes = full_vui(1).bytes();
        // Cut inside the HRD parameters: after the timing info (bit 8 + 1 + 1 + ... ).
        let e = parse_vui(&mut BitReader::new(&bytes[..22], "sps"), 0).unwrap_err();
        assert_eq!(e.kind, crate::ParseErrorKind::Truncated);
        assert!(e.at.starts_with("sps.vui.hrd_parameters."), "{}", e.at);
    }

    #[test]
    fn min_spatial_segmentation_above_4095_is_invalid() {
        let mut w = BitWriter::default();
        w.bits(9, 0); // no optional parts up to the timing info
        w.bit(true).bits(3, 0).ue(4096);
        let e = parse_vui(&mut BitReader::new(&w.bytes(), "sps"), 0).unwrap_err();
        assert_eq!(e.at, "sps.vui.min_spatial_segmentation_idc");
    }
}
