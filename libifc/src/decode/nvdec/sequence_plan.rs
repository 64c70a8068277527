//! What to do when the NVDEC parser announces a sequence (its sequence callback): create the
//! decoder, reconfigure it in place, keep it, recreate it, or refuse the stream. Pure: the
//! FFI session (`session.rs`) carries the plan out.
//!
//! NVDEC fixes at creation the codec, bit depth, chroma format, output format and the largest
//! picture (`ulMaxWidth` × `ulMaxHeight`); `cuvidReconfigureDecoder` may then change the coded
//! size, display area and surface count within those limits without a new session.

use crate::codec::Codec;

/// NVDEC holds at most this many decode surfaces per session.
pub(super) const MAX_DECODE_SURFACES: u32 = 32;

/// What the parser says about a sequence (from `CUVIDEOFORMAT`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct SequenceFormat {
    pub codec: Codec,
    pub bit_depth_luma: u8,
    pub chroma: ChromaLayout,
    pub coded_width: u32,
    pub coded_height: u32,
    pub display: DisplayArea,
    /// The fewest decode surfaces the stream needs (its DPB plus one).
    pub min_decode_surfaces: u32,
}

/// Chroma format as `cudaVideoChromaFormat` numbers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ChromaLayout {
    Monochrome,
    Yuv420,
    Yuv422,
    Yuv444,
}

/// The visible part of the coded picture, in luma samples (right and bottom exclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(super) struct DisplayArea {
    pub left: u32,
    pub top: u32,
    pub right: u32,
    pub bottom: u32,
}

impl DisplayArea {
    pub fn width(&self) -> u32 {
        self.right.saturating_sub(self.left)
    }

    pub fn height(&self) -> u32 {
        self.bottom.saturating_sub(self.top)
    }
}

/// The layout of mapped output surfaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SurfaceFormat {
    /// 8-bit 4:2:0, luma plane then interleaved Cb/Cr.
    Nv12,
    /// 4:2:0 in 16-bit words, samples in the high bits (10- and 12-bit streams).
    P016,
}

/// One decoder session as created or reconfigured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DecoderShape {
    pub codec: Codec,
    pub bit_depth_luma: u8,
    pub output: SurfaceFormat,
    pub max_width: u32,
    pub max_height: u32,
    pub coded_width: u32,
    pub coded_height: u32,
    pub display: DisplayArea,
    pub decode_surfaces: u32,
}

/// What the device can decode for this codec, bit depth and chroma (`cuvidGetDecoderCaps`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeviceLimits {
    pub supported: bool,
    pub max_width: u32,
    pub max_height: u32,
    pub min_width: u32,
    pub min_height: u32,
}

/// Settings from [`NvdecOptions`](crate::decode::NvdecOptions) that shape a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ShapeSettings {
    /// The largest picture to allow without a new session (0: the first sequence's size).
    pub max_width: u32,
    pub max_height: u32,
    /// Decode surfaces beyond the stream's minimum (room for display delay and mapping).
    pub extra_decode_surfaces: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum SequencePlan {
    Create(DecoderShape),
    /// Same session, new coded size or display area (`cuvidReconfigureDecoder`).
    Reconfigure(DecoderShape),
    /// Nothing changed.
    Keep,
    /// Destroy the session and create this one: the picture outgrew the maximum set at
    /// creation, or the bit depth changed, or the stream needs more surfaces.
    Recreate(DecoderShape),
    /// The device cannot decode this stream; the reason says why.
    Refuse(String),
}

impl DecoderShape {
    /// `ulTargetWidth` × `ulTargetHeight`: the display area rounded up to even, as
    /// `cuviddec.h` asks for 4:2:0 output (FFmpeg's `cuviddec.c` does the same). A frame keeps
    /// the display size; the surface has the one extra column or row.
    pub fn target_size(&self) -> (u32, u32) {
        (self.display.width().next_multiple_of(2), self.display.height().next_multiple_of(2))
    }
}

/// Plans the response to a sequence header. `frames_mapped` counts output surfaces that frames
/// of the current session still hold: a session is reconfigured only when none are, because
/// `cuvidReconfigureDecoder` under mapped frames is undefined (NVIDIA's `NvDecoder` keeps its
/// target size instead); with frames held it is recreated and the old one lives on in them.
pub(super) fn plan_sequence(
    current: Option<&DecoderShape>,
    format: &SequenceFormat,
    limits: &DeviceLimits,
    settings: &ShapeSettings,
    frames_mapped: u32,
) -> SequencePlan {
    if format.chroma != ChromaLayout::Yuv420 {
        return SequencePlan::Refuse(format!("{:?} chroma (the NVDEC backend takes 4:2:0 only)", format.chroma));
    }
    if !limits.supported {
        return SequencePlan::Refuse(format!(
            "the GPU has no {:?} {}-bit 4:2:0 decoder",
            format.codec, format.bit_depth_luma
        ));
    }
    let (w, h) = (format.coded_width, format.coded_height);
    if w > limits.max_width || h > limits.max_height || w < limits.min_width || h < limits.min_height {
        return SequencePlan::Refuse(format!(
            "{w}x{h} is outside the GPU's {}x{} to {}x{}",
            limits.min_width, limits.min_height, limits.max_width, limits.max_height
        ));
    }
    if format.min_decode_surfaces > MAX_DECODE_SURFACES {
        return SequencePlan::Refuse(format!(
            "the stream needs {} decode surfaces, NVDEC holds {MAX_DECODE_SURFACES}",
            format.min_decode_surfaces
        ));
    }
    let wanted_surfaces =
        format.min_decode_surfaces.max(1).saturating_add(settings.extra_decode_surfaces).min(MAX_DECODE_SURFACES);
    let output = if format.bit_depth_luma > 8 { SurfaceFormat::P016 } else { SurfaceFormat::Nv12 };
    let fresh = |current_max: Option<(u32, u32)>| {
        let (prev_w, prev_h) = current_max.unwrap_or((0, 0));
        DecoderShape {
            codec: format.codec,
            bit_depth_luma: format.bit_depth_luma,
            output,
            // Never below the stream, never above the device.
            max_width: settings.max_width.max(w).max(prev_w).min(limits.max_width),
            max_height: settings.max_height.max(h).max(prev_h).min(limits.max_height),
            coded_width: w,
            coded_height: h,
            display: format.display,
            decode_surfaces: wanted_surfaces,
        }
    };
    let Some(current) = current else {
        return SequencePlan::Create(fresh(None));
    };
    let fits = w <= current.max_width && h <= current.max_height;
    let same_kind = current.codec == format.codec && current.bit_depth_luma == format.bit_depth_luma;
    if !same_kind || !fits || format.min_decode_surfaces > current.decode_surfaces {
        return SequencePlan::Recreate(fresh(Some((current.max_width, current.max_height))));
    }
    if (w, h) == (current.coded_width, current.coded_height) && format.display == current.display {
        return SequencePlan::Keep;
    }
    if frames_mapped > 0 {
        return SequencePlan::Recreate(fresh(Some((current.max_width, current.max_height))));
    }
    // The surface count set at creation stays: reconfiguring may not grow it.
    SequencePlan::Reconfigure(DecoderShape { coded_width: w, coded_height: h, display: format.display, ..*current })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format(w: u32, h: u32, depth: u8, min_surfaces: u32) -> SequenceFormat {
        SequenceFormat {
            codec: Codec::H264,
            bit_depth_luma: depth,
            chroma: ChromaLayout::Yuv420,
            coded_width: w,
            coded_height: h,
            display: DisplayArea { left: 0, top: 0, right: w, bottom: h },
            min_decode_surfaces: min_surfaces,
        }
    }

    const H200_LIMITS: DeviceLimits =
        DeviceLimits { supported: true, max_width: 4096, max_height: 4096, min_width: 48, min_height: 16 };
    const SETTINGS: ShapeSettings = ShapeSettings { max_width: 1920, max_height: 1088, extra_decode_surfaces: 4 };

    fn created(f: &SequenceFormat) -> DecoderShape {
        match plan_sequence(None, f, &H200_LIMITS, &SETTINGS, 0) {
            SequencePlan::Create(shape) => shape,
            other => panic!("expected Create, got {other:?}"),
        }
    }

    #[test]
    fn the_first_sequence_creates_a_session_sized_from_the_stream() {
        let shape = created(&format(1280, 720, 8, 5));
        assert_eq!(shape.decode_surfaces, 9, "min_num_decode_surfaces + margin");
        assert_eq!((shape.max_width, shape.max_height), (1920, 1088), "room up to the configured maximum");
        assert_eq!(shape.output, SurfaceFormat::Nv12);
        assert_eq!(created(&format(1280, 720, 10, 5)).output, SurfaceFormat::P016);
        let big = created(&format(3840, 2160, 8, 5));
        assert_eq!((big.max_width, big.max_height), (3840, 2160), "a stream above the setting raises the maximum");
    }

    #[test]
    fn the_surface_margin_stops_at_nvdecs_limit() {
        assert_eq!(created(&format(640, 480, 8, 30)).decode_surfaces, MAX_DECODE_SURFACES);
        let plan = plan_sequence(None, &format(640, 480, 8, 33), &H200_LIMITS, &SETTINGS, 0);
        assert!(matches!(plan, SequencePlan::Refuse(_)), "{plan:?}");
    }

    #[test]
    fn a_smaller_picture_reconfigures_the_same_session() {
        let shape = created(&format(1920, 1080, 8, 5));
        let plan = plan_sequence(Some(&shape), &format(1280, 720, 8, 5), &H200_LIMITS, &SETTINGS, 0);
        let SequencePlan::Reconfigure(new) = plan else { panic!("expected Reconfigure, got {plan:?}") };
        assert_eq!((new.coded_width, new.coded_height), (1280, 720));
        assert_eq!((new.max_width, new.max_height, new.decode_surfaces), (1920, 1088, 9), "limits stay");
    }

    #[test]
    fn a_new_size_while_frames_are_still_mapped_recreates_instead_of_reconfiguring() {
        let shape = created(&format(1920, 1080, 8, 5));
        let plan = plan_sequence(Some(&shape), &format(1280, 720, 8, 5), &H200_LIMITS, &SETTINGS, 2);
        let SequencePlan::Recreate(new) = plan else { panic!("expected Recreate, got {plan:?}") };
        assert_eq!((new.coded_width, new.coded_height), (1280, 720));
        assert_eq!((new.max_width, new.max_height), (1920, 1088), "the maximum never shrinks");
        let same = plan_sequence(Some(&shape), &format(1920, 1080, 8, 5), &H200_LIMITS, &SETTINGS, 2);
        assert_eq!(same, SequencePlan::Keep, "an unchanged sequence keeps the session even with frames held");
    }

    #[test]
    fn the_target_size_is_the_display_area_rounded_up_to_even() {
        let mut odd = format(320, 240, 8, 5);
        odd.display = DisplayArea { left: 0, top: 0, right: 317, bottom: 177 };
        assert_eq!(created(&odd).target_size(), (318, 178));
        assert_eq!(created(&format(1920, 1080, 8, 5)).target_size(), (1920, 1080));
        let mut offset = format(320, 240, 8, 5);
        offset.display = DisplayArea { left: 1, top: 2, right: 320, bottom: 240 };
        assert_eq!(created(&offset).target_size(), (320, 238));
    }

    #[test]
    fn the_same_sequence_again_keeps_the_session() {
        let shape = created(&format(1920, 1080, 8, 5));
        assert_eq!(plan_sequence(Some(&shape), &format(1920, 1080, 8, 3), &H200_LIMITS, &SETTINGS, 0), SequencePlan::Keep);
    }

    #[test]
    fn a_changed_display_area_alone_reconfigures() {
        let shape = created(&format(1920, 1088, 8, 5));
        let mut cropped = format(1920, 1088, 8, 5);
        cropped.display.bottom = 1080;
        assert!(matches!(plan_sequence(Some(&shape), &cropped, &H200_LIMITS, &SETTINGS, 0), SequencePlan::Reconfigure(_)));
    }

    #[test]
    fn outgrowing_the_maximum_recreates_with_the_larger_size() {
        let shape = created(&format(1280, 720, 8, 5));
        let plan = plan_sequence(Some(&shape), &format(2560, 1440, 8, 5), &H200_LIMITS, &SETTINGS, 0);
        let SequencePlan::Recreate(new) = plan else { panic!("expected Recreate, got {plan:?}") };
        assert_eq!((new.max_width, new.max_height), (2560, 1440));
    }

    #[test]
    fn a_new_bit_depth_or_a_deeper_dpb_recreates() {
        let shape = created(&format(1280, 720, 8, 5));
        let deeper = plan_sequence(Some(&shape), &format(1280, 720, 8, 12), &H200_LIMITS, &SETTINGS, 0);
        assert!(matches!(deeper, SequencePlan::Recreate(s) if s.decode_surfaces == 16));
        let ten_bit = plan_sequence(Some(&shape), &format(1280, 720, 10, 5), &H200_LIMITS, &SETTINGS, 0);
        assert!(matches!(ten_bit, SequencePlan::Recreate(s) if s.output == SurfaceFormat::P016));
    }

    #[test]
    fn what_the_device_cannot_decode_is_refused_with_the_reason() {
        let too_big = plan_sequence(None, &format(8192, 8192, 8, 5), &H200_LIMITS, &SETTINGS, 0);
        assert!(matches!(&too_big, SequencePlan::Refuse(r) if r.contains("8192x8192")), "{too_big:?}");
        let none = DeviceLimits { supported: false, ..H200_LIMITS };
        assert!(matches!(plan_sequence(None, &format(64, 64, 8, 2), &none, &SETTINGS, 0), SequencePlan::Refuse(_)));
        let mut chroma_444 = format(64, 64, 8, 2);
        chroma_444.chroma = ChromaLayout::Yuv444;
        assert!(matches!(plan_sequence(None, &chroma_444, &H200_LIMITS, &SETTINGS, 0), SequencePlan::Refuse(_)));
    }
}
