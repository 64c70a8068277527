//! Decode times for a segment of live packets that carry only presentation times.
//!
//! The packets are in decode order; with B-frames their presentation times are not. The i-th
//! decode time is the i-th smallest presentation time (made strictly increasing), moved
//! earlier by the smallest shift that keeps every decode time at or before its own picture's
//! presentation time. For a stream that reorders by `R` frames the shift is `R` frame
//! durations, which is how encoders time such streams (x264: dts = pts of the frame `R`
//! earlier in display order); for a stream without reordering it is 0 and dts = pts.

/// One sample's times, 90 kHz.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SampleTiming {
    pub dts: i64,
    /// pts - dts, never negative.
    pub cts_offset: i32,
    /// Distance to the next sample's dts; the last sample gets one frame duration.
    pub duration: u32,
}

/// A segment's times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentTiming {
    pub samples: Vec<SampleTiming>,
    pub media_start_90k: i64,
    /// Last presentation time plus one frame duration.
    pub media_end_90k: i64,
}

/// Times that cannot be written into an MP4 track run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimingError {
    #[error("no packets")]
    Empty,
    #[error("sample {sample}: decode times {gap_90k} ticks apart (more than 32 bits)")]
    GapTooLarge { sample: usize, gap_90k: i64 },
    #[error("sample {sample}: presentation {offset_90k} ticks after decode (more than 31 bits)")]
    ReorderTooLarge { sample: usize, offset_90k: i64 },
    #[error("presentation times overflow")]
    Overflow,
}

/// Decode times for `pts_90k` (decode order). `nominal_frame_90k` is the duration of a
/// segment's only picture (nothing to measure it from).
pub fn decode_times(pts_90k: &[i64], nominal_frame_90k: u32) -> Result<SegmentTiming, TimingError> {
    if pts_90k.is_empty() {
        return Err(TimingError::Empty);
    }
    let mut sorted = pts_90k.to_vec();
    sorted.sort_unstable();
    // Strictly increasing: two pictures with the same pts (a broken clock) still need two
    // decode times. The shift below keeps them at or before their pts.
    for i in 1..sorted.len() {
        if sorted[i] <= sorted[i - 1] {
            sorted[i] = sorted[i - 1].checked_add(1).ok_or(TimingError::Overflow)?;
        }
    }
    let shift = sorted.iter().zip(pts_90k).map(|(s, p)| s.saturating_sub(*p)).max().unwrap_or(0).max(0);
    let last_duration_90k: i64 = match sorted.len() {
        0 | 1 => i64::from(nominal_frame_90k),
        n => sorted[n - 1] - sorted[n - 2],
    };
    let mut samples = Vec::with_capacity(pts_90k.len());
    for (i, (&s, &pts)) in sorted.iter().zip(pts_90k).enumerate() {
        let dts = s.checked_sub(shift).ok_or(TimingError::Overflow)?;
        let offset_90k = pts.saturating_sub(dts);
        let cts_offset =
            i32::try_from(offset_90k).map_err(|_| TimingError::ReorderTooLarge { sample: i, offset_90k })?;
        let gap_90k = match sorted.get(i + 1) {
            Some(next) => next - s,
            None => last_duration_90k,
        };
        let duration = u32::try_from(gap_90k).map_err(|_| TimingError::GapTooLarge { sample: i, gap_90k })?;
        samples.push(SampleTiming { dts, cts_offset, duration });
    }
    let media_start_90k = sorted[0];
    let media_end_90k = sorted[sorted.len() - 1].checked_add(last_duration_90k).ok_or(TimingError::Overflow)?;
    Ok(SegmentTiming { samples, media_start_90k, media_end_90k })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dts(t: &SegmentTiming) -> Vec<i64> {
        t.samples.iter().map(|s| s.dts).collect()
    }

    #[test]
    fn without_reordering_dts_is_pts() {
        let t = decode_times(&[0, 3600, 7200], 3600).unwrap();
        assert_eq!(dts(&t), [0, 3600, 7200]);
        assert!(t.samples.iter().all(|s| s.cts_offset == 0 && s.duration == 3600));
        assert_eq!((t.media_start_90k, t.media_end_90k), (0, 10_800));
    }

    #[test]
    fn a_b_pyramid_is_shifted_by_its_reorder_depth() {
        // Display 0..8 coded as I0 P4 B2 b1 b3 P8 B6 b5 b7 (x264's b-pyramid, depth 2).
        let f = 3600;
        let order = [0, 4, 2, 1, 3, 8, 6, 5, 7];
        let pts: Vec<i64> = order.iter().map(|i| i * f).collect();
        let t = decode_times(&pts, 3600).unwrap();
        assert_eq!(dts(&t), (0..9).map(|i| (i - 2) * f).collect::<Vec<_>>(), "two frames before the sorted pts");
        for (s, p) in t.samples.iter().zip(&pts) {
            assert!(s.dts <= *p);
            assert_eq!(s.dts + i64::from(s.cts_offset), *p, "pts kept exactly");
        }
        assert_eq!((t.media_start_90k, t.media_end_90k), (0, 9 * f));
    }

    #[test]
    fn repeated_pts_still_get_increasing_dts_at_or_before_pts() {
        let t = decode_times(&[100, 100, 100, 200], 10).unwrap();
        let d = dts(&t);
        assert!(d.windows(2).all(|w| w[0] < w[1]), "{d:?}");
        for (s, p) in t.samples.iter().zip([100, 100, 100, 200]) {
            assert!(s.dts <= p);
        }
    }

    #[test]
    fn one_picture_lasts_the_nominal_frame() {
        let t = decode_times(&[500], 3000).unwrap();
        assert_eq!(t.samples, [SampleTiming { dts: 500, cts_offset: 0, duration: 3000 }]);
        assert_eq!(t.media_end_90k, 3500);
        assert_eq!(decode_times(&[], 3000), Err(TimingError::Empty));
    }

    #[test]
    fn gaps_beyond_32_bits_are_refused() {
        let err = decode_times(&[0, 1 << 33], 3000).unwrap_err();
        assert!(matches!(err, TimingError::GapTooLarge { sample: 0, .. }), "{err}");
        assert!(decode_times(&[i64::MAX, i64::MAX], 1).is_err(), "no overflow panic");
    }
}
