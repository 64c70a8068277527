//! Verdicts over time: OK/NG counts in a sliding window of the last W ms of media time, and a
//! window verdict (NG once at least k frames in the window were NG), so that one noisy frame
//! need not stop a line.
//!
//! Sans-IO: the caller passes each frame's presentation time (`pts_90k`, or milliseconds);
//! nothing here reads a clock. The window at time t holds the frames with times in
//! (t − W, t]. Memory is one entry per frame in the window, and at most
//! [`WindowAggregator::DEFAULT_MAX_FRAMES`] entries (or the cap given to
//! [`WindowAggregator::with_max_frames`]): when media time stops advancing (a camera that
//! repeats one timestamp) or the rate is absurd, the oldest frames leave by count, so a run
//! that never ends keeps bounded memory.

use super::Status;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Window settings, as the pipeline document's rule node holds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowConfig {
    /// Window length in milliseconds of media time (at least 1).
    pub duration_ms: u64,
    /// The window is NG when at least this many of its frames are NG (at least 1).
    pub ng_frames: u32,
}

/// Counts of one window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct WindowSummary {
    /// The window covers (end − duration, end], in 90 kHz ticks.
    pub end_pts_90k: i64,
    pub ok_frames: u64,
    pub ng_frames: u64,
    /// NG frames over all frames; 0 for an empty window.
    pub ng_ratio: f64,
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WindowError {
    /// Media time went backwards (a stream restart or a seek): the frame was not counted;
    /// call [`WindowAggregator::reset`] to start over from the new time.
    #[error("window: time went backwards from pts_90k {previous} to {got}")]
    Backwards { previous: i64, got: i64 },
    /// A time in milliseconds too large to express in 90 kHz ticks.
    #[error("window: time {time_ms} ms is out of range")]
    OutOfRange { time_ms: i64 },
}

/// Sliding-window aggregation of frame verdicts.
#[derive(Debug, Clone)]
pub struct WindowAggregator {
    config: WindowConfig,
    duration_90k: i64,
    /// (pts_90k, is NG), oldest first.
    frames: VecDeque<(i64, bool)>,
    ng_in_window: u64,
    last_pts_90k: Option<i64>,
    max_frames: usize,
}

impl WindowAggregator {
    /// The most frames a window holds unless told otherwise: 18 minutes at 60 fps, 1 MiB.
    pub const DEFAULT_MAX_FRAMES: usize = 65_536;

    pub fn new(config: WindowConfig) -> Self {
        Self::with_max_frames(config, Self::DEFAULT_MAX_FRAMES)
    }

    /// A window that also forgets its oldest frames beyond `max_frames` (at least 1).
    pub fn with_max_frames(config: WindowConfig, max_frames: usize) -> Self {
        // At least one tick, so that the frame just pushed is always in its own window.
        let duration_90k = i64::try_from(config.duration_ms.saturating_mul(90)).unwrap_or(i64::MAX).max(1);
        let max_frames = max_frames.max(1);
        Self { config, duration_90k, frames: VecDeque::new(), ng_in_window: 0, last_pts_90k: None, max_frames }
    }

    pub fn config(&self) -> &WindowConfig {
        &self.config
    }

    /// Counts one frame's verdict at `pts_90k` and returns the window ending there. Equal
    /// times are accepted (several verdicts for one frame); earlier times are refused.
    pub fn push_pts_90k(&mut self, pts_90k: i64, status: Status) -> Result<WindowSummary, WindowError> {
        if let Some(previous) = self.last_pts_90k {
            if pts_90k < previous {
                return Err(WindowError::Backwards { previous, got: pts_90k });
            }
        }
        self.last_pts_90k = Some(pts_90k);
        let ng = status == Status::Ng;
        self.frames.push_back((pts_90k, ng));
        self.ng_in_window += u64::from(ng);
        self.evict(pts_90k);
        Ok(self.summary())
    }

    /// [`Self::push_pts_90k`] with the time in milliseconds.
    pub fn push_ms(&mut self, time_ms: i64, status: Status) -> Result<WindowSummary, WindowError> {
        let pts_90k = time_ms.checked_mul(90).ok_or(WindowError::OutOfRange { time_ms })?;
        self.push_pts_90k(pts_90k, status)
    }

    /// The window ending at the last pushed time (empty before the first push).
    pub fn summary(&self) -> WindowSummary {
        let total = self.frames.len() as u64;
        let ng_frames = self.ng_in_window;
        WindowSummary {
            end_pts_90k: self.last_pts_90k.unwrap_or(0),
            ok_frames: total - ng_frames,
            ng_frames,
            ng_ratio: if total == 0 { 0.0 } else { ng_frames as f64 / total as f64 },
            status: if ng_frames > 0 && ng_frames >= u64::from(self.config.ng_frames) {
                Status::Ng
            } else {
                Status::Ok
            },
        }
    }

    /// Forgets every frame (after a seek or a stream restart).
    pub fn reset(&mut self) {
        self.frames.clear();
        self.ng_in_window = 0;
        self.last_pts_90k = None;
    }

    fn evict(&mut self, now_90k: i64) {
        // i128: `now − duration` must not saturate, or a frame at i64::MIN would fall out of
        // its own window.
        let start_exclusive = i128::from(now_90k) - i128::from(self.duration_90k);
        while let Some(&(t, ng)) = self.frames.front() {
            if i128::from(t) > start_exclusive && self.frames.len() <= self.max_frames {
                break;
            }
            self.frames.pop_front();
            self.ng_in_window -= u64::from(ng);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(duration_ms: u64, ng_frames: u32) -> WindowAggregator {
        WindowAggregator::new(WindowConfig { duration_ms, ng_frames })
    }

    #[test]
    fn counts_and_ratio_in_a_sliding_window() {
        // 1 s window, NG at 2 NG frames; frames every 250 ms.
        let mut w = window(1000, 2);
        let s = w.push_ms(0, Status::Ng).unwrap();
        assert_eq!((s.ok_frames, s.ng_frames, s.status), (0, 1, Status::Ok));
        w.push_ms(250, Status::Ok).unwrap();
        w.push_ms(500, Status::Ok).unwrap();
        let s = w.push_ms(750, Status::Ng).unwrap();
        // Window (−250, 750] holds all four: 2 NG of 4 → ratio 0.5, NG.
        assert_eq!((s.ok_frames, s.ng_frames, s.ng_ratio, s.status), (2, 2, 0.5, Status::Ng));
        // At 1000 the window is (0, 1000]: the NG at 0 leaves (the start is exclusive).
        let s = w.push_ms(1000, Status::Ok).unwrap();
        assert_eq!((s.ok_frames, s.ng_frames, s.status), (3, 1, Status::Ok));
        assert_eq!(s.end_pts_90k, 90_000);
    }

    #[test]
    fn a_gap_longer_than_the_window_empties_it() {
        let mut w = window(500, 1);
        w.push_ms(0, Status::Ng).unwrap();
        let s = w.push_ms(10_000, Status::Ok).unwrap();
        assert_eq!((s.ok_frames, s.ng_frames, s.status), (1, 0, Status::Ok));
    }

    #[test]
    fn backwards_time_is_refused_and_reset_recovers() {
        let mut w = window(1000, 1);
        w.push_pts_90k(9000, Status::Ng).unwrap();
        w.push_pts_90k(9000, Status::Ok).unwrap();
        assert_eq!(w.push_pts_90k(8999, Status::Ng), Err(WindowError::Backwards { previous: 9000, got: 8999 }));
        assert_eq!(w.summary().ng_frames, 1, "the refused frame was not counted");
        w.reset();
        let s = w.push_pts_90k(0, Status::Ok).unwrap();
        assert_eq!((s.ok_frames, s.ng_frames), (1, 0));
    }

    #[test]
    fn a_stuck_clock_does_not_grow_the_window_without_bound() {
        // A camera repeating one timestamp: no frame ever leaves by time.
        let mut w = window(1000, 1);
        for i in 0..(WindowAggregator::DEFAULT_MAX_FRAMES as u64 + 10_000) {
            let s = w.push_pts_90k(42, if i % 2 == 0 { Status::Ng } else { Status::Ok }).unwrap();
            assert!(s.ok_frames + s.ng_frames <= WindowAggregator::DEFAULT_MAX_FRAMES as u64, "frame {i}");
        }
        assert_eq!(w.frames.len(), WindowAggregator::DEFAULT_MAX_FRAMES);
        let mut small = WindowAggregator::with_max_frames(WindowConfig { duration_ms: 1000, ng_frames: 2 }, 3);
        for status in [Status::Ng, Status::Ng, Status::Ok, Status::Ok] {
            small.push_pts_90k(0, status).unwrap();
        }
        let s = small.summary();
        assert_eq!((s.ok_frames, s.ng_frames, s.status), (2, 1, Status::Ok), "the oldest NG left by count");
    }

    #[test]
    fn extreme_times_and_durations_do_not_overflow() {
        let mut w = window(u64::MAX, 1);
        w.push_pts_90k(i64::MIN, Status::Ng).unwrap();
        let s = w.push_pts_90k(i64::MAX, Status::Ok).unwrap();
        // The window is (i64::MAX − i64::MAX, i64::MAX] = (0, i64::MAX]: i64::MIN fell out.
        assert_eq!((s.ok_frames, s.ng_frames), (1, 0));
        let mut w = window(u64::MAX, 1);
        assert_eq!(w.push_pts_90k(i64::MIN, Status::Ng).unwrap().ng_frames, 1, "a frame is in its own window");
        let mut zero = window(0, 1);
        assert_eq!(zero.push_ms(7, Status::Ng).unwrap().status, Status::Ng, "a zero window still holds its last frame");
        assert!(matches!(w.push_ms(i64::MAX, Status::Ok), Err(WindowError::OutOfRange { .. })));
        let mut empty = window(1000, 1);
        assert_eq!(empty.summary().ng_ratio, 0.0);
        assert!(empty.push_ms(-5, Status::Ok).is_ok(), "negative media times are fine");
    }
}
