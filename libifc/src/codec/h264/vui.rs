//! Video usability information (H.264 E.1.1) and the HRD parameters inside it (E.1.2).

use crate::codec::{BitReader, FrameRate};
use crate::error::Result;

/// `aspect_ratio_idc` 255: the ratio follows as `sar_width`, `sar_height` (Table E-1).
const EXTENDED_SAR: u8 = 255;

/// `video_signal_type_present_flag` and what follows it (E.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoSignalType {
    /// 0 component, 1 PAL, 2 NTSC, 3 SECAM, 4 MAC, 5 unspecified.
    pub video_format: u8,
    pub video_full_range_flag: bool,
    /// `(colour_primaries, transfer_characteristics, matrix_coefficients)` (H.273 code points),
    /// when `colour_description_present_flag` is set.
    pub colour_description: Option<(u8, u8, u8)>,
}

/// `timing_info_present_flag` and what follows it (E.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimingInfo {
    pub num_units_in_tick: u32,
    pub time_scale: u32,
    pub fixed_frame_rate_flag: bool,
}

impl TimingInfo {
    /// E.2.1: a frame lasts two ticks (one per field), so the frame rate is
    /// `time_scale / (2 × num_units_in_tick)`. `None` if the fraction does not fit 32 bits.
    pub fn frame_rate(&self) -> Option<FrameRate> {
        let num = u64::from(self.time_scale);
        let den = 2 * u64::from(self.num_units_in_tick);
        let g = gcd(num, den);
        let (num, den) = (num / g.max(1), den / g.max(1));
        FrameRate::new(u32::try_from(num).ok()?, u32::try_from(den).ok()?)
    }
}

/// The parts of the HRD parameters (E.1.2) that later syntax depends on: picture timing SEI
/// messages are sized by these lengths.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HrdParameters {
    /// `cpb_cnt_minus1 + 1`, 1 to 32.
    pub cpb_cnt: u8,
    /// The bit rate of the first CPB specification, in bits per second (E-47).
    pub bit_rate_bps: u64,
    pub initial_cpb_removal_delay_length: u8,
    pub cpb_removal_delay_length: u8,
    pub dpb_output_delay_length: u8,
    pub time_offset_length: u8,
}

/// `bitstream_restriction_flag` and what follows it (E.1.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitstreamRestriction {
    pub motion_vectors_over_pic_boundaries_flag: bool,
    pub max_bytes_per_pic_denom: u8,
    pub max_bits_per_mb_denom: u8,
    pub log2_max_mv_length_horizontal: u8,
    pub log2_max_mv_length_vertical: u8,
    /// Frames that may precede any frame in decoding order and follow it in output order.
    pub max_num_reorder_frames: u8,
    /// The DPB size the stream needs, in frames.
    pub max_dec_frame_buffering: u8,
}

/// VUI parameters (E.1.1). Absent parts are `None`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Vui {
    /// `aspect_ratio_idc` when `aspect_ratio_info_present_flag` is set.
    pub aspect_ratio_idc: Option<u8>,
    /// The sample aspect ratio it stands for; `None` when unspecified (idc 0, a reserved idc,
    /// or an extended ratio with a zero term).
    pub sample_aspect_ratio: Option<(u16, u16)>,
    /// `overscan_appropriate_flag` when `overscan_info_present_flag` is set.
    pub overscan_appropriate: Option<bool>,
    pub video_signal_type: Option<VideoSignalType>,
    /// `(chroma_sample_loc_type_top_field, chroma_sample_loc_type_bottom_field)`.
    pub chroma_sample_loc_type: Option<(u8, u8)>,
    pub timing_info: Option<TimingInfo>,
    pub nal_hrd: Option<HrdParameters>,
    pub vcl_hrd: Option<HrdParameters>,
    /// Present when either HRD is.
    pub low_delay_hrd_flag: Option<bool>,
    pub pic_struct_present_flag: bool,
    pub bitstream_restriction: Option<BitstreamRestriction>,
}

impl Vui {
    /// Reads `vui_parameters()` (E.1.1); errors are located under `sps.vui`.
    pub(super) fn read(r: &mut BitReader<'_>) -> Result<Self> {
        let outer = r.at();
        r.set_at("sps.vui");
        let mut vui = Self::default();
        if r.read_flag("aspect_ratio_info_present_flag")? {
            let idc = r.read_u8(8, "aspect_ratio_idc")?;
            vui.aspect_ratio_idc = Some(idc);
            vui.sample_aspect_ratio = if idc == EXTENDED_SAR {
                let sar = (r.read_bits(16, "sar_width")? as u16, r.read_bits(16, "sar_height")? as u16);
                // E.2.1: a zero term leaves the ratio unspecified.
                (sar.0 != 0 && sar.1 != 0).then_some(sar)
            } else {
                // E.2.1: reserved values (17..=254) are read as 0, "unspecified".
                usize::from(idc).checked_sub(1).and_then(|i| crate::codec::params::SAMPLE_ASPECT_RATIOS.get(i)).copied()
            };
        }
        if r.read_flag("overscan_info_present_flag")? {
            vui.overscan_appropriate = Some(r.read_flag("overscan_appropriate_flag")?);
        }
        if r.read_flag("video_signal_type_present_flag")? {
            let video_format = r.read_u8(3, "video_format")?;
            let video_full_range_flag = r.read_flag("video_full_range_flag")?;
            let colour_description = if r.read_flag("colour_description_present_flag")? {
                Some((
                    r.read_u8(8, "colour_primaries")?,
                    r.read_u8(8, "transfer_characteristics")?,
                    r.read_u8(8, "matrix_coefficients")?,
                ))
            } else {
                None
            };
            vui.video_signal_type = Some(VideoSignalType { video_format, video_full_range_flag, colour_description });
        }
        if r.read_flag("chroma_loc_info_present_flag")? {
            let top = r.read_ue_max(5, "chroma_sample_loc_type_top_field")? as u8;
            let bottom = r.read_ue_max(5, "chroma_sample_loc_type_bottom_field")? as u8;
            vui.chroma_sample_loc_type = Some((top, bottom));
        }
        if r.read_flag("timing_info_present_flag")? {
            vui.timing_info = Some(read_timing_info(r)?);
        }
        if r.read_flag("nal_hrd_parameters_present_flag")? {
            vui.nal_hrd = Some(read_hrd(r, "sps.vui.nal_hrd")?);
        }
        if r.read_flag("vcl_hrd_parameters_present_flag")? {
            vui.vcl_hrd = Some(read_hrd(r, "sps.vui.vcl_hrd")?);
        }
        if vui.nal_hrd.is_some() || vui.vcl_hrd.is_some() {
            vui.low_delay_hrd_flag = Some(r.read_flag("low_delay_hrd_flag")?);
        }
        vui.pic_struct_present_flag = r.read_flag("pic_struct_present_flag")?;
        if r.read_flag("bitstream_restriction_flag")? {
            vui.bitstream_restriction = Some(read_bitstream_restriction(r)?);
        }
        r.set_at(outer);
        Ok(vui)
    }

    /// The frame rate from the timing information, when present.
    pub fn frame_rate(&self) -> Option<FrameRate> {
        self.timing_info.as_ref().and_then(TimingInfo::frame_rate)
    }
}

fn read_timing_info(r: &mut BitReader<'_>) -> Result<TimingInfo> {
    let outer = r.at();
    r.set_at("sps.vui.timing_info");
    let num_units_in_tick = r.read_bits(32, "num_units_in_tick")?;
    if num_units_in_tick == 0 {
        return Err(r.invalid("num_units_in_tick", "must be greater than 0 (E.2.1)"));
    }
    let time_scale = r.read_bits(32, "time_scale")?;
    if time_scale == 0 {
        return Err(r.invalid("time_scale", "must be greater than 0 (E.2.1)"));
    }
    let fixed_frame_rate_flag = r.read_flag("fixed_frame_rate_flag")?;
    r.set_at(outer);
    Ok(TimingInfo { num_units_in_tick, time_scale, fixed_frame_rate_flag })
}

/// `hrd_parameters()` (E.1.2): read through, keeping what later syntax needs.
fn read_hrd(r: &mut BitReader<'_>, at: &'static str) -> Result<HrdParameters> {
    let outer = r.at();
    r.set_at(at);
    let cpb_cnt = 1 + r.read_ue_max(31, "cpb_cnt_minus1")? as u8;
    let bit_rate_scale = r.read_bits(4, "bit_rate_scale")?;
    let _cpb_size_scale = r.read_bits(4, "cpb_size_scale")?;
    let mut bit_rate_bps = 0;
    for sched_sel_idx in 0..cpb_cnt {
        let bit_rate_value = 1 + u64::from(r.read_ue("bit_rate_value_minus1")?);
        let _cpb_size_value_minus1 = r.read_ue("cpb_size_value_minus1")?;
        let _cbr_flag = r.read_flag("cbr_flag")?;
        if sched_sel_idx == 0 {
            // E-47: BitRate = (bit_rate_value_minus1 + 1) × 2^(6 + bit_rate_scale); at most 2^53.
            bit_rate_bps = bit_rate_value << (6 + bit_rate_scale);
        }
    }
    let hrd = HrdParameters {
        cpb_cnt,
        bit_rate_bps,
        initial_cpb_removal_delay_length: 1 + r.read_u8(5, "initial_cpb_removal_delay_length_minus1")?,
        cpb_removal_delay_length: 1 + r.read_u8(5, "cpb_removal_delay_length_minus1")?,
        dpb_output_delay_length: 1 + r.read_u8(5, "dpb_output_delay_length_minus1")?,
        time_offset_length: r.read_u8(5, "time_offset_length")?,
    };
    r.set_at(outer);
    Ok(hrd)
}

fn read_bitstream_restriction(r: &mut BitReader<'_>) -> Result<BitstreamRestriction> {
    let outer = r.at();
    r.set_at("sps.vui.bitstream_restriction");
    let motion_vectors_over_pic_boundaries_flag = r.read_flag("motion_vectors_over_pic_boundaries_flag")?;
    let max_bytes_per_pic_denom = r.read_ue_max(16, "max_bytes_per_pic_denom")? as u8;
    let max_bits_per_mb_denom = r.read_ue_max(16, "max_bits_per_mb_denom")? as u8;
    let log2_max_mv_length_horizontal = r.read_ue_max(16, "log2_max_mv_length_horizontal")? as u8;
    let log2_max_mv_length_vertical = r.read_ue_max(16, "log2_max_mv_length_vertical")? as u8;
    let max_num_reorder_frames = r.read_ue_max(super::sps::MAX_DPB_FRAMES, "max_num_reorder_frames")? as u8;
    let max_dec_frame_buffering = r.read_ue_max(super::sps::MAX_DPB_FRAMES, "max_dec_frame_buffering")? as u8;
    // E.2.1: max_num_reorder_frames is in 0..=max_dec_frame_buffering.
    if max_num_reorder_frames > max_dec_frame_buffering {
        return Err(r.invalid(
            "max_num_reorder_frames",
            format!("{max_num_reorder_frames} exceeds max_dec_frame_buffering {max_dec_frame_buffering}"),
        ));
    }
    r.set_at(outer);
    Ok(BitstreamRestriction {
        motion_vectors_over_pic_boundaries_flag,
        max_bytes_per_pic_denom,
        max_bits_per_mb_denom,
        log2_max_mv_length_horizontal,
        log2_max_mv_length_vertical,
        max_num_reorder_frames,
        max_dec_frame_buffering,
    })
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}
