//! Wall time of a feed's media time: anchored once per feed session, corrected by a bounded
//! amount per segment.
//!
//! At a session's first packet the wall clock is read once (`wall0`) together with the
//! monotonic clock (`instant0`); from then on a packet's wall time is `wall0` plus its media
//! time since the first packet. A camera's clock and ours drift apart (a camera 100 ppm fast
//! gains 8.6 s a day), so at each segment the media-derived wall time of the newest packet is
//! compared with its arrival (monotonic, so a wall-clock step on the server changes nothing)
//! and the difference is taken up by at most 1 % of the segment's duration: segment times
//! never jump, and a jittery network cannot drag them around.

use std::time::Instant;

/// Correction per segment, as a fraction of its duration (1 %).
const MAX_SLEW_PER_MILLE: i64 = 10;

#[derive(Debug, Clone, Copy)]
struct Anchor {
    pts0_90k: i64,
    wall0_ms: i64,
    instant0: Instant,
    correction_ms: i64,
}

/// See the module docs.
#[derive(Debug, Clone, Default)]
pub struct WallClock {
    anchor: Option<Anchor>,
    /// The end of the last segment timed: the next one never starts earlier.
    last_end_ms: Option<i64>,
}

impl WallClock {
    pub fn new() -> Self {
        Self::default()
    }

    /// A packet of the current session arrived at `arrival`; `wall_at_arrival_ms` gives the
    /// wall time of that instant (read only when this anchors a session; a reader that gets
    /// packets some time after they arrived must not anchor them at its own "now").
    pub fn observe(&mut self, pts_90k: i64, arrival: Instant, wall_at_arrival_ms: impl FnOnce() -> i64) {
        if self.anchor.is_none() {
            // A camera has one timeline: a session never starts before the last one ended
            // (a publisher that sends faster than real time, a reconnect within a segment).
            let wall_at_arrival = wall_at_arrival_ms();
            let wall0_ms = self.last_end_ms.map_or(wall_at_arrival, |end| end.max(wall_at_arrival));
            self.anchor = Some(Anchor { pts0_90k: pts_90k, wall0_ms, instant0: arrival, correction_ms: 0 });
        }
    }

    /// The session ended (a break in the feed): the next packet anchors anew (never before
    /// the end of the last segment timed).
    pub fn reset(&mut self) {
        self.anchor = None;
    }

    pub fn is_anchored(&self) -> bool {
        self.anchor.is_some()
    }

    fn wall_ms(a: &Anchor, pts_90k: i64) -> i64 {
        a.wall0_ms.saturating_add(pts_90k.saturating_sub(a.pts0_90k) / 90).saturating_add(a.correction_ms)
    }

    /// Wall times of a segment `[media_start, media_end)`, then the drift correction from the
    /// newest packet seen (`newest_pts_90k`, arrived at `newest_arrival`). `None` before the
    /// session is anchored.
    pub fn segment_wall_ms(
        &mut self,
        media_start_90k: i64,
        media_end_90k: i64,
        newest_pts_90k: i64,
        newest_arrival: Instant,
    ) -> Option<(i64, i64)> {
        let a = self.anchor.as_mut()?;
        let mut start_ms = Self::wall_ms(a, media_start_90k);
        if let Some(last) = self.last_end_ms {
            start_ms = start_ms.max(last);
        }
        let end_ms = Self::wall_ms(a, media_end_90k).max(start_ms.saturating_add(1));
        self.last_end_ms = Some(end_ms);
        let arrived_ms = a.wall0_ms.saturating_add(
            i64::try_from(newest_arrival.saturating_duration_since(a.instant0).as_millis()).unwrap_or(i64::MAX),
        );
        let drift_ms = arrived_ms.saturating_sub(Self::wall_ms(a, newest_pts_90k));
        let max_slew_ms = ((end_ms - start_ms) * MAX_SLEW_PER_MILLE / 1000).max(1);
        a.correction_ms = a.correction_ms.saturating_add(drift_ms.clamp(-max_slew_ms, max_slew_ms));
        Some((start_ms, end_ms))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn media_time_maps_to_the_anchor_and_drift_is_taken_up_slowly() {
        let t0 = Instant::now();
        let mut c = WallClock::new();
        assert_eq!(c.segment_wall_ms(0, 900_000, 0, t0), None, "not anchored");
        c.observe(90_000, t0, || 1_000_000);
        c.observe(180_000, t0, || unreachable!("anchored once"));
        // The camera's clock runs 1 % slow: 10 s of media arrive over 10.1 s.
        let (s, e) = c.segment_wall_ms(90_000, 990_000, 990_000, t0 + Duration::from_millis(10_100)).unwrap();
        assert_eq!((s, e), (1_000_000, 1_010_000));
        // 100 ms behind; at most 1 % of 10 s = 100 ms per segment is corrected.
        let (s2, e2) = c.segment_wall_ms(990_000, 1_890_000, 1_890_000, t0 + Duration::from_millis(20_200)).unwrap();
        assert_eq!(s2, 1_010_100, "the next segment starts 100 ms later: corrected");
        assert_eq!(e2, 1_020_100);
        // A 5 s network stall is not taken at once.
        let (s3, _) = c.segment_wall_ms(1_890_000, 2_790_000, 2_790_000, t0 + Duration::from_millis(35_000)).unwrap();
        assert!(s3 - 1_020_100 <= 100 + 100, "bounded: {s3}");
        c.reset();
        assert!(!c.is_anchored());
        // A session that starts before the last one's end (sent faster than real time) is
        // placed after it.
        c.observe(0, t0, || 1_000_000);
        let (s4, _) = c.segment_wall_ms(0, 90_000, 90_000, t0).unwrap();
        assert!(s4 >= 1_030_000, "{s4}");
    }

    #[test]
    fn segments_never_overlap_even_when_corrected_backwards() {
        let t0 = Instant::now();
        let mut c = WallClock::new();
        c.observe(0, t0, || 0);
        // Packets arrive early (the camera's clock is fast): the correction is negative.
        let (_, e1) = c.segment_wall_ms(0, 900_000, 900_000, t0).unwrap();
        let (s2, e2) = c.segment_wall_ms(900_000, 1_800_000, 1_800_000, t0).unwrap();
        assert!(s2 >= e1 && e2 > s2, "{e1} {s2} {e2}");
    }
}
