//! [`DecoderConfig`]: the decoder configuration record of a track (ISO/IEC 14496-15:
//! `AVCDecoderConfigurationRecord` in an `avcC` box, `HEVCDecoderConfigurationRecord` in
//! `hvcC`), with the parameter sets it carries and what they say.

use bytes::Bytes;

use super::{h264, h265, Codec, VideoParams};
use crate::error::Result;

/// A track's decoder configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecoderConfig {
    pub codec: Codec,
    /// The record itself, exactly as stored in the `avcC` / `hvcC` box payload.
    pub record: Bytes,
    /// Size of the NAL length prefix in samples (1, 2 or 4).
    pub nal_length_size: u8,
    /// Parameter set NAL units (VPS, SPS, PPS order), without start codes or lengths.
    pub parameter_sets: Vec<Bytes>,
    /// What the first SPS says.
    pub params: VideoParams,
}

impl DecoderConfig {
    /// A sample of this configuration (length-prefixed NAL units) as an Annex B access unit with
    /// 4-byte start codes, the parameter sets first when `with_parameter_sets` (what a WebRTC
    /// receiver needs in front of each key frame: it never sees the `avcC`/`hvcC` record).
    pub fn annex_b_access_unit(&self, sample: &[u8], with_parameter_sets: bool) -> Result<Vec<u8>> {
        let sets: usize = if with_parameter_sets { self.parameter_sets.iter().map(|s| s.len() + 4).sum() } else { 0 };
        let mut out = Vec::with_capacity(sample.len() + sets + 16);
        if with_parameter_sets {
            for set in &self.parameter_sets {
                out.extend_from_slice(&[0, 0, 0, 1]);
                out.extend_from_slice(set);
            }
        }
        super::nal::push_annex_b(&mut out, sample, usize::from(self.nal_length_size))?;
        Ok(out)
    }

    /// One picture's duration in 90 kHz ticks: from the stream's frame rate (VUI timing), else
    /// 25 fps. What a segment of one picture, or the last picture of a live stream, lasts.
    pub fn nominal_frame_duration_90k(&self) -> u32 {
        const TICKS_PER_SECOND: u64 = 90_000;
        self.params
            .frame_rate
            .filter(|r| r.num > 0 && r.den > 0)
            .and_then(|r| u32::try_from(TICKS_PER_SECOND * u64::from(r.den) / u64::from(r.num)).ok())
            .filter(|&d| d > 0)
            .unwrap_or(90_000 / 25)
    }

    /// Parses an `avcC` / `hvcC` payload.
    pub fn from_record(codec: Codec, record: Bytes) -> Result<Self> {
        match codec {
            Codec::H264 => h264::avcc::parse_record(record),
            Codec::H265 => h265::hvcc::parse_record(record),
        }
    }

    /// Builds a record (4-byte NAL lengths) from in-band parameter sets, as found in an Annex B
    /// stream. `parameter_sets` holds NAL units without start codes, in any order.
    pub fn from_parameter_sets(codec: Codec, parameter_sets: &[&[u8]]) -> Result<Self> {
        match codec {
            Codec::H264 => h264::avcc::build_record(parameter_sets),
            Codec::H265 => h265::hvcc::build_record(parameter_sets),
        }
    }

    /// The MP4 sample entry type: `avc1` / `hvc1` (parameter sets in the record).
    pub fn sample_entry_fourcc(&self) -> [u8; 4] {
        match self.codec {
            Codec::H264 => *b"avc1",
            Codec::H265 => *b"hvc1",
        }
    }

    /// The box type of the record: `avcC` / `hvcC`.
    pub fn record_fourcc(&self) -> [u8; 4] {
        match self.codec {
            Codec::H264 => *b"avcC",
            Codec::H265 => *b"hvcC",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::nal::{AnnexBNals, LengthPrefixedNals};
    use crate::remux::{InputKind, VideoInput};

    #[test]
    fn a_key_sample_as_annex_b_starts_with_the_parameter_sets_then_its_own_units() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/h264_main_320x240_25.mp4");
        let input = VideoInput::read(InputKind::Mp4, std::fs::read(path).expect("fixture").into(), None).expect("reads");
        let sample = &input.samples[0];
        let length_size = usize::from(input.config.nal_length_size);
        let own: Vec<&[u8]> = LengthPrefixedNals::new(&sample.data, length_size).map(|n| n.expect("nal")).collect();

        let with_sets = input.config.annex_b_access_unit(&sample.data, true).expect("converts");
        let units: Vec<&[u8]> = AnnexBNals::new(&with_sets).map(|(_, nal)| nal).collect();
        let sets: Vec<&[u8]> = input.config.parameter_sets.iter().map(|s| &s[..]).collect();
        assert_eq!(&units[..sets.len()], &sets[..], "SPS and PPS first");
        assert_eq!(&units[sets.len()..], &own[..]);
        assert_eq!(units[0][0] & 0x1f, 7, "an SPS leads");

        let bare = input.config.annex_b_access_unit(&sample.data, false).expect("converts");
        assert_eq!(AnnexBNals::new(&bare).map(|(_, nal)| nal).collect::<Vec<_>>(), own);
        // A length running past the sample is an error, not a panic.
        assert!(input.config.annex_b_access_unit(&[0, 0, 0, 9, 1], false).is_err());
    }
}
