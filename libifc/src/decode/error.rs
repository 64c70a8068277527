//! [`DecodeError`]: what can go wrong while opening a decoder or decoding a stream. Each
//! message names the stream, and the packet when one is at fault.

/// A decoding failure. After any error except [`DecodeError::BackendUnavailable`] and
/// [`DecodeError::Open`], the decoder stays usable: the next key packet starts afresh.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The requested backend is not compiled in or has no device to run on.
    #[error("decoder backend {backend} is unavailable: {reason}")]
    BackendUnavailable { backend: &'static str, reason: String },
    /// The backend refused to open a decoder with these options.
    #[error("stream {stream_id}: cannot open the {backend} decoder: {reason}")]
    Open { stream_id: u64, backend: &'static str, reason: String },
    /// The options contradict themselves (e.g. an H.265 record for an H.264 decoder).
    #[error("stream {stream_id}: invalid decoder options: {reason}")]
    InvalidOptions { stream_id: u64, reason: String },
    /// The bitstream is damaged or incomplete around this packet (decode order, counted from 0).
    /// Counted in [`DecodeStats::decode_errors`](super::DecodeStats::decode_errors).
    #[error("stream {stream_id}: packet {packet_index} (pts {pts_90k:?}): {reason}")]
    Bitstream { stream_id: u64, packet_index: u64, pts_90k: Option<i64>, reason: String },
    /// ifc's analysis of the slice headers found this packet's picture damaged (slices
    /// missing, reference pictures missing) where the backend may notice nothing. Counted in
    /// [`DecodeStats::decode_errors`](super::DecodeStats::decode_errors).
    #[error("stream {stream_id}: packet {packet_index} (pts {pts_90k:?}): damaged picture: {damage}")]
    Damaged { stream_id: u64, packet_index: u64, pts_90k: Option<i64>, damage: super::Damage },
    /// A sequence parameter set (in the configuration or in band) declares a picture larger
    /// than [`DecoderOptions::max_picture_pixels`](super::DecoderOptions::max_picture_pixels)
    /// allows; nothing was allocated for it. In band, the packet carrying it is skipped and the
    /// decoder waits for the next key packet.
    #[error("stream {stream_id}: the stream declares {width}x{height} pictures, over the limit of {max_pixels} pixels ({max_side} per side)")]
    PictureTooLarge { stream_id: u64, width: u32, height: u32, max_pixels: u64, max_side: u32 },
    /// A packet larger than the backend accepts.
    #[error("stream {stream_id}: packet {packet_index} of {len_bytes} bytes is too large")]
    PacketTooLarge { stream_id: u64, packet_index: u64, len_bytes: usize },
    /// The backend produced a picture in a layout ifc does not handle (e.g. 12-bit 4:4:4).
    #[error("stream {stream_id}: unsupported decoded picture: {reason}")]
    UnsupportedPicture { stream_id: u64, reason: String },
    /// Synthetic plane data that does not fit the stated size and format.
    #[error("invalid frame planes: {reason}")]
    InvalidPlanes { reason: String },
    /// The backend failed for a reason unrelated to the input (e.g. out of memory).
    #[error("stream {stream_id}: {backend} failed: {reason}")]
    Backend { stream_id: u64, backend: &'static str, reason: String },
    /// The decode worker has stopped (its frame receiver was dropped).
    #[error("stream {stream_id}: the decode worker has stopped")]
    WorkerStopped { stream_id: u64 },
}
