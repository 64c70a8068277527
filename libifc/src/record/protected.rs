//! Protected time ranges of one camera: the union of every protection (operator ranges and
//! NG windows), kept sorted and merged so a lookup is a binary search.

/// Wall-time ranges in Unix ms, each `[start, end)`, sorted, disjoint and not touching.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProtectedRanges {
    ranges: Vec<(i64, i64)>,
}

impl ProtectedRanges {
    pub fn new() -> Self {
        Self::default()
    }

    /// The union of `ranges` (`[start, end)` each; empty or reversed ones are ignored).
    pub fn from_ranges(ranges: impl IntoIterator<Item = (i64, i64)>) -> Self {
        let mut all: Vec<(i64, i64)> = ranges.into_iter().filter(|(s, e)| s < e).collect();
        all.sort_unstable();
        let mut merged: Vec<(i64, i64)> = Vec::with_capacity(all.len());
        for (s, e) in all {
            match merged.last_mut() {
                // Overlapping or touching: one range (a segment between them is protected
                // either way, and fewer ranges make lookups cheaper).
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        Self { ranges: merged }
    }

    /// Adds `[start, end)`, merging with what it overlaps or touches.
    pub fn add(&mut self, start_ms: i64, end_ms: i64) {
        let ranges = std::mem::take(&mut self.ranges);
        *self = Self::from_ranges(ranges.into_iter().chain([(start_ms, end_ms)]));
    }

    /// The window an NG verdict at `at_ms` protects: `pre_roll_ms` before it to `post_roll_ms`
    /// after it, never empty (the NG moment itself is always inside).
    pub fn ng_window(at_ms: i64, pre_roll_ms: i64, post_roll_ms: i64) -> (i64, i64) {
        let start = at_ms.saturating_sub(pre_roll_ms.max(0));
        let end = at_ms.saturating_add(post_roll_ms.max(0)).max(at_ms.saturating_add(1));
        (start, end)
    }

    /// Whether `[start, end)` shares any instant with a protected range.
    pub fn overlaps(&self, start_ms: i64, end_ms: i64) -> bool {
        if start_ms >= end_ms {
            return false;
        }
        // The first range that ends after `start`; it overlaps iff it begins before `end`.
        let i = self.ranges.partition_point(|&(_, e)| e <= start_ms);
        self.ranges.get(i).is_some_and(|&(s, _)| s < end_ms)
    }

    pub fn ranges(&self) -> &[(i64, i64)] {
        &self.ranges
    }

    pub fn is_empty(&self) -> bool {
        self.ranges.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlapping_and_touching_ranges_merge() {
        let p = ProtectedRanges::from_ranges([(50, 60), (0, 10), (10, 20), (15, 30), (40, 40), (70, 65)]);
        assert_eq!(p.ranges(), &[(0, 30), (50, 60)]);
    }

    #[test]
    fn overlap_is_half_open() {
        let p = ProtectedRanges::from_ranges([(10, 20)]);
        assert!(!p.overlaps(0, 10), "ends where the range starts");
        assert!(p.overlaps(0, 11));
        assert!(p.overlaps(19, 25));
        assert!(!p.overlaps(20, 30), "starts where the range ends");
        assert!(!p.overlaps(15, 15), "empty");
    }

    #[test]
    fn ng_windows_around_close_verdicts_become_one_range() {
        let mut p = ProtectedRanges::new();
        for at in [1_000, 4_000, 20_000] {
            let (s, e) = ProtectedRanges::ng_window(at, 2_000, 3_000);
            p.add(s, e);
        }
        assert_eq!(p.ranges(), &[(-1_000, 7_000), (18_000, 23_000)]);
        assert_eq!(ProtectedRanges::ng_window(5, 0, 0), (5, 6), "the moment itself");
        assert_eq!(ProtectedRanges::ng_window(i64::MAX - 1, 10, 10), (i64::MAX - 11, i64::MAX), "saturates");
        assert_eq!(ProtectedRanges::ng_window(i64::MIN + 1, 10, 0), (i64::MIN, i64::MIN + 2));
    }
}
