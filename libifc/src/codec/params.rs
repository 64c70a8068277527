//! [`VideoParams`]: what users need to know about a video stream, derived from its
//! sequence parameter set (H.264 7.3.2.1, H.265 7.3.2.2) and VUI (Annex E).

use serde::Serialize;

use super::Codec;

/// Chroma sampling (`chroma_format_idc`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ChromaFormat {
    Monochrome,
    Yuv420,
    Yuv422,
    Yuv444,
}

impl ChromaFormat {
    pub fn from_idc(chroma_format_idc: u32) -> Option<Self> {
        Some(match chroma_format_idc {
            0 => Self::Monochrome,
            1 => Self::Yuv420,
            2 => Self::Yuv422,
            3 => Self::Yuv444,
            _ => return None,
        })
    }
}

/// The sample aspect ratios of `aspect_ratio_idc` 1 to 16: H.264 Table E-1, the same table as
/// H.265 Table E.1 (255 means an explicit `sar_width`/`sar_height` follows).
pub(crate) const SAMPLE_ASPECT_RATIOS: [(u16, u16); 16] = [
    (1, 1),
    (12, 11),
    (10, 11),
    (16, 11),
    (40, 33),
    (24, 11),
    (20, 11),
    (32, 11),
    (80, 33),
    (18, 11),
    (15, 11),
    (64, 33),
    (160, 99),
    (4, 3),
    (3, 2),
    (2, 1),
];

/// A frame rate as an exact fraction (frames per second = `num / den`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FrameRate {
    pub num: u32,
    pub den: u32,
}

impl FrameRate {
    /// Reduces the fraction; `None` when either part is zero.
    pub fn new(num: u32, den: u32) -> Option<Self> {
        if num == 0 || den == 0 {
            return None;
        }
        let g = gcd(num, den);
        Some(Self { num: num / g, den: den / g })
    }

    pub fn as_f64(self) -> f64 {
        f64::from(self.num) / f64::from(self.den)
    }
}

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Colour description from the VUI (H.273 code points). When the VUI carries none, the
/// code points are 2 ("unspecified") and `full_range` is false.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ColourDescription {
    pub primaries: u8,
    pub transfer: u8,
    pub matrix: u8,
    pub full_range: bool,
}

impl Default for ColourDescription {
    fn default() -> Self {
        Self { primaries: 2, transfer: 2, matrix: 2, full_range: false }
    }
}

impl ColourDescription {
    /// ffprobe's name for the matrix (`color_space`), e.g. `bt709`, or `None` if unspecified.
    pub fn matrix_name(&self) -> Option<&'static str> {
        Some(match self.matrix {
            0 => "gbr",
            1 => "bt709",
            4 => "fcc",
            5 => "bt470bg",
            6 => "smpte170m",
            7 => "smpte240m",
            8 => "ycgco",
            9 => "bt2020nc",
            10 => "bt2020c",
            _ => return None,
        })
    }

    /// ffprobe's name for the primaries (`color_primaries`).
    pub fn primaries_name(&self) -> Option<&'static str> {
        Some(match self.primaries {
            1 => "bt709",
            4 => "bt470m",
            5 => "bt470bg",
            6 => "smpte170m",
            7 => "smpte240m",
            8 => "film",
            9 => "bt2020",
            _ => return None,
        })
    }

    /// ffprobe's name for the transfer characteristics (`color_transfer`).
    pub fn transfer_name(&self) -> Option<&'static str> {
        Some(match self.transfer {
            1 => "bt709",
            4 => "gamma22",
            5 => "gamma28",
            6 => "smpte170m",
            7 => "smpte240m",
            8 => "linear",
            13 => "iec61966-2-1",
            14 => "bt2020-10",
            15 => "bt2020-12",
            16 => "smpte2084",
            18 => "arib-std-b67",
            _ => return None,
        })
    }
}

/// What a sequence parameter set says about the stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VideoParams {
    pub codec: Codec,
    /// `profile_idc` (H.264) or `general_profile_idc` (H.265).
    pub profile_idc: u8,
    /// Human profile name as ffprobe prints it, e.g. `Constrained Baseline`, `High`, `Main 10`.
    pub profile: String,
    /// `level_idc` (H.264: 10 × level, e.g. 40 for 4.0) or `general_level_idc`
    /// (H.265: 30 × level, e.g. 120 for 4.0): the number ffprobe prints as `level`.
    pub level_idc: u8,
    /// H.265 tier (`false` = Main tier); always false for H.264.
    pub high_tier: bool,
    /// Size of the decoded picture in luma samples, before cropping.
    pub coded_width: u32,
    pub coded_height: u32,
    /// Size after the conformance/cropping window: what is displayed.
    pub width: u32,
    pub height: u32,
    pub bit_depth_luma: u8,
    pub bit_depth_chroma: u8,
    pub chroma_format: ChromaFormat,
    /// From VUI timing information, when present.
    pub frame_rate: Option<FrameRate>,
    pub colour: ColourDescription,
    /// Sample aspect ratio (width, height); (1, 1) when unspecified.
    pub sample_aspect_ratio: (u32, u32),
    /// The largest number of pictures that precede any picture in decoding order and follow
    /// it in output order, when the stream says (H.264 VUI `max_num_reorder_frames`,
    /// H.265 `sps_max_num_reorder_pics`).
    pub max_num_reorder_frames: Option<u32>,
    /// RFC 6381 codec string, e.g. `avc1.640028` or `hvc1.2.4.L123.B0`.
    pub codec_string: String,
}

impl VideoParams {
    /// ffmpeg's pixel format name for the decoded frames, e.g. `yuv420p`, `yuvj420p`,
    /// `yuv420p10le`, `gray`.
    pub fn pix_fmt(&self) -> String {
        let depth = self.bit_depth_luma;
        let h264 = self.codec == Codec::H264;
        let base = match self.chroma_format {
            // libavcodec's H.264 decoder outputs monochrome as 4:2:0 with neutral chroma.
            ChromaFormat::Monochrome if h264 => "yuv420p",
            ChromaFormat::Monochrome => return if depth > 8 { format!("gray{depth}le") } else { "gray".into() },
            // ... and 4:4:4 with the identity matrix (H.273 code point 0) as planar RGB.
            ChromaFormat::Yuv444 if h264 && self.colour.matrix == 0 => "gbrp",
            ChromaFormat::Yuv420 => "yuv420p",
            ChromaFormat::Yuv422 => "yuv422p",
            ChromaFormat::Yuv444 => "yuv444p",
        };
        if depth > 8 {
            format!("{base}{depth}le")
        } else if self.colour.full_range && h264 {
            // libavcodec's H.264 decoder reports full-range 8-bit as the "j" formats.
            base.replacen("yuv", "yuvj", 1)
        } else {
            base.to_owned()
        }
    }
}
