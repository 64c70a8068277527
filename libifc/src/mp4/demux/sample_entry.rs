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
    for (index, entry) in r.children().take(entry_count).enumerate() {
        let entry = entry?;
        if index == 0 {
            let entry_path = child_path(path, &fourcc_str(entry.box_type));
            first = Some(if visual {
                read_visual_entry(file, &entry, &entry_path)?
            } else {
                SampleEntry { fourcc: entry.box_type, ..SampleEntry::default() }
            });
        }
    }
    let first = first.ok_or_else(|| ParseError::missing(path, "sample entry").at_offset(count_at.offset() as u64))?;
    Ok((first, entry_count as u32))
}

fn read_visual_entry(file: &Bytes, entry: &BoxHeader, path: &str) -> Result<SampleEntry> {
    let data: &[u8] = file;
    let mut r = Reader::payload(data, entry, path);
    r.skip(6 + 2 + 16)?; // reserved, data_reference_index, pre_defined and reserved fields
    let width = r.u16()?;
    let height = r.u16()?;
    r.skip(VISUAL_SAMPLE_ENTRY_LEN - 28)?; // resolutions, frame_count, compressorname, depth
    let fourcc = entry.box_type;
    let (codec, record_type) = match &fourcc {
        b"avc1" | b"avc3" => (Some(Codec::H264), Some(b"avcC")),
        b"hvc1" | b"hev1" => (Some(Codec::H265), Some(b"hvcC")),
        _ => (None, None),
    };
    let mut out = SampleEntry { fourcc, codec, width, height, ..SampleEntry::default() };
    // QuickTime writers may end a child list with a 4-byte zero terminator; fewer than 8 bytes
    // cannot hold a box, so they are not read as one.
    let children_end = if r.remaining() < 8 { r.offset() } else { entry.end };
    let children = Reader::new(data, r.offset(), children_end, path);
    for child in children.children() {
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
