//! The bookkeeping of one NVDEC session, without the driver: which packet each decoded
//! picture came from, the order pictures are displayed in, what a picture's decode status
//! means for it, and how many mapped output surfaces frames still hold.
//!
//! The parser names pictures by decode-surface index (`CurrPicIdx`, reused once a picture has
//! been displayed) and hands back, with each displayed picture, the timestamp it was given with
//! the packet; ifc passes the packet's decode-order index there and keeps the rest here.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use super::sequence_plan::MAX_DECODE_SURFACES;
use crate::decode::{DecodeStats, ErrorPolicy};

/// Packets whose pictures have not been displayed yet are remembered up to this many; older
/// ones (packets that produced no picture) are forgotten first.
const MAX_PENDING_PACKETS: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PacketMeta {
    pub pts_90k: Option<i64>,
    pub is_key: bool,
}

/// What is known about a picture when it is displayed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct DisplayedPicture {
    pub decode_index: Option<u64>,
    pub pts_90k: Option<i64>,
    pub key_frame: bool,
    pub display_index: u64,
}

/// `cuvidGetDecodeStatus` for one picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum PictureStatus {
    Success,
    /// The decoder found damage and could not hide it.
    Error,
    /// The decoder found damage and concealed it.
    Concealed,
    /// Still decoding, or no status (older drivers): treated as success, since mapping waits.
    Unknown,
}

/// What happens to a displayed picture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Disposition {
    Deliver { corrupt: bool },
    Drop,
}

/// Whether the next packet goes to the parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Admission {
    /// Parse it; first send the track's parameter sets when asked (length-prefixed input
    /// carries them in the record, not in band).
    Parse {
        send_parameter_sets: bool,
    },
    Skip,
}

#[derive(Debug)]
pub(super) struct PictureBook {
    policy: ErrorPolicy,
    packets: BTreeMap<u64, PacketMeta>,
    /// Decode-order packet index of the picture last decoded into each surface.
    surfaces: [Option<u64>; MAX_DECODE_SURFACES as usize],
    next_packet_index: u64,
    next_display_index: u64,
    awaiting_key: bool,
    parameter_sets_sent: bool,
    pub stats: DecodeStats,
}

impl PictureBook {
    pub fn new(policy: ErrorPolicy) -> Self {
        Self {
            policy,
            packets: BTreeMap::new(),
            surfaces: [None; MAX_DECODE_SURFACES as usize],
            next_packet_index: 0,
            next_display_index: 0,
            awaiting_key: policy == ErrorPolicy::SkipUntilKeyframe,
            parameter_sets_sent: false,
            stats: DecodeStats::default(),
        }
    }

    /// The stream waits for a key packet (start, or after damage under `SkipUntilKeyframe`).
    pub fn awaiting_key(&self) -> bool {
        self.awaiting_key
    }

    /// Registers a packet; returns its decode-order index and whether to parse it. `is_key`
    /// is the packet's flag or what a look at its NAL units found.
    pub fn admit(&mut self, meta: PacketMeta) -> (u64, Admission) {
        let index = self.next_packet_index;
        self.next_packet_index += 1;
        self.stats.packets_in += 1;
        if self.awaiting_key && !meta.is_key {
            self.stats.skipped_until_keyframe += 1;
            return (index, Admission::Skip);
        }
        self.awaiting_key = false;
        if self.packets.len() >= MAX_PENDING_PACKETS {
            self.packets.pop_first();
        }
        self.packets.insert(index, meta);
        let send_parameter_sets = !self.parameter_sets_sent;
        self.parameter_sets_sent = true;
        (index, Admission::Parse { send_parameter_sets })
    }

    /// The parser decoded packet `packet_index` into surface `surface` (decode callback).
    pub fn decoded(&mut self, surface: i32, packet_index: u64) {
        if let Some(slot) = usize::try_from(surface).ok().and_then(|s| self.surfaces.get_mut(s)) {
            *slot = Some(packet_index);
        }
    }

    /// The parser displays surface `surface`, which came with `timestamp` (the packet index
    /// ifc gave it). Display order is the order of these calls.
    pub fn displayed(&mut self, surface: i32, timestamp: i64) -> DisplayedPicture {
        let from_surface = usize::try_from(surface).ok().and_then(|s| self.surfaces.get(s).copied().flatten());
        let decode_index = u64::try_from(timestamp).ok().or(from_surface);
        let meta = decode_index.and_then(|i| self.packets.remove(&i));
        // Packets older than a displayed one that never showed a picture are done with.
        if let Some(i) = decode_index {
            while self.packets.first_key_value().is_some_and(|(k, _)| *k + MAX_PENDING_PACKETS as u64 <= i) {
                self.packets.pop_first();
            }
        }
        let display_index = self.next_display_index;
        self.next_display_index += 1;
        DisplayedPicture {
            decode_index,
            pts_90k: meta.and_then(|m| m.pts_90k),
            key_frame: meta.is_some_and(|m| m.is_key),
            display_index,
        }
    }

    /// Counts a displayed picture's status and decides its fate under the error policy.
    pub fn judge(&mut self, status: PictureStatus) -> Disposition {
        let corrupt = match status {
            PictureStatus::Success | PictureStatus::Unknown => false,
            PictureStatus::Error => {
                self.stats.decode_errors += 1;
                true
            }
            PictureStatus::Concealed => {
                self.stats.concealed_or_corrupt_frames += 1;
                true
            }
        };
        if corrupt && self.policy == ErrorPolicy::SkipUntilKeyframe {
            self.awaiting_key = true;
            return Disposition::Drop;
        }
        Disposition::Deliver { corrupt }
    }

    /// The parser or decoder refused a packet: counted, and under `SkipUntilKeyframe` the
    /// stream waits for the next key packet.
    pub fn packet_failed(&mut self) {
        self.stats.decode_errors += 1;
        if self.policy == ErrorPolicy::SkipUntilKeyframe {
            self.awaiting_key = true;
        }
    }

    pub fn delivered(&mut self) {
        self.stats.frames_out += 1;
    }

    /// The stream ended (flush): pending packets are gone, the next stream starts at a key
    /// packet and needs its parameter sets again.
    pub fn ended(&mut self) {
        self.packets.clear();
        self.surfaces = [None; MAX_DECODE_SURFACES as usize];
        self.awaiting_key = self.policy == ErrorPolicy::SkipUntilKeyframe;
        self.parameter_sets_sent = false;
    }
}

/// The mapped output surfaces of a session (`ulNumOutputSurfaces`): a frame holds one from
/// `cuvidMapVideoFrame` until it is dropped, possibly on another thread.
#[derive(Debug, Clone)]
pub(super) struct OutputSlots {
    held: Arc<AtomicU32>,
    capacity: u32,
}

/// One held output surface; dropping it frees the slot.
#[derive(Debug)]
pub(super) struct OutputSlot {
    held: Arc<AtomicU32>,
}

impl OutputSlots {
    pub fn new(capacity: u32) -> Self {
        Self { held: Arc::new(AtomicU32::new(0)), capacity }
    }

    /// A slot, or `None` when frames hold every output surface.
    pub fn acquire(&self) -> Option<OutputSlot> {
        self.held
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < self.capacity).then_some(n + 1))
            .ok()
            .map(|_| OutputSlot { held: Arc::clone(&self.held) })
    }

    /// Output surfaces frames hold now (mapped, in the ready queue or with the caller).
    pub fn held(&self) -> u32 {
        self.held.load(Ordering::Acquire)
    }

    pub fn capacity(&self) -> u32 {
        self.capacity
    }
}

impl Drop for OutputSlot {
    fn drop(&mut self) {
        self.held.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(pts: i64) -> PacketMeta {
        PacketMeta { pts_90k: Some(pts), is_key: true }
    }

    fn inter(pts: i64) -> PacketMeta {
        PacketMeta { pts_90k: Some(pts), is_key: false }
    }

    #[test]
    fn the_stream_starts_at_a_key_packet_with_its_parameter_sets() {
        let mut book = PictureBook::new(ErrorPolicy::SkipUntilKeyframe);
        assert_eq!(book.admit(inter(0)), (0, Admission::Skip));
        assert_eq!(book.admit(key(3000)), (1, Admission::Parse { send_parameter_sets: true }));
        assert_eq!(book.admit(inter(6000)), (2, Admission::Parse { send_parameter_sets: false }));
        assert_eq!((book.stats.packets_in, book.stats.skipped_until_keyframe), (3, 1));
    }

    #[test]
    fn conceal_decodes_from_the_first_packet() {
        let mut book = PictureBook::new(ErrorPolicy::Conceal);
        assert_eq!(book.admit(inter(0)).1, Admission::Parse { send_parameter_sets: true });
    }

    #[test]
    fn reordered_pictures_keep_their_packets_pts_and_come_out_in_display_order() {
        // I0 P3 B1 B2 in decode order (packets 0..4), displayed I0 B1 B2 P3.
        let mut book = PictureBook::new(ErrorPolicy::SkipUntilKeyframe);
        for (surface, meta) in [key(0), inter(9000), inter(3000), inter(6000)].into_iter().enumerate() {
            let (index, _) = book.admit(meta);
            book.decoded(surface as i32, index);
        }
        let shown: Vec<DisplayedPicture> = [(0, 0), (2, 2), (3, 3), (1, 1)]
            .into_iter()
            .map(|(surface, timestamp)| book.displayed(surface, timestamp))
            .collect();
        let pts: Vec<_> = shown.iter().map(|p| p.pts_90k).collect();
        assert_eq!(pts, [Some(0), Some(3000), Some(6000), Some(9000)]);
        let order: Vec<_> = shown.iter().map(|p| (p.display_index, p.decode_index)).collect();
        assert_eq!(order, [(0, Some(0)), (1, Some(2)), (2, Some(3)), (3, Some(1))]);
        assert!(shown[0].key_frame && !shown[3].key_frame);
        assert!(book.packets.is_empty(), "displayed packets are forgotten");
    }

    #[test]
    fn a_picture_without_a_timestamp_is_found_by_its_surface() {
        let mut book = PictureBook::new(ErrorPolicy::Conceal);
        let (index, _) = book.admit(key(4500));
        book.decoded(5, index);
        let shown = book.displayed(5, -1);
        assert_eq!((shown.decode_index, shown.pts_90k), (Some(index), Some(4500)));
    }

    #[test]
    fn packets_that_never_show_a_picture_are_not_kept_forever() {
        let mut book = PictureBook::new(ErrorPolicy::Conceal);
        for pts in 0..1000 {
            book.admit(inter(pts));
        }
        assert!(book.packets.len() <= MAX_PENDING_PACKETS);
        book.displayed(0, 999);
        assert!(book.packets.len() < MAX_PENDING_PACKETS);
    }

    #[test]
    fn errors_and_concealed_errors_are_counted_apart() {
        let mut book = PictureBook::new(ErrorPolicy::Conceal);
        assert_eq!(book.judge(PictureStatus::Success), Disposition::Deliver { corrupt: false });
        assert_eq!(book.judge(PictureStatus::Error), Disposition::Deliver { corrupt: true });
        assert_eq!(book.judge(PictureStatus::Concealed), Disposition::Deliver { corrupt: true });
        assert_eq!(book.judge(PictureStatus::Concealed), Disposition::Deliver { corrupt: true });
        assert_eq!((book.stats.decode_errors, book.stats.concealed_or_corrupt_frames), (1, 2));
    }

    #[test]
    fn damage_under_skip_until_keyframe_drops_the_picture_and_waits_for_a_key_packet() {
        let mut book = PictureBook::new(ErrorPolicy::SkipUntilKeyframe);
        book.admit(key(0));
        assert_eq!(book.judge(PictureStatus::Concealed), Disposition::Drop);
        assert_eq!(book.admit(inter(3000)).1, Admission::Skip);
        assert_eq!(book.admit(key(6000)).1, Admission::Parse { send_parameter_sets: false });
        book.packet_failed();
        assert_eq!(book.admit(inter(9000)).1, Admission::Skip);
        assert_eq!(book.stats.decode_errors, 1);
    }

    #[test]
    fn after_the_end_of_a_stream_the_next_starts_afresh() {
        let mut book = PictureBook::new(ErrorPolicy::SkipUntilKeyframe);
        book.admit(key(0));
        book.admit(inter(3000));
        book.ended();
        assert_eq!(book.admit(inter(6000)).1, Admission::Skip);
        assert_eq!(book.admit(key(9000)).1, Admission::Parse { send_parameter_sets: true });
    }

    #[test]
    fn output_slots_are_freed_when_frames_drop_on_any_thread() {
        let slots = OutputSlots::new(2);
        let a = slots.acquire().expect("first slot");
        let b = slots.acquire().expect("second slot");
        assert!(slots.acquire().is_none(), "every output surface is held");
        std::thread::spawn(move || drop(a)).join().expect("thread ran");
        assert_eq!(slots.held(), 1);
        let c = slots.acquire().expect("a freed slot");
        drop((b, c));
        assert_eq!(slots.held(), 0);
    }
}
