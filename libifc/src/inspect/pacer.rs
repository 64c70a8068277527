//! Real-time pacing of a recording: each packet is released when as much monotonic time has
//! passed since the first packet as media time has. Sans-IO: the caller passes the time in
//! and sleeps for the answer.

/// Later than this behind schedule (a stall, a suspended process), the schedule restarts from
/// the late packet instead of bursting to catch up.
const MAX_LATE_NS: u64 = 1_000_000_000;

#[derive(Debug, Default)]
pub(super) struct Pacer {
    /// (media time in 90 kHz ticks, clock in ns) of the packet the schedule starts from.
    anchor: Option<(i64, u64)>,
}

impl Pacer {
    /// How long to wait before releasing a packet at `media_90k`, now being `now_ns`.
    pub(super) fn wait_ns(&mut self, media_90k: i64, now_ns: u64) -> u64 {
        let Some((media0, clock0)) = self.anchor else {
            self.anchor = Some((media_90k, now_ns));
            return 0;
        };
        let media_ns = i128::from(media_90k - media0.min(media_90k)) * 1_000_000_000 / 90_000;
        let due_ns = i128::from(clock0) + media_ns;
        let now = i128::from(now_ns);
        if due_ns >= now {
            return u64::try_from(due_ns - now).unwrap_or(u64::MAX);
        }
        if now - due_ns > i128::from(MAX_LATE_NS) {
            self.anchor = Some((media_90k, now_ns));
        }
        0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn releases_packets_on_media_time_and_restarts_after_a_stall() {
        let mut p = Pacer::default();
        assert_eq!(p.wait_ns(9000, 5_000), 0, "the first packet sets the schedule");
        // 40 ms of media later (3600 ticks), 10 ms of clock later: wait 30 ms.
        assert_eq!(p.wait_ns(12_600, 10_005_000), 30_000_000);
        // On time: no wait; a little late: no wait, no restart.
        assert_eq!(p.wait_ns(16_200, 85_005_000), 0);
        // Three seconds late: restart the schedule from this packet.
        assert_eq!(p.wait_ns(19_800, 3_200_000_000), 0);
        assert_eq!(p.wait_ns(23_400, 3_200_000_000), 40_000_000);
        // Media time going back (a damaged stamp) never asks for a negative or huge wait.
        assert_eq!(p.wait_ns(0, 3_300_000_000), 0);
    }
}
