//! Cuts a stream of samples (decode order) into segments that each start at a sync sample, for
//! fMP4/HLS (RFC 8216bis 4.4.2.1 EXT-X-INDEPENDENT-SEGMENTS: each segment decodes without the
//! ones before it; CMAF, ISO/IEC 23000-19: a fragment starts with a stream access point).
//!
//! A segment is cut when a sync sample arrives and the pending samples span at least the target
//! duration, so a segment is longer than the target by less than one GOP. Without sync samples
//! no cut is possible and the pending segment grows; callers bound that with
//! [`Segmenter::pending_duration_ticks`] if they must.

use std::mem;

use super::Sample;

#[derive(Debug, Clone)]
pub struct Segmenter {
    target_duration_ticks: u64,
    pending: Vec<Sample>,
    dropped_before_first_sync: u64,
}

impl Segmenter {
    /// `target_duration_ticks`: the shortest segment worth cutting, in the samples' timescale.
    pub fn new(target_duration_ticks: u64) -> Self {
        Self { target_duration_ticks, pending: Vec::new(), dropped_before_first_sync: 0 }
    }

    /// Adds the next sample in decode order. Returns the completed segment when this sample is
    /// a sync sample and the pending one has reached the target duration; this sample then
    /// starts the next segment.
    ///
    /// While no segment is pending (at the start, after [`Self::force_cut`] or
    /// [`Self::flush`]), samples before the next sync sample cannot be decoded on their own:
    /// they are dropped and counted.
    pub fn push(&mut self, sample: Sample) -> Option<Vec<Sample>> {
        if self.pending.is_empty() {
            if sample.is_sync {
                self.pending.push(sample);
            } else {
                self.dropped_before_first_sync = self.dropped_before_first_sync.saturating_add(1);
            }
            return None;
        }
        if sample.is_sync && self.span_to_ticks(sample.dts) >= self.target_duration_ticks {
            return Some(mem::replace(&mut self.pending, vec![sample]));
        }
        self.pending.push(sample);
        None
    }

    /// Ends the pending segment now, whatever its length (e.g. before a parameter-set change,
    /// which needs a new init segment). The next segment starts at the next sync sample.
    pub fn force_cut(&mut self) -> Option<Vec<Sample>> {
        if self.pending.is_empty() {
            None
        } else {
            Some(mem::take(&mut self.pending))
        }
    }

    /// Returns the last, possibly short, segment at the end of the stream.
    pub fn flush(&mut self) -> Option<Vec<Sample>> {
        self.force_cut()
    }

    /// Samples dropped because no sync sample preceded them in their segment.
    pub fn dropped_before_first_sync(&self) -> u64 {
        self.dropped_before_first_sync
    }

    /// Decode-time span of the pending samples, including the last one's duration.
    pub fn pending_duration_ticks(&self) -> u64 {
        self.pending.last().map_or(0, |last| {
            let end = last.dts.saturating_add(i64::from(last.duration));
            self.span_to_ticks(end)
        })
    }

    /// Ticks from the first pending sample's dts to `dts` (0 if earlier or nothing pending).
    fn span_to_ticks(&self, dts: i64) -> u64 {
        self.pending.first().map_or(0, |first| u64::try_from(dts.saturating_sub(first.dts)).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    /// A 25 fps stream at timescale 12800 (512 ticks per frame), decode order starting at `dts`.
    fn sample(index: i64, is_sync: bool) -> Sample {
        Sample {
            data: Bytes::from(vec![index as u8]),
            dts: -1024 + index * 512,
            cts_offset: 1024,
            duration: 512,
            is_sync,
        }
    }

    /// Pushes frames `0..count` with a sync sample every `gop` frames (from frame `first_sync`);
    /// returns the segments (as frame indices) and the flushed remainder.
    fn segment_frames(seg: &mut Segmenter, count: i64, gop: i64, first_sync: i64) -> Vec<Vec<i64>> {
        let mut out = Vec::new();
        for i in 0..count {
            let is_sync = i >= first_sync && (i - first_sync) % gop == 0;
            if let Some(done) = seg.push(sample(i, is_sync)) {
                out.push(done.iter().map(|s| (s.dts + 1024) / 512).collect());
            }
        }
        if let Some(rest) = seg.flush() {
            out.push(rest.iter().map(|s| (s.dts + 1024) / 512).collect());
        }
        out
    }

    #[test]
    fn cuts_at_the_first_sync_sample_at_or_after_the_target() {
        // Target 1 s = 25 frames; GOP 10 frames: the sync at frame 20 is short of the target
        // (20 frames), the one at 30 reaches it.
        let mut seg = Segmenter::new(12_800);
        let segments = segment_frames(&mut seg, 75, 10, 0);
        let lens: Vec<usize> = segments.iter().map(Vec::len).collect();
        assert_eq!(lens, [30, 30, 15]);
        assert_eq!(segments[1][0], 30);
        assert_eq!(segments.concat(), (0..75).collect::<Vec<_>>());
    }

    #[test]
    fn a_sync_sample_exactly_at_the_target_cuts() {
        let mut seg = Segmenter::new(25 * 512);
        let lens: Vec<usize> = segment_frames(&mut seg, 50, 25, 0).iter().map(Vec::len).collect();
        assert_eq!(lens, [25, 25]);
    }

    #[test]
    fn a_gop_longer_than_the_target_makes_one_segment_per_gop() {
        // Within one GOP of the target: 0.5 s target, 2 s GOPs.
        let mut seg = Segmenter::new(6400);
        let lens: Vec<usize> = segment_frames(&mut seg, 120, 50, 0).iter().map(Vec::len).collect();
        assert_eq!(lens, [50, 50, 20]);
    }

    #[test]
    fn samples_before_the_first_sync_sample_are_dropped_and_counted() {
        let mut seg = Segmenter::new(12_800);
        let segments = segment_frames(&mut seg, 60, 25, 7);
        assert_eq!(seg.dropped_before_first_sync(), 7);
        assert_eq!(segments[0][0], 7);
        assert_eq!(segments.concat(), (7..60).collect::<Vec<_>>());
    }

    #[test]
    fn force_cut_ends_a_short_segment_and_waits_for_the_next_sync() {
        let mut seg = Segmenter::new(12_800);
        for i in 0..5 {
            assert_eq!(seg.push(sample(i, i == 0)), None);
        }
        let cut = seg.force_cut().expect("pending samples");
        assert_eq!(cut.len(), 5);
        assert_eq!(seg.force_cut(), None);
        // Frames 5 and 6 depend on the cut segment: dropped until the sync at frame 7.
        assert_eq!(seg.push(sample(5, false)), None);
        assert_eq!(seg.push(sample(6, false)), None);
        assert_eq!(seg.push(sample(7, true)), None);
        assert_eq!(seg.dropped_before_first_sync(), 2);
        assert_eq!(seg.pending_duration_ticks(), 512);
        assert_eq!(seg.flush().map(|s| s[0].dts), Some(sample(7, true).dts));
    }

    #[test]
    fn flush_of_nothing_is_none() {
        let mut seg = Segmenter::new(1);
        assert_eq!(seg.flush(), None);
        assert_eq!(seg.push(sample(0, false)), None);
        assert_eq!(seg.flush(), None);
    }

    #[test]
    fn target_zero_cuts_at_every_sync_sample() {
        let mut seg = Segmenter::new(0);
        let lens: Vec<usize> = segment_frames(&mut seg, 9, 3, 0).iter().map(Vec::len).collect();
        assert_eq!(lens, [3, 3, 3]);
    }

    #[test]
    fn extreme_timestamps_do_not_overflow() {
        let mut seg = Segmenter::new(u64::MAX);
        let mut first = sample(0, true);
        first.dts = i64::MIN;
        let mut last = sample(1, true);
        last.dts = i64::MAX;
        assert_eq!(seg.push(first), None);
        assert_eq!(seg.push(last), None);
        assert_eq!(seg.pending_duration_ticks(), i64::MAX as u64);
        assert_eq!(seg.flush().map(|s| s.len()), Some(2));
    }
}
