//! [`RtpError`]: what can be wrong with one RTP packet. Each message names the packet by its
//! sequence number once the header is long enough to hold one.

/// A packet the RTP layer cannot use. The error is about that packet only: the
/// [`Depacketizer`](super::Depacketizer) that returned it stays usable, and the packet is
/// counted in its [`DepacketizerStats`](super::DepacketizerStats).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RtpError {
    /// Fewer bytes than the 12-byte fixed header (RFC 3550 §5.1).
    #[error("rtp packet of {len_bytes} bytes: shorter than the 12-byte fixed header")]
    TruncatedHeader { len_bytes: usize },
    /// The version field is not 2 (RFC 3550 §5.1).
    #[error("rtp packet seq {seq}: version {version}, expected 2")]
    BadVersion { seq: u16, version: u8 },
    /// The CSRC count names more identifiers than the packet holds.
    #[error(
        "rtp packet seq {seq}: CSRC count {csrc_count} needs {needed_bytes} header bytes, the packet has {len_bytes}"
    )]
    CsrcBeyondData { seq: u16, csrc_count: u8, needed_bytes: usize, len_bytes: usize },
    /// The header extension (RFC 3550 §5.3.1) runs past the end of the packet.
    #[error("rtp packet seq {seq}: header extension ends at byte {needed_bytes}, the packet has {len_bytes}")]
    ExtensionBeyondData { seq: u16, needed_bytes: usize, len_bytes: usize },
    /// The padding count (the last byte, RFC 3550 §5.1) is zero or larger than what follows
    /// the header.
    #[error("rtp packet seq {seq}: padding of {padding_bytes} bytes, {available_bytes} bytes follow the header")]
    BadPadding { seq: u16, padding_bytes: u8, available_bytes: usize },
    /// No payload after the header and padding.
    #[error("rtp packet seq {seq}: empty payload")]
    EmptyPayload { seq: u16 },
    /// The payload breaks its payload format (RFC 6184 for H.264, RFC 7798 for H.265).
    #[error("rtp packet seq {seq}: {reason}")]
    Malformed { seq: u16, reason: String },
    /// A valid packet type that this receiver does not handle: the interleaved-mode types of
    /// RFC 6184 (STAP-B, MTAP16, MTAP24, FU-B), H.265 PACI, reserved types.
    #[error("rtp packet seq {seq}: {what} is not supported")]
    Unsupported { seq: u16, what: String },
}

impl RtpError {
    /// The packet's sequence number, when the header held one.
    pub fn sequence_number(&self) -> Option<u16> {
        match self {
            Self::TruncatedHeader { .. } => None,
            Self::BadVersion { seq, .. }
            | Self::CsrcBeyondData { seq, .. }
            | Self::ExtensionBeyondData { seq, .. }
            | Self::BadPadding { seq, .. }
            | Self::EmptyPayload { seq }
            | Self::Malformed { seq, .. }
            | Self::Unsupported { seq, .. } => Some(*seq),
        }
    }
}
