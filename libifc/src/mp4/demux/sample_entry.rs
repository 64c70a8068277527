//! `stsd` (ISO/IEC 14496-12 8.5.2) and the visual sample entry (12.1.3) with the child boxes
//! ifc uses: `avcC` / `hvcC` (ISO/IEC 14496-15 5.4.2, 8.4.1), `btrt` (8.5.2.2), `pasp` and
//! `colr` (12.1.4, 12.1.5).

use bytes::Bytes;

use crate::codec::{Codec, ColourDescription};
use crate::error::{ParseError, Result};
use crate::mp4::box_reader::{checked_slice, child_path, fourcc_str, BoxHeader, FourCc, Reader};

/// `btrt`: the stream's buffer size and bit rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BitRate {
    pub buffer_size_bytes: u32,
    pub max_bits_per_s: u32,
    pub avg_bits_per_s: u32,
}

/// What the first sample entry of a track says.
#[derive(Debug, Default)]
pub(super) struct SampleEntry {
    pub fourcc: FourCc,
    pub codec: Option<Codec>,
    pub width: u16,
    pub height: u16,
    pub config_record: Option<Bytes>,
    pub pixel_aspect: Option<(u32, u32)>,
    pub colour: Option<ColourDescription>,
    pub bitrate: Option<BitRate>,
}

/// SampleEntry (8 bytes) + VisualSampleEntry fields (70 bytes) before the child boxes.
const VISUAL_SAMPLE_ENTRY_LEN: usize = 78;

/// Reads `stsd`; returns its first entry and the number of entries. `visual`: the track's
/// handler is `vide`, so entries have the VisualSampleEntry layout.
pub(super) fn read_stsd(file: &Bytes, stsd: &BoxHeader, path: &str, visual: bool) -> Result<(SampleEntry, u32)> {
    let data: &[u8] = file;
    let mut r = Reader::payload(data, stsd, path);
    r.version_and_flags()?;
    let count_at = r.clone();
    // Every entry is a box of at least 8 bytes.
    let entry_count = r.entry_count(8)?;
    let mut first = None;
    let mut seen = 0;
    for entry in r.children().take(entry_count) {
        let entry = entry?;
        if seen == 0 {
            let entry_path = child_path(path, &fourcc_str(entry.box_type));
            first = Some(if visual || video_codec(entry.box_type).is_some() {
                read_visual_entry(file, &entry, &entry_path)?
            } else {
                SampleEntry { fourcc: entry.box_type, ..SampleEntry::default() }
            });
        }
        seen += 1;
    }
    if seen < entry_count {
        return Err(count_at.invalid(format!("entry_count {entry_count}, but the box holds {seen} entries")));
    }
    let first = first.ok_or_else(|| ParseError::missing(path, "sample entry").at_offset(count_at.offset() as u64))?;
    Ok((first, entry_count as u32))
}

/// The codec of an H.264 / H.265 sample entry type (ISO/IEC 14496-15 5.4, 8.4), and the type
/// of the box holding its decoder configuration record.
fn video_codec(fourcc: FourCc) -> Option<(Codec, &'static FourCc)> {
    match &fourcc {
        b"avc1" | b"avc3" => Some((Codec::H264, b"avcC")),
        b"hvc1" | b"hev1" => Some((Codec::H265, b"hvcC")),
        _ => None,
    }
}

fn read_visual_entry(file: &Bytes, entry: &BoxHeader, path: &str) -> Result<SampleEntry> {
    let data: &[u8] = file;
    let mut r = Reader::payload(data, entry, path);
    r.skip(6 + 2 + 16)?; // reserved, data_reference_index, pre_defined and reserved fields
    let width = r.u16()?;
    let height = r.u16()?;
    r.skip(VISUAL_SAMPLE_ENTRY_LEN - 28)?; // resolutions, frame_count, compressorname, depth
    let fourcc = entry.box_type;
    let (codec, record_type) = video_codec(fourcc).unzip();
    let mut out = SampleEntry { fourcc, codec, width, height, ..SampleEntry::default() };
    for child in r.children().allowing_short_tail() {
        let child = child?;
        let child_path = child_path(path, &fourcc_str(child.box_type));
        let mut c = Reader::payload(data, &child, &child_path);
        match &child.box_type {
            t if Some(t) == record_type && out.config_record.is_none() => {
                let record = checked_slice(file, child.payload_start, child.end);
                out.config_record = Some(record.ok_or_else(|| c.truncated())?);
            }
            b"btrt" => {
                let buffer_size_bytes = c.u32()?;
                let max_bits_per_s = c.u32()?;
                let avg_bits_per_s = c.u32()?;
                out.bitrate = Some(BitRate { buffer_size_bytes, max_bits_per_s, avg_bits_per_s });
            }
            b"pasp" => out.pixel_aspect = Some((c.u32()?, c.u32()?)),
            b"colr" => out.colour = out.colour.or(read_colr(&mut c)?),
            _ => {}
        }
    }
    Ok(out)
}

/// `colr`: `nclx` carries H.273 code points and a range flag; QuickTime's `nclc` the same
/// without the flag. ICC profiles (`rICC`, `prof`) describe no code points and give `None`,
/// as do code points that do not fit H.273's 8-bit range.
fn read_colr(r: &mut Reader<'_>) -> Result<Option<ColourDescription>> {
    let colour_type = r.fourcc()?;
    if colour_type != *b"nclx" && colour_type != *b"nclc" {
        return Ok(None);
    }
    let primaries = r.u16()?;
    let transfer = r.u16()?;
    let matrix = r.u16()?;
    let full_range = colour_type == *b"nclx" && r.u8()? & 0x80 != 0;
    let (Ok(primaries), Ok(transfer), Ok(matrix)) = (primaries.try_into(), transfer.try_into(), matrix.try_into())
    else {
        return Ok(None);
    };
    Ok(Some(ColourDescription { primaries, transfer, matrix, full_range }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mp4::box_reader::Children;
    use crate::mp4::demux::test_file::{avc1_entry, full_box, mp4_box, words};

    fn stsd(entries: &[Vec<u8>], visual: bool) -> Result<(SampleEntry, u32)> {
        let count = words(&[entries.len() as u32]);
        let file = Bytes::from(full_box(b"stsd", 0, 0, &[count, entries.concat()].concat()));
        let header = Children::of_file(&file).next().expect("one box")?;
        read_stsd(&file, &header, "stsd", visual)
    }

    fn renamed(entry: Vec<u8>, fourcc: &[u8; 4]) -> Vec<u8> {
        let mut entry = entry;
        entry[4..8].copy_from_slice(fourcc);
        entry
    }

    #[test]
    fn visual_entry_children_btrt_pasp_colr_and_record() {
        let children = [
            mp4_box(b"hvcC", &[1, 2, 3]),
            mp4_box(b"btrt", &words(&[4096, 2_000_000, 1_000_000])),
            mp4_box(b"pasp", &words(&[16, 11])),
            mp4_box(b"colr", &[b"nclx".as_slice(), &[0, 9, 0, 16, 0, 9, 0x80]].concat()),
        ]
        .concat();
        let (entry, count) = stsd(&[renamed(avc1_entry(1920, 1080, &children), b"hev1")], true).expect("valid");
        assert_eq!(
            (count, &entry.fourcc, entry.codec, entry.width, entry.height),
            (1, b"hev1", Some(Codec::H265), 1920, 1080)
        );
        assert_eq!(entry.config_record.as_deref(), Some(&[1u8, 2, 3][..]));
        assert_eq!(
            entry.bitrate,
            Some(BitRate { buffer_size_bytes: 4096, max_bits_per_s: 2_000_000, avg_bits_per_s: 1_000_000 })
        );
        assert_eq!(entry.pixel_aspect, Some((16, 11)));
        let colour = entry.colour.expect("nclx");
        assert_eq!((colour.primaries, colour.transfer, colour.matrix, colour.full_range), (9, 16, 9, true));
    }

    #[test]
    fn a_record_of_the_other_codec_is_not_taken() {
        // avc3 carries avcC; an hvcC beside it belongs to no one.
        let entry = renamed(avc1_entry(64, 64, &mp4_box(b"hvcC", &[9])), b"avc3");
        let (entry, _) = stsd(&[entry], true).expect("valid");
        assert_eq!((entry.codec, entry.config_record), (Some(Codec::H264), None));
    }

    #[test]
    fn quicktime_nclc_has_no_range_and_icc_profiles_give_no_code_points() {
        let nclc = mp4_box(b"colr", &[b"nclc".as_slice(), &[0, 1, 0, 1, 0, 1]].concat());
        let (entry, _) = stsd(&[avc1_entry(64, 64, &nclc)], true).expect("valid");
        assert_eq!(entry.colour.map(|c| (c.primaries, c.full_range)), Some((1, false)));
        let icc = mp4_box(b"colr", &[b"prof".as_slice(), &[0; 16]].concat());
        assert_eq!(stsd(&[avc1_entry(64, 64, &icc)], true).expect("valid").0.colour, None);
    }

    #[test]
    fn quicktime_zero_terminator_after_the_children_is_accepted() {
        let children = [mp4_box(b"avcC", &[1]), vec![0; 4]].concat();
        let (entry, _) = stsd(&[avc1_entry(64, 64, &children)], true).expect("terminator skipped");
        assert_eq!(entry.config_record.as_deref(), Some(&[1u8][..]));
    }

    #[test]
    fn other_entries_are_reported_without_a_codec() {
        // An MPEG-4 Part 2 video entry: dimensions, no codec.
        let (entry, _) = stsd(&[renamed(avc1_entry(176, 144, &[]), b"mp4v")], true).expect("valid");
        assert_eq!((&entry.fourcc, entry.codec, entry.width), (b"mp4v", None, 176));
        // A sound entry under a `soun` handler is not read as visual.
        let (entry, count) = stsd(&[mp4_box(b"mp4a", &[0; 28]), mp4_box(b"mp4a", &[0; 28])], false).expect("valid");
        assert_eq!((&entry.fourcc, entry.codec, entry.width, count), (b"mp4a", None, 0, 2));
    }

    #[test]
    fn broken_entries_name_the_entry_or_stsd() {
        let short = mp4_box(b"avc1", &[0; 40]);
        let err = stsd(&[short], true).expect_err("visual entry cut short");
        assert_eq!(err.at, "stsd.avc1");
        let err = stsd(&[], true).expect_err("no entries");
        assert!(matches!(err.kind, crate::ParseErrorKind::Missing(_)), "{err}");
        // Three entries announced, two present.
        let count = words(&[3]);
        let file =
            Bytes::from(full_box(b"stsd", 0, 0, &[count, avc1_entry(8, 8, &[]), avc1_entry(8, 8, &[])].concat()));
        let header = Children::of_file(&file).next().expect("one box").expect("valid header");
        let err = read_stsd(&file, &header, "stsd", true).expect_err("an entry short");
        assert_eq!((err.at.as_str(), err.offset), ("stsd", Some(12)));
    }
}
