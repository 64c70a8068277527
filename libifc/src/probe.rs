//! Stream analysis for `ifc probe`: frame count, frame rate, GOP structure and what the
//! parameter sets say. Sans-IO: feed samples (from [`crate::remux`] sources), read a report.

use serde::Serialize;

use crate::codec::nal::LengthPrefixedNals;
use crate::codec::{Codec, DecoderConfig, FrameRate, NalKind, VideoParams};
use crate::mp4::Sample;

/// The kind of picture a random-access sample starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RandomAccessKind {
    Idr,
    Cra,
    Bla,
    /// Marked sync by the container, but its first slice is not IDR/IRAP.
    Other,
}

/// GOP structure: distances between random-access points and whether pictures are reordered.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GopReport {
    pub keyframes: u64,
    pub idr: u64,
    pub cra: u64,
    pub bla: u64,
    /// Frames from one random-access point to the next (the last, unfinished GOP excluded
    /// unless it is the only one).
    pub gop_min: u64,
    pub gop_max: u64,
    pub gop_mean: f64,
    /// Every random-access point is an IDR (H.264) or IDR/BLA (H.265): no leading pictures
    /// refer across it.
    pub closed: bool,
    /// Pictures are shown in another order than decoded (B-frames).
    pub reordered: bool,
    /// The largest number of pictures decoded before one that is shown earlier.
    pub max_reorder_depth: u64,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StreamReport {
    pub container: &'static str,
    pub codec: Codec,
    pub codec_name: &'static str,
    #[serde(flatten)]
    pub params: VideoParams,
    pub pix_fmt: String,
    /// Frame rate from the container's timing (MP4) or the stream's VUI or `--fps` (raw).
    pub frame_rate: Option<FrameRate>,
    pub frame_count: u64,
    pub duration_s: Option<f64>,
    pub bit_rate_bps: Option<u64>,
    /// Decoder configurations after the first one (resolution or parameter changes).
    pub parameter_changes: u64,
    pub gop: GopReport,
}

/// Accumulates samples into a [`StreamReport`].
#[derive(Debug)]
pub struct StreamAnalyzer {
    codec: Codec,
    nal_length_size: usize,
    frames: u64,
    payload_bytes: u64,
    first_pts: Option<i64>,
    end_ticks: i64,
    durations: Vec<(u32, u64)>,
    gop_lengths: Vec<u64>,
    since_key: u64,
    kinds: [u64; 4],
    max_pts_seen: Option<i64>,
    reordered: bool,
    /// pts of recent frames, to measure reorder depth over a bounded window.
    recent_pts: std::collections::VecDeque<i64>,
    max_reorder_depth: u64,
    configs: u64,
}

impl StreamAnalyzer {
    pub fn new(config: &DecoderConfig) -> Self {
        Self {
            codec: config.codec,
            nal_length_size: usize::from(config.nal_length_size),
            frames: 0,
            payload_bytes: 0,
            first_pts: None,
            end_ticks: 0,
            durations: Vec::new(),
            gop_lengths: Vec::new(),
            since_key: 0,
            kinds: [0; 4],
            max_pts_seen: None,
            reordered: false,
            recent_pts: std::collections::VecDeque::new(),
            max_reorder_depth: 0,
            configs: 1,
        }
    }

    /// Counts a later configuration (and follows its NAL length size).
    pub fn push_config(&mut self, config: &DecoderConfig) {
        self.configs += 1;
        self.nal_length_size = usize::from(config.nal_length_size);
    }

    pub fn push_sample(&mut self, sample: &Sample) {
        self.frames += 1;
        self.payload_bytes += sample.data.len() as u64;
        self.first_pts = Some(self.first_pts.map_or(sample.pts(), |p| p.min(sample.pts())));
        // The sources refuse times whose end overflows; a hand-built sample saturates.
        self.end_ticks = self.end_ticks.max(sample.checked_end().unwrap_or(i64::MAX));
        if let Some((_, n)) = self.durations.iter_mut().find(|(d, _)| *d == sample.duration) {
            *n += 1;
        } else if self.durations.len() < 64 {
            self.durations.push((sample.duration, 1));
        }
        if sample.is_sync {
            if self.kinds.iter().sum::<u64>() > 0 {
                self.gop_lengths.push(self.since_key);
            }
            self.since_key = 0;
            let kind = self.random_access_kind(sample);
            self.kinds[kind as usize] += 1;
        }
        self.since_key += 1;
        let pts = sample.pts();
        if self.max_pts_seen.is_some_and(|m| pts < m) {
            self.reordered = true;
        }
        self.max_pts_seen = Some(self.max_pts_seen.map_or(pts, |m| m.max(pts)));
        // Reorder depth: how many of the recent (earlier decoded) frames are shown later.
        let later = self.recent_pts.iter().filter(|&&p| p > pts).count() as u64;
        self.max_reorder_depth = self.max_reorder_depth.max(later);
        self.recent_pts.push_back(pts);
        if self.recent_pts.len() > 32 {
            self.recent_pts.pop_front();
        }
    }

    fn random_access_kind(&self, sample: &Sample) -> RandomAccessKind {
        for nal in LengthPrefixedNals::new(&sample.data, self.nal_length_size).map_while(Result::ok) {
            if let Some(NalKind::Slice { .. }) = self.codec.classify(nal) {
                let nal_type = match self.codec {
                    Codec::H264 => nal[0] & 0x1f,
                    Codec::H265 => (nal[0] >> 1) & 0x3f,
                };
                return match (self.codec, nal_type) {
                    (Codec::H264, 5) | (Codec::H265, 19 | 20) => RandomAccessKind::Idr,
                    (Codec::H265, 21) => RandomAccessKind::Cra,
                    (Codec::H265, 16..=18) => RandomAccessKind::Bla,
                    _ => RandomAccessKind::Other,
                };
            }
        }
        RandomAccessKind::Other
    }

    /// Finishes the report. `timescale`: ticks per second of the samples.
    pub fn finish(mut self, container: &'static str, params: VideoParams, timescale: u32) -> StreamReport {
        if self.gop_lengths.is_empty() && self.since_key > 0 {
            self.gop_lengths.push(self.since_key);
        }
        let typical_duration = self.durations.iter().max_by_key(|(_, n)| *n).map(|(d, _)| *d);
        let frame_rate = typical_duration.and_then(|d| FrameRate::new(timescale, d));
        let span = self.end_ticks.saturating_sub(self.first_pts.unwrap_or(0).min(self.end_ticks));
        let duration_s = (timescale > 0 && self.frames > 0).then(|| span as f64 / f64::from(timescale));
        let bit_rate_bps = duration_s.filter(|d| *d > 0.0).map(|d| (self.payload_bytes as f64 * 8.0 / d) as u64);
        let [idr, cra, bla, _other] = self.kinds;
        let gop = GopReport {
            keyframes: self.kinds.iter().sum(),
            idr,
            cra,
            bla,
            gop_min: self.gop_lengths.iter().copied().min().unwrap_or(0),
            gop_max: self.gop_lengths.iter().copied().max().unwrap_or(0),
            gop_mean: if self.gop_lengths.is_empty() {
                0.0
            } else {
                self.gop_lengths.iter().sum::<u64>() as f64 / self.gop_lengths.len() as f64
            },
            closed: cra == 0 && self.kinds[3] == 0,
            reordered: self.reordered,
            max_reorder_depth: self.max_reorder_depth,
        };
        StreamReport {
            container,
            codec: self.codec,
            codec_name: self.codec.ffmpeg_name(),
            pix_fmt: params.pix_fmt(),
            params,
            frame_rate,
            frame_count: self.frames,
            duration_s,
            bit_rate_bps,
            parameter_changes: self.configs - 1,
            gop,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remux::mp4_source;

    #[test]
    fn times_at_both_ends_of_the_i64_range_do_not_overflow_the_report() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/h264_main_320x240_25.mp4");
        let source = mp4_source(bytes::Bytes::from(std::fs::read(path).expect("fixture"))).expect("fixture");
        let mut analyzer = StreamAnalyzer::new(&source.config);
        let late = Sample { dts: i64::MAX - 10, cts_offset: 100, duration: 512, ..source.samples[0].clone() };
        let early = Sample { dts: i64::MIN + 10, cts_offset: -100, ..source.samples[1].clone() };
        analyzer.push_sample(&late);
        analyzer.push_sample(&early);
        let report = analyzer.finish("mp4", source.config.params.clone(), 90_000);
        let duration = report.duration_s.expect("a duration");
        assert!(duration.is_finite() && duration > 1e13, "{duration}");
    }
}
