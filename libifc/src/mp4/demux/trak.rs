//! One `trak` (ISO/IEC 14496-12 8.3.1): `tkhd`, `edts/elst`, `mdia` (`mdhd`, `hdlr`,
//! `minf/stbl`). Children are found by type, so their order inside each container does not
//! matter; a mandatory box that is absent is a `Missing` error naming its parent.

use bytes::Bytes;

use super::{sample_entry, sample_table, SampleBudget, Track, TrackInfo};
use crate::error::{ParseError, Result};
use crate::mp4::box_reader::{child_path, BoxHeader, Reader};

pub(super) fn read_trak(file: &Bytes, trak: &BoxHeader, path: &str, budget: &mut SampleBudget) -> Result<Track> {
    let data: &[u8] = file;
    let [tkhd, edts, mdia] = Reader::payload(data, trak, path).find_children([b"tkhd", b"edts", b"mdia"])?;
    let tkhd_path = child_path(path, "tkhd");
    let tkhd = require(tkhd, path, "tkhd", trak)?;
    let track_id = read_tkhd(&mut Reader::payload(data, &tkhd, &tkhd_path))?;

    let edit_media_time = match edts {
        Some(edts) => {
            let edts_path = child_path(path, "edts");
            let [elst] = Reader::payload(data, &edts, &edts_path).find_children([b"elst"])?;
            match elst {
                Some(elst) => read_elst(&mut Reader::payload(data, &elst, &child_path(&edts_path, "elst")))?,
                None => None,
            }
        }
        None => None,
    };

    let mdia_path = child_path(path, "mdia");
    let mdia = require(mdia, path, "mdia", trak)?;
    let [mdhd, hdlr, minf] = Reader::payload(data, &mdia, &mdia_path).find_children([b"mdhd", b"hdlr", b"minf"])?;
    let mdhd = require(mdhd, &mdia_path, "mdhd", &mdia)?;
    let (timescale, duration) = read_mdhd(&mut Reader::payload(data, &mdhd, &child_path(&mdia_path, "mdhd")))?;
    let hdlr = require(hdlr, &mdia_path, "hdlr", &mdia)?;
    let handler = read_hdlr(&mut Reader::payload(data, &hdlr, &child_path(&mdia_path, "hdlr")))?;

    let minf_path = child_path(&mdia_path, "minf");
    let minf = require(minf, &mdia_path, "minf", &mdia)?;
    let [stbl] = Reader::payload(data, &minf, &minf_path).find_children([b"stbl"])?;
    let stbl_path = child_path(&minf_path, "stbl");
    let stbl = require(stbl, &minf_path, "stbl", &minf)?;
    let [stsd] = Reader::payload(data, &stbl, &stbl_path).find_children([b"stsd"])?;
    let stsd = require(stsd, &stbl_path, "stsd", &stbl)?;
    let stsd_path = child_path(&stbl_path, "stsd");
    let (entry, sample_description_count) = sample_entry::read_stsd(file, &stsd, &stsd_path, handler == *b"vide")?;
    let samples = sample_table::read_samples(file, &stbl, &stbl_path, sample_description_count, budget)?;

    let next_dts = match samples.last() {
        Some(last) => last.dts.checked_add(i64::from(last.duration)).ok_or_else(|| {
            ParseError::invalid(child_path(&stbl_path, "stts"), "decode times overflow").at_offset(stbl.start as u64)
        })?,
        None => 0,
    };
    let info = TrackInfo {
        track_id,
        handler,
        timescale,
        duration,
        sample_entry: entry.fourcc,
        codec: entry.codec,
        width: entry.width,
        height: entry.height,
        config_record: entry.config_record,
        pixel_aspect: entry.pixel_aspect,
        colour: entry.colour,
        bitrate: entry.bitrate,
        sample_count: samples.len() as u64,
        edit_media_time,
        fragmented: false,
    };
    Ok(Track { info, samples, sample_description_count, next_dts, trex: None })
}

fn require(found: Option<BoxHeader>, parent_path: &str, name: &str, parent: &BoxHeader) -> Result<BoxHeader> {
    found.ok_or_else(|| ParseError::missing(parent_path, format!("{name} box")).at_offset(parent.start as u64))
}

/// `tkhd` (8.3.2): the track_id, which fragments refer to.
fn read_tkhd(r: &mut Reader<'_>) -> Result<u32> {
    let (version, _flags) = r.version_and_flags()?;
    r.u32_or_u64(version)?; // creation_time
    r.u32_or_u64(version)?; // modification_time
    let id_at = r.clone();
    let track_id = r.u32()?;
    if track_id == 0 {
        return Err(id_at.invalid("track_id 0"));
    }
    Ok(track_id)
}

/// `elst` (8.6.6): the media_time of the first edit that is not empty (media_time -1 marks an
/// empty edit, a gap before the media starts).
fn read_elst(r: &mut Reader<'_>) -> Result<Option<i64>> {
    let (version, _flags) = r.version_and_flags()?;
    let entry_len = if version == 1 { 20 } else { 12 };
    let count = r.entry_count(entry_len)?;
    for _ in 0..count {
        let media_time = if version == 1 {
            r.u64()?; // segment_duration
            r.i64()?
        } else {
            r.u32()?;
            i64::from(r.i32()?)
        };
        r.u32()?; // media_rate_integer, media_rate_fraction
        if media_time != -1 {
            return Ok(Some(media_time));
        }
    }
    Ok(None)
}

/// `mdhd` (8.4.2): timescale (never 0: every duration is divided by it) and duration, whose
/// all-ones value means "unknown".
fn read_mdhd(r: &mut Reader<'_>) -> Result<(u32, Option<u64>)> {
    let (version, _flags) = r.version_and_flags()?;
    r.u32_or_u64(version)?; // creation_time
    r.u32_or_u64(version)?; // modification_time
    let timescale_at = r.clone();
    let timescale = r.u32()?;
    if timescale == 0 {
        return Err(timescale_at.invalid("timescale 0"));
    }
    let duration = r.u32_or_u64(version)?;
    let unknown = if version == 1 { u64::MAX } else { u64::from(u32::MAX) };
    r.u32()?; // language, pre_defined
    Ok((timescale, (duration != unknown).then_some(duration)))
}

/// `hdlr` (8.4.3): the handler type.
fn read_hdlr(r: &mut Reader<'_>) -> Result<[u8; 4]> {
    r.version_and_flags()?;
    r.u32()?; // pre_defined
    r.fourcc()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mp4::demux::test_file::{full_box, words};

    fn reader_over(bytes: &[u8]) -> Reader<'_> {
        // Skip the 8-byte box header: the readers start at the full box's version.
        Reader::new(bytes, 8, bytes.len(), "box")
    }

    #[test]
    fn elst_skips_empty_edits_in_both_versions() {
        let v0 = full_box(b"elst", 0, 0, &words(&[2, 100, u32::MAX, 0x1_0000, 100, 1024, 0x1_0000]));
        assert_eq!(read_elst(&mut reader_over(&v0)).expect("v0"), Some(1024));
        let mut body = words(&[1]);
        body.extend_from_slice(&1000u64.to_be_bytes());
        body.extend_from_slice(&(-1i64).to_be_bytes());
        body.extend_from_slice(&words(&[0x1_0000]));
        let only_empty = full_box(b"elst", 1, 0, &body);
        assert_eq!(read_elst(&mut reader_over(&only_empty)).expect("v1"), None);
    }

    #[test]
    fn mdhd_v1_reads_64_bit_fields_and_all_ones_is_unknown() {
        let mut body = vec![0; 16];
        body.extend_from_slice(&words(&[90_000]));
        body.extend_from_slice(&(1u64 << 33).to_be_bytes());
        body.extend_from_slice(&[0x55, 0xc4, 0, 0]);
        let mdhd = full_box(b"mdhd", 1, 0, &body);
        assert_eq!(read_mdhd(&mut reader_over(&mdhd)).expect("v1"), (90_000, Some(1 << 33)));
        let unknown = full_box(b"mdhd", 0, 0, &words(&[0, 0, 600, u32::MAX, 0]));
        assert_eq!(read_mdhd(&mut reader_over(&unknown)).expect("v0"), (600, None));
    }

    #[test]
    fn tkhd_track_id_zero_is_invalid() {
        let tkhd = full_box(b"tkhd", 0, 3, &words(&[0, 0, 0, 0, 0]));
        let err = read_tkhd(&mut reader_over(&tkhd)).expect_err("track_id 0");
        assert_eq!((err.at.as_str(), err.offset), ("box", Some(20)));
    }
}
