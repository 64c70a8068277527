//! The display-order index of a recording: which sample shows frame `i`, when, for how long,
//! and from which key sample decoding has to start to reach it.

use ifc::remux::{ticks_to_90k, VideoInput};

/// One frame in display order.
#[derive(Debug, Clone, Copy)]
pub struct DisplayEntry {
    /// The sample (decode order) that carries the picture.
    pub sample: usize,
    /// Presentation time in the input's timescale, and in 90 kHz ticks (what frames carry).
    pub pts_ticks: i64,
    pub pts_90k: i64,
    pub duration_ticks: u32,
}

/// See the module docs.
#[derive(Debug, Clone)]
pub struct DisplayIndex {
    pub entries: Vec<DisplayEntry>,
    /// For each sample (decode order): the last key sample at or before it.
    key_at_or_before: Vec<Option<usize>>,
    pub timescale: u32,
}

impl DisplayIndex {
    pub fn new(input: &VideoInput) -> Self {
        let timescale = input.timescale.max(1);
        let mut entries: Vec<DisplayEntry> = input
            .samples
            .iter()
            .enumerate()
            .map(|(sample, s)| DisplayEntry {
                sample,
                pts_ticks: s.pts(),
                pts_90k: ticks_to_90k(s.pts(), timescale),
                duration_ticks: s.duration,
            })
            .collect();
        entries.sort_by_key(|e| (e.pts_ticks, e.sample));
        let mut last_key = None;
        let key_at_or_before = input
            .samples
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if s.is_sync {
                    last_key = Some(i);
                }
                last_key
            })
            .collect();
        Self { entries, key_at_or_before, timescale }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn seconds(&self, ticks: i64) -> f64 {
        ticks as f64 / f64::from(self.timescale)
    }

    /// The display index of the frame with this 90 kHz pts.
    pub fn by_pts_90k(&self, pts_90k: i64) -> Option<usize> {
        let i = self.entries.partition_point(|e| e.pts_90k < pts_90k);
        (self.entries.get(i)?.pts_90k == pts_90k).then_some(i)
    }

    /// The frame shown at `seconds`: the last one whose pts is at or before it, if `seconds`
    /// falls before the end of that frame.
    pub fn played_at(&self, seconds: f64) -> Option<usize> {
        let ticks = seconds * f64::from(self.timescale);
        let first = self.entries.first()?;
        if !ticks.is_finite() || ticks < first.pts_ticks as f64 {
            return None;
        }
        let i = self.entries.partition_point(|e| e.pts_ticks as f64 <= ticks).checked_sub(1)?;
        let e = &self.entries[i];
        let end = e.pts_ticks as f64 + f64::from(e.duration_ticks.max(1));
        (ticks < end).then_some(i)
    }

    /// The key sample to start decoding at for frame `display`, stepping back `extra` key
    /// samples further (for leading pictures that need the previous group of pictures).
    pub fn start_for(&self, display: usize, extra: usize) -> Option<usize> {
        let sample = self.entries.get(display)?.sample;
        let mut key = self.key_at_or_before.get(sample).copied().flatten()?;
        for _ in 0..extra {
            key = self.key_at_or_before.get(key.checked_sub(1)?).copied().flatten()?;
        }
        Some(key)
    }

    /// Start, duration and first pts of the whole video, in seconds.
    pub fn span_seconds(&self) -> (f64, f64) {
        let Some(first) = self.entries.first() else { return (0.0, 0.0) };
        // The sources refuse a pts + duration past i64 (an error naming the box); saturate anyway.
        let end = self
            .entries
            .iter()
            .map(|e| e.pts_ticks.saturating_add(i64::from(e.duration_ticks)))
            .max()
            .unwrap_or(first.pts_ticks);
        (self.seconds(first.pts_ticks), self.seconds(end.saturating_sub(first.pts_ticks)))
    }
}
