//! [`VideoParams`] from an SPS: the profile name as ffprobe prints it, sizes, colour, timing,
//! and the RFC 6381 codec string.

use super::sps::Sps;
use crate::codec::{ChromaFormat, Codec, ColourDescription, VideoParams};

impl Sps {
    /// The profile's name as libavcodec (and so ffprobe) prints it. Like libavcodec, Baseline
    /// with `constraint_set1_flag` is Constrained Baseline (A.2.1.1), and High 10, High 4:2:2
    /// and High 4:4:4 Predictive with `constraint_set3_flag` are their Intra profiles
    /// (A.2.8 to A.2.10). Profiles libavcodec does not name (the SVC ones) are `unknown`.
    pub fn profile_name(&self) -> &'static str {
        let intra = self.constraint_set_flag(3);
        match self.profile_idc {
            66 if self.constraint_set_flag(1) => "Constrained Baseline",
            66 => "Baseline",
            77 => "Main",
            88 => "Extended",
            100 => "High",
            110 if intra => "High 10 Intra",
            110 => "High 10",
            122 if intra => "High 4:2:2 Intra",
            122 => "High 4:2:2",
            144 => "High 4:4:4",
            244 if intra => "High 4:4:4 Intra",
            244 => "High 4:4:4 Predictive",
            44 => "CAVLC 4:4:4",
            118 => "Multiview High",
            128 => "Stereo High",
            _ => "unknown",
        }
    }

    /// The RFC 6381 codec string `avc1.PPCCLL`: `profile_idc`, the constraint-flag byte and
    /// `level_idc` in hexadecimal (RFC 6381 3.3, ISO/IEC 14496-15 annex E).
    pub fn codec_string(&self) -> String {
        format!("avc1.{:02x}{:02x}{:02x}", self.profile_idc, self.constraint_flags, self.level_idc)
    }

    /// The colour description from the VUI: unspecified (2) code points and limited range
    /// when the VUI does not say (E.2.1).
    pub fn colour_description(&self) -> ColourDescription {
        let signal = self.vui.as_ref().and_then(|v| v.video_signal_type);
        let mut colour = ColourDescription::default();
        if let Some(signal) = signal {
            colour.full_range = signal.video_full_range_flag;
            if let Some((primaries, transfer, matrix)) = signal.colour_description {
                colour.primaries = primaries;
                colour.transfer = transfer;
                colour.matrix = matrix;
            }
        }
        colour
    }

    /// What this SPS says, in the terms users need.
    pub fn video_params(&self) -> VideoParams {
        let (width, height) = self.cropped_size();
        let vui = self.vui.as_ref();
        VideoParams {
            codec: Codec::H264,
            profile_idc: self.profile_idc,
            profile: self.profile_name().to_owned(),
            // libavcodec reports level_idc as is, so level 1b is 11 (with constraint_set3_flag)
            // in Baseline, Main and Extended and 9 in the High profiles (A.3.1, A.3.2).
            level_idc: self.level_idc,
            high_tier: false,
            coded_width: self.coded_width(),
            coded_height: self.coded_height(),
            width,
            height,
            bit_depth_luma: self.bit_depth_luma,
            bit_depth_chroma: self.bit_depth_chroma,
            chroma_format: ChromaFormat::from_idc(u32::from(self.chroma_format_idc)).unwrap_or(ChromaFormat::Yuv420),
            frame_rate: vui.and_then(|v| v.frame_rate()),
            colour: self.colour_description(),
            sample_aspect_ratio: vui
                .and_then(|v| v.sample_aspect_ratio)
                .map_or((1, 1), |(w, h)| (u32::from(w), u32::from(h))),
            max_num_reorder_frames: vui
                .and_then(|v| v.bitstream_restriction)
                .map(|b| u32::from(b.max_num_reorder_frames)),
            codec_string: self.codec_string(),
        }
    }
}
