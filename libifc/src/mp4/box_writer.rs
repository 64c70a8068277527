//! Writes ISO base media file format boxes (ISO/IEC 14496-12 4.2) into a growing byte vector.
//!
//! A box is opened, its body written by a closure, and its 32-bit size patched when the closure
//! returns, so no writer has to add up sizes by hand. A body too large for 32 bits gets the
//! 64-bit `largesize` form instead of a wrong size.

/// A byte vector that boxes are written into. All integers are big-endian (4.2: "network byte
/// order").
#[derive(Debug, Default)]
pub(crate) struct BoxWriter {
    buf: Vec<u8>,
}

impl BoxWriter {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Bytes written so far; also the offset at which the next byte lands.
    pub(crate) fn len(&self) -> usize {
        self.buf.len()
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub(crate) fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn i16(&mut self, v: i16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn i32(&mut self, v: i32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn bytes(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }

    pub(crate) fn zeros(&mut self, count: usize) {
        self.buf.resize(self.buf.len().saturating_add(count), 0);
    }

    /// Overwrites four bytes written earlier (e.g. a `trun` data offset known only once the
    /// enclosing `moof` is closed). A position outside what was written is ignored.
    pub(crate) fn patch_u32(&mut self, pos: usize, v: u32) {
        if let Some(slot) = pos.checked_add(4).and_then(|end| self.buf.get_mut(pos..end)) {
            slot.copy_from_slice(&v.to_be_bytes());
        }
    }

    /// Writes `Box` (4.2): `size`, `type`, then the body.
    pub(crate) fn plain_box(&mut self, fourcc: [u8; 4], body: impl FnOnce(&mut Self)) {
        let start = self.buf.len();
        self.u32(0); // size, patched below
        self.bytes(&fourcc);
        body(self);
        let size = self.buf.len() - start;
        match u32::try_from(size) {
            Ok(size) => self.patch_u32(start, size),
            Err(_) => {
                // 4.2: size 1 means a 64-bit largesize follows the type.
                self.patch_u32(start, 1);
                let large = (size as u64).saturating_add(8);
                let at = start + 8;
                self.buf.splice(at..at, large.to_be_bytes());
            }
        }
    }

    /// Writes `FullBox` (4.2): a box whose body starts with an 8-bit version and 24-bit flags.
    pub(crate) fn full_box(&mut self, fourcc: [u8; 4], version: u8, flags: u32, body: impl FnOnce(&mut Self)) {
        self.plain_box(fourcc, |w| {
            w.u32((u32::from(version) << 24) | (flags & 0x00ff_ffff));
            body(w);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_box_size_counts_header_and_body() {
        let mut w = BoxWriter::new();
        w.plain_box(*b"free", |w| w.bytes(b"abc"));
        assert_eq!(w.into_bytes(), [0, 0, 0, 11, b'f', b'r', b'e', b'e', b'a', b'b', b'c']);
    }

    #[test]
    fn full_box_packs_version_and_24_bit_flags() {
        let mut w = BoxWriter::new();
        // Flags wider than 24 bits must not leak into the version byte.
        w.full_box(*b"tfhd", 1, 0xff02_0001, |w| w.u32(7));
        assert_eq!(w.into_bytes(), [0, 0, 0, 16, b't', b'f', b'h', b'd', 1, 0x02, 0, 0x01, 0, 0, 0, 7]);
    }

    #[test]
    fn nested_boxes_each_get_their_own_size() {
        let mut w = BoxWriter::new();
        w.plain_box(*b"moov", |w| {
            w.plain_box(*b"mvex", |w| w.full_box(*b"trex", 0, 0, |w| w.zeros(20)));
            w.i16(-1);
        });
        let out = w.into_bytes();
        // moov = 8 + mvex (8 + trex (12 + 20)) + 2.
        assert_eq!(out.len(), 50);
        assert_eq!(out[..8], [0, 0, 0, 50, b'm', b'o', b'o', b'v']);
        assert_eq!(out[8..16], [0, 0, 0, 40, b'm', b'v', b'e', b'x']);
        assert_eq!(out[16..24], [0, 0, 0, 32, b't', b'r', b'e', b'x']);
        assert_eq!(out[48..], [0xff, 0xff]);
    }

    #[test]
    fn patch_outside_written_bytes_is_ignored() {
        let mut w = BoxWriter::new();
        w.u32(5);
        w.patch_u32(2, 0xdead_beef);
        w.patch_u32(usize::MAX - 1, 1);
        assert_eq!(w.into_bytes(), [0, 0, 0, 5]);
    }
}
