//! Sequence-number and timestamp bookkeeping of one RTP stream.
//!
//! Sequence numbers follow RFC 3550 Appendix A.1 (`MAX_DROPOUT` 3000, `MAX_MISORDER` 100),
//! with one change: a large jump is taken as a restart at once instead of after two
//! sequential packets, since the RTSP client's transport (TCP interleaved) neither reorders nor
//! corrupts packets, and waiting would throw away the first packet of the restarted stream.

/// A jump forward of this many packets or more is a restart, not a loss.
pub const MAX_DROPOUT: u16 = 3000;
/// A packet up to this many behind the expected one is late or a duplicate.
pub const MAX_MISORDER: u16 = 100;

/// Where a packet's sequence number puts it relative to the previous packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SequenceStep {
    /// The first packet seen.
    First,
    /// The expected next packet.
    InOrder,
    /// This many packets are missing before this one.
    Gap(u16),
    /// Behind the expected packet: late or a duplicate; to be dropped.
    Old,
    /// A jump too large to be loss: the sender restarted its numbering.
    Restart,
    /// A new synchronization source: numbering starts afresh.
    NewSsrc,
}

#[derive(Debug, Default)]
pub(super) struct SequenceTracker {
    /// SSRC and expected next sequence number, once a packet has been seen.
    state: Option<(u32, u16)>,
}

impl SequenceTracker {
    pub(super) fn step(&mut self, ssrc: u32, seq: u16) -> SequenceStep {
        let next = seq.wrapping_add(1);
        let step = match self.state {
            None => SequenceStep::First,
            Some((known_ssrc, _)) if known_ssrc != ssrc => SequenceStep::NewSsrc,
            Some((_, expected)) => match seq.wrapping_sub(expected) {
                0 => SequenceStep::InOrder,
                delta if delta < MAX_DROPOUT => SequenceStep::Gap(delta),
                delta if delta > u16::MAX - MAX_MISORDER => return SequenceStep::Old,
                _ => SequenceStep::Restart,
            },
        };
        self.state = Some((ssrc, next));
        step
    }
}

/// Extends 32-bit RTP timestamps to 64 bits: each one is placed nearest to the previous
/// (within ±2³¹ ticks, 6.6 hours at 90 kHz), so a wrap past `u32::MAX` keeps counting up and
/// the backward steps of reordered (B) pictures stay small steps back.
#[derive(Debug, Default)]
pub(super) struct TimestampUnwrapper {
    last: Option<i64>,
}

impl TimestampUnwrapper {
    pub(super) fn extend(&mut self, rtp_timestamp: u32) -> i64 {
        let extended = match self.last {
            None => i64::from(rtp_timestamp),
            // Truncating `prev` keeps its low 32 bits, the value it had on the wire.
            Some(prev) => prev + i64::from(rtp_timestamp.wrapping_sub(prev as u32) as i32),
        };
        self.last = Some(extended);
        extended
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequence_wraps_from_65535_to_0_in_order() {
        let mut t = SequenceTracker::default();
        assert_eq!(t.step(1, 65534), SequenceStep::First);
        assert_eq!(t.step(1, 65535), SequenceStep::InOrder);
        assert_eq!(t.step(1, 0), SequenceStep::InOrder);
        assert_eq!(t.step(1, 2), SequenceStep::Gap(1));
    }

    #[test]
    fn gap_across_the_wrap_counts_the_missing_packets() {
        let mut t = SequenceTracker::default();
        t.step(1, 65533);
        assert_eq!(t.step(1, 3), SequenceStep::Gap(5));
    }

    #[test]
    fn duplicate_and_late_packets_are_old_and_leave_the_expectation() {
        let mut t = SequenceTracker::default();
        t.step(1, 10);
        t.step(1, 11);
        assert_eq!(t.step(1, 11), SequenceStep::Old);
        assert_eq!(t.step(1, 5), SequenceStep::Old);
        assert_eq!(t.step(1, 12), SequenceStep::InOrder);
    }

    #[test]
    fn jump_of_max_dropout_or_far_back_is_a_restart() {
        let mut t = SequenceTracker::default();
        t.step(1, 100);
        assert_eq!(t.step(1, 101 + 2999), SequenceStep::Gap(2999));
        assert_eq!(t.step(1, 3101 + 3000), SequenceStep::Restart);
        assert_eq!(t.step(1, 6102), SequenceStep::InOrder);
        assert_eq!(t.step(1, 6103 - 101), SequenceStep::Restart, "101 behind is beyond MAX_MISORDER");
    }

    #[test]
    fn new_ssrc_restarts_numbering() {
        let mut t = SequenceTracker::default();
        t.step(1, 100);
        assert_eq!(t.step(2, 7), SequenceStep::NewSsrc);
        assert_eq!(t.step(2, 8), SequenceStep::InOrder);
    }

    #[test]
    fn timestamps_unwrap_past_u32_max_and_step_back_for_b_pictures() {
        let mut u = TimestampUnwrapper::default();
        let base = u32::MAX - 3600;
        assert_eq!(u.extend(base), i64::from(base));
        assert_eq!(u.extend(base.wrapping_add(10_800)), i64::from(base) + 10_800);
        assert_eq!(u.extend(base.wrapping_add(3600)), i64::from(base) + 3600);
        assert_eq!(u.extend(base.wrapping_add(7200)), i64::from(base) + 7200);
        assert_eq!(u.extend(3), i64::from(u32::MAX) + 4);
    }

    #[test]
    fn timestamp_backward_across_the_wrap_goes_below_the_first_value() {
        let mut u = TimestampUnwrapper::default();
        assert_eq!(u.extend(100), 100);
        assert_eq!(u.extend(u32::MAX - 99), -100);
    }
}
