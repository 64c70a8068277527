//! Movie fragments (ISO/IEC 14496-12 8.8): `mvex/trex` defaults, then per `moof` its `traf`s
//! (`tfhd`, `tfdt`, `trun`s), whose samples are appended to their tracks in file order.

use bytes::Bytes;

use super::{SampleBudget, Track};
use crate::error::{ParseError, Result};
use crate::mp4::box_reader::{checked_slice, child_path, BoxHeader, Reader};
use crate::mp4::Sample;

/// `trex` (8.8.3): a track's defaults for fragment samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct TrackExtends {
    sample_description_index: u32,
    sample_duration: u32,
    sample_size: u32,
    sample_flags: u32,
}

// tfhd flags (8.8.7.1).
const TFHD_BASE_DATA_OFFSET: u32 = 0x00_0001;
const TFHD_SAMPLE_DESCRIPTION_INDEX: u32 = 0x00_0002;
const TFHD_DEFAULT_DURATION: u32 = 0x00_0008;
const TFHD_DEFAULT_SIZE: u32 = 0x00_0010;
const TFHD_DEFAULT_FLAGS: u32 = 0x00_0020;
const TFHD_DURATION_IS_EMPTY: u32 = 0x01_0000;
const TFHD_DEFAULT_BASE_IS_MOOF: u32 = 0x02_0000;

// trun flags (8.8.8.1).
const TRUN_DATA_OFFSET: u32 = 0x00_0001;
const TRUN_FIRST_SAMPLE_FLAGS: u32 = 0x00_0004;
const TRUN_DURATION: u32 = 0x00_0100;
const TRUN_SIZE: u32 = 0x00_0200;
const TRUN_FLAGS: u32 = 0x00_0400;
const TRUN_COMPOSITION_OFFSET: u32 = 0x00_0800;

/// Sample flags (8.8.3.1): `sample_is_non_sync_sample`.
const SAMPLE_IS_NON_SYNC: u32 = 0x0001_0000;
/// Sample flags: the `sample_depends_on` field, and its value 1, "depends on others (not an
/// I picture)".
const SAMPLE_DEPENDS_ON_MASK: u32 = 0x0300_0000;
const SAMPLE_DEPENDS_ON_OTHERS: u32 = 0x0100_0000;

/// A sample is a sync sample unless its flags say it is not, or that it depends on other
/// samples (which ffmpeg also reads as "not a keyframe").
fn is_sync(sample_flags: u32) -> bool {
    sample_flags & SAMPLE_IS_NON_SYNC == 0 && sample_flags & SAMPLE_DEPENDS_ON_MASK != SAMPLE_DEPENDS_ON_OTHERS
}

/// `mvex` (8.8.1): one `trex` per track; marks those tracks fragmented.
pub(super) fn read_mvex(data: &[u8], mvex: &BoxHeader, tracks: &mut [Track]) -> Result<()> {
    let reader = Reader::payload(data, mvex, "moov.mvex");
    for (index, trex) in reader.children().filter(|c| c.as_ref().map_or(true, |c| c.box_type == *b"trex")).enumerate() {
        let trex = trex?;
        let path = format!("moov.mvex.trex[{index}]");
        let mut r = Reader::payload(data, &trex, &path);
        r.version_and_flags()?;
        let id_at = r.clone();
        let track_id = r.u32()?;
        let defaults = TrackExtends {
            sample_description_index: r.u32()?,
            sample_duration: r.u32()?,
            sample_size: r.u32()?,
            sample_flags: r.u32()?,
        };
        let track = tracks
            .iter_mut()
            .find(|t| t.info.track_id == track_id)
            .ok_or_else(|| id_at.invalid(format!("track_id {track_id} has no trak")))?;
        track.trex = Some(defaults);
        track.info.fragmented = true;
    }
    Ok(())
}

/// `moof` (8.8.4): `mfhd` and the `traf`s, in order.
pub(super) fn read_moof(
    file: &Bytes,
    moof: &BoxHeader,
    moof_index: usize,
    tracks: &mut [Track],
    budget: &mut SampleBudget,
) -> Result<()> {
    let data: &[u8] = file;
    let path = format!("moof[{moof_index}]");
    // 8.8.7.1: without an explicit base, the first traf's data starts at the moof, and each
    // later traf's where the previous traf's data ended.
    let mut implicit_base = moof.start as u64;
    let mut traf_index = 0;
    for child in Reader::payload(data, moof, &path).children() {
        let child = child?;
        match &child.box_type {
            b"mfhd" => {
                // 8.8.5: only the sequence number, which ordering in the file makes redundant.
                let mfhd_path = child_path(&path, "mfhd");
                let mut r = Reader::payload(data, &child, &mfhd_path);
                r.version_and_flags()?;
                r.u32()?;
            }
            b"traf" => {
                let traf_path = format!("{path}.traf[{traf_index}]");
                let traf = Traf { file, header: &child, path: &traf_path, moof_start: moof.start as u64 };
                implicit_base = traf.read(implicit_base, tracks, budget)?;
                traf_index += 1;
            }
            _ => {}
        }
    }
    Ok(())
}

/// One `traf` (8.8.6) being read.
struct Traf<'a> {
    file: &'a Bytes,
    header: &'a BoxHeader,
    path: &'a str,
    moof_start: u64,
}

/// The defaults that apply to the samples of one `traf`.
#[derive(Debug, Clone, Copy)]
struct SampleDefaults {
    duration: u32,
    size: u32,
    flags: u32,
}

impl Traf<'_> {
    /// Appends this traf's samples to its track; returns where its data ended.
    fn read(&self, implicit_base: u64, tracks: &mut [Track], budget: &mut SampleBudget) -> Result<u64> {
        let data: &[u8] = self.file;
        let reader = Reader::payload(data, self.header, self.path);
        let [tfhd, tfdt] = reader.find_children([b"tfhd", b"tfdt"])?;
        let tfhd =
            tfhd.ok_or_else(|| ParseError::missing(self.path, "tfhd box").at_offset(self.header.start as u64))?;
        let tfhd_path = child_path(self.path, "tfhd");
        let mut r = Reader::payload(data, &tfhd, &tfhd_path);
        let (_, flags) = r.version_and_flags()?;
        let id_at = r.clone();
        let track_id = r.u32()?;
        let track = tracks
            .iter_mut()
            .find(|t| t.info.track_id == track_id)
            .ok_or_else(|| id_at.invalid(format!("track_id {track_id} has no trak")))?;
        let trex = track.trex.ok_or_else(|| id_at.invalid(format!("track {track_id} has no trex in moov.mvex")))?;

        let base = if flags & TFHD_BASE_DATA_OFFSET != 0 {
            r.u64()?
        } else if flags & TFHD_DEFAULT_BASE_IS_MOOF != 0 {
            self.moof_start
        } else {
            implicit_base
        };
        let index_at = r.clone();
        let description_index =
            if flags & TFHD_SAMPLE_DESCRIPTION_INDEX != 0 { r.u32()? } else { trex.sample_description_index };
        if description_index == 0 || description_index > track.sample_description_count {
            let msg =
                format!("sample_description_index {description_index}, stsd has {}", track.sample_description_count);
            return Err(index_at.invalid(msg));
        }
        let mut field_or = |flag: u32, default: u32| if flags & flag != 0 { r.u32() } else { Ok(default) };
        let defaults = SampleDefaults {
            duration: field_or(TFHD_DEFAULT_DURATION, trex.sample_duration)?,
            size: field_or(TFHD_DEFAULT_SIZE, trex.sample_size)?,
            flags: field_or(TFHD_DEFAULT_FLAGS, trex.sample_flags)?,
        };

        if let Some(tfdt) = tfdt {
            // 8.8.12: the decode time of this traf's first sample.
            let tfdt_path = child_path(self.path, "tfdt");
            let mut r = Reader::payload(data, &tfdt, &tfdt_path);
            let (version, _) = r.version_and_flags()?;
            let time_at = r.clone();
            let decode_time = r.u32_or_u64(version)?;
            track.next_dts = i64::try_from(decode_time)
                .map_err(|_| time_at.invalid(format!("baseMediaDecodeTime {decode_time} overflows")))?;
        }

        let runs = reader.children().filter(|c| c.as_ref().map_or(true, |c| c.box_type == *b"trun"));
        let mut data_pos = base;
        for (index, trun) in runs.enumerate() {
            let trun = trun?;
            let trun_path = format!("{}.trun[{index}]", self.path);
            let mut r = Reader::payload(data, &trun, &trun_path);
            if flags & TFHD_DURATION_IS_EMPTY != 0 {
                return Err(r.invalid("a trun in a traf whose tfhd says duration-is-empty"));
            }
            data_pos = read_trun(self.file, &mut r, base, data_pos, defaults, track, budget)?;
        }
        if flags & TFHD_DURATION_IS_EMPTY != 0 {
            // 8.8.7.1: no samples for this interval; the timeline still moves on by its duration.
            let dts_at = Reader::payload(data, &tfhd, &tfhd_path);
            track.next_dts = track
                .next_dts
                .checked_add(i64::from(defaults.duration))
                .ok_or_else(|| dts_at.invalid("decode times overflow"))?;
        }
        Ok(data_pos)
    }
}

/// `trun` (8.8.8): appends its samples to `track`; returns where its data ended. Data starts
/// at `base` + data_offset, or, without data_offset, where the previous run's data ended.
fn read_trun(
    file: &Bytes,
    r: &mut Reader<'_>,
    base: u64,
    previous_end: u64,
    defaults: SampleDefaults,
    track: &mut Track,
    budget: &mut SampleBudget,
) -> Result<u64> {
    let (_version, flags) = r.version_and_flags()?;
    let count_at = r.clone();
    let sample_count = r.u32()?;
    let offset_at = r.clone();
    let mut pos = if flags & TRUN_DATA_OFFSET != 0 {
        let data_offset = r.i32()?;
        base.checked_add_signed(i64::from(data_offset))
            .ok_or_else(|| offset_at.invalid(format!("data_offset {data_offset} points before the file")))?
    } else {
        previous_end
    };
    let first_sample_flags = if flags & TRUN_FIRST_SAMPLE_FLAGS != 0 { Some(r.u32()?) } else { None };
    let per_sample_fields = flags & (TRUN_DURATION | TRUN_SIZE | TRUN_FLAGS | TRUN_COMPOSITION_OFFSET);
    let per_sample_len = 4 * per_sample_fields.count_ones() as usize;
    if per_sample_len > 0 {
        r.check_entries(sample_count, per_sample_len)?;
    }
    // Without per-sample fields nothing in the trun backs the count: each sample's data does.
    let bytes_each = if per_sample_len > 0 { per_sample_len as u64 } else { u64::from(defaults.size) };
    let count = budget.take(u64::from(sample_count), bytes_each, &count_at)?;
    track.samples.reserve(count);
    for index in 0..count {
        let entry_at = r.clone();
        let field_or =
            |r: &mut Reader<'_>, flag: u32, default: u32| if flags & flag != 0 { r.u32() } else { Ok(default) };
        let duration = field_or(r, TRUN_DURATION, defaults.duration)?;
        let size = field_or(r, TRUN_SIZE, defaults.size)?;
        let sample_flags_default = match (index, first_sample_flags) {
            (0, Some(first)) => first,
            _ => defaults.flags,
        };
        let sample_flags = field_or(r, TRUN_FLAGS, sample_flags_default)?;
        // Version 1 offsets are signed; version 0 ones are read as signed too (see the ctts
        // note in sample_table.rs): writers put negative offsets there.
        let cts_offset = field_or(r, TRUN_COMPOSITION_OFFSET, 0)? as i32;

        let end = pos.checked_add(u64::from(size)).filter(|&end| end <= file.len() as u64);
        let data = end.and_then(|end| checked_slice(file, pos as usize, end as usize)).ok_or_else(|| {
            let msg =
                format!("sample {index} ({size} bytes at {pos}) ends past the end of the file ({} bytes)", file.len());
            entry_at.invalid(msg)
        })?;
        let dts = track.next_dts;
        track.next_dts =
            dts.checked_add(i64::from(duration)).ok_or_else(|| entry_at.invalid("decode times overflow"))?;
        let sample = Sample { data, dts, cts_offset, duration, is_sync: is_sync(sample_flags) };
        if sample.checked_end().is_none() {
            let msg = format!("sample {index} ends past the largest time (dts {dts} + {cts_offset} + {duration})");
            return Err(entry_at.invalid(msg));
        }
        track.samples.push(sample);
        pos += u64::from(size);
    }
    Ok(pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_follows_the_non_sync_bit_and_depends_on() {
        assert!(is_sync(0x0200_0000)); // depends on no other sample: an I picture
        assert!(is_sync(0)); // nothing said
        assert!(!is_sync(0x0001_0000)); // sample_is_non_sync_sample
        assert!(!is_sync(0x0100_0000)); // depends on others, as ffmpeg reads it too
        assert!(!is_sync(0x0101_0000));
    }
}
