//! Hand-made SPS, PPS and slice NAL units for the syntax x264 never writes: picture order
//! count type 1, field pictures, separate colour planes, slice groups, MMCO 5, and values
//! outside the specification's ranges.

use super::testutil::BitWriter;

/// `pic_order_cnt_type` and its fields.
#[derive(Debug, Clone)]
pub(crate) enum PocSpec {
    Type0 { log2_max_lsb_minus4: u32 },
    Type1 { always_zero: bool, non_ref: i32, top_to_bottom: i32, offsets: Vec<i32>, cycle_len: Option<u32> },
    Type2,
}

#[derive(Debug, Clone)]
pub(crate) struct VuiSpec {
    pub(crate) aspect_ratio: Option<(u8, u16, u16)>,
    pub(crate) timing: Option<(u32, u32)>,
    pub(crate) nal_hrd_cpb_cnt_minus1: Option<u32>,
    pub(crate) vcl_hrd: bool,
    pub(crate) reorder_and_buffering: Option<(u32, u32)>,
}

#[derive(Debug, Clone)]
pub(crate) struct SpsSpec {
    pub(crate) profile_idc: u8,
    pub(crate) id: u32,
    pub(crate) chroma_format_idc: u32,
    pub(crate) separate_colour_plane: bool,
    pub(crate) bit_depth_luma_minus8: u32,
    /// Each list: the delta_scale values of a present 4×4 list (the rest absent).
    pub(crate) scaling_list_deltas: Option<Vec<i32>>,
    pub(crate) log2_max_frame_num_minus4: u32,
    pub(crate) poc: PocSpec,
    pub(crate) max_num_ref_frames: u32,
    pub(crate) gaps_in_frame_num_value_allowed: bool,
    pub(crate) width_mbs_minus1: u32,
    pub(crate) height_map_units_minus1: u32,
    pub(crate) frame_mbs_only: bool,
    pub(crate) crop: Option<[u32; 4]>,
    pub(crate) vui: Option<VuiSpec>,
}

impl Default for SpsSpec {
    /// High profile, 64×48, 4:2:0 8-bit, POC type 0 with 16 values of lsb and frame_num.
    fn default() -> Self {
        Self {
            profile_idc: 100,
            id: 0,
            chroma_format_idc: 1,
            separate_colour_plane: false,
            bit_depth_luma_minus8: 0,
            scaling_list_deltas: None,
            log2_max_frame_num_minus4: 0,
            poc: PocSpec::Type0 { log2_max_lsb_minus4: 0 },
            max_num_ref_frames: 2,
            gaps_in_frame_num_value_allowed: false,
            width_mbs_minus1: 3,
            height_map_units_minus1: 2,
            frame_mbs_only: true,
            crop: None,
            vui: None,
        }
    }
}

impl SpsSpec {
    pub(crate) fn nal(&self) -> Vec<u8> {
        let mut w = BitWriter::new();
        w.bits(8, self.profile_idc.into()).bits(8, 0).bits(8, 30).ue(self.id);
        if matches!(self.profile_idc, 100 | 110 | 122 | 244) {
            w.ue(self.chroma_format_idc);
            if self.chroma_format_idc == 3 {
                w.flag(self.separate_colour_plane);
            }
            w.ue(self.bit_depth_luma_minus8).ue(self.bit_depth_luma_minus8).flag(false);
            w.flag(self.scaling_list_deltas.is_some());
            if let Some(deltas) = &self.scaling_list_deltas {
                w.flag(true);
                for &d in deltas {
                    w.se(d);
                }
                let lists = if self.chroma_format_idc == 3 { 12 } else { 8 };
                for _ in 1..lists {
                    w.flag(false);
                }
            }
        }
        w.ue(self.log2_max_frame_num_minus4);
        match &self.poc {
            PocSpec::Type0 { log2_max_lsb_minus4 } => {
                w.ue(0).ue(*log2_max_lsb_minus4);
            }
            PocSpec::Type1 { always_zero, non_ref, top_to_bottom, offsets, cycle_len } => {
                w.ue(1).flag(*always_zero).se(*non_ref).se(*top_to_bottom);
                w.ue(cycle_len.unwrap_or(offsets.len() as u32));
                for &o in offsets {
                    w.se(o);
                }
            }
            PocSpec::Type2 => {
                w.ue(2);
            }
        }
        w.ue(self.max_num_ref_frames)
            .flag(self.gaps_in_frame_num_value_allowed)
            .ue(self.width_mbs_minus1)
            .ue(self.height_map_units_minus1);
        w.flag(self.frame_mbs_only);
        if !self.frame_mbs_only {
            w.flag(false); // mb_adaptive_frame_field_flag
        }
        w.flag(true); // direct_8x8_inference_flag
        w.flag(self.crop.is_some());
        for offset in self.crop.into_iter().flatten() {
            w.ue(offset);
        }
        w.flag(self.vui.is_some());
        if let Some(vui) = &self.vui {
            write_vui(&mut w, vui);
        }
        w.nal(0x67)
    }
}

fn write_hrd(w: &mut BitWriter, cpb_cnt_minus1: u32) {
    w.ue(cpb_cnt_minus1).bits(4, 0).bits(4, 0);
    for _ in 0..=cpb_cnt_minus1.min(40) {
        w.ue(1000).ue(2000).flag(false);
    }
    w.bits(5, 23).bits(5, 23).bits(5, 23).bits(5, 24);
}

fn write_vui(w: &mut BitWriter, vui: &VuiSpec) {
    w.flag(vui.aspect_ratio.is_some());
    if let Some((idc, sar_w, sar_h)) = vui.aspect_ratio {
        w.bits(8, idc.into());
        if idc == 255 {
            w.bits(16, sar_w.into()).bits(16, sar_h.into());
        }
    }
    w.flag(false).flag(false).flag(false); // overscan, video signal type, chroma location
    w.flag(vui.timing.is_some());
    if let Some((num_units_in_tick, time_scale)) = vui.timing {
        w.bits(32, num_units_in_tick.into()).bits(32, time_scale.into()).flag(true);
    }
    w.flag(vui.nal_hrd_cpb_cnt_minus1.is_some());
    if let Some(cpb_cnt_minus1) = vui.nal_hrd_cpb_cnt_minus1 {
        write_hrd(w, cpb_cnt_minus1);
    }
    w.flag(vui.vcl_hrd);
    if vui.vcl_hrd {
        write_hrd(w, 1);
    }
    if vui.nal_hrd_cpb_cnt_minus1.is_some() || vui.vcl_hrd {
        w.flag(false); // low_delay_hrd_flag
    }
    w.flag(false); // pic_struct_present_flag
    w.flag(vui.reorder_and_buffering.is_some());
    if let Some((reorder, buffering)) = vui.reorder_and_buffering {
        w.flag(true).ue(0).ue(0).ue(16).ue(16).ue(reorder).ue(buffering);
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct PpsSpec {
    pub(crate) id: u32,
    pub(crate) sps_id: u32,
    pub(crate) bottom_field_pic_order_in_frame_present: bool,
    /// `(num_slice_groups_minus1, slice_group_map_type)`; type 6 maps 12 map units.
    pub(crate) slice_groups: Option<(u32, u32)>,
    pub(crate) num_ref_idx_l0_default_minus1: u32,
    pub(crate) weighted_bipred_idc: u64,
    pub(crate) chroma_qp_index_offset: i32,
    pub(crate) redundant_pic_cnt_present: bool,
    /// `(transform_8x8_mode_flag, pic_scaling_matrix_present_flag)` after more_rbsp_data().
    pub(crate) high_tail: Option<(bool, bool)>,
}

impl PpsSpec {
    pub(crate) fn nal(&self) -> Vec<u8> {
        let mut w = BitWriter::new();
        w.ue(self.id).ue(self.sps_id).flag(false).flag(self.bottom_field_pic_order_in_frame_present);
        let (groups_minus1, map_type) = self.slice_groups.unwrap_or((0, 0));
        w.ue(groups_minus1);
        if groups_minus1 > 0 {
            w.ue(map_type);
            match map_type {
                0 => {
                    for _ in 0..=groups_minus1 {
                        w.ue(7); // run_length_minus1
                    }
                }
                2 => {
                    for _ in 0..groups_minus1 {
                        w.ue(1).ue(5); // top_left, bottom_right
                    }
                }
                3..=5 => {
                    w.flag(true).ue(2);
                }
                6 => {
                    let id_bits = 32 - groups_minus1.leading_zeros();
                    w.ue(11); // pic_size_in_map_units_minus1
                    for i in 0..12u64 {
                        w.bits(id_bits, i % u64::from(groups_minus1 + 1));
                    }
                }
                _ => {}
            }
        }
        w.ue(self.num_ref_idx_l0_default_minus1).ue(0).flag(false).bits(2, self.weighted_bipred_idc);
        w.se(0).se(0).se(self.chroma_qp_index_offset);
        w.flag(false).flag(false).flag(self.redundant_pic_cnt_present);
        if let Some((transform_8x8, scaling_matrix)) = self.high_tail {
            w.flag(transform_8x8).flag(scaling_matrix);
            if scaling_matrix {
                let lists = 6 + if transform_8x8 { 2 } else { 0 };
                for _ in 0..lists {
                    w.flag(false); // pic_scaling_list_present_flag
                }
            }
            w.se(-3);
        }
        w.nal(0x68)
    }
}

#[derive(Debug, Clone, Default)]
pub(crate) struct SliceSpec {
    pub(crate) nal_ref_idc: u8,
    pub(crate) idr: bool,
    pub(crate) first_mb: u32,
    /// 0 P, 1 B, 2 I.
    pub(crate) slice_type: u32,
    pub(crate) pps_id: u32,
    pub(crate) colour_plane_id: u32,
    pub(crate) frame_num: u32,
    /// `Some(bottom_field_flag)` for a field picture.
    pub(crate) field: Option<bool>,
    pub(crate) poc_lsb: u32,
    pub(crate) delta_bottom: i32,
    pub(crate) delta: [i32; 2],
    pub(crate) redundant_pic_cnt: u32,
    pub(crate) mmco5: bool,
}

impl SliceSpec {
    /// A CAVLC slice for the `sps`/`pps`, with its header through `slice_qp_delta`.
    pub(crate) fn nal(&self, sps: &SpsSpec, pps: &PpsSpec) -> Vec<u8> {
        let mut w = BitWriter::new();
        w.ue(self.first_mb).ue(self.slice_type).ue(self.pps_id);
        if sps.separate_colour_plane {
            w.bits(2, self.colour_plane_id.into());
        }
        w.bits(sps.log2_max_frame_num_minus4 + 4, self.frame_num.into());
        if !sps.frame_mbs_only {
            w.flag(self.field.is_some());
            if let Some(bottom) = self.field {
                w.flag(bottom);
            }
        }
        if self.idr {
            w.ue(0);
        }
        let bottom_in_frame = pps.bottom_field_pic_order_in_frame_present && self.field.is_none();
        match &sps.poc {
            PocSpec::Type0 { log2_max_lsb_minus4 } => {
                w.bits(log2_max_lsb_minus4 + 4, self.poc_lsb.into());
                if bottom_in_frame {
                    w.se(self.delta_bottom);
                }
            }
            PocSpec::Type1 { always_zero: false, .. } => {
                w.se(self.delta[0]);
                if bottom_in_frame {
                    w.se(self.delta[1]);
                }
            }
            _ => {}
        }
        if pps.redundant_pic_cnt_present {
            w.ue(self.redundant_pic_cnt);
        }
        if self.slice_type == 1 {
            w.flag(true); // direct_spatial_mv_pred_flag
        }
        if self.slice_type != 2 {
            w.flag(false); // num_ref_idx_active_override_flag
            w.flag(false); // ref_pic_list_modification_flag_l0
        }
        if self.slice_type == 1 {
            w.flag(false); // ref_pic_list_modification_flag_l1
        }
        if self.nal_ref_idc != 0 {
            if self.idr {
                w.flag(false).flag(false);
            } else {
                w.flag(self.mmco5);
                if self.mmco5 {
                    w.ue(5).ue(0);
                }
            }
        }
        w.se(0); // slice_qp_delta
        w.bits(8, 0xa5); // a token of slice data
        w.nal((self.nal_ref_idc << 5) | if self.idr { 5 } else { 1 })
    }
}
