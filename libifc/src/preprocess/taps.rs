//! Separable resampling filters: for each output column (or row), the source samples it
//! reads and their weights. Built once per (source size, spec) and reused for every frame.

use super::spec::Resize;

/// The filter of one axis. Every output has `per_output` taps starting at its `start`
/// (consecutive source samples); taps an output does not need weigh zero. All taps lie in
/// `0..src_len`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct AxisTaps {
    pub per_output: usize,
    pub starts: Vec<u32>,
    pub weights: Vec<f32>,
}

impl AxisTaps {
    /// `src_len` source samples onto `dst_len` outputs; both non-zero.
    pub(crate) fn new(resize: Resize, src_len: u32, dst_len: u32) -> Self {
        match resize {
            Resize::Area if src_len >= dst_len => Self::area(src_len, dst_len),
            Resize::Bilinear | Resize::Area => Self::bilinear(src_len, dst_len),
        }
    }

    /// Output `i` samples source position `f = (i + 0.5) * src_len / dst_len - 0.5`, between
    /// samples `floor(f)` and `floor(f) + 1`; positions outside `[0, src_len - 1]` take the
    /// edge sample (cv2.INTER_LINEAR).
    fn bilinear(src_len: u32, dst_len: u32) -> Self {
        let per_output = if src_len == 1 { 1 } else { 2 };
        let scale = f64::from(src_len) / f64::from(dst_len);
        let last = f64::from(src_len - 1);
        let mut starts = Vec::with_capacity(dst_len as usize);
        let mut weights = Vec::with_capacity(dst_len as usize * per_output);
        for i in 0..dst_len {
            let (x0, t) = bilinear_position(i, scale, last);
            if per_output == 1 {
                starts.push(0);
                weights.push(1.0);
            } else if x0 >= last {
                // The right edge: the last pair of samples, all weight on the second.
                starts.push(src_len - 2);
                weights.extend([0.0, 1.0]);
            } else {
                starts.push(x0 as u32);
                weights.extend([(1.0 - t) as f32, t as f32]);
            }
        }
        Self { per_output, starts, weights }
    }

    /// Output `i` averages the source interval `[i * s, (i + 1) * s)`, `s = src_len /
    /// dst_len >= 1`, each sample weighted by its overlap with that interval (cv2.INTER_AREA
    /// when shrinking). Exact: overlaps are integers in units of 1 / dst_len.
    fn area(src_len: u32, dst_len: u32) -> Self {
        let (src, dst) = (u64::from(src_len), u64::from(dst_len));
        let span = |i: u64| {
            let (lo, hi) = (i * src, (i + 1) * src);
            (lo, hi, lo / dst, (hi - 1) / dst)
        };
        let per_output = (0..dst).map(span).map(|(_, _, first, last)| last - first + 1).max().unwrap_or(1);
        let mut starts = Vec::with_capacity(dst_len as usize);
        let mut weights = Vec::with_capacity((dst * per_output) as usize);
        for i in 0..dst {
            let (lo, hi, first, last) = span(i);
            // Keep all `per_output` taps inside the source; leading extra taps weigh zero.
            let start = first.min(src - per_output);
            starts.push(start as u32);
            for j in start..start + per_output {
                let overlap = if j < first || j > last { 0 } else { hi.min((j + 1) * dst) - lo.max(j * dst) };
                weights.push((overlap as f64 / src as f64) as f32);
            }
        }
        Self { per_output: per_output as usize, starts, weights }
    }

    /// Adds `by` to every start (to index a row that begins `by` samples before the ROI).
    pub(crate) fn offset(mut self, by: u32) -> Self {
        self.starts.iter_mut().for_each(|s| *s += by);
        self
    }

    /// First source index and weights of output `i`.
    pub(crate) fn output(&self, i: usize) -> (usize, &[f32]) {
        let start = self.starts.get(i).map_or(0, |&s| s as usize);
        let weights = self.weights.get(i * self.per_output..(i + 1) * self.per_output).unwrap_or(&[]);
        (start, weights)
    }

    pub(crate) fn len(&self) -> usize {
        self.starts.len()
    }
}

/// `(floor(f), f - floor(f))` of the cv2.INTER_LINEAR source position of output `i`, clamped
/// to `[0, last]` (with the fraction zeroed at either end).
pub(crate) fn bilinear_position(i: u32, scale: f64, last: f64) -> (f64, f64) {
    let f = (f64::from(i) + 0.5) * scale - 0.5;
    let x0 = f.floor();
    if x0 < 0.0 {
        (0.0, 0.0)
    } else if x0 >= last {
        (last, 0.0)
    } else {
        (x0, f - x0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taps(resize: Resize, src: u32, dst: u32) -> Vec<(usize, Vec<f32>)> {
        let t = AxisTaps::new(resize, src, dst);
        (0..t.len()).map(|i| (t.output(i).0, t.output(i).1.to_vec())).collect()
    }

    #[test]
    fn bilinear_upscale_by_two_uses_quarter_weights_and_replicates_edges() {
        let expected = [(0, vec![1.0, 0.0]), (0, vec![0.75, 0.25]), (0, vec![0.25, 0.75]), (0, vec![0.0, 1.0])];
        assert_eq!(taps(Resize::Bilinear, 2, 4), expected);
    }

    #[test]
    fn bilinear_downscale_by_two_averages_pairs() {
        assert_eq!(taps(Resize::Bilinear, 6, 3), [(0, vec![0.5, 0.5]), (2, vec![0.5, 0.5]), (4, vec![0.5, 0.5])]);
    }

    #[test]
    fn single_sample_source_has_one_tap() {
        assert_eq!(taps(Resize::Bilinear, 1, 3), vec![(0, vec![1.0]); 3]);
        assert_eq!(taps(Resize::Area, 1, 1), vec![(0, vec![1.0])]);
    }

    #[test]
    fn area_by_a_non_integer_factor_splits_the_shared_sample() {
        // 5 → 2: output 0 covers [0, 2.5), output 1 covers [2.5, 5).
        assert_eq!(taps(Resize::Area, 5, 2), [(0, vec![0.4, 0.4, 0.2]), (2, vec![0.2, 0.4, 0.4])]);
    }

    #[test]
    fn area_upscale_falls_back_to_bilinear() {
        assert_eq!(taps(Resize::Area, 2, 4), taps(Resize::Bilinear, 2, 4));
    }

    #[test]
    fn weights_sum_to_one_and_taps_stay_inside_for_extreme_factors() {
        for (resize, src, dst) in [
            (Resize::Area, 4096, 1),
            (Resize::Area, 1000, 999),
            (Resize::Area, 7, 3),
            (Resize::Bilinear, 4096, 1),
            (Resize::Bilinear, 2, 3000),
            (Resize::Area, 3, 3000),
        ] {
            let t = AxisTaps::new(resize, src, dst);
            assert_eq!(t.len(), dst as usize);
            for i in 0..t.len() {
                let (start, w) = t.output(i);
                assert!(start + w.len() <= src as usize, "{resize:?} {src}->{dst} output {i}");
                let sum: f64 = w.iter().map(|&w| f64::from(w)).sum();
                assert!((sum - 1.0).abs() < 1e-5, "{resize:?} {src}->{dst} output {i}: {sum}");
            }
        }
    }
}
