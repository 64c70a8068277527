//! Short-term reference picture sets: `st_ref_pic_set(stRpsIdx)` (H.265 7.3.7) with the
//! derivation of 7.4.8. A set may be predicted from an earlier one
//! (`inter_ref_pic_set_prediction_flag`), so the sets must be derived in full just to know how
//! many flags the next one codes; everything after them in the SPS depends on it.

use crate::codec::BitReader;
use crate::error::Result;

/// 7.4.8: `delta_poc_s0_minus1`, `delta_poc_s1_minus1` and `abs_delta_rps_minus1` are below 2^15.
const MAX_DELTA_MINUS1: u32 = (1 << 15) - 1;

/// One derived short-term reference picture set: POC deltas relative to the current picture.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShortTermRefPicSet {
    /// `DeltaPocS0`: pictures before the current one, nearest first (all negative).
    pub delta_poc_s0: Vec<i32>,
    pub used_by_curr_pic_s0: Vec<bool>,
    /// `DeltaPocS1`: pictures after the current one, nearest first (all positive).
    pub delta_poc_s1: Vec<i32>,
    pub used_by_curr_pic_s1: Vec<bool>,
}

impl ShortTermRefPicSet {
    /// `NumDeltaPocs`.
    pub fn num_delta_pocs(&self) -> usize {
        self.delta_poc_s0.len() + self.delta_poc_s1.len()
    }
}

/// Reads `st_ref_pic_set(st_rps_idx)`. `earlier` holds the sets already derived: the first
/// `st_rps_idx` of the SPS, or in a slice header (where `st_rps_idx` is
/// `num_short_term_ref_pic_sets`) all of them. `max_dec_pic_buffering_minus1` is
/// `sps_max_dec_pic_buffering_minus1[sps_max_sub_layers_minus1]`, the bound on the set's size.
pub fn parse_st_ref_pic_set(
    r: &mut BitReader<'_>,
    st_rps_idx: usize,
    num_short_term_ref_pic_sets: usize,
    earlier: &[ShortTermRefPicSet],
    max_dec_pic_buffering_minus1: u32,
) -> Result<ShortTermRefPicSet> {
    let inter_ref_pic_set_prediction_flag = st_rps_idx != 0 && r.read_flag("inter_ref_pic_set_prediction_flag")?;
    let set = if inter_ref_pic_set_prediction_flag {
        parse_predicted(r, st_rps_idx, st_rps_idx == num_short_term_ref_pic_sets, earlier)?
    } else {
        parse_explicit(r, max_dec_pic_buffering_minus1)?
    };
    // 7.4.8 bounds num_negative_pics and num_positive_pics by the DPB size; a predicted set
    // lists pictures of the same DPB, so the same bound holds for it.
    let max = max_dec_pic_buffering_minus1 as usize;
    if set.delta_poc_s0.len() > max || set.num_delta_pocs() > max {
        return Err(r.invalid(
            "inter_ref_pic_set_prediction_flag",
            format!(
                "the predicted set has {} + {} pictures, more than sps_max_dec_pic_buffering_minus1 {max}",
                set.delta_poc_s0.len(),
                set.delta_poc_s1.len()
            ),
        ));
    }
    Ok(set)
}

fn parse_explicit(r: &mut BitReader<'_>, max_dec_pic_buffering_minus1: u32) -> Result<ShortTermRefPicSet> {
    let num_negative_pics = r.read_ue_max(max_dec_pic_buffering_minus1, "num_negative_pics")?;
    let num_positive_pics = r.read_ue_max(max_dec_pic_buffering_minus1 - num_negative_pics, "num_positive_pics")?;
    let mut set = ShortTermRefPicSet::default();
    // (7-63) .. (7-66): deltas accumulate away from the current picture. Each step is at most
    // 2^15 and there are at most 16, so the sums fit in i32.
    let mut poc = 0i32;
    for _ in 0..num_negative_pics {
        poc -= r.read_ue_max(MAX_DELTA_MINUS1, "delta_poc_s0_minus1")? as i32 + 1;
        set.delta_poc_s0.push(poc);
        set.used_by_curr_pic_s0.push(r.read_flag("used_by_curr_pic_s0_flag")?);
    }
    poc = 0;
    for _ in 0..num_positive_pics {
        poc += r.read_ue_max(MAX_DELTA_MINUS1, "delta_poc_s1_minus1")? as i32 + 1;
        set.delta_poc_s1.push(poc);
        set.used_by_curr_pic_s1.push(r.read_flag("used_by_curr_pic_s1_flag")?);
    }
    Ok(set)
}

/// The predicted form: the reference set's pictures shifted by `deltaRps`, each kept or
/// dropped by `use_delta_flag`, plus the reference picture itself (7-61, 7-62).
fn parse_predicted(
    r: &mut BitReader<'_>,
    st_rps_idx: usize,
    in_slice_header: bool,
    earlier: &[ShortTermRefPicSet],
) -> Result<ShortTermRefPicSet> {
    // Only a slice header codes delta_idx_minus1; in the SPS the reference is the previous set.
    let delta_idx = if in_slice_header {
        r.read_ue_max(u32::try_from(st_rps_idx).unwrap_or(u32::MAX).saturating_sub(1), "delta_idx_minus1")? as usize + 1
    } else {
        1
    };
    let reference = st_rps_idx
        .checked_sub(delta_idx)
        .and_then(|i| earlier.get(i))
        .ok_or_else(|| r.invalid("delta_idx_minus1", format!("no set {delta_idx} before set {st_rps_idx}")))?;
    let delta_rps_sign = r.read_flag("delta_rps_sign")?;
    let abs_delta_rps = r.read_ue_max(MAX_DELTA_MINUS1, "abs_delta_rps_minus1")? as i32 + 1;
    let delta_rps = if delta_rps_sign { -abs_delta_rps } else { abs_delta_rps };

    // One (used_by_curr_pic_flag, use_delta_flag) pair per reference picture, S0 then S1,
    // and a last pair for the reference set's own picture.
    let n_ref = reference.num_delta_pocs();
    let mut flags = Vec::with_capacity(n_ref + 1);
    for _ in 0..=n_ref {
        let used = r.read_flag("used_by_curr_pic_flag")?;
        let use_delta = used || r.read_flag("use_delta_flag")?;
        flags.push((used, use_delta));
    }
    let n_neg = reference.delta_poc_s0.len();
    // Positions in `flags`: S0 pictures at j, S1 pictures at n_neg + j, the reference at n_ref.
    let shifted_s0 = reference.delta_poc_s0.iter().enumerate().map(|(j, &d)| (d + delta_rps, flags[j]));
    let shifted_s1 = reference.delta_poc_s1.iter().enumerate().map(|(j, &d)| (d + delta_rps, flags[n_neg + j]));
    let own = (delta_rps, flags[n_ref]);

    let mut set = ShortTermRefPicSet::default();
    // S0, nearest first: shifted S1 from the far end, the reference picture, shifted S0.
    for (d, (used, use_delta)) in shifted_s1.clone().rev().chain(std::iter::once(own)).chain(shifted_s0.clone()) {
        if d < 0 && use_delta {
            set.delta_poc_s0.push(d);
            set.used_by_curr_pic_s0.push(used);
        }
    }
    // S1, nearest first: shifted S0 from the far end, the reference picture, shifted S1.
    for (d, (used, use_delta)) in shifted_s0.rev().chain(std::iter::once(own)).chain(shifted_s1) {
        if d > 0 && use_delta {
            set.delta_poc_s1.push(d);
            set.used_by_curr_pic_s1.push(used);
        }
    }
    Ok(set)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::codec::h265::test_fixtures::BitWriter;

    fn parse_all(bytes: &[u8], count: usize, max_dec: u32) -> Result<Vec<ShortTermRefPicSet>> {
        let mut r = BitReader::new(bytes, "sps.st_ref_pic_set");
        let mut sets = Vec::new();
        for i in 0..count {
            let set = parse_st_ref_pic_set(&mut r, i, count, &sets, max_dec)?;
            sets.push(set);
        }
        Ok(sets)
    }

    #[test]
    fn explicit_deltas_accumulate_away_from_the_current_picture() {
        let mut w = BitWriter::default();
        w.ue(2); // num_negative_pics
        w.ue(1); // num_positive_pics
        w.ue(0).bit(true); // -1, used
        w.ue(2).bit(false); // -4
        w.ue(1).bit(true); // +2
        let sets = parse_all(&w.bytes(), 1, 4).unwrap();
        assert_eq!(sets[0].delta_poc_s0, [-1, -4]);
        assert_eq!(sets[0].used_by_curr_pic_s0, [true, false]);
        assert_eq!(sets[0].delta_poc_s1, [2]);
    }

    #[test]
    fn a_predicted_set_shifts_the_reference_and_adds_its_picture() {
        // Set 0: {-1, -3 | +2}. Set 1 predicted with deltaRps = -1: candidates in 7-61 order
        // are S1 shifted (+1, not negative), the reference picture (-1), S0 shifted (-2, -4);
        // use_delta_flag drops -4.
        let mut w = BitWriter::default();
        w.ue(2).ue(1);
        w.ue(0).bit(true).ue(1).bit(true);
        w.ue(1).bit(true);
        w.bit(true); // inter_ref_pic_set_prediction_flag
        w.bit(true).ue(0); // delta_rps_sign = 1, abs_delta_rps_minus1 = 0
        w.bit(true); // j=0 (S0 -1 → -2): used
        w.bit(false).bit(false); // j=1 (S0 -3 → -4): not used, dropped
        w.bit(true); // j=2 (S1 +2 → +1): used
        w.bit(false).bit(true); // j=3 (the reference picture, -1): kept, not used by current
        let sets = parse_all(&w.bytes(), 2, 4).unwrap();
        assert_eq!(sets[1].delta_poc_s0, [-1, -2]);
        assert_eq!(sets[1].used_by_curr_pic_s0, [false, true]);
        assert_eq!(sets[1].delta_poc_s1, [1]);
    }

    #[test]
    fn more_pictures_than_the_dpb_holds_are_invalid() {
        let mut w = BitWriter::default();
        w.ue(3);
        let e = parse_all(&w.bytes(), 1, 2).unwrap_err();
        assert_eq!(e.at, "sps.st_ref_pic_set.num_negative_pics");
        let mut w = BitWriter::default();
        w.ue(1).ue(2);
        let e = parse_all(&w.bytes(), 1, 2).unwrap_err();
        assert_eq!(e.at, "sps.st_ref_pic_set.num_positive_pics");
        // Repeated prediction with every flag set grows each set by one picture.
        let mut w = BitWriter::default();
        w.ue(2).ue(0).ue(0).bit(true).ue(0).bit(true);
        w.bit(true).bit(true).ue(0).bit(true).bit(true).bit(true);
        let e = parse_all(&w.bytes(), 2, 2).unwrap_err();
        assert!(matches!(e.kind, crate::ParseErrorKind::Invalid(_)), "{e}");
    }

    #[test]
    fn a_slice_header_set_names_its_reference_by_delta_idx() {
        let mut w = BitWriter::default();
        w.ue(1).ue(0).ue(0).bit(true); // set 0: {-1}
        w.bit(true).ue(1); // slice set (index 1 == count): delta_idx_minus1 = 1, no set -1
        let bytes = w.bytes();
        let mut r = BitReader::new(&bytes, "slice_segment_header.st_ref_pic_set");
        let set0 = parse_st_ref_pic_set(&mut r, 0, 1, &[], 4).unwrap();
        let e = parse_st_ref_pic_set(&mut r, 1, 1, &[set0], 4).unwrap_err();
        assert_eq!(e.at, "slice_segment_header.st_ref_pic_set.delta_idx_minus1");
    }
}
