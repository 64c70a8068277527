//! Picture order count (H.265 8.3.1): `PicOrderCntVal` from `slice_pic_order_cnt_lsb` and the
//! most significant part carried over from the previous TemporalId-0 picture.

use crate::error::{ParseError, Result};

use super::NalHeader;

/// What picture order count carries from one picture to the next.
#[derive(Debug, Clone, Default)]
pub struct PocState {
    /// `PicOrderCntVal` of `prevTid0Pic`: the previous picture with TemporalId 0 that is not
    /// a RASL, RADL or sub-layer non-reference picture.
    prev_tid0_poc: Option<i32>,
}

impl PocState {
    /// Computes `PicOrderCntVal` of a picture from its first slice segment.
    /// `slice_pic_order_cnt_lsb` is 0 for IDR pictures (where it is not coded);
    /// `no_rasl_output_flag` is `NoRaslOutputFlag` for IRAP pictures (ignored otherwise).
    pub fn picture_order_count(
        &mut self,
        header: NalHeader,
        slice_pic_order_cnt_lsb: u32,
        log2_max_pic_order_cnt_lsb: u8,
        no_rasl_output_flag: bool,
    ) -> Result<i32> {
        let max_lsb = 1i64 << log2_max_pic_order_cnt_lsb;
        let lsb = i64::from(slice_pic_order_cnt_lsb);
        let msb = if header.is_irap() && no_rasl_output_flag {
            0
        } else {
            // (8-1): the MSB moves by MaxPicOrderCntLsb when the LSB wraps by more than half.
            // Without a previous picture (a stream joined mid-sequence) the MSB starts at 0.
            let prev_poc = i64::from(self.prev_tid0_poc.unwrap_or(0));
            let prev_lsb = prev_poc.rem_euclid(max_lsb);
            let prev_msb = prev_poc - prev_lsb;
            if lsb < prev_lsb && prev_lsb - lsb >= max_lsb / 2 {
                prev_msb + max_lsb
            } else if lsb > prev_lsb && lsb - prev_lsb > max_lsb / 2 {
                prev_msb - max_lsb
            } else {
                prev_msb
            }
        };
        // 8.3.1: PicOrderCntVal is in -2^31..=2^31-1; a stream that wraps further is broken.
        let poc = i32::try_from(msb + lsb).map_err(|_| {
            ParseError::invalid(
                "slice_segment_header.slice_pic_order_cnt_lsb",
                "PicOrderCntVal leaves the 32-bit range",
            )
        })?;
        if header.temporal_id == 0 && !header.is_rasl() && !header.is_radl() && !header.is_sub_layer_non_reference() {
            self.prev_tid0_poc = Some(poc);
        }
        Ok(poc)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn header(nal_unit_type: u8, temporal_id: u8) -> NalHeader {
        NalHeader { nal_unit_type, nuh_layer_id: 0, temporal_id }
    }

    const TRAIL_R: u8 = 1;
    const TRAIL_N: u8 = 0;
    const RASL_N: u8 = 8;
    const IDR_W_RADL: u8 = 19;
    const CRA: u8 = 21;

    #[test]
    fn the_msb_advances_when_the_lsb_wraps_forward_and_backward() {
        // A jump of more than half a cycle reads as going the other way: from 0, lsb 12 would
        // be POC -4, so the sequence climbs in steps of at most 8.
        let mut s = PocState::default();
        // log2_max 4: MaxPicOrderCntLsb 16.
        assert_eq!(s.picture_order_count(header(IDR_W_RADL, 0), 0, 4, true).unwrap(), 0);
        assert_eq!(s.picture_order_count(header(TRAIL_R, 0), 6, 4, false).unwrap(), 6);
        assert_eq!(s.picture_order_count(header(TRAIL_R, 0), 12, 4, false).unwrap(), 12);
        assert_eq!(s.picture_order_count(header(TRAIL_R, 0), 2, 4, false).unwrap(), 18, "wrapped forward");
        assert_eq!(s.picture_order_count(header(TRAIL_R, 0), 14, 4, false).unwrap(), 14, "wrapped back");
    }

    #[test]
    fn non_reference_leading_and_higher_layer_pictures_do_not_move_prev_tid0_pic() {
        let mut s = PocState::default();
        s.picture_order_count(header(IDR_W_RADL, 0), 0, 4, true).unwrap();
        s.picture_order_count(header(TRAIL_R, 0), 6, 4, false).unwrap();
        // Each of these would move the reference point to 14 if it counted: then lsb 0 would
        // read as 16, not 0... instead the reference stays 6, and 0 is within half a cycle.
        s.picture_order_count(header(TRAIL_N, 0), 14, 4, false).unwrap();
        s.picture_order_count(header(RASL_N, 0), 14, 4, false).unwrap();
        s.picture_order_count(header(TRAIL_R, 1), 14, 4, false).unwrap();
        assert_eq!(s.picture_order_count(header(TRAIL_R, 0), 0, 4, false).unwrap(), 0);
    }

    #[test]
    fn a_cra_keeps_the_msb_chain_unless_it_starts_a_sequence() {
        let mut s = PocState::default();
        s.picture_order_count(header(IDR_W_RADL, 0), 0, 4, true).unwrap();
        s.picture_order_count(header(TRAIL_R, 0), 6, 4, false).unwrap();
        s.picture_order_count(header(TRAIL_R, 0), 12, 4, false).unwrap();
        s.picture_order_count(header(TRAIL_R, 0), 15, 4, false).unwrap();
        assert_eq!(s.picture_order_count(header(CRA, 0), 4, 4, false).unwrap(), 20);
        assert_eq!(s.picture_order_count(header(CRA, 0), 4, 4, true).unwrap(), 4);
    }

    #[test]
    fn running_out_of_32_bits_is_an_error_not_an_overflow() {
        let mut s = PocState::default();
        let mut last = Ok(0);
        // Each picture advances by half a cycle of 2^16; 2^31 is reached after 2^16 pictures.
        for i in 0..70_000u32 {
            last = s.picture_order_count(header(TRAIL_R, 0), (i * 32768) % 65536, 16, false);
            if last.is_err() {
                break;
            }
        }
        assert!(last.is_err());
    }
}
