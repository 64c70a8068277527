//! A whole recording read for decoding: what kind of input it is (MP4 or raw Annex B), its
//! first decoder configuration, and every sample in decode order, timed. Used by `ifc extract`,
//! `ifc run` and the Python bindings, so that they open inputs the same way.

use bytes::Bytes;

use super::{mp4_source, RawSource, RawSourceStats, SourceItem};
use crate::codec::{Codec, DecoderConfig, FrameRate};
use crate::decode::EncodedPacket;
use crate::error::ParseError;
use crate::mp4::Sample;

/// What kind of file an input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    Mp4,
    Raw(Codec),
}

/// Why an input cannot be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VideoInputError {
    #[error(
        "unknown input type: expected an MP4 file or a raw Annex B stream named .h264, .264, .h265, .265 or .hevc"
    )]
    UnknownKind,
    #[error("reading MP4: {0}")]
    Mp4(ParseError),
    #[error("reading the raw stream: {0}")]
    Raw(ParseError),
    /// The message says what was found instead.
    #[error("no decodable video: {0}")]
    NothingDecodable(String),
}

/// What kind of input `head` (the first bytes, 8 are enough) is. `extension` is the file
/// name's extension, when there is a name: `.h264`/`.h265` and the like name a raw stream.
/// Without a telling name, an ISO BMFF box type at byte 4 means MP4, and a stream that starts
/// with an Annex B start code is raw, its codec guessed from the first NAL unit's header.
pub fn input_kind(extension: Option<&str>, head: &[u8]) -> Result<InputKind, VideoInputError> {
    let ext = extension.unwrap_or_default();
    if let Some(codec) = Codec::from_raw_extension(ext) {
        return Ok(InputKind::Raw(codec));
    }
    // ISO BMFF files start with a box whose type is ftyp, styp, moov, moof, free or mdat.
    if head.len() >= 8 && matches!(&head[4..8], b"ftyp" | b"styp" | b"moov" | b"moof" | b"free" | b"mdat" | b"skip") {
        return Ok(InputKind::Mp4);
    }
    if matches!(ext.to_ascii_lowercase().as_str(), "mp4" | "m4v" | "mov" | "m4s" | "cmfv") {
        return Ok(InputKind::Mp4);
    }
    if extension.is_none() {
        if let Some(codec) = raw_codec_from_first_nal(head) {
            return Ok(InputKind::Raw(codec));
        }
    }
    Err(VideoInputError::UnknownKind)
}

/// The codec of an Annex B stream from its first NAL header: streams open with an access unit
/// delimiter or parameter sets, whose headers differ between the two codecs (H.264 7.3.1:
/// forbidden bit, nal_ref_idc, 5-bit type; H.265 7.3.1.2: forbidden bit, 6-bit type, layer id).
fn raw_codec_from_first_nal(head: &[u8]) -> Option<Codec> {
    let start = if head.starts_with(&[0, 0, 0, 1]) {
        4
    } else if head.starts_with(&[0, 0, 1]) {
        3
    } else {
        return None;
    };
    let (&b0, &b1) = (head.get(start)?, head.get(start + 1)?);
    // H.265 VPS (32), SPS (33), PPS (34), AUD (35) with nuh_layer_id 0, temporal id 1.
    if matches!(b0, 0x40 | 0x42 | 0x44 | 0x46) && b1 == 0x01 {
        return Some(Codec::H265);
    }
    // H.264 SPS (7), PPS (8), AUD (9), SEI (6), IDR slice (5).
    matches!(b0 & 0x9f, 0x05..=0x09).then_some(Codec::H264)
}

/// A recording ready to decode.
#[derive(Debug, Clone)]
pub struct VideoInput {
    /// The first configuration; later ones (a new resolution) travel in-band in the samples.
    pub config: DecoderConfig,
    /// Ticks per second of the samples' timestamps.
    pub timescale: u32,
    /// Decode order; payloads are slices of the input (MP4) or of the re-framed stream (raw).
    pub samples: Vec<Sample>,
    /// For raw input: what was skipped.
    pub raw_stats: Option<RawSourceStats>,
}

impl VideoInput {
    /// Reads every sample of `data`. `fps` times a raw stream without VUI timing (and
    /// overrides the VUI's); MP4 keeps its own timing.
    pub fn read(kind: InputKind, data: Bytes, fps: Option<FrameRate>) -> Result<Self, VideoInputError> {
        match kind {
            InputKind::Mp4 => {
                let source = mp4_source(data).map_err(VideoInputError::Mp4)?;
                Ok(Self {
                    config: source.config,
                    timescale: source.timescale,
                    samples: source.samples,
                    raw_stats: None,
                })
            }
            InputKind::Raw(codec) => read_raw(codec, data, fps),
        }
    }

    /// Sample `i` as a decoder packet, timed in 90 kHz ticks.
    pub fn packet(&self, i: usize) -> Option<EncodedPacket> {
        self.samples.get(i).map(|s| sample_packet(s, self.timescale))
    }

    /// Every sample as a decoder packet (payloads shared, not copied).
    pub fn packets(&self) -> Vec<EncodedPacket> {
        self.samples.iter().map(|s| sample_packet(s, self.timescale)).collect()
    }
}

/// A sample as a decoder packet, its times converted from `timescale` to 90 kHz ticks.
pub fn sample_packet(sample: &Sample, timescale: u32) -> EncodedPacket {
    let mut p = EncodedPacket::new(sample.data.clone(), Some(ticks_to_90k(sample.pts(), timescale)), sample.is_sync);
    p.dts_90k = Some(ticks_to_90k(sample.dts, timescale));
    p
}

/// `ticks` of `timescale` as 90 kHz ticks (rounded toward zero, as the CLI always did).
pub fn ticks_to_90k(ticks: i64, timescale: u32) -> i64 {
    (i128::from(ticks) * 90_000 / i128::from(timescale.max(1))) as i64
}

fn read_raw(codec: Codec, data: Bytes, fps: Option<FrameRate>) -> Result<VideoInput, VideoInputError> {
    const CHUNK_BYTES: usize = 4 << 20;
    let mut raw = RawSource::new(codec, fps);
    let mut config = None;
    let mut samples = Vec::new();
    let mut drain = |raw: &mut RawSource| -> Result<(), VideoInputError> {
        while let Some(item) = raw.pull() {
            match item.map_err(VideoInputError::Raw)? {
                SourceItem::Config(c) => {
                    config.get_or_insert(c);
                }
                SourceItem::Sample(s) => samples.push(s),
            }
        }
        Ok(())
    };
    let mut offset = 0;
    while offset < data.len() {
        let end = (offset + CHUNK_BYTES).min(data.len());
        raw.push(data.slice(offset..end));
        drain(&mut raw)?;
        offset = end;
    }
    raw.flush();
    drain(&mut raw)?;
    let stats = raw.stats().clone();
    let timescale = raw.timing().map_or(90_000, |t| t.timescale);
    match config {
        Some(config) => Ok(VideoInput { config, timescale, samples, raw_stats: Some(stats) }),
        None => Err(VideoInputError::NothingDecodable(nothing_decodable_reason(&stats))),
    }
}

/// Why a raw stream gave nothing to work on, in words.
pub fn nothing_decodable_reason(s: &RawSourceStats) -> String {
    if s.access_units == 0 {
        format!("no access units found (no start codes, or only {} malformed NAL units)", s.nal_errors)
    } else {
        format!(
            "{} access units, none decodable: no sps/pps before a random-access point ({} before the first \
             random-access point, {} without usable parameter sets, {} malformed NAL units)",
            s.access_units, s.dropped_before_random_access, s.dropped_undecodable, s.nal_errors
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_names_and_magic() {
        assert_eq!(input_kind(Some("h265"), b""), Ok(InputKind::Raw(Codec::H265)));
        assert_eq!(input_kind(None, b"\0\0\0\x20ftypisom"), Ok(InputKind::Mp4));
        assert_eq!(input_kind(Some("bin"), b"\0\0\0\x20ftypisom"), Ok(InputKind::Mp4));
        assert_eq!(input_kind(None, &[0, 0, 0, 1, 0x09, 0xf0]), Ok(InputKind::Raw(Codec::H264)));
        assert_eq!(input_kind(None, &[0, 0, 0, 1, 0x67, 0x64]), Ok(InputKind::Raw(Codec::H264)));
        assert_eq!(input_kind(None, &[0, 0, 1, 0x40, 0x01, 0x0c]), Ok(InputKind::Raw(Codec::H265)));
        assert_eq!(input_kind(None, &[0, 0, 0, 1, 0x46, 0x01, 0x50]), Ok(InputKind::Raw(Codec::H265)));
        assert_eq!(input_kind(None, b"GIF89a.."), Err(VideoInputError::UnknownKind));
        assert_eq!(input_kind(Some("txt"), &[0, 0, 0, 1, 0x67]), Err(VideoInputError::UnknownKind));
    }

    #[test]
    fn ticks_convert_to_90k() {
        assert_eq!(ticks_to_90k(1, 25), 3600);
        assert_eq!(ticks_to_90k(1001, 30000), 3003);
        assert_eq!(ticks_to_90k(-512, 12800), -3600);
    }
}
