//! Access-unit assembly: groups a stream of NAL units into access units, one coded picture
//! each (H.264 7.4.1.2.3, H.265 7.4.2.4.4).
//!
//! Sans-IO: push NAL units (or Annex B chunks of any size), pull access units. A new access
//! unit begins at an access unit delimiter, a parameter set, a prefix SEI or another prefix
//! NAL type that follows a picture, or at a slice that begins a new picture
//! (`first_mb_in_slice == 0` in H.264, `first_slice_segment_in_pic_flag` in H.265).
//!
//! NAL units are `Bytes` slices of what was pushed: nothing is copied unless a NAL unit is
//! split across two pushed chunks.

use std::collections::VecDeque;

use bytes::{Bytes, BytesMut};

use super::nal::{find_start_code, AnnexBNals};
use super::{BitReader, Codec, NalKind};
use crate::error::{ParseError, Result};

/// One coded picture and the non-VCL NAL units that belong to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessUnit {
    /// NAL units in stream order, without start codes.
    pub nals: Vec<Bytes>,
    /// The picture is IDR (H.264) or IRAP (H.265): decoding can start here.
    pub random_access: bool,
    /// The picture is IDR.
    pub idr: bool,
    /// Position of the access unit in the stream, counted from 0 (decode order).
    pub index: u64,
}

impl AccessUnit {
    /// Iterates `(kind, nal)` pairs.
    pub fn classified(&self, codec: Codec) -> impl Iterator<Item = (Option<NalKind>, &Bytes)> {
        self.nals.iter().map(move |n| (codec.classify(n), n))
    }

    /// Total payload size, without framing.
    pub fn payload_len(&self) -> usize {
        self.nals.iter().map(Bytes::len).sum()
    }
}

/// Does this slice NAL unit begin a new picture? Reads only the first syntax element after
/// the NAL header, so no parameter set is needed.
pub fn slice_starts_picture(codec: Codec, nal: &[u8]) -> Result<bool> {
    let header = codec.nal_header_len();
    let payload = nal.get(header..).filter(|p| !p.is_empty()).ok_or_else(|| ParseError::truncated("slice_header"))?;
    match codec {
        // first_mb_in_slice ue(v); an emulation-prevention byte cannot occur in its first bits
        // unless the value is absurd, so EBSP can be read directly.
        Codec::H264 => Ok(BitReader::new(payload, "slice_header").read_ue("first_mb_in_slice")? == 0),
        Codec::H265 => Ok(payload[0] & 0x80 != 0),
    }
}

/// Groups NAL units into access units.
#[derive(Debug)]
pub struct AccessUnitAssembler {
    codec: Codec,
    current: Vec<Bytes>,
    current_has_vcl: bool,
    current_random_access: bool,
    current_idr: bool,
    ready: VecDeque<AccessUnit>,
    next_index: u64,
    /// Annex B bytes after the last complete NAL unit of the pushed chunks.
    pending: BytesMut,
}

impl AccessUnitAssembler {
    pub fn new(codec: Codec) -> Self {
        Self {
            codec,
            current: Vec::new(),
            current_has_vcl: false,
            current_random_access: false,
            current_idr: false,
            ready: VecDeque::new(),
            next_index: 0,
            pending: BytesMut::new(),
        }
    }

    pub fn codec(&self) -> Codec {
        self.codec
    }

    /// Pushes one NAL unit (no start code). A NAL unit too short for its header, or a slice
    /// whose header cannot be read, is dropped and reported; the assembler stays usable.
    pub fn push_nal(&mut self, nal: Bytes) -> Result<()> {
        if nal.len() < self.codec.nal_header_len() {
            return Err(ParseError::truncated("nal_unit_header"));
        }
        if nal[0] & 0x80 != 0 {
            return Err(ParseError::invalid("nal_unit_header.forbidden_zero_bit", "is 1"));
        }
        let Some(kind) = self.codec.classify(&nal) else {
            return Err(ParseError::truncated("nal_unit_header"));
        };
        match kind {
            NalKind::AccessUnitDelimiter
            | NalKind::Vps
            | NalKind::Sps
            | NalKind::Pps
            | NalKind::PrefixSei
            | NalKind::OtherPrefix => {
                if self.current_has_vcl {
                    self.finish_current();
                }
                self.current.push(nal);
            }
            NalKind::Slice { random_access, idr } => {
                let starts = slice_starts_picture(self.codec, &nal)?;
                if starts && self.current_has_vcl {
                    self.finish_current();
                }
                if !self.current_has_vcl {
                    self.current_random_access = random_access;
                    self.current_idr = idr;
                }
                self.current_has_vcl = true;
                self.current.push(nal);
            }
            NalKind::EndOfStream => {
                self.current.push(nal);
                self.finish_current();
            }
            NalKind::EndOfSequence | NalKind::SuffixSei | NalKind::Filler | NalKind::Other => {
                self.current.push(nal);
            }
        }
        Ok(())
    }

    /// Pushes a chunk of an Annex B byte stream; chunks may split NAL units and start codes
    /// anywhere. Returns the errors of NAL units that were dropped (see [`Self::push_nal`]).
    pub fn push_annex_b(&mut self, chunk: Bytes) -> Vec<ParseError> {
        if self.pending.is_empty() {
            // The common case: complete NAL units are slices of the chunk, not copies.
            let Some(last) = last_start_code(&chunk, 0) else {
                self.pending.extend_from_slice(&chunk);
                return Vec::new();
            };
            self.pending.extend_from_slice(&chunk[last..]);
            return self.push_complete_annex_b(&chunk.slice(..last));
        }
        // `pending` holds no start code after its first bytes, so only the new bytes (and the
        // three before them, where a start code may straddle the boundary) need scanning:
        // pushing a stream in tiny chunks stays linear.
        let scan_from = self.pending.len().saturating_sub(3);
        self.pending.extend_from_slice(&chunk);
        let Some(last) = last_start_code(&self.pending, scan_from).filter(|&p| p > 0) else {
            return Vec::new();
        };
        let complete = self.pending.split_to(last).freeze();
        self.push_complete_annex_b(&complete)
    }

    /// Signals the end of the stream: the pending bytes form the last NAL unit and the last
    /// access unit is released.
    pub fn flush(&mut self) -> Vec<ParseError> {
        let rest = self.pending.split().freeze();
        let errors = self.push_complete_annex_b(&rest);
        self.finish_current();
        errors
    }

    /// The next complete access unit, if any.
    pub fn pull(&mut self) -> Option<AccessUnit> {
        self.ready.pop_front()
    }

    fn push_complete_annex_b(&mut self, data: &Bytes) -> Vec<ParseError> {
        let mut errors = Vec::new();
        for (offset, nal) in AnnexBNals::new(data) {
            let nal = data.slice(offset..offset + nal.len());
            if let Err(e) = self.push_nal(nal) {
                errors.push(e);
            }
        }
        errors
    }

    fn finish_current(&mut self) {
        if self.current.is_empty() {
            return;
        }
        let nals = std::mem::take(&mut self.current);
        if self.current_has_vcl {
            self.ready.push_back(AccessUnit {
                nals,
                random_access: self.current_random_access,
                idr: self.current_idr,
                index: self.next_index,
            });
            self.next_index += 1;
        }
        // Non-VCL units with no picture (e.g. an end of stream after the last AU, or
        // parameter sets at the very end) carry nothing to decode and are dropped.
        self.current_has_vcl = false;
        self.current_random_access = false;
        self.current_idr = false;
    }
}

/// The last start code at or after `from`.
fn last_start_code(data: &[u8], mut from: usize) -> Option<usize> {
    let mut last = None;
    while let Some((pos, len)) = find_start_code(data, from) {
        last = Some(pos);
        from = pos + len;
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h264_stream() -> Vec<u8> {
        // AUD, SPS, PPS, IDR slice (first_mb 0), slice (first_mb 1), then P slice (first_mb 0)
        let mut s = Vec::new();
        for nal in [
            &[0x09, 0xf0][..],
            &[0x67, 0x42, 0x00, 0x1e],
            &[0x68, 0xce],
            &[0x65, 0x88, 0x80], // first_mb_in_slice = 0 ('1')
            &[0x65, 0x40, 0x80], // first_mb_in_slice = 1 ('010')
            &[0x41, 0x9a, 0x00], // P slice, first_mb 0
            &[0x06, 0x05, 0x01], // SEI after a picture starts a new AU
            &[0x41, 0x9a, 0x01],
        ] {
            s.extend_from_slice(&[0, 0, 0, 1]);
            s.extend_from_slice(nal);
        }
        s
    }

    fn assemble(chunks: &[&[u8]]) -> Vec<AccessUnit> {
        let mut a = AccessUnitAssembler::new(Codec::H264);
        for c in chunks {
            assert!(a.push_annex_b(Bytes::copy_from_slice(c)).is_empty());
        }
        assert!(a.flush().is_empty());
        std::iter::from_fn(|| a.pull()).collect()
    }

    #[test]
    fn slices_of_one_picture_share_an_access_unit() {
        let aus = assemble(&[&h264_stream()]);
        assert_eq!(aus.len(), 3);
        assert_eq!(aus[0].nals.len(), 5);
        assert!(aus[0].random_access && aus[0].idr);
        assert_eq!(aus[1].nals.len(), 1);
        assert!(!aus[1].random_access);
        assert_eq!(aus[2].nals.len(), 2, "the SEI belongs to the next picture");
        assert_eq!(aus.iter().map(|a| a.index).collect::<Vec<_>>(), [0, 1, 2]);
    }

    #[test]
    fn chunk_boundaries_anywhere_give_the_same_access_units() {
        let s = h264_stream();
        let whole = assemble(&[&s]);
        for split in 1..s.len() {
            assert_eq!(assemble(&[&s[..split], &s[split..]]), whole, "split at {split}");
        }
    }

    #[test]
    fn one_byte_chunks_give_the_same_access_units() {
        let s: Vec<u8> = std::iter::repeat_n(h264_stream(), 2000).flatten().collect();
        let whole = assemble(&[&s]);
        // 60 000 one-byte pushes: rescanning what is pending on every push would take minutes.
        let chunks: Vec<&[u8]> = s.chunks(1).collect();
        assert_eq!(assemble(&chunks), whole);
    }

    #[test]
    fn a_truncated_nal_is_reported_and_skipped() {
        let mut a = AccessUnitAssembler::new(Codec::H265);
        let errors = a.push_annex_b(Bytes::from_static(&[0, 0, 1, 0x40, 0, 0, 1, 0x26]));
        assert_eq!(errors.len(), 1, "a one-byte H.265 NAL unit has no complete header");
        assert_eq!(a.flush().len(), 1, "the last NAL unit is checked at flush");
        assert!(a.pull().is_none());
    }
}
