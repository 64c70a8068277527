//! Which decoded pictures are damaged: ifc's own reading of the bitstream's structure beside
//! the backend's error flags, so that a frame is delivered only when it is known to be intact,
//! or flagged.
//!
//! libavcodec flags some damage (concealment, single-threaded H.264 only) and misses the rest:
//! a missing access unit, damage in H.265 slice data, and, above all, the pictures predicted
//! from a damaged one. Three things are checked here, sans-IO:
//!
//! - **Structure, per access unit** (before decoding): slices cover the picture from its first
//!   macroblock / CTB on, in order, all of one picture; slice headers parse. Where a slice ends
//!   is only known by decoding it, so a missing *last* slice is not seen here.
//! - **References present**: H.264 `frame_num` continuity (7.4.3: without
//!   `gaps_in_frame_num_value_allowed_flag` a gap means lost reference pictures); H.265 every
//!   picture its short-term reference picture set uses was decoded (8.3.2). Long-term references
//!   are not checked.
//! - **Damage spreads** through prediction until the next IDR (H.264) / IRAP (H.265): every
//!   predicted picture decoded after a damaged or missing reference picture of its period is
//!   damaged. For H.264 this is conservative (the reference lists are not built); for H.265 it
//!   follows the leading-picture rules: trailing pictures never reference leading ones, RADL
//!   pictures only their IRAP and each other, RASL pictures also the period before.
//!
//! Damage seen by the backend is known only when the picture comes out, in display order,
//! possibly after B-pictures decoded after it. So [`DamageTracker`] holds each decoded picture
//! until every reference picture decoded before it (that could have damaged it) has come out or
//! is known never to come out; then it releases the picture with its verdict, still in display
//! order. The delay is at most the stream's reordering (a B-picture waits for the reference
//! displayed after it); a stream without B-pictures is not delayed at all.

mod gate;
mod h264;
mod h265;

#[cfg(test)]
mod gate_tests;
#[cfg(test)]
mod h264_tests;
#[cfg(test)]
mod h265_tests;

use bytes::Bytes;

use crate::codec::Codec;
use crate::error::ParseError;

pub(crate) use gate::DamageGate;

/// Why a picture is considered damaged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Damage {
    /// The backend concealed errors in the picture.
    #[error("the decoder concealed errors in it")]
    Concealed,
    /// The first slice present starts past the picture's first block.
    #[error("its first slice starts at block {first}: the slices before it are missing")]
    SlicesMissing { first: u32 },
    #[error(
        "a slice at block {address} follows one at block {previous}: slices are missing, repeated or out of order"
    )]
    SliceOrder { previous: u32, address: u32 },
    #[error("a slice starts at block {address}, outside the picture's {size} blocks")]
    SliceOutsidePicture { address: u32, size: u32 },
    /// The access unit holds slices of a second picture (the other's first slice is lost).
    #[error("it holds slices of another picture")]
    MixedPictures,
    #[error("a slice header does not parse: {0}")]
    SliceHeader(ParseError),
    /// H.264: reference pictures between the two were lost.
    #[error("frame_num {frame_num} follows {previous}: reference pictures are missing")]
    FrameNumGap { previous: u32, frame_num: u32 },
    /// H.265: a picture the reference picture set uses was never decoded.
    #[error("its reference picture with POC {poc} is missing")]
    MissingReference { poc: i32 },
    /// A predicted picture before any key frame (the stream or decoding started mid-way).
    #[error("it is predicted from pictures decoded before decoding started")]
    NoReferences,
    /// The backend never produced the picture, or it was never given to the backend.
    #[error("it was never decoded")]
    NotDecoded,
    /// Predicted, directly or not, from a damaged or missing picture.
    #[error("it is predicted from damaged or missing pictures (found at packet {packet_index})")]
    Inherited { packet_index: u64 },
}

/// How a picture depends on others, for the rules by which damage spreads (H.265 8.1.3, 7.4.3).
/// H.264 pictures are all `Main`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PictureClass {
    /// A key picture or a trailing picture.
    Main,
    /// H.265 RADL: predicted from its IRAP and other RADL pictures only.
    Radl,
    /// H.265 RASL: may be predicted from pictures before its CRA.
    Rasl,
}

/// What the analysis of one access unit found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PictureFacts {
    /// Later pictures may be predicted from this one.
    pub(crate) reference: bool,
    /// Predicted from other pictures: P or B slices, or slices whose type is unknown.
    pub(crate) inter: bool,
    /// IDR (H.264) or IRAP (H.265): a new period of prediction starts here.
    pub(crate) key: bool,
    pub(crate) class: PictureClass,
    /// The backend outputs the picture (not an H.265 `pic_output_flag` 0 picture, nor a RASL
    /// picture of a CRA where decoding starts, which the backend skips).
    pub(crate) output: bool,
    /// H.264: the second field of a pair; the backend outputs it in the previous access unit's
    /// frame.
    pub(crate) second_field: bool,
    /// Damage found in the access unit itself.
    pub(crate) damage: Option<Damage>,
    /// Reference pictures before this one are missing: every predicted picture of its period
    /// from here on may use them.
    pub(crate) references_missing: bool,
}

/// The codec-specific analysis of access units.
#[derive(Debug)]
enum Analyzer {
    H264(h264::H264Analyzer),
    H265(h265::H265Analyzer),
}

/// The analysis and the gate for one stream: feed it every access unit in decode order and
/// every picture the backend outputs; pull pictures with their verdicts.
#[derive(Debug)]
pub(crate) struct DamageTracker<T> {
    analyzer: Analyzer,
    gate: DamageGate<T>,
}

impl<T> DamageTracker<T> {
    /// `parameter_sets`: those of the decoder configuration record, when packets carry none.
    pub(crate) fn new(codec: Codec, parameter_sets: &[Bytes]) -> Self {
        let mut analyzer = match codec {
            Codec::H264 => Analyzer::H264(h264::H264Analyzer::default()),
            Codec::H265 => Analyzer::H265(h265::H265Analyzer::default()),
        };
        for nal in parameter_sets {
            analyzer.parameter_set(nal);
        }
        Self { analyzer, gate: DamageGate::new() }
    }

    /// One access unit (decode order, `index` counted by the caller; its NAL units without
    /// framing). `decoded`: the backend was given it. Returns the damage found in it, for the
    /// caller to report; pictures predicted from it learn of it through the gate.
    pub(crate) fn access_unit<'a>(
        &mut self,
        index: u64,
        nals: impl IntoIterator<Item = &'a [u8]>,
        decoded: bool,
    ) -> Option<Damage> {
        let facts = match &mut self.analyzer {
            Analyzer::H264(a) => a.access_unit(nals),
            Analyzer::H265(a) => a.access_unit(nals, decoded),
        }?;
        let damage = facts.damage.clone().filter(|_| decoded);
        self.gate.admit(index, &facts, decoded);
        damage
    }

    /// A picture out of the backend (display order): the packet it came from, whether the
    /// backend flagged it, and the picture itself (`None` when the caller dropped it).
    pub(crate) fn picture(&mut self, decode_index: Option<u64>, backend_damaged: bool, picture: Option<T>) {
        self.gate.picture(decode_index, backend_damaged, picture);
    }

    /// The backend was drained and reset: nothing more comes out of what it was given, and the
    /// next picture must start afresh (a key frame; RASL pictures of a CRA are skipped).
    pub(crate) fn restart(&mut self) {
        self.gate.drain();
        match &mut self.analyzer {
            Analyzer::H264(a) => a.restart(),
            Analyzer::H265(a) => a.restart(),
        }
    }

    /// The next picture whose verdict is known, in display order: `Some(damage)` when damaged.
    pub(crate) fn pull(&mut self) -> Option<(T, Option<Damage>)> {
        self.gate.pull()
    }
}

impl Analyzer {
    fn parameter_set(&mut self, nal: &[u8]) {
        match self {
            Self::H264(a) => a.parameter_set(nal),
            Self::H265(a) => a.parameter_set(nal),
        }
    }
}

/// A slice header that does not parse: damage, unless ifc cannot tell (a parameter set it never
/// received or could not read, syntax it does not handle), when the picture is not judged.
fn slice_header_damage(e: ParseError) -> Option<Damage> {
    use crate::error::ParseErrorKind;
    match e.kind {
        ParseErrorKind::Missing(_) | ParseErrorKind::Unsupported(_) => None,
        _ => Some(Damage::SliceHeader(e)),
    }
}
