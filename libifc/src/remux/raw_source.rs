//! [`RawSource`]: turns a raw Annex B byte stream into timed MP4 samples and the decoder
//! configurations they need. Sans-IO: push chunks, pull [`SourceItem`]s.
//!
//! Access units before the first random-access point cannot be decoded and are dropped
//! (counted). A random-access access unit that carries parameter sets different from the
//! current ones (a resolution change, say) yields a new [`DecoderConfig`] before its sample.
//! Access units keep every NAL unit (in-band parameter sets, SEI, AUD): only the framing
//! changes, from start codes to 4-byte lengths.

use std::collections::VecDeque;

use bytes::Bytes;

use super::parameter_sets::ParameterSetMemory;
use super::raw_timing::RawTimestamper;
use super::SourceItem;
use crate::codec::nal::push_length_prefixed;
use crate::codec::{AccessUnit, AccessUnitAssembler, Codec, FrameRate, StreamState};
use crate::error::{ParseError, Result};
use crate::mp4::Sample;

/// Counters of what a raw source skipped.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RawSourceStats {
    pub access_units: u64,
    /// Access units before the first random-access point.
    pub dropped_before_random_access: u64,
    /// Access units dropped because their slice header or parameter sets were unusable.
    pub dropped_undecodable: u64,
    /// NAL units dropped as malformed.
    pub nal_errors: u64,
}

struct Prepared {
    data: Bytes,
    is_sync: bool,
}

/// Timing for the stream: ticks per second and ticks per frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawTiming {
    pub timescale: u32,
    pub frame_duration: u32,
}

impl RawTiming {
    /// 90 kHz when a frame lasts a whole number of ticks (25, 29.97, 30, 50, 59.94, 60 fps);
    /// otherwise the frame rate's numerator (23.976 fps → 24000 Hz, 1001 ticks per frame).
    pub fn for_frame_rate(rate: FrameRate) -> Self {
        let ticks = 90_000u64 * u64::from(rate.den);
        if ticks % u64::from(rate.num) == 0 {
            if let Ok(frame_duration) = u32::try_from(ticks / u64::from(rate.num)) {
                return Self { timescale: 90_000, frame_duration };
            }
        }
        Self { timescale: rate.num, frame_duration: rate.den }
    }
}

/// See the module docs.
pub struct RawSource {
    frame_rate: Option<FrameRate>,
    assembler: AccessUnitAssembler,
    state: StreamState,
    timing: Option<RawTiming>,
    timestamper: Option<RawTimestamper<Prepared>>,
    parameter_sets: ParameterSetMemory,
    started: bool,
    out: VecDeque<Result<SourceItem>>,
    stats: RawSourceStats,
}

impl RawSource {
    /// `frame_rate`: overrides the VUI timing; required when the stream carries none.
    pub fn new(codec: Codec, frame_rate: Option<FrameRate>) -> Self {
        Self {
            frame_rate,
            assembler: AccessUnitAssembler::new(codec),
            state: StreamState::new(codec),
            timing: None,
            timestamper: None,
            parameter_sets: ParameterSetMemory::new(codec),
            started: false,
            out: VecDeque::new(),
            stats: RawSourceStats::default(),
        }
    }

    pub fn stats(&self) -> &RawSourceStats {
        &self.stats
    }

    /// The timing chosen, once the first picture has been seen.
    pub fn timing(&self) -> Option<RawTiming> {
        self.timing
    }

    /// Pushes a chunk of the byte stream (any size, split anywhere).
    pub fn push(&mut self, chunk: Bytes) {
        let errors = self.assembler.push_annex_b(chunk);
        self.nal_errors(errors);
        self.drain_assembler();
    }

    /// Signals the end of the stream.
    pub fn flush(&mut self) {
        let errors = self.assembler.flush();
        self.nal_errors(errors);
        self.drain_assembler();
        if let Some(t) = self.timestamper.as_mut() {
            t.flush();
        }
        self.drain_timestamper();
    }

    /// The next configuration or sample, or an error about the stream (errors about single NAL
    /// units are counted, not returned).
    pub fn pull(&mut self) -> Option<Result<SourceItem>> {
        self.out.pop_front()
    }

    fn nal_errors(&mut self, errors: Vec<ParseError>) {
        self.stats.nal_errors += errors.len() as u64;
    }

    fn drain_assembler(&mut self) {
        while let Some(au) = self.assembler.pull() {
            self.stats.access_units += 1;
            self.on_access_unit(au);
        }
        self.drain_timestamper();
    }

    fn drain_timestamper(&mut self) {
        let (Some(t), Some(timing)) = (self.timestamper.as_mut(), self.timing) else { return };
        while let Some(p) = t.pull() {
            self.out.push_back(Ok(SourceItem::Sample(Sample {
                data: p.item.data,
                dts: p.dts,
                cts_offset: i32::try_from(p.pts - p.dts).unwrap_or(i32::MAX),
                duration: timing.frame_duration,
                is_sync: p.item.is_sync,
            })));
        }
    }

    fn on_access_unit(&mut self, au: AccessUnit) {
        let mut picture = None;
        for nal in &au.nals {
            match self.state.push_nal(nal) {
                Ok(Some(p)) if picture.is_none() => picture = Some(p),
                Ok(_) => self.parameter_sets.remember(nal),
                Err(_) => self.stats.nal_errors += 1,
            }
        }
        let Some(picture) = picture else {
            self.stats.dropped_undecodable += 1;
            return;
        };
        if !self.started && !au.random_access {
            self.stats.dropped_before_random_access += 1;
            return;
        }
        if au.random_access && self.parameter_sets.changed() {
            if let Err(e) = self.declare_config() {
                self.out.push_back(Err(e));
                self.stats.dropped_undecodable += 1;
                return;
            }
        }
        if self.timestamper.is_none() {
            // No configuration could be declared: nothing before this point was decodable.
            self.stats.dropped_undecodable += 1;
            return;
        }
        self.started = true;
        let mut data = Vec::with_capacity(au.payload_len() + 4 * au.nals.len());
        for nal in &au.nals {
            // A NAL unit over 4 GiB cannot come out of a Bytes slice of a file we could read.
            if push_length_prefixed(&mut data, nal).is_err() {
                self.stats.dropped_undecodable += 1;
                return;
            }
        }
        if let Some(t) = self.timestamper.as_mut() {
            t.push(Prepared { data: Bytes::from(data), is_sync: au.random_access }, picture);
        }
    }

    fn declare_config(&mut self) -> Result<()> {
        let config = self.parameter_sets.declare()?;
        if self.frame_rate.is_none() {
            self.frame_rate = config.params.frame_rate;
        }
        match self.timestamper.as_mut() {
            // The timestamper keeps running across configurations: times stay continuous.
            Some(t) => t.flush(),
            None => self.timestamper = Some(self.start_timing()?),
        }
        self.drain_timestamper();
        self.out.push_back(Ok(SourceItem::Config(config)));
        Ok(())
    }

    fn start_timing(&mut self) -> Result<RawTimestamper<Prepared>> {
        let rate = self.frame_rate.ok_or_else(|| {
            ParseError::missing("sps.vui.timing_info", "frame rate: the stream carries no timing; give one (--fps)")
        })?;
        let timing = RawTiming::for_frame_rate(rate);
        self.timing = Some(timing);
        // The SPS of the picture being configured is the latest one received.
        let delay = self.state.video_params().and_then(|p| p.max_num_reorder_frames).unwrap_or(0);
        Ok(RawTimestamper::new(i64::from(timing.frame_duration), delay.min(16)))
    }
}
