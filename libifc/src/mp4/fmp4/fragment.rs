//! The boxes of one CMAF fragment (ISO/IEC 23000-19): `moof` for one track run, and
//! the `mdat` header that precedes the samples' bytes.

use super::init::TRACK_ID;
use crate::mp4::box_writer::BoxWriter;

/// 14496-12 8.8.7.1 tfhd flag: data offsets are relative to the first byte of the `moof`
/// (CMAF requires it and forbids base-data-offset-present).
const TFHD_DEFAULT_BASE_IS_MOOF: u32 = 0x02_0000;

/// 14496-12 8.8.8.1 trun flags.
const TRUN_DATA_OFFSET: u32 = 0x00_0001;
const TRUN_SAMPLE_DURATION: u32 = 0x00_0100;
const TRUN_SAMPLE_SIZE: u32 = 0x00_0200;
const TRUN_SAMPLE_FLAGS: u32 = 0x00_0400;
const TRUN_SAMPLE_COMPOSITION_OFFSET: u32 = 0x00_0800;

/// 14496-12 8.8.3.1 sample flags: `sample_depends_on` 2 (depends on no other sample), a sync
/// sample.
pub(super) const SAMPLE_FLAGS_SYNC: u32 = 0x0200_0000;
/// `sample_depends_on` 1 (depends on others) and `sample_is_non_sync_sample`.
pub(super) const SAMPLE_FLAGS_NON_SYNC: u32 = 0x0101_0000;

/// One sample's row in the track run (8.8.8.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TrunEntry {
    pub(super) duration: u32,
    pub(super) size: u32,
    pub(super) flags: u32,
    /// Signed: trun version 1.
    pub(super) composition_offset: i32,
}

/// Size of the `mdat` header: 8 bytes, or 16 when the payload needs the 64-bit largesize (4.2).
pub(super) fn mdat_header_len(payload_len: u64) -> u64 {
    if payload_len.saturating_add(8) > u64::from(u32::MAX) {
        16
    } else {
        8
    }
}

/// Writes `moof` + the `mdat` header for samples that follow it back to back.
/// Returns `None` when the `moof` is too large for trun's 32-bit signed data offset.
pub(super) fn write_moof_and_mdat_header(
    sequence_number: u32,
    base_decode_time: u64,
    entries: &[TrunEntry],
    payload_len: u64,
) -> Option<Vec<u8>> {
    let sample_count = u32::try_from(entries.len()).ok()?;
    let mut w = BoxWriter::new();
    let mut data_offset_pos = 0;
    w.plain_box(*b"moof", |w| {
        // 8.8.5 Movie fragment header.
        w.full_box(*b"mfhd", 0, 0, |w| w.u32(sequence_number));
        w.plain_box(*b"traf", |w| {
            w.full_box(*b"tfhd", 0, TFHD_DEFAULT_BASE_IS_MOOF, |w| w.u32(TRACK_ID));
            // 8.8.12 Track fragment decode time, version 1: 64-bit, so it never wraps.
            w.full_box(*b"tfdt", 1, 0, |w| w.u64(base_decode_time));
            let flags = TRUN_DATA_OFFSET
                | TRUN_SAMPLE_DURATION
                | TRUN_SAMPLE_SIZE
                | TRUN_SAMPLE_FLAGS
                | TRUN_SAMPLE_COMPOSITION_OFFSET;
            // 8.8.8 Track fragment run, version 1: signed composition offsets.
            w.full_box(*b"trun", 1, flags, |w| {
                w.u32(sample_count);
                data_offset_pos = w.len();
                w.i32(0); // data_offset, patched once the moof size is known
                for e in entries {
                    w.u32(e.duration);
                    w.u32(e.size);
                    w.u32(e.flags);
                    w.i32(e.composition_offset);
                }
            });
        });
    });
    let moof_len = u64::try_from(w.len()).ok()?;
    let mdat_header_len = mdat_header_len(payload_len);
    // The first sample starts right after the mdat header.
    let data_offset = i32::try_from(moof_len.checked_add(mdat_header_len)?).ok()?;
    w.patch_u32(data_offset_pos, data_offset.unsigned_abs());
    let mdat_len = payload_len.checked_add(mdat_header_len)?;
    if mdat_header_len == 8 {
        w.u32(u32::try_from(mdat_len).ok()?);
        w.bytes(b"mdat");
    } else {
        w.u32(1);
        w.bytes(b"mdat");
        w.u64(mdat_len);
    }
    Some(w.into_bytes())
}
