//! Reading ISO/IEC 14496-12 boxes out of a file held in memory: box headers (4.2, with 32-bit,
//! 64-bit and to-the-end sizes and `uuid` extended types), full-box version and flags, and
//! big-endian fields.
//!
//! Everything works on absolute offsets into the whole file, so that an error can say exactly
//! which byte it stopped at, and so that sample data can later be sliced out of the same
//! `Bytes` without copying. Every read is bounds-checked against the enclosing box: a box can
//! never read past its parent, whatever its size fields claim.

use bytes::Bytes;

use crate::error::{ParseError, Result};

/// A four-character code: a box type or a sample entry type.
pub type FourCc = [u8; 4];

/// How deep boxes may nest. The demuxer descends through a fixed grammar whose deepest path is
/// `moov.trak.mdia.minf.stbl.stsd.<entry>.<child>` (8 levels); [`Reader::children`] enforces the
/// bound (counted from the path) so that no future recursive walker can be driven arbitrarily
/// deep by a crafted file.
pub const MAX_BOX_DEPTH: usize = 12;

/// A box's extent in the file (ISO/IEC 14496-12 4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BoxHeader {
    pub box_type: FourCc,
    /// Absolute offset of the box's first byte (its size field).
    pub start: usize,
    /// Absolute offset of the payload: after size, type, `largesize` and `usertype`.
    pub payload_start: usize,
    /// Absolute offset one past the box's last byte.
    pub end: usize,
}

/// Renders a four-character code for paths and messages; bytes outside printable ASCII
/// become `?`, so a corrupt type cannot inject control characters into a log line.
pub fn fourcc_str(code: FourCc) -> String {
    code.iter().map(|&b| if b.is_ascii_graphic() || b == b' ' { char::from(b) } else { '?' }).collect()
}

/// `parent.child`, or just `child` at the top level.
pub fn child_path(parent: &str, child: &str) -> String {
    if parent.is_empty() {
        child.to_owned()
    } else {
        format!("{parent}.{child}")
    }
}

/// `file[start..end]` as a shared slice of the same memory, or `None` if the range is not
/// inside the file (where `Bytes::slice` would panic).
pub fn checked_slice(file: &Bytes, start: usize, end: usize) -> Option<Bytes> {
    (start <= end && end <= file.len()).then(|| file.slice(start..end))
}

/// A cursor over `[pos, end)` of the file that reads big-endian fields. `path` names the box
/// being read (e.g. `moov.trak[0].mdia.minf.stbl.stsz`) in every error it returns.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    file: &'a [u8],
    pos: usize,
    end: usize,
    path: &'a str,
}

impl<'a> Reader<'a> {
    /// A reader over `[start, end)`, clamped to the file so that no read can go out of bounds.
    pub fn new(file: &'a [u8], start: usize, end: usize, path: &'a str) -> Self {
        let end = end.min(file.len());
        Self { file, pos: start.min(end), end, path }
    }

    /// A reader over a box's payload.
    pub fn payload(file: &'a [u8], header: &BoxHeader, path: &'a str) -> Self {
        Self::new(file, header.payload_start, header.end, path)
    }

    pub fn path(&self) -> &'a str {
        self.path
    }

    /// Absolute offset of the next byte to read.
    pub fn offset(&self) -> usize {
        self.pos
    }

    pub fn remaining(&self) -> usize {
        self.end - self.pos
    }

    pub fn truncated(&self) -> ParseError {
        ParseError::truncated(self.path).at_offset(self.pos as u64)
    }

    pub fn invalid(&self, msg: impl Into<String>) -> ParseError {
        ParseError::invalid(self.path, msg).at_offset(self.pos as u64)
    }

    pub fn too_large(&self, msg: impl Into<String>) -> ParseError {
        ParseError::too_large(self.path, msg).at_offset(self.pos as u64)
    }

    pub fn bytes(&mut self, len: usize) -> Result<&'a [u8]> {
        if len > self.remaining() {
            return Err(self.truncated());
        }
        let start = self.pos;
        self.pos += len;
        self.file.get(start..self.pos).ok_or_else(|| self.truncated())
    }

    pub fn skip(&mut self, len: usize) -> Result<()> {
        self.bytes(len).map(drop)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let mut out = [0; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    pub fn u8(&mut self) -> Result<u8> {
        Ok(self.array::<1>()?[0])
    }

    pub fn u16(&mut self) -> Result<u16> {
        self.array().map(u16::from_be_bytes)
    }

    pub fn u32(&mut self) -> Result<u32> {
        self.array().map(u32::from_be_bytes)
    }

    pub fn i32(&mut self) -> Result<i32> {
        self.array().map(i32::from_be_bytes)
    }

    pub fn u64(&mut self) -> Result<u64> {
        self.array().map(u64::from_be_bytes)
    }

    pub fn i64(&mut self) -> Result<i64> {
        self.array().map(i64::from_be_bytes)
    }

    pub fn fourcc(&mut self) -> Result<FourCc> {
        self.array()
    }

    /// A full box's version (8 bits) and flags (24 bits), ISO/IEC 14496-12 4.2.
    pub fn version_and_flags(&mut self) -> Result<(u8, u32)> {
        let word = self.u32()?;
        Ok(((word >> 24) as u8, word & 0x00ff_ffff))
    }

    /// A field that is 32 bits in version 0 and 64 bits in version 1 (mdhd, tkhd, elst, tfdt).
    pub fn u32_or_u64(&mut self, version: u8) -> Result<u64> {
        if version == 1 {
            self.u64()
        } else {
            self.u32().map(u64::from)
        }
    }

    /// Reads a 32-bit entry count and checks that `count` entries of `entry_len` bytes fit in
    /// what is left of the box, so that a corrupt count cannot make the caller allocate.
    pub fn entry_count(&mut self, entry_len: usize) -> Result<usize> {
        let count = self.u32()?;
        self.check_entries(count, entry_len)
    }

    /// Checks that `count` entries of `entry_len` bytes fit in the rest of the box.
    pub fn check_entries(&self, count: u32, entry_len: usize) -> Result<usize> {
        let count = count as usize;
        match count.checked_mul(entry_len) {
            Some(needed) if needed <= self.remaining() => Ok(count),
            _ => Err(self.too_large(format!("{count} entries of {entry_len} bytes, {} bytes left", self.remaining()))),
        }
    }

    /// The first child box of each of `types`. Other boxes are skipped, but every box's size is
    /// still checked against its parent, so a corrupt sibling is an error, not a silent stop.
    pub fn find_children<const N: usize>(&self, types: [&FourCc; N]) -> Result<[Option<BoxHeader>; N]> {
        let mut found = [None; N];
        for child in self.children() {
            let child = child?;
            if let Some(i) = types.iter().position(|t| **t == child.box_type) {
                if let Some(slot) = found.get_mut(i) {
                    slot.get_or_insert(child);
                }
            }
        }
        Ok(found)
    }

    /// The boxes in the rest of this reader's range.
    pub fn children(&self) -> Children<'a> {
        Children {
            file: self.file,
            pos: self.pos,
            end: self.end,
            path: self.path,
            failed: false,
            short_tail_ends: false,
        }
    }
}

/// Iterates over the boxes packed in `[pos, end)`. Stops after the first error.
#[derive(Debug, Clone)]
pub struct Children<'a> {
    file: &'a [u8],
    pos: usize,
    end: usize,
    path: &'a str,
    failed: bool,
    short_tail_ends: bool,
}

impl Children<'_> {
    /// Top-level boxes of a whole file.
    pub fn of_file(file: &[u8]) -> Children<'_> {
        Children { file, pos: 0, end: file.len(), path: "", failed: false, short_tail_ends: false }
    }

    /// Ends the list, instead of failing, at fewer than 8 trailing bytes: QuickTime writers
    /// close some child lists (sample entries) with a 32-bit zero terminator.
    #[must_use]
    pub fn allowing_short_tail(mut self) -> Self {
        self.short_tail_ends = true;
        self
    }
}

impl Iterator for Children<'_> {
    type Item = Result<BoxHeader>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.end || (self.short_tail_ends && self.end - self.pos < 8) {
            return None;
        }
        if self.path.split('.').count() >= MAX_BOX_DEPTH {
            self.failed = true;
            let msg = format!("boxes nested deeper than {MAX_BOX_DEPTH} levels");
            return Some(Err(ParseError::too_large(self.path, msg).at_offset(self.pos as u64)));
        }
        let header = read_header(self.file, self.pos, self.end, self.path);
        match &header {
            Ok(h) => self.pos = h.end,
            Err(_) => self.failed = true,
        }
        Some(header)
    }
}

/// Reads the header of the box at `start`, which must end by `parent_end`.
/// `parent_path` names the container (empty at the top level) for errors.
fn read_header(file: &[u8], start: usize, parent_end: usize, parent_path: &str) -> Result<BoxHeader> {
    let container = if parent_path.is_empty() { "file" } else { parent_path };
    let mut r = Reader::new(file, start, parent_end, container);
    let (size32, box_type) = match (r.u32(), r.fourcc()) {
        (Ok(size), Ok(box_type)) => (size, box_type),
        _ => return Err(ParseError::truncated(container).at_offset(start as u64)),
    };
    let path = child_path(parent_path, &fourcc_str(box_type));
    let error_path = |e: ParseError| ParseError { at: path.clone(), ..e };
    let size = match size32 {
        // size 1: a 64-bit `largesize` follows the type.
        1 => r.u64().map_err(error_path)?,
        // size 0: the box extends to the end of the file (4.2); inside a container we read it
        // as "to the end of the container", which is the same for the top level.
        0 => (parent_end - start) as u64,
        n => u64::from(n),
    };
    if box_type == *b"uuid" {
        r.skip(16).map_err(error_path)?;
    }
    let header_len = (r.offset() - start) as u64;
    if size < header_len {
        return Err(ParseError::invalid(
            &path,
            format!("box size {size} is smaller than its {header_len}-byte header"),
        )
        .at_offset(start as u64));
    }
    let available = (parent_end - start) as u64;
    if size > available {
        let parent = if parent_path.is_empty() { "the file" } else { "its parent" };
        let msg = format!("box size {size} runs past the end of {parent} ({available} bytes left)");
        return Err(ParseError::too_large(&path, msg).at_offset(start as u64));
    }
    Ok(BoxHeader { box_type, start, payload_start: r.offset(), end: start + size as usize })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ParseErrorKind;

    fn boxed(box_type: &[u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut out = ((8 + payload.len()) as u32).to_be_bytes().to_vec();
        out.extend_from_slice(box_type);
        out.extend_from_slice(payload);
        out
    }

    fn all(file: &[u8]) -> Result<Vec<BoxHeader>> {
        Children::of_file(file).collect()
    }

    #[test]
    fn reads_32_bit_64_bit_and_to_end_sizes() {
        let mut file = boxed(b"ftyp", b"isom\0\0\0\0");
        // size 1: largesize 24 covers the 16-byte header and 8 payload bytes.
        file.extend_from_slice(&1u32.to_be_bytes());
        file.extend_from_slice(b"free");
        file.extend_from_slice(&24u64.to_be_bytes());
        file.extend_from_slice(&[0xaa; 8]);
        // size 0: to the end of the file.
        file.extend_from_slice(&0u32.to_be_bytes());
        file.extend_from_slice(b"mdat");
        file.extend_from_slice(&[1, 2, 3]);
        let boxes = all(&file).expect("valid boxes");
        let summary: Vec<_> = boxes.iter().map(|b| (&b.box_type, b.start, b.payload_start, b.end)).collect();
        assert_eq!(summary, [(b"ftyp", 0, 8, 16), (b"free", 16, 32, 40), (b"mdat", 40, 48, 51)]);
    }

    #[test]
    fn uuid_box_payload_starts_after_the_user_type() {
        let mut payload = [0x11; 16].to_vec();
        payload.extend_from_slice(b"data");
        let file = boxed(b"uuid", &payload);
        let boxes = all(&file).expect("valid uuid box");
        assert_eq!((boxes[0].payload_start, boxes[0].end), (24, 28));
    }

    #[test]
    fn box_past_the_end_of_its_parent_names_the_box() {
        let mut moov = boxed(b"moov", &boxed(b"trak", &[0; 4]));
        // Grow the inner trak's size beyond the moov.
        moov[8..12].copy_from_slice(&100u32.to_be_bytes());
        let mut r = Reader::new(&moov, 8, moov.len(), "moov");
        r.skip(0).expect("no-op");
        let err = r.children().next().expect("one child").expect_err("trak too big");
        assert_eq!(err.at, "moov.trak");
        assert_eq!(err.offset, Some(8));
        assert!(err.to_string().contains("past the end of its parent"), "{err}");
    }

    #[test]
    fn size_smaller_than_header_is_invalid() {
        let mut file = boxed(b"free", &[]);
        file[0..4].copy_from_slice(&4u32.to_be_bytes());
        let err = all(&file).expect_err("size 4");
        assert!(matches!(err.kind, ParseErrorKind::Invalid(_)), "{err}");
        // A largesize below 16 is just as wrong.
        let mut file = 1u32.to_be_bytes().to_vec();
        file.extend_from_slice(b"free");
        file.extend_from_slice(&8u64.to_be_bytes());
        assert!(all(&file).is_err());
    }

    #[test]
    fn trailing_bytes_too_short_for_a_header_are_an_error_at_their_offset() {
        let mut file = boxed(b"free", &[]);
        file.extend_from_slice(&[0, 0, 0]);
        let err = all(&file).expect_err("3 stray bytes");
        assert_eq!((err.at.as_str(), err.offset), ("file", Some(8)));
    }

    #[test]
    fn entry_count_larger_than_the_box_is_refused_before_allocating() {
        let data = [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0];
        let mut r = Reader::new(&data, 0, data.len(), "moov.trak[0].mdia.minf.stbl.stsz");
        let err = r.entry_count(4).expect_err("4 billion entries in 4 bytes");
        assert!(matches!(err.kind, ParseErrorKind::TooLarge(_)));
        assert_eq!(err.at, "moov.trak[0].mdia.minf.stbl.stsz");
    }

    #[test]
    fn reads_never_cross_the_reader_end() {
        let data = [1, 2, 3, 4, 5, 6, 7, 8];
        let mut r = Reader::new(&data, 2, 5, "x");
        assert_eq!(r.u16().expect("2 bytes"), 0x0304);
        assert_eq!(r.u16().expect_err("only 1 byte left").offset, Some(4));
        // Ranges outside the file are clamped, not trusted.
        let mut r = Reader::new(&data, 20, 30, "x");
        assert!(r.u8().is_err());
    }

    #[test]
    fn version_and_flags_split_the_first_word() {
        let data = [1, 0x02, 0x00, 0x05];
        let mut r = Reader::new(&data, 0, 4, "x");
        assert_eq!(r.version_and_flags().expect("4 bytes"), (1, 0x020005));
    }

    #[test]
    fn nesting_deeper_than_the_bound_is_refused() {
        let inner = boxed(b"free", &[]);
        let path = ["deep"; MAX_BOX_DEPTH].join(".");
        let err = Reader::new(&inner, 0, inner.len(), &path).children().next().expect("an item").expect_err("too deep");
        assert!(matches!(err.kind, ParseErrorKind::TooLarge(_)), "{err}");
        let shallower = ["deep"; MAX_BOX_DEPTH - 1].join(".");
        assert!(Reader::new(&inner, 0, inner.len(), &shallower).children().all(|c| c.is_ok()));
    }

    #[test]
    fn a_short_tail_ends_the_list_only_where_allowed() {
        let mut list = boxed(b"pasp", &[0; 8]);
        list.extend_from_slice(&[0; 4]);
        let r = Reader::new(&list, 0, list.len(), "avc1");
        assert!(r.children().collect::<Result<Vec<_>>>().is_err());
        assert_eq!(r.children().allowing_short_tail().collect::<Result<Vec<_>>>().expect("terminator").len(), 1);
    }
}
