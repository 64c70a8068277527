//! Timestamps for raw Annex B streams, which carry none: decode times at a constant frame
//! duration, presentation times from picture order.
//!
//! Display order comes from picture order counts (POC) by the decoder's own "bumping" rule
//! (H.264 C.4.5.3, H.265 C.5.2.2): pictures wait in a buffer; when it holds more than
//! [`MAX_REORDER_PICTURES`] pictures, or a new coded video sequence begins, the one with the
//! smallest POC is next in display order. A larger buffer than the stream needs never changes
//! the order, so no parameter from the SPS is trusted for it.
//!
//! Times: the i-th picture in decode order gets `dts = i × duration`; the picture shown k-th
//! gets `pts = (k + reorder_delay) × duration`, where `reorder_delay` is the stream's declared
//! maximum reorder depth, so that `pts ≥ dts` for conforming streams and no time is negative.

use std::collections::VecDeque;

use super::super::codec::PictureInfo;

/// Deeper than any conforming stream reorders (the DPB holds at most 16 pictures).
pub const MAX_REORDER_PICTURES: usize = 16;

/// One picture whose timestamps are known, in decode order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimedPicture<T> {
    pub item: T,
    /// Decode time in ticks.
    pub dts: i64,
    pub pts: i64,
}

#[derive(Debug)]
struct Pending<T> {
    item: T,
    decode_index: i64,
    poc: i32,
    display_index: Option<i64>,
}

/// Assigns timestamps to pictures pushed in decode order; pulls them back in decode order.
#[derive(Debug)]
pub struct RawTimestamper<T> {
    duration_ticks: i64,
    reorder_delay: i64,
    /// Pictures in decode order, oldest first, until their display index is known.
    pending: VecDeque<Pending<T>>,
    /// Number of pending pictures without a display index (the bumping buffer).
    unordered: usize,
    next_decode_index: i64,
    next_display_index: i64,
}

impl<T> RawTimestamper<T> {
    /// `duration_ticks`: one frame's duration; `reorder_delay`: how many pictures decode times
    /// lag presentation (the SPS's max_num_reorder_frames, or 0 when unknown).
    pub fn new(duration_ticks: i64, reorder_delay: u32) -> Self {
        Self {
            duration_ticks,
            reorder_delay: i64::from(reorder_delay),
            pending: VecDeque::new(),
            unordered: 0,
            next_decode_index: 0,
            next_display_index: 0,
        }
    }

    /// Pushes the next picture in decode order.
    pub fn push(&mut self, item: T, picture: PictureInfo) {
        if picture.new_sequence {
            // Display order never crosses a POC reset: everything before it is shown first.
            while self.unordered > 0 {
                self.bump();
            }
        }
        self.pending.push_back(Pending {
            item,
            decode_index: self.next_decode_index,
            poc: picture.poc,
            display_index: None,
        });
        self.next_decode_index += 1;
        self.unordered += 1;
        while self.unordered > MAX_REORDER_PICTURES {
            self.bump();
        }
    }

    /// Signals the end of the stream: every pending picture gets its timestamps.
    pub fn flush(&mut self) {
        while self.unordered > 0 {
            self.bump();
        }
    }

    /// The next picture in decode order whose timestamps are known.
    pub fn pull(&mut self) -> Option<TimedPicture<T>> {
        let display_index = self.pending.front()?.display_index?;
        let p = self.pending.pop_front()?;
        Some(TimedPicture {
            item: p.item,
            dts: p.decode_index * self.duration_ticks,
            pts: (display_index + self.reorder_delay) * self.duration_ticks,
        })
    }

    /// Gives the unordered picture with the smallest POC (the earliest in decode order on a
    /// tie, which only a broken stream has) the next display index.
    fn bump(&mut self) {
        let next =
            self.pending.iter_mut().filter(|p| p.display_index.is_none()).min_by_key(|p| (p.poc, p.decode_index));
        if let Some(p) = next {
            p.display_index = Some(self.next_display_index);
            self.next_display_index += 1;
            self.unordered -= 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pic(poc: i32, new_sequence: bool) -> PictureInfo {
        PictureInfo { poc, random_access: new_sequence, idr: new_sequence, new_sequence, rasl: false }
    }

    fn run(pocs: &[(i32, bool)], delay: u32) -> Vec<(usize, i64, i64)> {
        let mut t = RawTimestamper::new(10, delay);
        let mut out = Vec::new();
        for (i, &(poc, idr)) in pocs.iter().enumerate() {
            t.push(i, pic(poc, idr));
            out.extend(std::iter::from_fn(|| t.pull()).map(|p| (p.item, p.dts, p.pts)));
        }
        t.flush();
        out.extend(std::iter::from_fn(|| t.pull()).map(|p| (p.item, p.dts, p.pts)));
        out
    }

    #[test]
    fn b_frames_get_display_order_pts_and_delayed_dts() {
        // I0 P6 B2 B4 | I0 P2 (new IDR): display I0 B2 B4 P6 I0' P2'
        let got = run(&[(0, true), (6, false), (2, false), (4, false), (0, true), (2, false)], 1);
        let pts: Vec<i64> = got.iter().map(|g| g.2).collect();
        assert_eq!(pts, [10, 40, 20, 30, 50, 60]);
        let dts: Vec<i64> = got.iter().map(|g| g.1).collect();
        assert_eq!(dts, [0, 10, 20, 30, 40, 50]);
        assert!(got.iter().all(|g| g.2 >= g.1), "pts ≥ dts with the declared delay");
        assert_eq!(got.iter().map(|g| g.0).collect::<Vec<_>>(), [0, 1, 2, 3, 4, 5], "decode order kept");
    }

    #[test]
    fn long_sequences_are_ordered_with_a_bounded_buffer() {
        // One sequence of 100 pictures in pyramid order: P at +4, then B's. POC steps of 2.
        let mut pocs = vec![(0, true)];
        for gop in 0..25 {
            let base = gop * 8;
            pocs.extend([(base + 8, false), (base + 4, false), (base + 2, false), (base + 6, false)]);
        }
        let got = run(&pocs, 2);
        let mut by_pts = got.clone();
        by_pts.sort_by_key(|g| g.2);
        let pocs_in_display: Vec<i32> = by_pts.iter().map(|g| pocs[g.0].0).collect();
        let mut sorted = pocs_in_display.clone();
        sorted.sort_unstable();
        assert_eq!(pocs_in_display, sorted);
    }
}
