//! Picture order count (H.264 8.2.1): the display order of pictures, computed from each
//! picture's first slice header and what earlier pictures left behind.

use super::slice::SliceHeader;
use super::sps::{PicOrderCntType, Sps};
use crate::error::{ParseError, Result};

/// Where picture order count errors are reported.
const AT: &str = "slice_header.pic_order_cnt";

/// What picture order count derivation carries from one picture to the next (8.2.1.1 to
/// 8.2.1.3). Start a new one per stream; IDR pictures reset it.
#[derive(Debug, Clone, Default)]
pub struct PocState {
    /// Type 0: `PicOrderCntMsb` and `pic_order_cnt_lsb` of the previous reference picture.
    prev_pic_order_cnt_msb: i64,
    prev_pic_order_cnt_lsb: i64,
    /// Types 1 and 2: `FrameNumOffset` and `frame_num` of the previous picture.
    prev_frame_num_offset: i64,
    prev_frame_num: i64,
}

/// `TopFieldOrderCnt` and `BottomFieldOrderCnt` of a picture; a field has only its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FieldOrderCnts {
    top: Option<i64>,
    bottom: Option<i64>,
}

impl FieldOrderCnts {
    fn of(h: &SliceHeader, top: i64, bottom: i64) -> Self {
        match (h.field_pic_flag, h.bottom_field_flag) {
            (false, _) => Self { top: Some(top), bottom: Some(bottom) },
            (true, false) => Self { top: Some(top), bottom: None },
            (true, true) => Self { top: None, bottom: Some(bottom) },
        }
    }

    /// `PicOrderCnt(picture)` (8-1): the smaller of the two for a frame.
    fn pic_order_cnt(self) -> i64 {
        match (self.top, self.bottom) {
            (Some(t), Some(b)) => t.min(b),
            (Some(v), None) | (None, Some(v)) => v,
            (None, None) => 0,
        }
    }
}

impl PocState {
    pub fn new() -> Self {
        Self::default()
    }

    /// Computes `PicOrderCnt` of the picture whose first slice header is `h`, and updates the
    /// state as decoding the picture would. A picture with `memory_management_control_operation`
    /// 5 gets the count it has after decoding (8.2.1: `tempPicOrderCnt` subtracted), that is 0,
    /// since pictures after it are ordered relative to that.
    pub fn next_picture(&mut self, sps: &Sps, h: &SliceHeader) -> Result<i32> {
        let mut next = self.clone();
        let cnts = match &sps.pic_order_cnt {
            PicOrderCntType::Lsb { log2_max_pic_order_cnt_lsb } => next.type0(*log2_max_pic_order_cnt_lsb, h),
            PicOrderCntType::FrameNumCycle { .. } => next.type1(sps, h)?,
            PicOrderCntType::FrameNum => next.type2(sps, h),
        };
        let mut poc = cnts.pic_order_cnt();
        if h.mmco5 {
            let temp = poc;
            let top_after = cnts.top.map(|t| t - temp);
            poc = 0;
            // 8.2.1.1: the next picture counts from the reset top field (or 0 after a bottom field).
            next.prev_pic_order_cnt_msb = 0;
            next.prev_pic_order_cnt_lsb = if h.bottom_field_flag { 0 } else { top_after.unwrap_or(0) };
            // 8.2.1.2, 7.4.3: frame numbering restarts too.
            next.prev_frame_num_offset = 0;
            next.prev_frame_num = 0;
        }
        let poc = i32::try_from(poc).map_err(|_| ParseError::invalid(AT, format!("{poc} does not fit 32 bits")))?;
        check_range(cnts.top)?;
        check_range(cnts.bottom)?;
        *self = next;
        Ok(poc)
    }

    /// 8.2.1.1: the most significant part follows the least significant one around its wrap.
    fn type0(&mut self, log2_max_lsb: u8, h: &SliceHeader) -> FieldOrderCnts {
        if h.idr {
            self.prev_pic_order_cnt_msb = 0;
            self.prev_pic_order_cnt_lsb = 0;
        }
        let max_lsb = 1i64 << log2_max_lsb;
        let lsb = i64::from(h.pic_order_cnt_lsb);
        let (prev_msb, prev_lsb) = (self.prev_pic_order_cnt_msb, self.prev_pic_order_cnt_lsb);
        let msb = if lsb < prev_lsb && prev_lsb - lsb >= max_lsb / 2 {
            prev_msb + max_lsb
        } else if lsb > prev_lsb && lsb - prev_lsb > max_lsb / 2 {
            prev_msb - max_lsb
        } else {
            prev_msb
        };
        let top = msb + lsb;
        let bottom = if h.field_pic_flag { msb + lsb } else { top + i64::from(h.delta_pic_order_cnt_bottom) };
        if h.nal_ref_idc != 0 {
            self.prev_pic_order_cnt_msb = msb;
            self.prev_pic_order_cnt_lsb = lsb;
        }
        FieldOrderCnts::of(h, top, bottom)
    }

    /// `FrameNumOffset` (8-6, 8-11), and the state types 1 and 2 keep.
    fn frame_num_offset(&mut self, sps: &Sps, h: &SliceHeader) -> i64 {
        let frame_num = i64::from(h.frame_num);
        let offset = if h.idr {
            0
        } else if self.prev_frame_num > frame_num {
            self.prev_frame_num_offset + i64::from(sps.max_frame_num())
        } else {
            self.prev_frame_num_offset
        };
        self.prev_frame_num_offset = offset;
        self.prev_frame_num = frame_num;
        offset
    }

    /// 8.2.1.2: an expected count from a cycle of per-reference-frame offsets, plus deltas.
    fn type1(&mut self, sps: &Sps, h: &SliceHeader) -> Result<FieldOrderCnts> {
        let PicOrderCntType::FrameNumCycle {
            offset_for_non_ref_pic,
            offset_for_top_to_bottom_field,
            offset_for_ref_frame,
            ..
        } = &sps.pic_order_cnt
        else {
            return Ok(FieldOrderCnts::of(h, 0, 0));
        };
        let frame_num_offset = self.frame_num_offset(sps, h);
        let cycle_len = offset_for_ref_frame.len() as i64;
        let mut abs_frame_num = if cycle_len != 0 { frame_num_offset + i64::from(h.frame_num) } else { 0 };
        if h.nal_ref_idc == 0 && abs_frame_num > 0 {
            abs_frame_num -= 1;
        }
        let mut expected = 0i64;
        if abs_frame_num > 0 {
            let cycle_cnt = (abs_frame_num - 1) / cycle_len;
            let frame_num_in_cycle = (abs_frame_num - 1) % cycle_len;
            let delta_per_cycle: i64 = offset_for_ref_frame.iter().map(|&o| i64::from(o)).sum();
            let in_cycle: i64 =
                offset_for_ref_frame.iter().take(frame_num_in_cycle as usize + 1).map(|&o| i64::from(o)).sum();
            expected = cycle_cnt
                .checked_mul(delta_per_cycle)
                .and_then(|v| v.checked_add(in_cycle))
                .ok_or_else(|| ParseError::invalid(AT, "expected picture order count overflows"))?;
        }
        if h.nal_ref_idc == 0 {
            expected = expected.saturating_add(i64::from(*offset_for_non_ref_pic));
        }
        let [delta0, delta1] = h.delta_pic_order_cnt.map(i64::from);
        let to_bottom = i64::from(*offset_for_top_to_bottom_field);
        // Saturated sums fail the 32-bit check in next_picture.
        let top = expected.saturating_add(delta0);
        let bottom = if h.field_pic_flag {
            expected.saturating_add(to_bottom + delta0)
        } else {
            top.saturating_add(to_bottom + delta1)
        };
        Ok(FieldOrderCnts::of(h, top, bottom))
    }

    /// 8.2.1.3: twice the frame number, less one for a non-reference picture.
    fn type2(&mut self, sps: &Sps, h: &SliceHeader) -> FieldOrderCnts {
        let frame_num_offset = self.frame_num_offset(sps, h);
        let doubled = 2 * (frame_num_offset + i64::from(h.frame_num));
        let temp = if h.idr {
            0
        } else if h.nal_ref_idc == 0 {
            doubled - 1
        } else {
            doubled
        };
        FieldOrderCnts::of(h, temp, temp)
    }
}

/// 8.2.1: the field order counts a stream uses must fit 32 bits.
fn check_range(cnt: Option<i64>) -> Result<()> {
    match cnt {
        Some(v) if i32::try_from(v).is_err() => {
            Err(ParseError::invalid(AT, format!("field order count {v} does not fit 32 bits")))
        }
        _ => Ok(()),
    }
}
