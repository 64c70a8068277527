//! Finding random-access points in a packet's bytes, for decoders that wait for a key frame
//! and callers that did not mark one.

use crate::codec::nal::{AnnexBNals, LengthPrefixedNals};
use crate::codec::{Codec, NalKind};

/// How a packet's NAL units are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NalFraming {
    AnnexB,
    /// ISO/IEC 14496-15 length prefixes of this many bytes.
    LengthPrefixed(u8),
}

/// Does the packet hold an IDR (H.264 nal_unit_type 5) or IRAP (H.265 types 16–23) slice?
/// A damaged packet is simply not a key packet.
pub(super) fn has_random_access_slice(codec: Codec, framing: NalFraming, data: &[u8]) -> bool {
    let is_rap = |nal: &[u8]| matches!(codec.classify(nal), Some(NalKind::Slice { random_access: true, .. }));
    match framing {
        NalFraming::AnnexB => AnnexBNals::new(data).any(|(_, nal)| is_rap(nal)),
        NalFraming::LengthPrefixed(n) => {
            LengthPrefixedNals::new(data, usize::from(n)).map_while(Result::ok).any(is_rap)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idr_and_irap_slices_are_found_in_both_framings() {
        let h264_idr = [0, 0, 0, 1, 0x67, 0x42, 0, 0, 1, 0x65, 0x88];
        let h264_p = [0, 0, 0, 1, 0x41, 0x9a];
        assert!(has_random_access_slice(Codec::H264, NalFraming::AnnexB, &h264_idr));
        assert!(!has_random_access_slice(Codec::H264, NalFraming::AnnexB, &h264_p));
        // H.265 CRA (type 21) behind a 2-byte length prefix.
        let hevc_cra = [0, 3, 21 << 1, 1, 0xaf];
        assert!(has_random_access_slice(Codec::H265, NalFraming::LengthPrefixed(2), &hevc_cra));
        // The same bytes read as H.264 are a non-IDR slice.
        assert!(!has_random_access_slice(Codec::H264, NalFraming::LengthPrefixed(2), &hevc_cra));
    }

    #[test]
    fn damaged_packets_are_not_key_packets() {
        assert!(!has_random_access_slice(Codec::H265, NalFraming::LengthPrefixed(4), &[0, 0, 9, 9, 42]));
        assert!(!has_random_access_slice(Codec::H264, NalFraming::AnnexB, &[]));
        assert!(!has_random_access_slice(Codec::H264, NalFraming::LengthPrefixed(3), &[0, 0, 1, 0x65]));
    }
}
