//! The fragmented MP4 / CMAF muxer (ISO/IEC 14496-12 8.8, ISO/IEC 23000-19) for one video
//! track, sans-IO: samples in, an init segment and media segments out.
//!
//! # Time model
//! Timestamps stay in the source's timescale and are never rounded. A fragment states its first
//! decode time in `tfdt`, which cannot be negative, while MP4 sources with B-frames usually
//! start at a negative decode time (first dts -1024, pts 0). So the muxer fixes
//! `dts_shift = max(0, -first.dts)` at the first sample and writes decode times
//! `dts + dts_shift`, composition offsets `cts_offset` unchanged (trun version 1, so a negative
//! one stays valid), and an edit list in the init segment whose one edit starts the
//! presentation at media time `dts_shift`. Every presentation time is then
//! `dts + dts_shift + cts_offset - dts_shift`: exactly the input's `pts`. This is the layout of
//! the progressive MP4s that x264/ffmpeg write, and an edit list of the one form CMAF allows.
//!
//! Why not shift the composition offsets instead (`cts_offset - dts_shift`, no edit list)?
//! By 14496-12 that is equally exact, but ffmpeg's mov demuxer (5.1, checked by the round-trip
//! tests) raises a per-stream `dts_shift` to the most negative trun composition offset it has
//! seen (`mov_update_dts_shift`) and adds it to every pts: it read every pts of the B-pyramid
//! fixture 1024 ticks late, and would drift further as later fragments revealed more negative
//! offsets. With unshifted offsets an ordinary source has none negative, and ffmpeg subtracts
//! the edit's media time from fragment decode times (its `time_offset`), so ffmpeg and the
//! spec agree to the tick.
//!
//! The edit list makes the init segment depend on `dts_shift`: take it after the first media
//! segment. An init segment taken before fixes the shift at 0, and a stream that then starts
//! at a negative dts is refused ([`MuxError::DecodeTimeOutOfRange`]) rather than mistimed.
//!
//! Inside a segment, each sample's trun duration is the distance to the next sample's dts, so
//! decode times are exact too; the last sample keeps its own duration.
//!
//! # Zero copy
//! A [`MediaSegment`] holds the `moof` and `mdat` header it built plus the samples' own
//! [`Bytes`]; [`MediaSegment::write_to`] writes them in order without joining them.

mod fragment;
mod init;
#[cfg(test)]
mod roundtrip_tests;
#[cfg(test)]
pub(crate) mod test_support;
#[cfg(test)]
mod tests;

use std::cell::Cell;
use std::io::Write;

use bytes::Bytes;

use crate::codec::DecoderConfig;
use crate::mp4::Sample;
use fragment::{TrunEntry, SAMPLE_FLAGS_NON_SYNC, SAMPLE_FLAGS_SYNC};

/// Why a media segment could not be written. `segment` is the sequence number the segment
/// would have had; `sample` the index in the slice passed to [`Fmp4Muxer::media_segment`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MuxError {
    #[error("fmp4.moof[{segment}]: no samples")]
    NoSamples { segment: u32 },
    #[error("fmp4: timescale 0 (ticks per second must be positive)")]
    ZeroTimescale,
    #[error("fmp4.moof[{segment}].trun.sample[{sample}]: dts {dts} does not follow the previous dts {previous_dts}")]
    NonMonotonicDts { segment: u32, sample: usize, dts: i64, previous_dts: i64 },
    #[error("fmp4.moof[{segment}].trun.sample[{sample}]: duration {duration_ticks} ticks does not fit 32 bits")]
    DurationTooLarge { segment: u32, sample: usize, duration_ticks: i64 },
    #[error("fmp4.moof[{segment}].trun.sample[{sample}]: size {size_bytes} bytes does not fit 32 bits")]
    SampleTooLarge { segment: u32, sample: usize, size_bytes: usize },
    #[error("fmp4.moof[{segment}].tfdt: decode time {dts} + shift {dts_shift} is negative (was the init segment taken before the first media segment?)")]
    DecodeTimeOutOfRange { segment: u32, dts: i64, dts_shift: i64 },
    #[error("fmp4.moof[{segment}]: {sample_count} samples make a moof too large for trun's data offset")]
    TooManySamples { segment: u32, sample_count: usize },
}

/// Writes one video track as an init segment and a sequence of media segments.
#[derive(Debug, Clone)]
pub struct Fmp4Muxer {
    config: DecoderConfig,
    timescale: u32,
    next_sequence_number: u32,
    /// Fixed by the first media segment or init segment, whichever comes first; see the module
    /// docs. A `Cell` because taking the init segment (`&self`) fixes it.
    dts_shift: Cell<Option<i64>>,
    last_dts: Option<i64>,
}

/// One media segment (`moof` + `mdat`), ready to write: the boxes the muxer built, then the
/// samples' bytes, shared with the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaSegment {
    /// `moof` followed by the `mdat` header.
    pub header: Vec<u8>,
    /// The samples' data in order: the body of the `mdat`.
    pub payload: Vec<Bytes>,
    /// `mfhd` sequence number; the first segment has 1.
    pub sequence_number: u32,
    /// `tfdt`: decode time of the first sample, `dts + dts_shift`, in timescale ticks.
    pub base_decode_time: u64,
    /// Sum of the samples' trun durations, in timescale ticks.
    pub duration: u64,
}

impl MediaSegment {
    pub fn len_bytes(&self) -> u64 {
        let payload: u64 = self.payload.iter().map(|p| p.len() as u64).sum();
        (self.header.len() as u64).saturating_add(payload)
    }

    /// Writes the header, then each sample, without joining them first.
    pub fn write_to(&self, w: &mut impl Write) -> std::io::Result<()> {
        // One gathered write per call (writev): the samples go from their buffers straight to
        // the writer, with no copy into an intermediate buffer. Give an unbuffered writer.
        let mut slices: Vec<std::io::IoSlice<'_>> = std::iter::once(&self.header[..])
            .chain(self.payload.iter().map(|b| &b[..]))
            .filter(|s| !s.is_empty())
            .map(std::io::IoSlice::new)
            .collect();
        let mut rest = &mut slices[..];
        while !rest.is_empty() {
            // Stay under IOV_MAX (1024 on Linux) per call.
            let n = rest.len().min(1024);
            match w.write_vectored(&rest[..n]) {
                Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
                Ok(written) => std::io::IoSlice::advance_slices(&mut rest, written),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// The whole segment in one buffer (a copy; prefer [`Self::write_to`]).
    pub fn to_vec(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(usize::try_from(self.len_bytes()).unwrap_or(0));
        out.extend_from_slice(&self.header);
        for data in &self.payload {
            out.extend_from_slice(data);
        }
        out
    }
}

impl Fmp4Muxer {
    /// `timescale`: ticks per second of the samples' timestamps (kept as is: remuxing never
    /// rounds).
    pub fn new(config: &DecoderConfig, timescale: u32) -> Self {
        Self { config: config.clone(), timescale, next_sequence_number: 1, dts_shift: Cell::new(None), last_dts: None }
    }

    /// `ftyp` + `moov`: the CMAF header for this track, with an edit list when decode times
    /// are shifted. Take it after the first media segment: taken before, it fixes the shift at 0
    /// (see the module docs).
    pub fn init_segment(&self) -> Vec<u8> {
        let dts_shift = self.dts_shift.get().unwrap_or(0);
        self.dts_shift.set(Some(dts_shift));
        init::write_init_segment(&self.config, self.timescale, dts_shift.unsigned_abs())
    }

    /// The shift added to every dts so decode times are non-negative; `None` until the first
    /// media segment or init segment fixes it.
    pub fn dts_shift(&self) -> Option<i64> {
        self.dts_shift.get()
    }

    /// Builds one media segment from samples in decode order. On error nothing changes: the
    /// sequence number is not used up and the next call may retry.
    pub fn media_segment(&mut self, samples: &[Sample]) -> Result<MediaSegment, MuxError> {
        let segment = self.next_sequence_number;
        if self.timescale == 0 {
            return Err(MuxError::ZeroTimescale);
        }
        let first = samples.first().ok_or(MuxError::NoSamples { segment })?;
        if let Some(previous_dts) = self.last_dts.filter(|&prev| first.dts <= prev) {
            return Err(MuxError::NonMonotonicDts { segment, sample: 0, dts: first.dts, previous_dts });
        }
        // i64::MIN has no positive counterpart: saturate, and the check below refuses it.
        let dts_shift = self.dts_shift.get().unwrap_or_else(|| first.dts.saturating_neg().max(0));
        let base_decode_time = first
            .dts
            .checked_add(dts_shift)
            .and_then(|t| u64::try_from(t).ok())
            .ok_or(MuxError::DecodeTimeOutOfRange { segment, dts: first.dts, dts_shift })?;

        let entries = trun_entries(samples, segment)?;
        let duration: u64 = entries.iter().map(|e| u64::from(e.duration)).sum();
        let payload_len: u64 = entries.iter().map(|e| u64::from(e.size)).sum();
        let header = fragment::write_moof_and_mdat_header(segment, base_decode_time, &entries, payload_len)
            .ok_or(MuxError::TooManySamples { segment, sample_count: samples.len() })?;

        self.dts_shift.set(Some(dts_shift));
        self.last_dts = samples.last().map(|s| s.dts);
        self.next_sequence_number = segment.wrapping_add(1);
        Ok(MediaSegment {
            header,
            payload: samples.iter().map(|s| s.data.clone()).collect(),
            sequence_number: segment,
            base_decode_time,
            duration,
        })
    }
}

/// One trun row per sample: durations from consecutive decode times, composition offsets as
/// given (the edit list absorbs the dts shift).
fn trun_entries(samples: &[Sample], segment: u32) -> Result<Vec<TrunEntry>, MuxError> {
    let mut entries = Vec::with_capacity(samples.len());
    for (sample, s) in samples.iter().enumerate() {
        let duration = match samples.get(sample + 1) {
            Some(next) if next.dts <= s.dts => {
                return Err(MuxError::NonMonotonicDts {
                    segment,
                    sample: sample + 1,
                    dts: next.dts,
                    previous_dts: s.dts,
                })
            }
            Some(next) => {
                let duration_ticks = next.dts.saturating_sub(s.dts);
                u32::try_from(duration_ticks).map_err(|_| MuxError::DurationTooLarge {
                    segment,
                    sample,
                    duration_ticks,
                })?
            }
            None => s.duration,
        };
        let size = u32::try_from(s.data.len()).map_err(|_| MuxError::SampleTooLarge {
            segment,
            sample,
            size_bytes: s.data.len(),
        })?;
        let flags = if s.is_sync { SAMPLE_FLAGS_SYNC } else { SAMPLE_FLAGS_NON_SYNC };
        entries.push(TrunEntry { duration, size, flags, composition_offset: s.cts_offset });
    }
    Ok(entries)
}
