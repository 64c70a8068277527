//! Frame sampling: which decoded frames go on to inference. Sans-IO and clock-free: decisions
//! depend only on what each frame carries (its position, pts, key flag and luma thumbnail).

use super::{Frame, LumaThumbnail};

/// Which frames a [`Sampler`] accepts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SamplingRule {
    /// Every n-th frame, starting with the first.
    Every(u32),
    /// At most this many frames per second of media time, judged by pts; the first frame is
    /// always taken and the phase is kept, so the long-run rate is exact (25 → 10 fps takes
    /// 10 of every 25 frames). Frames without a pts are taken.
    TargetFps(f64),
    /// Only key frames (IDR/IRAP and recovery points).
    KeyframesOnly,
    /// A frame whose luma thumbnail differs from that of the last accepted frame by more than
    /// `threshold` (mean absolute difference on a 0–255 scale). The first frame is taken.
    OnChange { threshold: f64 },
}

/// A rule that cannot be applied, e.g. `Every(0)` or a negative frame rate.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid sampling rule {rule:?}: {reason}")]
pub struct InvalidSamplingRule {
    pub rule: SamplingRule,
    pub reason: &'static str,
}

/// What the sampler looks at for one frame.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FrameMeta {
    pub pts_90k: Option<i64>,
    pub key_frame: bool,
    /// Needed only by [`SamplingRule::OnChange`]; a frame without one is taken.
    pub luma: Option<LumaThumbnail>,
}

/// Decides, frame by frame in display order, which frames to keep.
#[derive(Debug, Clone)]
pub struct Sampler {
    rule: SamplingRule,
    frames_seen: u64,
    /// `TargetFps`: the earliest pts (90 kHz, fractional) of the next frame to take.
    next_due_90k: Option<f64>,
    last_pts_90k: Option<i64>,
    /// `OnChange`: thumbnail of the last frame taken.
    reference: Option<LumaThumbnail>,
}

impl Sampler {
    pub fn new(rule: SamplingRule) -> Result<Self, InvalidSamplingRule> {
        let invalid = |reason| Err(InvalidSamplingRule { rule, reason });
        match rule {
            SamplingRule::Every(0) => return invalid("n must be at least 1"),
            SamplingRule::TargetFps(fps) if !(fps.is_finite() && fps > 0.0) => {
                return invalid("frames per second must be finite and above 0")
            }
            SamplingRule::OnChange { threshold } if !(threshold.is_finite() && threshold >= 0.0) => {
                return invalid("threshold must be finite and at least 0")
            }
            _ => {}
        }
        Ok(Self { rule, frames_seen: 0, next_due_90k: None, last_pts_90k: None, reference: None })
    }

    /// A sampler that takes every frame.
    pub fn all() -> Self {
        Self { rule: SamplingRule::Every(1), frames_seen: 0, next_due_90k: None, last_pts_90k: None, reference: None }
    }

    pub fn rule(&self) -> SamplingRule {
        self.rule
    }

    /// Whether [`FrameMeta::luma`] matters to this rule (so callers compute it only then).
    pub fn needs_thumbnail(&self) -> bool {
        matches!(self.rule, SamplingRule::OnChange { .. })
    }

    /// Judges a decoded frame, computing its thumbnail only when the rule needs it.
    pub fn accept_frame(&mut self, frame: &Frame) -> bool {
        let luma = if self.needs_thumbnail() { LumaThumbnail::of_frame(frame) } else { None };
        self.accept(&FrameMeta { pts_90k: frame.pts_90k, key_frame: frame.key_frame, luma })
    }

    /// Judges the next frame (display order); `true` keeps it.
    pub fn accept(&mut self, meta: &FrameMeta) -> bool {
        let index = self.frames_seen;
        self.frames_seen += 1;
        match self.rule {
            SamplingRule::Every(n) => index % u64::from(n) == 0,
            SamplingRule::KeyframesOnly => meta.key_frame,
            SamplingRule::TargetFps(fps) => self.accept_by_pts(meta.pts_90k, 90_000.0 / fps),
            SamplingRule::OnChange { threshold } => {
                let Some(luma) = &meta.luma else { return true };
                let changed = self.reference.as_ref().is_none_or(|r| r.mean_abs_diff(luma) > threshold);
                if changed {
                    self.reference = Some(luma.clone());
                }
                changed
            }
        }
    }

    fn accept_by_pts(&mut self, pts_90k: Option<i64>, period_90k: f64) -> bool {
        let Some(pts) = pts_90k else { return true };
        let went_back = self.last_pts_90k.is_some_and(|last| pts < last);
        self.last_pts_90k = Some(pts);
        let pts = pts as f64;
        match self.next_due_90k {
            // First frame, or a new timeline (pts went backwards): start the phase here.
            None => {}
            Some(_) if went_back => {}
            Some(due) if pts < due => return false,
            // On time: keep the phase, so rounding never accumulates.
            Some(due) if pts < due + period_90k => {
                self.next_due_90k = Some(due + period_90k);
                return true;
            }
            // A gap longer than a period: restart the phase rather than burst to catch up.
            Some(_) => {}
        }
        self.next_due_90k = Some(pts + period_90k);
        true
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::decode::FramePixelFormat;

    fn meta(pts_90k: i64) -> FrameMeta {
        FrameMeta { pts_90k: Some(pts_90k), ..FrameMeta::default() }
    }

    fn taken(sampler: &mut Sampler, metas: impl IntoIterator<Item = FrameMeta>) -> Vec<usize> {
        metas.into_iter().enumerate().filter(|(_, m)| sampler.accept(m)).map(|(i, _)| i).collect()
    }

    #[test]
    fn every_n_takes_the_first_and_each_nth() {
        let mut s = Sampler::new(SamplingRule::Every(3)).unwrap();
        assert_eq!(taken(&mut s, (0..10).map(|i| meta(i * 3600))), [0, 3, 6, 9]);
        assert!(Sampler::new(SamplingRule::Every(0)).is_err());
    }

    #[test]
    fn target_fps_keeps_the_exact_long_run_rate() {
        // 25 fps source (3600 ticks) sampled at 10 fps: 10 frames in each second, forever.
        let mut s = Sampler::new(SamplingRule::TargetFps(10.0)).unwrap();
        let picks = taken(&mut s, (0..250).map(|i| meta(i * 3600)));
        assert_eq!(picks.len(), 100);
        assert_eq!(&picks[..5], [0, 3, 5, 8, 10]);
        // 29.97 fps (3003 ticks) at 7 fps: period 12857.14 ticks, ~4.28 frames.
        let mut s = Sampler::new(SamplingRule::TargetFps(7.0)).unwrap();
        let picks = taken(&mut s, (0..3000).map(|i| meta(i * 3003)));
        let seconds = 3000.0 * 3003.0 / 90_000.0;
        assert!((picks.len() as f64 - 7.0 * seconds).abs() <= 1.0, "{} picks in {seconds} s", picks.len());
    }

    #[test]
    fn target_fps_above_the_source_rate_takes_everything() {
        let mut s = Sampler::new(SamplingRule::TargetFps(60.0)).unwrap();
        assert_eq!(taken(&mut s, (0..50).map(|i| meta(i * 3600))).len(), 50);
    }

    #[test]
    fn target_fps_restarts_after_a_gap_or_a_jump_back() {
        let mut s = Sampler::new(SamplingRule::TargetFps(1.0)).unwrap();
        let pts = [0, 45_000, 900_000, 945_000, 990_000, 10, 50_000, 90_010];
        let picks = taken(&mut s, pts.map(meta));
        // 900_000: after a 10 s gap, taken at once, and no burst follows; 10: new timeline.
        assert_eq!(picks, [0, 2, 4, 5, 7]);
        assert!(Sampler::new(SamplingRule::TargetFps(0.0)).is_err());
        assert!(Sampler::new(SamplingRule::TargetFps(f64::NAN)).is_err());
    }

    #[test]
    fn keyframes_only_follows_the_flag() {
        let mut s = Sampler::new(SamplingRule::KeyframesOnly).unwrap();
        let metas = (0..6).map(|i| FrameMeta { key_frame: i % 3 == 0, ..meta(i) });
        assert_eq!(taken(&mut s, metas), [0, 3]);
    }

    fn flat(value: u8) -> Option<LumaThumbnail> {
        LumaThumbnail::from_plane(&[value; 64 * 36], 64, 64, 36, FramePixelFormat::Gray8)
    }

    #[test]
    fn on_change_compares_with_the_last_taken_frame() {
        let mut s = Sampler::new(SamplingRule::OnChange { threshold: 5.0 }).unwrap();
        let lumas = [100, 103, 106, 106, 120, 124, 130];
        let metas = lumas.map(|v| FrameMeta { luma: flat(v), ..FrameMeta::default() });
        // 103 and 106 drift slowly; 106 is 6 above the reference 100, so it is taken.
        assert_eq!(taken(&mut s, metas), [0, 2, 4, 6]);
        assert!(Sampler::new(SamplingRule::OnChange { threshold: -1.0 }).is_err());
    }

    #[test]
    fn on_change_judges_real_frames_through_their_thumbnails() {
        let mut s = Sampler::new(SamplingRule::OnChange { threshold: 10.0 }).unwrap();
        let frame = |v: u8| Frame::from_planes(32, 18, FramePixelFormat::Gray8, vec![(vec![v; 32 * 18], 32)]).unwrap();
        assert!(s.accept_frame(&frame(0)));
        assert!(!s.accept_frame(&frame(10)));
        assert!(s.accept_frame(&frame(11)));
    }
}
